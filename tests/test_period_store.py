"""The period step's month arrays of the cells' daily values (spse.pipeline.periodstore).

A small lake of ``surface_daily`` rows written by hand: the arrays must hold exactly its values,
follow a day added or replaced by rereading only that day, and give the period rows the lake's
files give.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from spse.core import register
from spse.methods import period as pm
from spse.pipeline import lake, periods, periodstore

JAN, FEB = dt.date(2025, 1, 1), dt.date(2025, 2, 1)


def write_day(day: dt.date, values: dict[str, float | None], time_bases=("UTC", "Europe/Paris"),
              statistic: str = "day_mean", pollutant: str = "NO2") -> None:
    """One day's file: per cell ``values`` (None: an invalid row), in each time base (Paris value + 1)."""
    rows = []
    for time_base in time_bases:
        shift = 1.0 if time_base == "Europe/Paris" else 0.0
        for cell, value in values.items():
            rows.append({"cell_id": cell, "date": day, "pollutant": pollutant, "statistic": statistic,
                         "value": None if value is None else value + shift, "n_valid": 24, "n_expected": 24,
                         "coverage": 1.0, "is_valid": value is not None, "time_base": time_base})
    lake.write_partition("surface_daily", lake.date_partition(day), pd.DataFrame(rows))


def test_the_arrays_hold_the_lake_values_and_a_new_day_rereads_that_day_only(spse_home, monkeypatch):
    write_day(dt.date(2025, 1, 30), {"c1": 10.0, "c2": None})
    write_day(dt.date(2025, 1, 31), {"c1": 12.5})
    write_day(dt.date(2025, 2, 1), {"c1": 20.0, "c2": 30.0})
    stores = periodstore.refresh([JAN, FEB])
    jan = stores[JAN]
    key = ("UTC", "NO2", "day_mean")
    assert list(jan.cells) == ["c1", "c2"] and jan.days == 31 and stores[FEB].days == 28
    np.testing.assert_array_equal(jan.value[key][:, 29:], [[10.0, 12.5], [np.nan, np.nan]])
    # c2 has an invalid row on the 30th (a series of the period) and none on the 31st
    np.testing.assert_array_equal(jan.row[key][:, 29:], [[True, True], [True, False]])
    assert np.isnan(jan.value[key][:, :29]).all() and not jan.row[key][:, :29].any()
    assert jan.value["Europe/Paris", "NO2", "day_mean"][0, 30] == 13.5
    assert sorted(jan.time_bases) == ["Europe/Paris", "UTC"] and jan.present[:, 29:].all()

    read = []
    fill = periodstore.MonthStore.fill
    monkeypatch.setattr(periodstore.MonthStore, "fill",
                        lambda self, files, con: (read.extend(files), fill(self, files, con))[1])
    write_day(dt.date(2025, 2, 2), {"c1": 21.0, "c3": 5.0})
    stores = periodstore.refresh([JAN, FEB])
    assert read == [str(lake.partition_path("surface_daily", "date=2025-02-02"))]
    feb = periodstore.MonthStore.load(FEB)
    feb.arrays([key])
    assert list(feb.cells) == ["c1", "c2", "c3"]
    np.testing.assert_array_equal(feb.value[key][:, :3], [[20.0, 21.0, np.nan], [30.0, np.nan, np.nan],
                                                          [np.nan, 5.0, np.nan]])
    read.clear()
    assert periodstore.refresh([JAN, FEB]) and read == []


def test_a_replaced_or_removed_day_file_is_reread(spse_home):
    write_day(dt.date(2025, 2, 3), {"c1": 20.0})
    write_day(dt.date(2025, 2, 4), {"c1": 25.0})
    periodstore.refresh([FEB])
    write_day(dt.date(2025, 2, 3), {"c1": 40.0})
    lake.partition_path("surface_daily", "date=2025-02-04").unlink()
    feb = periodstore.refresh([FEB])[FEB]
    np.testing.assert_array_equal(feb.value["UTC", "NO2", "day_mean"][0, 2:4], [40.0, np.nan])
    assert not feb.row["UTC", "NO2", "day_mean"][0, 3] and not feb.present[:, 3].any()


def series(day: pd.Timestamp, cell: int, time_base: str) -> float | None:
    """A made-up daily value: None (invalid) on some days, a cell missing on others."""
    if (day.day_of_year + cell) % 11 == 0:
        return None
    return float((day.day_of_year * 7 + cell * 13) % 60) + (0.5 if time_base == "UTC" else 0.0)


@pytest.fixture
def winter_lake(spse_home):
    """Cells c0-c2, December 2024 - March 2025; c2 starts on 10 January; O3 both statistics too."""
    for day in pd.date_range("2024-12-01", "2025-03-31", freq="D"):
        rows = []
        for time_base in ("UTC", "Europe/Paris"):
            for cell in range(3):
                if cell == 2 and day < pd.Timestamp("2025-01-10"):
                    continue
                for pollutant, statistic in (("NO2", "day_mean"), ("O3", "day_max_8h_mean"), ("O3", "day_mean")):
                    value = series(day, cell + len(statistic), time_base)
                    rows.append({"cell_id": f"c{cell}", "date": day.date(), "pollutant": pollutant,
                                 "statistic": statistic, "value": value, "n_valid": 24, "n_expected": 24,
                                 "coverage": 1.0, "is_valid": value is not None, "time_base": time_base})
        lake.write_partition("surface_daily", lake.date_partition(day.date()), pd.DataFrame(rows))


def test_cell_periods_from_the_arrays_equal_those_from_the_lake_files(winter_lake):
    params = register.parameters()
    seasons = pm.parse_seasons(params["seasons"])
    chosen = [*pm.periods_of_day(dt.date(2025, 2, 14), seasons), pm.month_period(2024, 12)]
    stores = periodstore.refresh(m for p in chosen for m in periodstore.months_of(p.start, p.stop))
    for period in chosen:
        from_lake = periods.period_table("period_cell", period, params)
        from_store = periods.period_table("period_cell", period, params, stores)
        assert len(from_store) > 0
        pd.testing.assert_frame_equal(from_store, from_lake, check_exact=True)
    # the EU time base (UTC) is used; c1's February NO2 mean from the made-up series directly
    february = periods.period_table("period_cell", pm.month_period(2025, 2), params, stores)
    days = pd.date_range("2025-02-01", "2025-02-28", freq="D")
    values = [v for v in (series(d, 1 + len("day_mean"), "UTC") for d in days) if v is not None]
    mean = february[(february["cell_id"] == "c1") & (february["pollutant"] == "NO2")
                    & (february["indicator"] == "mean")].iloc[0]
    assert mean["time_base"] == "UTC"
    assert (mean["value"], mean["n_valid"], mean["n_expected"]) == (pytest.approx(np.mean(values)), len(values), 28)


def test_build_periods_from_the_arrays_equals_a_recompute_from_the_lake(winter_lake):
    periods.build_periods_range(dt.date(2024, 12, 1), dt.date(2025, 3, 31))
    write_day(dt.date(2025, 3, 15), {"c0": 99.0, "c1": None, "c2": 1.0})
    periods.build_periods(dt.date(2025, 3, 15))
    assert_written_equals_a_recompute("period_cell", ("2025", "2025-S-spring", "2025-03"))


def assert_written_equals_a_recompute(dataset: str, labels: tuple[str, ...]) -> None:
    """The rows of ``dataset`` written for each period label equal those recomputed from the lake files."""
    params = register.parameters()
    for label in labels:
        period = pm.period_of_label(label, pm.parse_seasons(params["seasons"]))
        expected = periods.period_table(dataset, period, params)
        written = lake.read_partition(dataset, lake.date_partition(period.end))
        written = written[written["period"] == label].reset_index(drop=True)
        assert len(written) == len(expected) > 0
        pd.testing.assert_frame_equal(plain(written), plain(expected[written.columns]), check_dtype=False)


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Values as Python objects, missing as None: a frame read back from Parquet compares with a computed one."""
    return frame.astype(object).where(frame.notna(), None)
