import datetime as dt

import pandas as pd

from spse.core import timebase


def test_winter_day_starts_at_23h_utc_the_day_before():
    hours = timebase.day_hours_utc(dt.date(2026, 1, 15))
    assert len(hours) == 24
    assert hours[0] == pd.Timestamp("2026-01-14 23:00", tz="UTC")


def test_spring_forward_day_has_23_hours_and_autumn_day_25():
    assert len(timebase.day_hours_utc(dt.date(2026, 3, 29))) == 23
    assert len(timebase.day_hours_utc(dt.date(2026, 10, 25))) == 25


def test_summer_day_bounds_and_other_time_bases():
    start, end = timebase.day_bounds_utc(dt.date(2025, 7, 2))
    assert start == pd.Timestamp("2025-07-01 22:00", tz="UTC")
    assert end == pd.Timestamp("2025-07-02 22:00", tz="UTC")
    assert timebase.day_bounds_utc(dt.date(2025, 7, 2), "CET")[0] == pd.Timestamp("2025-07-01 23:00", tz="UTC")
    assert timebase.day_bounds_utc(dt.date(2025, 7, 2), "UTC")[0] == pd.Timestamp("2025-07-02 00:00", tz="UTC")


def test_local_date_of_utc_hours():
    ts = pd.Series(pd.to_datetime(["2026-01-14 22:00", "2026-01-14 23:00"], utc=True))
    assert timebase.local_date(ts).tolist() == [dt.date(2026, 1, 14), dt.date(2026, 1, 15)]
