"""Local days and their hours.

Feeds store instants in UTC; daily statistics are computed over the local civil day of
the register's time base (default Europe/Paris, see ``spse/registers/parameters.csv``).
A local day has 23, 24 or 25 hours around the daylight-saving changes.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pandas as pd

DEFAULT_TIME_BASE = "Europe/Paris"


def tz_for(time_base: str) -> dt.tzinfo:
    """``Europe/Paris`` (civil time), ``CET`` (UTC+1 all year, EU ozone statistics) or ``UTC``."""
    if time_base == "CET":
        return dt.timezone(dt.timedelta(hours=1), "CET")
    if time_base == "UTC":
        return dt.UTC
    return ZoneInfo(time_base)


def day_bounds_utc(day: dt.date, time_base: str = DEFAULT_TIME_BASE) -> tuple[pd.Timestamp, pd.Timestamp]:
    """[start, end) of the local day, as UTC timestamps."""
    tz = tz_for(time_base)
    start = dt.datetime.combine(day, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    return pd.Timestamp(start).tz_convert("UTC"), pd.Timestamp(end).tz_convert("UTC")


def day_hours_utc(day: dt.date, time_base: str = DEFAULT_TIME_BASE) -> pd.DatetimeIndex:
    """Hour-beginning UTC instants of the local day (23, 24 or 25 of them)."""
    start, end = day_bounds_utc(day, time_base)
    return pd.date_range(start, end, freq="h", inclusive="left")


def local_date(ts_utc: pd.Series, time_base: str = DEFAULT_TIME_BASE) -> pd.Series:
    """Local calendar date of each hour-beginning UTC instant."""
    tz = tz_for(time_base)
    return ts_utc.dt.tz_convert(tz).dt.date
