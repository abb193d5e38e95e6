"""The period step's month store of the stations' daily and hourly rows (spse.pipeline.stationstore).

A small lake of ``station_daily`` rows in two time bases and ``air_hourly`` rows of two producers
that overlap, written by hand: the station periods from the store must equal those from the
lake's files, and a day added or replaced must be reread alone.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from test_period_store import assert_written_equals_a_recompute

from spse.core import register
from spse.methods import period as pm
from spse.pipeline import lake, periods, stationstore

STATIONS = {"s1": "background", "s2": "traffic", "s3": "background"}


def value(day: pd.Timestamp, station: int, salt: int) -> float | None:
    """A made-up value: None (invalid) on some days."""
    if (day.day_of_year + station + salt) % 13 == 0:
        return None
    return float((day.day_of_year * 7 + station * 13 + salt * 5) % 90)


def write_day(day: dt.date, shift: float = 0.0) -> None:
    """The station_daily file and the two producers' air_hourly files of ``day``."""
    stamp = pd.Timestamp(day)
    rows = []
    for time_base in ("UTC", "Europe/Paris"):
        for i, (station, station_class) in enumerate(STATIONS.items()):
            for pollutant, statistic in (("NO2", "day_mean"), ("O3", "day_max_8h_mean"), ("PM10", "day_mean")):
                v = value(stamp, i, len(statistic) + len(time_base))
                rows.append({"station_id": station, "station_class": station_class, "date": day,
                             "pollutant": pollutant, "statistic": statistic, "value": None if v is None else v + shift,
                             "n_valid": 24, "n_expected": 24, "coverage": 1.0, "is_valid": v is not None,
                             "time_base": time_base})
    lake.write_partition("station_daily", lake.date_partition(day), pd.DataFrame(rows))
    hours = pd.date_range(stamp, periods=24, freq="h", tz="UTC")
    for source, stations in (("lcsqa_e2", ["s1", "s2"]), ("eea_aq", ["s2", "s3"])):
        frames = []
        for station in stations:
            for pollutant in ("NO2", "O3"):
                base = value(stamp, int(station[1]), len(pollutant)) or 0.0
                values = base + np.arange(24) + (3.0 if source == "eea_aq" else 0.0) + shift
                frames.append(pd.DataFrame({"station_id": station, "station_class": STATIONS[station],
                                            "pollutant": pollutant, "ts_start_utc": hours, "value": values,
                                            "is_valid": np.arange(24) % 7 != 3}))
        lake.write_partition("air_hourly", lake.date_partition(day), pd.concat(frames, ignore_index=True), source)


@pytest.fixture
def winter_lake(spse_home):
    for day in pd.date_range("2024-12-01", "2025-02-28", freq="D"):
        write_day(day.date())


def from_store(period: pm.Period, params) -> pd.DataFrame:
    for dataset, months in periods.station_store_months([period]).items():
        stationstore.refresh(dataset, months)
    return periods.period_table("period_station", period, params, station_store=True)


def test_station_periods_from_the_store_equal_those_from_the_lake_files(winter_lake):
    params = register.parameters()
    seasons = pm.parse_seasons(params["seasons"])
    for period in [*pm.periods_of_day(dt.date(2025, 1, 14), seasons), pm.month_period(2024, 12)]:
        expected = periods.period_table("period_station", period, params)
        got = from_store(period, params)
        assert len(got) > 0 and set(got["station_id"]) == set(STATIONS)
        pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_a_new_or_replaced_day_is_reread_alone(winter_lake, monkeypatch):
    params = register.parameters()
    january = pm.month_period(2025, 1)
    from_store(january, params)
    read = []
    original = stationstore._read_days
    monkeypatch.setattr(stationstore, "_read_days",
                        lambda dataset, files, con: (read.extend(p.partition for p in files),
                                                     original(dataset, files, con))[1])
    write_day(dt.date(2025, 1, 20), shift=40.0)
    lake.partition_path("station_daily", "date=2025-01-21").unlink()
    got = from_store(january, params)
    # station_daily and the two producers' air_hourly of the 20th; the 21st lost its file, nothing to read
    assert read == ["date=2025-01-20"] * 3
    pd.testing.assert_frame_equal(got, periods.period_table("period_station", january, params), check_exact=True)
    read.clear()
    from_store(january, params)
    assert read == []


def test_build_periods_writes_the_station_rows_the_lake_files_give(winter_lake):
    periods.build_periods_range(dt.date(2024, 12, 1), dt.date(2025, 2, 28))
    write_day(dt.date(2025, 2, 10), shift=-5.0)
    periods.build_periods(dt.date(2025, 2, 10))
    assert_written_equals_a_recompute("period_station", ("2025", "2025-S-winter", "2025-02"))
