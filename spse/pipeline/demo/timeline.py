"""The demo's two designed days, its year of history and the hours the bundle covers.

Air files are UTC days (E2 convention); daily statistics use the local day in Europe/Paris
(``spse.core.timebase``), so in January local day D starts at 23:00 UTC on D-1: the first hour
of local D2 is the last row of the D1 file, and local D1 lacks its first hour (23:00 UTC on
2026-01-13, not in the bundle).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

DEMO_DAYS: tuple[dt.date, dt.date] = (dt.date(2026, 1, 14), dt.date(2026, 1, 15))
TIME_ZONE = "Europe/Paris"


def file_hours_utc() -> pd.DatetimeIndex:
    """Hour-beginning UTC instants of the E2 day files of ``DEMO_DAYS`` (48 hours)."""
    start = pd.Timestamp(DEMO_DAYS[0]).tz_localize("UTC")
    return pd.date_range(start, periods=24 * len(DEMO_DAYS), freq="h")


def local_hours(day: dt.date) -> pd.DatetimeIndex:
    """Hour-beginning local instants of the local civil day ``day`` (23, 24 or 25 hours)."""
    start = pd.Timestamp(day).tz_localize(TIME_ZONE)
    end = pd.Timestamp(day + dt.timedelta(days=1)).tz_localize(TIME_ZONE)
    return pd.date_range(start, end, freq="h", inclusive="left")


def local_hour_and_day(utc: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """Local clock hour (0-23) and local date of each UTC instant."""
    local = utc.tz_convert(TIME_ZONE)
    return np.asarray(local.hour), np.asarray(local.date)


# The demo year: local days (Europe/Paris), inclusive; it ends with the two designed days.
DEMO_YEAR: tuple[dt.date, dt.date] = (dt.date(2025, 1, 16), dt.date(2026, 1, 15))


def history_file_days() -> list[dt.date]:
    """UTC days of the E2 files before ``DEMO_DAYS``: from the day before ``DEMO_YEAR[0]`` to D1 − 1.

    The first local day starts at 23:00 UTC the day before (22:00 in summer), so the file of
    2025-01-15 is needed; the last history file (2026-01-13) holds the first hour of local D1.
    """
    first = DEMO_YEAR[0] - dt.timedelta(days=1)
    count = (DEMO_DAYS[0] - first).days
    return [first + dt.timedelta(days=i) for i in range(count)]


def history_hours_utc() -> pd.DatetimeIndex:
    """Hour-beginning UTC instants of the history files (``history_file_days``), 24 per file."""
    days = history_file_days()
    return pd.date_range(pd.Timestamp(days[0]).tz_localize("UTC"), periods=24 * len(days), freq="h")
