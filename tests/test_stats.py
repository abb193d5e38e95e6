"""Daily statistics with coverage rules (methods.md §1.1, W3, W3c, W8, W12) and daylight-saving days."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from spse.core import register
from spse.methods import stats

NAN = float("nan")
RULES = stats.CoverageRules.from_params(register.parameters())
KEYS = ["station_id", "pollutant"]


def _threshold(pollutant: str, averaging: str, level: str) -> float:
    t = register.thresholds()
    row = t[(t["set_id"] == "FR_R221-1") & (t["pollutant"] == pollutant) & (t["averaging"] == averaging)
            & (t["level"] == level)]
    return float(row["value"].iloc[0])


def _local_series(start_local: str, values, tz: str = "Europe/Paris", **keys) -> pd.DataFrame:
    ts = pd.date_range(start_local, periods=len(values), freq="h", tz=tz).tz_convert("UTC")
    return pd.DataFrame({**keys, "ts_start_utc": ts, "value": np.asarray(values, dtype=float)})


def _utc_series(start_utc: str, values, **keys) -> pd.DataFrame:
    ts = pd.date_range(start_utc, periods=len(values), freq="h", tz="UTC")
    return pd.DataFrame({**keys, "ts_start_utc": ts, "value": np.asarray(values, dtype=float)})


def _stat(frame: pd.DataFrame, statistic: str) -> pd.Series:
    rows = frame[frame["statistic"] == statistic]
    assert len(rows) == 1
    return rows.iloc[0]


def test_w3_exceedance_days_with_coverage():
    threshold = _threshold("PM10", "day_mean", "information")
    assert threshold == 50
    days = {
        dt.date(2026, 1, 5): [40] * 12 + [64] * 12,
        dt.date(2026, 1, 6): [60] * 17 + [NAN] * 7,
        dt.date(2026, 1, 7): [45] * 9 + [55] * 9 + [NAN] * 6,
        dt.date(2026, 1, 8): [50] * 23 + [60],
    }
    hourly = pd.concat([_local_series(f"{d} 00:00", v, station_id="FR04004", pollutant="PM10")
                        for d, v in days.items()], ignore_index=True)
    means = pd.concat([stats.daily_stats(hourly, KEYS, d, time_base="Europe/Paris", rules=RULES)
                       for d in days], ignore_index=True)
    means = means[means["statistic"] == "day_mean"].set_index("date")
    assert set(means["statistic"]) == {"day_mean"}
    d1, d2, d3, d4 = days
    assert means.loc[d1, "value"] == pytest.approx(52.0)
    assert np.isnan(means.loc[d2, "value"]) and not means.loc[d2, "is_valid"]
    assert means.loc[d2, "n_valid"] == 17 and means.loc[d2, "coverage"] == pytest.approx(0.7083, abs=1e-4)
    assert means.loc[d3, "value"] == pytest.approx(50.0) and means.loc[d3, "coverage"] == pytest.approx(0.75)
    assert means.loc[d4, "value"] == pytest.approx(50.4166667, abs=1e-6)
    exceed = stats.exceeds(means["value"].to_numpy(), threshold, round_values=False)
    assert int(exceed.sum()) == 2
    assert int(means["is_valid"].sum()) == 3
    assert int((~means["is_valid"]).sum()) == 1
    assert (means["n_expected"] == 24).all()
    assert (means["time_base"] == "Europe/Paris").all()


@pytest.mark.parametrize(("time_base", "mean", "n_valid"), [
    ("Europe/Paris", 50.083333, 24),
    ("CET", 46.416667, 24),
    ("UTC", 46.347826, 23),
])
def test_w3c_time_base_of_the_day(time_base, mean, n_valid):
    hourly = _utc_series("2025-07-01 22:00", [98] + [48] * 23 + [10], station_id="S", pollutant="PM10")
    out = stats.daily_stats(hourly, KEYS, dt.date(2025, 7, 2), time_base=time_base, rules=RULES)
    row = _stat(out, "day_mean")
    assert row["value"] == pytest.approx(mean, abs=1e-6)
    assert row["n_valid"] == n_valid and row["n_expected"] == 24
    assert row["time_base"] == time_base
    assert row["date"] == dt.date(2025, 7, 2)


W12_BEFORE = [60, 58, 55, 50, 45, 40, 38]
W12_DAY = [36, 35, 34, 33, 35, 40, 50, 62, 75, 88, 100, 110, 118, 124, 127, 128, 126, 120, 110, 98, 85, 72, 65, 62]


def test_w12_ozone_daily_max_8h_mean():
    hourly = _local_series("2026-06-14 17:00", W12_BEFORE + W12_DAY, station_id="FR04004", pollutant="O3")
    out = stats.daily_stats(hourly, KEYS, dt.date(2026, 6, 15), time_base="Europe/Paris", rules=RULES)
    assert sorted(out["statistic"]) == ["day_max_1h", "day_max_8h_mean", "day_mean"]
    row = _stat(out, "day_max_8h_mean")
    assert row["value"] == pytest.approx(120.375, abs=1e-9)
    assert row["n_valid"] == 24 and row["n_expected"] == 24 and row["is_valid"]
    assert _stat(out, "day_max_1h")["value"] == 128
    assert _stat(out, "day_mean")["value"] == pytest.approx(sum(W12_DAY) / 24)

    means, hours = stats.running_means_8h(np.array([W12_BEFORE + W12_DAY], dtype=float))
    assert means.shape == (1, 24)
    assert means[0, 0] == pytest.approx(47.75)  # 17:00 the day before → 01:00
    assert means[0, -1] == pytest.approx(sum(W12_DAY[16:]) / 8)  # 16:00 → 24:00
    assert (hours == 8).all()


def test_no_8h_statistic_for_other_pollutants():
    hourly = _local_series("2026-06-14 17:00", W12_BEFORE + W12_DAY, station_id="S", pollutant="NO2")
    out = stats.daily_stats(hourly, KEYS, dt.date(2026, 6, 15), time_base="Europe/Paris", rules=RULES)
    assert sorted(out["statistic"]) == ["day_max_1h", "day_mean"]


def test_8h_coverage_rules():
    # Hours 10:00-13:00 missing: 8-h means ending at 12:00 … 18:00 keep < 6 valid hours (7 of 24 invalid),
    # so 17 valid 8-h means < 18; the day mean still has 20 valid hours.
    day = list(W12_DAY)
    day[10:14] = [NAN] * 4
    hourly = _local_series("2026-06-14 17:00", W12_BEFORE + day, station_id="S", pollutant="O3")
    out = stats.daily_stats(hourly, KEYS, dt.date(2026, 6, 15), time_base="Europe/Paris", rules=RULES)
    row = _stat(out, "day_max_8h_mean")
    assert row["n_valid"] == 17 and not row["is_valid"] and np.isnan(row["value"])
    assert _stat(out, "day_mean")["n_valid"] == 20 and _stat(out, "day_mean")["is_valid"]

    # Only 10:00 and 11:00 missing: every 8-h mean keeps ≥ 6 hours and is the mean of its valid hours.
    # The highest is now 10:00-18:00 with 6 hours: (118 + 124 + 127 + 128 + 126 + 120) / 6.
    day = list(W12_DAY)
    day[10:12] = [NAN] * 2
    hourly = _local_series("2026-06-14 17:00", W12_BEFORE + day, station_id="S", pollutant="O3")
    out = stats.daily_stats(hourly, KEYS, dt.date(2026, 6, 15), time_base="Europe/Paris", rules=RULES)
    row = _stat(out, "day_max_8h_mean")
    assert row["n_valid"] == 24 and row["is_valid"]
    assert row["value"] == pytest.approx(743 / 6)


def test_missing_previous_evening_reduces_the_8h_means():
    # Without the day before, the 8-h means ending at 00:00 … 04:00 have 1 … 5 hours: 19 valid means remain.
    hourly = _local_series("2026-06-15 00:00", W12_DAY, station_id="S", pollutant="O3")
    out = stats.daily_stats(hourly, KEYS, dt.date(2026, 6, 15), time_base="Europe/Paris", rules=RULES)
    row = _stat(out, "day_max_8h_mean")
    assert row["n_valid"] == 19 and row["is_valid"] and row["value"] == pytest.approx(120.375)


def test_23_hour_day():
    # 2026-03-29 Europe/Paris: 00:00 CET = 03-28 23:00 UTC to 00:00 CEST = 03-29 22:00 UTC.
    values = [1000.0] + [1.0] * 23 + [1000.0]
    hourly = _utc_series("2026-03-28 22:00", values, station_id="S", pollutant="O3")
    out = stats.daily_stats(hourly, KEYS, dt.date(2026, 3, 29), time_base="Europe/Paris", rules=RULES)
    mean = _stat(out, "day_mean")
    assert mean["n_expected"] == 23 and mean["n_valid"] == 23 and mean["value"] == 1.0
    assert _stat(out, "day_max_1h")["value"] == 1.0
    eight = _stat(out, "day_max_8h_mean")
    # The 8-h means reach back to 03-28 16:00 UTC, where only 22:00 UTC (1000) is present: the means ending at
    # the day's hours 0-3 have < 6 hours, 19 of 23 are valid, and the highest is 20:00-04:00 UTC: (1000 + 5) / 6.
    assert eight["n_expected"] == 23 and eight["n_valid"] == 19 and eight["is_valid"]
    assert eight["value"] == pytest.approx(1005 / 6)


def test_25_hour_day():
    # 2026-10-25 Europe/Paris: 00:00 CEST = 10-24 22:00 UTC to 00:00 CET = 10-25 23:00 UTC.
    values = [1000.0, *range(1, 26), 1000.0]
    hourly = _utc_series("2026-10-24 21:00", values, station_id="S", pollutant="PM10")
    out = stats.daily_stats(hourly, KEYS, dt.date(2026, 10, 25), time_base="Europe/Paris", rules=RULES)
    mean = _stat(out, "day_mean")
    assert mean["n_expected"] == 25 and mean["n_valid"] == 25
    assert mean["value"] == pytest.approx(13.0)  # mean of 1 … 25
    assert _stat(out, "day_max_1h")["value"] == 25


def test_several_series_and_duplicates():
    a = _local_series("2026-01-15 00:00", [10] * 24, station_id="A", pollutant="NO2")
    b = _local_series("2026-01-15 00:00", [30] * 24, station_id="B", pollutant="NO2")
    b_dup = b.assign(value=50.0)
    c = _local_series("2026-01-15 00:00", [NAN] * 24, station_id="C", pollutant="NO2")
    out = stats.daily_stats(pd.concat([a, b, b_dup, c]), ["station_id", "pollutant"], dt.date(2026, 1, 15),
                            time_base="Europe/Paris", rules=RULES)
    means = out[out["statistic"] == "day_mean"].set_index("station_id")
    assert means.loc["A", "value"] == 10 and means.loc["B", "value"] == 40
    assert means.loc["C", "n_valid"] == 0 and not means.loc["C", "is_valid"] and means.loc["C", "coverage"] == 0
    assert list(out.columns) == ["station_id", "pollutant", "date", "statistic", "value", "n_valid", "n_expected",
                                 "coverage", "is_valid", "time_base"]


def test_off_hour_timestamp_is_rejected():
    hourly = _local_series("2026-01-15 00:00", [10] * 24, station_id="A", pollutant="NO2")
    hourly.loc[3, "ts_start_utc"] += pd.Timedelta(minutes=30)
    with pytest.raises(ValueError, match="row 3"):
        stats.daily_stats(hourly, KEYS, dt.date(2026, 1, 15), time_base="Europe/Paris", rules=RULES)


def test_w8_longest_run_above():
    o3 = np.array([170, 185, 230, 245, 250, 248, 239, 241, 242, 236], dtype=float)
    first = _threshold("O3", "1h", "alerte_mesures_1")
    second = _threshold("O3", "1h", "alerte_mesures_2")
    assert (first, second) == (240, 300)
    assert stats.longest_run_above(o3, first, round_values=False) == 3
    assert stats.longest_run_above(o3, second, round_values=False) == 0
    assert stats.longest_run_above(o3, _threshold("O3", "1h", "information"), round_values=False) == 9
    matrix = np.array([o3, [241, 241, NAN, 241, 241, 241, 241, 0, 0, 0], [NAN] * 10])
    assert stats.longest_run_above(matrix, first, round_values=False).tolist() == [3, 4, 0]


def test_exceeds_is_strict_and_optionally_rounded():
    assert not stats.exceeds(50.0, 50, round_values=False)
    assert stats.exceeds(50.0001, 50, round_values=False)
    assert not stats.exceeds(NAN, 50, round_values=False)
    assert not stats.exceeds(50.4, 50, round_values=True)
    assert stats.exceeds(50.5, 50, round_values=True)
    assert not stats.exceeds(-50.5, -50, round_values=True)  # halves away from zero: -51
    assert stats.exceeds(np.array([49.0, 51.0, NAN]), 50, round_values=False).tolist() == [False, True, False]
    # The register says round_before_compare = false.
    assert stats.exceeds(50.4, 50, register.parameters().bool("round_before_compare"))


@pytest.mark.parametrize("time_base", ["Europe/Paris", "CET", "UTC"])
def test_stats_days_matches_stats_from_matrix_day_by_day(time_base):
    # 2026-03-27 … 2026-04-01 in Europe/Paris holds the 23-hour day 03-29; random values with NaN gaps
    # (single hours, a 10-hour hole and a series nearly empty) so that some days and 8-h means are invalid.
    rng = np.random.default_rng(11)
    days = [dt.date(2026, 3, 27) + dt.timedelta(days=k) for k in range(6)]
    hours = pd.date_range("2026-03-26 12:00", "2026-04-02 06:00", freq="h", tz="UTC")
    matrix = rng.uniform(0, 200, (5, len(hours)))
    matrix[rng.random(matrix.shape) < 0.15] = NAN
    matrix[1, 40:50] = NAN
    matrix[2, rng.random(len(hours)) < 0.8] = NAN
    with_8h = np.array([True, False, True, True, False])
    rules = stats.CoverageRules.from_params(register.parameters())
    assert rules == stats.CoverageRules(18, 6, 18)

    out = stats.stats_days(matrix, hours, days, time_base, with_8h, rules)

    assert out["day_max_8h_mean"]["rows"].tolist() == [0, 2, 3]
    assert (~out["day_mean"]["is_valid"]).any() and out["day_mean"]["is_valid"].any()
    for d, day in enumerate(days):
        window, n_day_hours = stats.window_hours_utc(day, time_base)
        columns = hours.get_indexer(window)
        assert (columns >= 0).all()
        expected = stats.stats_from_matrix(matrix[:, columns], n_day_hours, with_8h, rules)
        for statistic, one_day in expected.items():
            many = out[statistic]
            assert many["rows"].tolist() == one_day["rows"].tolist()
            assert many["n_expected"][d] == n_day_hours
            np.testing.assert_array_equal(many["n_valid"][:, d], one_day["n_valid"])
            np.testing.assert_array_equal(many["is_valid"][:, d], one_day["is_valid"])
            np.testing.assert_allclose(many["value"][:, d], one_day["value"], rtol=1e-12, atol=0)
    if time_base == "Europe/Paris":
        assert out["day_mean"]["n_expected"].tolist() == [24, 24, 23, 24, 24, 24]


def test_stats_days_dst_autumn_and_coverage_by_hand():
    # 2026-10-25 Europe/Paris has 25 hours (10-24 22:00 → 10-25 23:00 UTC); 10-26 has 24.
    hours = pd.date_range("2026-10-24 15:00", "2026-10-26 23:00", freq="h", tz="UTC")
    values = np.full(len(hours), 10.0)
    first_25 = hours.get_loc(pd.Timestamp("2026-10-24 22:00", tz="UTC"))
    values[first_25:first_25 + 25] = np.arange(1, 26)
    second = values[first_25 + 25:].copy()
    second[:7] = NAN  # 17 valid hours: invalid day
    values[first_25 + 25:] = second
    out = stats.stats_days(values[None, :], hours, [dt.date(2026, 10, 25), dt.date(2026, 10, 26)],
                           "Europe/Paris", False, stats.CoverageRules())
    mean = out["day_mean"]
    assert mean["n_expected"].tolist() == [25, 24]
    assert mean["n_valid"].tolist() == [[25, 17]]
    assert mean["value"][0, 0] == pytest.approx(13.0) and np.isnan(mean["value"][0, 1])
    assert out["day_max_1h"]["value"][0, 0] == 25
    assert "day_max_8h_mean" not in out


def test_stats_days_needs_the_lead_hours():
    hours = pd.date_range("2026-01-14 23:00", periods=48, freq="h", tz="UTC")
    with pytest.raises(ValueError, match="7 hours before"):
        stats.stats_days(np.zeros((1, 48)), hours, [dt.date(2026, 1, 15)], "Europe/Paris", False,
                         stats.CoverageRules())


def test_published_daily_value_is_the_geodair_rounding():
    # methods.md §1.1 "Time base", Verified (December 2026): 17.56 → 18.0, 105.3 → 105, 7.625 → 7.6;
    # halves go up (Geod'air 60.50 → 61, 7.85 → 7.9, 9.95 → 10.0), below 10 one decimal is kept.
    assert stats.published_daily_value(17.5555555556) == 18.0
    assert stats.published_daily_value(105.3) == 105.0
    assert stats.published_daily_value(7.625) == 7.6
    assert stats.published_daily_value(60.5) == 61.0
    assert stats.published_daily_value(7.85) == 7.9
    assert stats.published_daily_value(7.25) == 7.3
    assert stats.published_daily_value(9.95) == 10.0
    assert stats.published_daily_value(np.array([10.49, 9.94, NAN]))[:2].tolist() == [10.0, 9.9]
    assert np.isnan(stats.published_daily_value(NAN))
