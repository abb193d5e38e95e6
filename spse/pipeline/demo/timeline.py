"""The demo's two days and the hours the bundle covers.

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
