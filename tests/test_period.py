"""Period indicators (spse.methods.period) against values computed by hand in each test.

methods.md W3 (exceedance days, threshold equality), W10 (WHO 99th percentile), W13 (AEI), §4.1
(coverage), §1.1 (AOT40 hours in CET); a leap year, a year with a gap and a daylight-saving month.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from spse.core import register
from spse.methods import period as pm

SEASONS = pm.parse_seasons("winter=12,1,2 spring=3,4,5 summer=6,7,8 autumn=9,10,11")
# the register's rules (90 % coverage, linear percentiles, AOT40 above 80 from 08 to 20 CET, ...)
RULES = dataclasses.replace(pm.rules_from(register.parameters()), seasons=SEASONS, round_values=False,
                            percentiles=(("PM10", "day_mean", 90.4), ("*", "day_mean", 99.0)),
                            percentile_judged_sets=("WHO_2021",))


def thresholds(*rows: tuple) -> pd.DataFrame:
    """(set_id, pollutant, averaging, value, level, allowed_exceedances)."""
    frame = pd.DataFrame(rows, columns=["set_id", "pollutant", "averaging", "value", "level", "allowed_exceedances"])
    frame["consecutive_periods"] = 1
    return frame


def daily_rows(cell: str, pollutant: str, statistic: str, days: pd.DatetimeIndex, values) -> pd.DataFrame:
    values = np.asarray(values, dtype=float)
    return pd.DataFrame({"cell_id": cell, "pollutant": pollutant, "statistic": statistic, "date": days.date,
                         "value": values, "is_valid": ~np.isnan(values)})


# ------------------------------------------------------------------------------------------ calendar

def test_winter_holds_the_december_before_and_a_leap_february():
    winter = pm.season_of(dt.date(2023, 12, 15), SEASONS)
    assert (winter.label, winter.start, winter.end) == ("2024-S-winter", dt.date(2023, 12, 1), dt.date(2024, 2, 29))
    assert len(winter.days) == 31 + 31 + 29
    assert pm.season_of(dt.date(2024, 2, 29), SEASONS) == winter
    assert pm.season_of(dt.date(2025, 1, 1), SEASONS).label == "2025-S-winter"
    assert len(pm.season_of(dt.date(2025, 1, 1), SEASONS).days) == 31 + 31 + 28


def test_periods_of_a_day_and_of_a_range_each_once():
    labels = [p.label for p in pm.periods_of_day(dt.date(2025, 7, 14), SEASONS)]
    assert labels == ["2025", "2025-S-summer", "2025-07"]
    found = pm.periods_between(dt.date(2024, 11, 20), dt.date(2025, 1, 3), SEASONS)
    assert sorted(p.label for p in found) == sorted(
        ["2024", "2025", "2024-S-autumn", "2025-S-winter", "2024-11", "2024-12", "2025-01"])


def test_leap_year_has_366_days_and_february_29_counts():
    year = pm.year_period(2024)
    days = year.days
    assert len(days) == 366
    values = np.full(366, 10.0)
    values[days.get_loc(pd.Timestamp("2024-02-29"))] = 376.0  # 365 × 10 + 376 = 4026 = 366 × 11
    matrix, _ = pm.day_matrix(daily_rows("c1", "PM10", "day_mean", days, values), ["cell_id"], year)
    mean, n_valid, n_expected, coverage = pm.mean_and_coverage(matrix)
    assert mean[0] == pytest.approx(11.0)
    assert (n_valid[0], n_expected, coverage[0]) == (366, 366, 1.0)


def test_a_daylight_saving_month_has_743_local_hours_and_744_cet_hours():
    march = pm.month_period(2025, 3)
    assert len(pm.period_hours_utc(march, "Europe/Paris")) == 31 * 24 - 1
    assert len(pm.period_hours_utc(march, "CET")) == 31 * 24
    october = pm.month_period(2025, 10)
    assert len(pm.period_hours_utc(october, "Europe/Paris")) == 31 * 24 + 1
    # the Paris hours of March start at 23:00 UTC on 28 February
    assert pm.period_hours_utc(march, "Europe/Paris")[0] == pd.Timestamp("2025-02-28 23:00", tz="UTC")


def test_hourly_mean_of_a_daylight_saving_month_counts_its_743_hours():
    march = pm.month_period(2025, 3)
    hours = pm.period_hours_utc(march, "Europe/Paris")
    # every hour valid at 20 except the first 100 (NaN), the last 20 + 643: mean = 643 × 21 / 643 = 21
    values = np.full(len(hours), 20.0)
    values[:100] = np.nan
    values[-1] = 20.0 + 643.0
    hourly = pd.DataFrame({"station_id": "s1", "station_class": "background", "pollutant": "NO2",
                           "ts_start_utc": hours, "value": values})
    out = pm.hourly_indicators(hourly, ["station_id", "station_class"], march, "Europe/Paris",
                               thresholds(), RULES)
    mean = out[out["indicator"] == "mean"].iloc[0]
    assert mean["value"] == pytest.approx(21.0)
    assert (mean["n_valid"], mean["n_expected"]) == (643, 743)
    assert mean["coverage"] == pytest.approx(643 / 743)
    assert not mean["coverage_met"]  # 0.865 < 0.9
    assert mean["compliance"] is None  # months are not judged


# ------------------------------------------------------------------------------------------ counts (W3)

W3_DAYS = pd.date_range("2025-01-01", periods=4, freq="D")


def test_w3_exceedance_days_from_daily_means_with_equality_not_counted():
    # W3: D1 mean 52.0 (valid), D2 60.0 but 17 hours (invalid), D3 50.0 (valid, equal), D4 50.41667 (valid)
    rows = daily_rows("c1", "PM10", "day_mean", W3_DAYS, [52.0, 60.0, 50.0, (23 * 50 + 60) / 24])
    rows.loc[1, "is_valid"] = False
    matrix, _ = pm.day_matrix(rows, ["cell_id"], pm.month_period(2025, 1))
    assert pm.exceedance_count(matrix, 50.0)[0] == 2
    _, n_valid, n_expected, _ = pm.mean_and_coverage(matrix)
    assert (n_valid[0], n_expected) == (3, 31)


def test_w3_hours_above_an_hourly_threshold_equality_not_counted():
    # W3 hourly: D1 12×40 12×64 → 12 above 50; D2 17×60 7×NaN → 17; D3 9×45 9×55 6×NaN → 9;
    # D4 23×50 1×60 → 1 (the 23 hours at 50 equal the threshold). Total 39 hours.
    values = ([40.0] * 12 + [64.0] * 12 + [60.0] * 17 + [np.nan] * 7 + [45.0] * 9 + [55.0] * 9 + [np.nan] * 6
              + [50.0] * 23 + [60.0])
    hours = pd.date_range("2025-01-01", periods=96, freq="h", tz="UTC")
    matrix, _ = pm.hour_matrix(pd.DataFrame({"s": "s1", "ts_start_utc": hours, "value": values}), ["s"],
                               pm.period_hours_utc(pm.month_period(2025, 1), "UTC"))
    assert pm.exceedance_count(matrix, 50.0)[0] == 39
    assert pm.exceedance_count(matrix, 50.0, round_values=True)[0] == 39


def test_o3_target_days_and_somo35():
    days = pd.date_range("2025-07-01", periods=6, freq="D")
    # max 8-h means: 120 (equal, not above), 120.375 (W12, above), 130, 60, NaN (invalid), 75.5
    values = [120.0, 120.375, 130.0, 60.0, np.nan, 75.5]
    matrix, _ = pm.day_matrix(daily_rows("c1", "O3", "day_max_8h_mean", days, values), ["cell_id"],
                              pm.month_period(2025, 7))
    assert pm.exceedance_count(matrix, 120.0)[0] == 2
    # SOMO35 = (120 − 70) + (120.375 − 70) + (130 − 70) + 0 + (75.5 − 70) = 50 + 50.375 + 60 + 5.5 = 165.875
    assert pm.somo(matrix, 70.0)[0] == pytest.approx(165.875)


def test_o3_target_days_three_year_mean_needs_every_year():
    assert pm.n_year_mean({2023: 20, 2024: 30, 2025: 28}, 2025) == pytest.approx(26.0)
    assert np.isnan(pm.n_year_mean({2024: 30, 2025: 28}, 2025))


# ------------------------------------------------------------------------------------------ percentiles (W10)

@pytest.mark.parametrize(("k", "linear", "nearest"), [(3, 10.0, 10.0), (4, 13.6, 20.0), (5, 20.0, 20.0)])
def test_w10_who_99th_percentile_both_estimators(k, linear, nearest):
    values = np.array([20.0] * k + [10.0] * (365 - k))
    assert pm.percentile(values, 99, "linear")[0] == pytest.approx(linear, abs=1e-6)
    assert pm.percentile(values, 99, "nearest_rank")[0] == pytest.approx(nearest, abs=1e-6)


def test_p90_4_of_365_daily_means():
    values = np.arange(1.0, 366.0)  # 1 … 365
    # linear: position 364 × 0.904 = 329.056 → 330 + 0.056; nearest rank: ⌈0.904 × 365⌉ = ⌈329.96⌉ = 330th value
    assert pm.percentile(values, 90.4, "linear")[0] == pytest.approx(330.056)
    assert pm.percentile(values, 90.4, "nearest_rank")[0] == pytest.approx(330.0)


@pytest.mark.parametrize(("hours_above", "expected"), [(18, 20.0 + 0.482 * 280.0), (19, 300.0)])
def test_p99_8_of_a_year_of_no2_hours(hours_above, expected):
    # 8760 hours, ``hours_above`` at 300 and the rest at 20; linear position 8759 × 0.998 = 8741.482:
    # with 18 hours at 300, index 8741 is still 20 and 8742 is 300 → 20 + 0.482 × 280 = 154.96 (≤ 200);
    # with 19 hours both are 300. The 18 hours allowed by 2008/50 are exactly what P99.8 tolerates.
    values = np.full(8760, 20.0)
    values[:hours_above] = 300.0
    assert pm.percentile(values, 99.8, "linear")[0] == pytest.approx(expected, abs=1e-6)


def test_w10_who_guideline_judged_by_percentile_eu_limit_by_count():
    year = pm.year_period(2025)
    rows = []
    for cell, k in (("c4", 4), ("c5", 5)):
        values = np.full(365, 10.0)
        values[:k] = 20.0
        rows.append(daily_rows(cell, "PM2.5", "day_mean", year.days, values))
    limits = thresholds(("WHO_2021", "PM2.5", "day_mean", 15.0, "guideline", 3),
                        ("TEST", "PM2.5", "day_mean", 15.0, "limit", 3))
    out = pm.daily_indicators(pd.concat(rows), ["cell_id"], year, limits, RULES)
    counts = out[out["indicator"] == "exceedance_count"].set_index(["cell_id", "set_id"])
    assert counts.loc[("c4", "WHO_2021"), "value"] == 4
    assert counts.loc[("c4", "WHO_2021"), "judged_by"] == "percentile"
    assert counts.loc[("c4", "WHO_2021"), "judged_value"] == pytest.approx(13.6)
    assert counts.loc[("c4", "WHO_2021"), "compliance"] == "compliant"
    assert counts.loc[("c5", "WHO_2021"), "compliance"] == "not_compliant"
    # the same 4 days judged as a count against 3 allowed exceedances
    assert counts.loc[("c4", "TEST"), "compliance"] == "not_compliant"
    assert counts.loc[("c4", "TEST"), "allowed_exceedances"] == 3
    p99 = out[(out["indicator"] == "percentile") & (out["q"] == 99.0)].set_index("cell_id")["value"]
    assert p99["c4"] == pytest.approx(13.6) and p99["c5"] == pytest.approx(20.0)


# ------------------------------------------------------------------------------------------ coverage

def test_year_with_a_gap_keeps_its_values_flagged_and_never_compliant():
    year = pm.year_period(2025)
    values = np.full(365, 30.0)
    values[300:] = np.nan  # 300 valid days of 365: coverage 0.8219 < 0.9
    values[0] = 30.0 + 300.0  # mean = (300 × 30 + 300) / 300 = 31
    limits = thresholds(("EU", "NO2", "year_mean", 40.0, "limit", None),
                        ("EU", "NO2", "year_mean", 20.0, "limit_low", None),
                        ("EU", "NO2", "day_mean", 50.0, "limit", 18))
    out = pm.daily_indicators(daily_rows("c1", "NO2", "day_mean", year.days, values), ["cell_id"], year, limits,
                              RULES)
    mean = out[out["indicator"] == "mean"].iloc[0]
    assert mean["value"] == pytest.approx(31.0)
    assert (mean["n_valid"], mean["n_expected"]) == (300, 365)
    assert mean["coverage"] == pytest.approx(300 / 365) and not mean["coverage_met"]
    verdicts = out[out["indicator"] == "mean_vs_threshold"].set_index("level")["compliance"]
    assert verdicts["limit"] == "undetermined"  # 31 ≤ 40 but only 82 % of the year
    assert verdicts["limit_low"] == "undetermined"  # 31 > 20, but a mean of 82 % of the year proves nothing
    days = out[out["indicator"] == "exceedance_count"].iloc[0]
    assert (days["value"], days["compliance"]) == (1, "undetermined")  # 330 > 50 once, ≤ 18 allowed


def test_full_year_is_compliant_below_the_limit():
    year = pm.year_period(2025)
    limits = thresholds(("EU", "NO2", "year_mean", 40.0, "limit", None))
    out = pm.daily_indicators(daily_rows("c1", "NO2", "day_mean", year.days, np.full(365, 40.0)), ["cell_id"],
                              year, limits, RULES)
    verdict = out[out["indicator"] == "mean_vs_threshold"].iloc[0]
    assert verdict["value"] == 40.0 and verdict["coverage_met"] and verdict["compliance"] == "compliant"


def test_compliance_rules():
    judged = np.array([5.0, 5.0, 2.0, 2.0, np.nan])
    met = np.array([True, False, True, False, True])
    # counts: 5 > 3 is not compliant even with coverage unmet (more data only adds exceedances)
    assert pm.compliance(judged, 3.0, met, is_count=True).tolist() == [
        "not_compliant", "not_compliant", "compliant", "undetermined", "undetermined"]
    # means and percentiles: unmet coverage is undetermined either way
    assert pm.compliance(judged, 3.0, met).tolist() == [
        "not_compliant", "undetermined", "compliant", "undetermined", "undetermined"]


def test_o3_year_needs_75_percent_in_summer_and_in_winter():
    year = pm.year_period(2025)
    days = year.days
    summer = np.isin(days.month, [4, 5, 6, 7, 8, 9])  # 183 days; winter 182 days
    full_summer_only = np.where(summer, 100.0, np.nan)  # 183/365 = 50 % overall, winter 0 %
    winter_gap = np.full(365, 100.0)
    winter_days = np.flatnonzero(~summer)
    winter_gap[winter_days[:46]] = np.nan  # winter 136/182 = 0.747 < 0.75, summer 100 %
    winter_ok = np.full(365, 100.0)
    winter_ok[winter_days[:45]] = np.nan  # winter 137/182 = 0.753
    met = pm.o3_year_coverage_met(np.vstack([full_summer_only, winter_gap, winter_ok]), days.month,
                                  (4, 5, 6, 7, 8, 9), 0.75)
    assert met.tolist() == [False, False, True]


# ------------------------------------------------------------------------------------------ AOT40

def test_aot40_counts_may_to_july_08_to_20_cet():
    year = pm.year_period(2025)
    hours = pm.period_hours_utc(year, "CET")
    mask = pm.aot40_hours_mask(hours, (5, 6, 7), (8, 20))
    assert mask.sum() == (31 + 30 + 31) * 12
    # 1 June 2025: 06:00 UTC = 07:00 CET (out), 07:00 UTC = 08:00 CET (in), 18:00 UTC = 19:00 CET (in),
    # 19:00 UTC = 20:00 CET (out), 12:00 UTC = 13:00 CET at 80 (equal: adds 0); 30 April 23:00 UTC = 1 May 00 CET (out)
    ts = pd.to_datetime(["2025-06-01 06:00", "2025-06-01 07:00", "2025-06-01 18:00", "2025-06-01 19:00",
                         "2025-06-01 12:00", "2025-04-30 23:00"], utc=True)
    values = pd.DataFrame({"s": "s1", "ts_start_utc": ts, "value": [100.0, 90.0, 85.0, 120.0, 80.0, 200.0]})
    matrix, _ = pm.hour_matrix(values, ["s"], hours)
    total, n_valid, n_expected = pm.aot40(matrix, mask, 80.0)
    assert total[0] == pytest.approx((90 - 80) + (85 - 80))
    assert (n_valid[0], n_expected) == (3, 1104)


def test_hourly_indicators_report_aot40_and_hours_above():
    year = pm.year_period(2025)
    ts = pd.to_datetime(["2025-06-01 07:00", "2025-06-01 08:00"], utc=True)
    hourly = pd.DataFrame({"station_id": "s1", "station_class": "background", "pollutant": "O3",
                           "ts_start_utc": ts, "value": [180.0, 181.0]})
    limits = thresholds(("EU", "O3", "1h", 180.0, "information", None))
    out = pm.hourly_indicators(hourly, ["station_id", "station_class"], year, "CET", limits, RULES)
    by = out.set_index("indicator")
    assert by.loc["aot40", "value"] == pytest.approx(100.0 + 101.0)
    assert by.loc["exceedance_count", "value"] == 1  # 180 equals the threshold
    assert by.loc["exceedance_count", "compliance"] == "not_compliant"  # 1 > 0 allowed
    assert by.loc["mean", "n_expected"] == 8760


# ------------------------------------------------------------------------------------------ AEI (W13)

def test_w13_average_exposure_indicator():
    means = pd.DataFrame({"year": [2021] * 3 + [2022] * 3 + [2023] * 3,
                          "value": [11.8, 12.6, 10.9, 12.1, 13.0, 11.5, 10.2, 11.0, 9.6]})
    assert pm.average_exposure_indicator(means, 2023) == pytest.approx(11.411111, abs=1e-6)
    assert np.isnan(pm.average_exposure_indicator(means, 2024))


@pytest.mark.parametrize(("winter_hours_missing", "met"), [(1092, True), (1100, False)])
def test_o3_hourly_year_uses_the_half_year_rule_not_90_percent(winter_hours_missing, met):
    # 2025 in CET: summer (April-September) 183 × 24 = 4392 hours, winter 182 × 24 = 4368 hours.
    # 1092 winter hours missing: winter 3276 / 4368 = 0.75 (met) though the year has 7668 / 8760 = 0.875 < 0.9;
    # 1100 missing: winter 3268 / 4368 = 0.748 (unmet)
    year = pm.year_period(2025)
    hours = pm.period_hours_utc(year, "CET")
    winter = ~np.isin(hours.tz_convert("Etc/GMT-1").month, [4, 5, 6, 7, 8, 9])
    assert (winter.sum(), (~winter).sum()) == (4368, 4392)
    values = np.full(len(hours), 50.0)
    values[np.flatnonzero(winter)[:winter_hours_missing]] = np.nan
    hourly = pd.DataFrame({"station_id": "s1", "station_class": "background", "pollutant": "O3",
                           "ts_start_utc": hours, "value": values})
    out = pm.hourly_indicators(hourly, ["station_id", "station_class"], year, "CET", thresholds(), RULES)
    mean = out[out["indicator"] == "mean"].iloc[0]
    assert mean["coverage"] == pytest.approx((8760 - winter_hours_missing) / 8760)
    assert bool(mean["coverage_met"]) is met


def test_series_of_several_keys_are_sorted_and_each_row_finds_its_own():
    rng = np.random.default_rng(7)
    rows = pd.DataFrame({"station_id": rng.choice(["FR3", "FR1", "FR2"], 50),
                         "station_class": rng.choice(["traffic", "background"], 50), "value": rng.random(50)})
    keys = ["station_id", "station_class"]
    series, code = pm._series_codes(rows, keys)
    expected = rows[keys].drop_duplicates().sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(series, expected)
    pd.testing.assert_frame_equal(series.iloc[code].reset_index(drop=True), rows[keys])
