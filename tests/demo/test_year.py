"""The demo year (docs/demo.md, "The year before"): every E2 file read through the real connector.

Expected values come from the design constants of ``spse.pipeline.demo.air_year`` and the
dates of docs/demo.md; the statistics (local-day means, 8-h means, counts) are recomputed
here with pandas from the parsed hourly rows, not with spse code.
"""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pandas as pd
import pytest

import spse.sources
from spse.pipeline import demo
from spse.pipeline.demo import air, air_year, timeline

TZ = "Europe/Paris"
FIRST, LAST = dt.date(2025, 1, 16), dt.date(2026, 1, 15)
D1, D2 = dt.date(2026, 1, 14), dt.date(2026, 1, 15)
BACKGROUND = {"FR04004", "FR04014", "FR04037", "FR04055", "FR04060", "FR04179", "FR04017", "FR04018", "FR04099",
              "FR04034"}
O3_STATIONS = {"FR04004", "FR04017", "FR04034", "FR04037", "FR04055"}
SERIES = 35  # station × pollutant pairs of facts.STATIONS


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return demo.generate(tmp_path_factory.mktemp("year") / "demo")


@pytest.fixture(scope="module")
def hourly(bundle) -> pd.DataFrame:
    source = spse.sources.get("lcsqa_e2")
    frames = []
    for path in sorted((bundle / "lcsqa_e2").rglob("*.csv")):
        day = dt.date.fromisoformat(path.stem[-10:])
        result = source.parse(path.read_bytes(), str(path.relative_to(bundle / "lcsqa_e2")), source.partition(day))
        assert result.rejects.empty, path.name
        frames.append(result.frame)
    rows = pd.concat(frames, ignore_index=True)
    local = rows["ts_start_utc"].dt.tz_convert(TZ)
    rows["day"] = local.dt.date
    rows["hour"] = local.dt.hour
    return rows


@pytest.fixture(scope="module")
def daily(hourly) -> pd.DataFrame:
    """Local-day means with the 75 % coverage rule (methods.md W3), over the demo year."""
    year = hourly[(hourly["day"] >= FIRST) & (hourly["day"] <= LAST)]
    valid = year[year["is_valid"]]
    stats = valid.groupby(["station_id", "pollutant", "day"])["value"].agg(["mean", "count"]).reset_index()
    return stats[stats["count"] >= 18]


def test_the_files_cover_the_year_in_utc_days(bundle, hourly):
    files = sorted(p.name for p in (bundle / "lcsqa_e2").rglob("*.csv"))
    assert files == [f"FR_E2_{d.isoformat()}.csv" for d in _days(dt.date(2025, 1, 15), LAST)]
    assert len(hourly) == len(files) * SERIES * 24
    assert sorted(set(timeline.DEMO_YEAR)) == [FIRST, LAST]
    for _, series in hourly.groupby(["station_id", "pollutant"]):
        steps = series["ts_start_utc"].sort_values().diff().dropna()
        assert (steps == pd.Timedelta(hours=1)).all()  # no gap, no duplicate, DST days included


def test_the_designed_days_do_not_depend_on_the_year(bundle, tmp_path):
    air.write(tmp_path, demo._rng("air"))
    for day in ("2026-01-14", "2026-01-15"):
        relative = f"lcsqa_e2/2026/FR_E2_{day}.csv"
        assert (tmp_path / relative).read_bytes() == (bundle / relative).read_bytes()


def test_dst_days_are_ordinary_23_and_25_hour_days(hourly):
    for day, hours in ((dt.date(2025, 3, 30), 23), (dt.date(2025, 10, 26), 25), (dt.date(2025, 3, 29), 24)):
        rows = hourly[hourly["day"] == day]
        per_series = rows.groupby(["station_id", "pollutant"]).agg(n=("value", "size"), valid=("is_valid", "sum"))
        assert len(per_series) == SERIES
        assert (per_series["n"] == hours).all() and (per_series["valid"] == hours).all(), day
    autumn = hourly[(hourly["day"] == dt.date(2025, 10, 26)) & (hourly["station_id"] == "FR04004")
                    & (hourly["pollutant"] == "NO2")]
    assert list(autumn["hour"]).count(2) == 2  # 02:00 CEST then 02:00 CET


def test_o3_information_hours_are_the_designed_ones(hourly):
    o3 = hourly[(hourly["pollutant"] == "O3") & hourly["is_valid"]]
    above = o3[o3["value"] > 180]
    assert set(zip(above["day"], above["station_id"], strict=True)) == set(air_year.O3_INFO)
    assert len(above) == len(air_year.O3_INFO)  # one hour per station-day
    assert (above["hour"] == 15).all()
    for (day, station), peak in air_year.O3_INFO.items():
        value = above.loc[(above["day"] == day) & (above["station_id"] == station), "value"].item()
        assert value == peak
    assert o3["value"].max() == 203.5 and o3["value"].max() < 240  # information only, never the alert threshold
    stations = above.groupby("day")["station_id"].agg(set)
    assert stations[dt.date(2025, 7, 1)] == O3_STATIONS
    assert set(stations.index) <= set(air_year.O3_HIGH_DAYS)
    assert set(above["station_id"]) <= BACKGROUND


def test_the_o3_episode_persists_three_days(hourly):
    o3 = hourly[(hourly["pollutant"] == "O3") & (hourly["value"] > 180)]
    days = sorted(set(o3["day"]))
    runs, run = [], [days[0]]
    for previous, day in itertools.pairwise(days):
        if day - previous == dt.timedelta(days=1):
            run.append(day)
        else:
            runs.append(run)
            run = [day]
    runs.append(run)
    longest = max(runs, key=len)
    assert longest == [dt.date(2025, 6, 30), dt.date(2025, 7, 1), dt.date(2025, 7, 2)]
    assert [len(r) for r in runs] == [3, 1]  # 2025-08-12 is a single day: no persistence
    assert max(len(r) for r in runs) >= 2  # the J and J+1 rule of thresholds.csv (consecutive_periods = 2)


def _max_8h_by_day(series: pd.DataFrame, offset: str | None) -> pd.Series:
    """Daily maximum of the 8-h running means, each attributed to the day of its last hour (methods.md W12)."""
    ordered = series.sort_values("ts_start_utc").set_index("ts_start_utc")
    means = ordered["value"].where(ordered["is_valid"]).rolling(8, min_periods=6).mean()
    stamps = means.index.tz_convert(TZ) if offset is None else means.index + pd.Timedelta(offset)
    return means.groupby(np.asarray(stamps.date)).max()


@pytest.mark.parametrize("offset", [None, "1h"], ids=["local_day", "cet_day"])
def test_o3_target_value_days_are_counted_exactly(hourly, offset):
    o3 = hourly[hourly["pollutant"] == "O3"]
    expected = set(air_year.O3_HIGH_DAYS)
    assert len(expected) == 20
    for station in O3_STATIONS:
        best = _max_8h_by_day(o3[o3["station_id"] == station], offset)
        best = best[(best.index >= FIRST) & (best.index <= LAST)]
        assert set(best.index[best > 120]) == expected, station
        assert set(best.index[best > 100]) == expected, station  # WHO 2021 (100) on the same days
        assert best.drop(list(expected)).max() < 100


def test_no2_who_days_at_background_stations(daily):
    no2 = daily[(daily["pollutant"] == "NO2") & daily["station_id"].isin(BACKGROUND)]
    expected = set(air_year.NO2_WHO_DAYS) | {D1, D2}
    assert len(air_year.NO2_WHO_DAYS) == 5 * 5
    for station, rows in no2.groupby("station_id"):
        over = set(rows.loc[rows["mean"] > 25, "day"])
        assert over == expected, station
        assert len(over) == 27
    assert all(day.month in (11, 12, 1, 2) for day in expected)
    summer = no2[no2["day"].map(lambda d: d.month in (5, 6, 7, 8, 9))]
    assert summer["mean"].max() <= 25


def test_no2_traffic_and_hourly_ceilings(hourly, daily):
    no2 = daily[(daily["pollutant"] == "NO2") & ~daily["station_id"].isin(BACKGROUND)]
    assert set(no2.loc[no2["mean"] > 50, "day"]) <= {D1, D2}
    high = hourly[(hourly["pollutant"] == "NO2") & (hourly["value"] > 200)]
    assert list(zip(high["station_id"], high["value"], strict=True)) == [("FR04329", 212.0)]


def test_particles_cross_daily_thresholds_only_on_d2(daily):
    pm10 = daily[daily["pollutant"] == "PM10"]
    assert set(pm10.loc[pm10["mean"] > 45, "day"]) == {D2}
    pm25 = daily[daily["pollutant"] == "PM2.5"]
    assert set(pm25.loc[pm25["mean"] > 25, "day"]) <= {D2}


def test_outage_station_has_no_valid_value(hourly, daily):
    outage = air_year.OUTAGE
    days = _days(outage["first"], outage["last"])
    assert len(days) == 6 and outage["station"] in BACKGROUND
    rows = hourly[(hourly["station_id"] == outage["station"]) & hourly["day"].isin(days)]
    assert len(rows) > 0 and not rows["is_valid"].any() and (rows["validity"] == -1).all()
    assert rows["value"].isna().all()
    mine = daily[daily["station_id"] == outage["station"]]
    for pollutant in ("NO2", "PM10"):
        kept = set(mine.loc[mine["pollutant"] == pollutant, "day"])
        assert not kept & set(days)
        assert {outage["first"] - dt.timedelta(days=1), outage["last"] + dt.timedelta(days=1)} <= kept


def test_short_day_has_sixteen_valid_hours(hourly):
    short = air_year.SHORT_DAY
    rows = hourly[(hourly["station_id"] == short["station"]) & (hourly["pollutant"] == short["pollutant"])
                  & (hourly["day"] == short["day"])]
    assert len(rows) == 24 and rows["is_valid"].sum() == 24 - len(short["invalid_local_hours"]) == 16
    assert sorted(rows.loc[~rows["is_valid"], "hour"]) == list(short["invalid_local_hours"])


def test_the_only_invalid_rows_are_designed(hourly):
    history = hourly[hourly["ts_start_utc"] < pd.Timestamp("2026-01-14", tz="UTC")]
    invalid = history[~history["is_valid"]]
    outage = invalid["station_id"] == air_year.OUTAGE["station"]
    assert (invalid.loc[~outage, "station_id"] == air_year.SHORT_DAY["station"]).all()
    assert (~outage).sum() == 8 and outage.sum() == 6 * 24 * 2  # NO2 and PM10, 6 local days of 24 hours


def _mean(daily: pd.DataFrame, pollutant: str, months: tuple[int, ...], stations=BACKGROUND) -> float:
    rows = daily[(daily["pollutant"] == pollutant) & daily["station_id"].isin(stations)]
    return rows.loc[rows["day"].map(lambda d: d.month in months), "mean"].mean()


def test_seasonal_cycles(daily):
    assert _mean(daily, "PM10", (2, 3, 4)) > 1.3 * _mean(daily, "PM10", (7, 8, 9))
    assert _mean(daily, "PM2.5", (2, 3, 4), set(air_year.PM25_LEVEL)) > _mean(daily, "PM2.5", (7, 8, 9),
                                                                               set(air_year.PM25_LEVEL))
    assert _mean(daily, "NO2", (11, 12, 1, 2)) > 1.3 * _mean(daily, "NO2", (5, 6, 7, 8))
    assert _mean(daily, "O3", (6, 7, 8)) > 2 * _mean(daily, "O3", (12, 1, 2))


def test_calm_weeks_are_low(daily):
    for first, last in air_year.CALM_WEEKS:
        calm = _days(first, last)
        around = _days(first - dt.timedelta(days=14), first - dt.timedelta(days=1)) + \
            _days(last + dt.timedelta(days=1), last + dt.timedelta(days=14))
        for pollutant in ("PM10", "PM2.5", "NO2", "O3"):
            rows = daily[daily["pollutant"] == pollutant]
            inside = rows.loc[rows["day"].isin(calm), "mean"].mean()
            outside = rows.loc[rows["day"].isin(around), "mean"].mean()
            assert inside < 0.85 * outside, (first, pollutant)


def test_pm25_annual_means_follow_the_designed_gradient(daily):
    pm25 = daily[daily["pollutant"] == "PM2.5"].groupby("station_id")["mean"].mean()
    design = air_year.PM25_LEVEL
    assert list(pm25.sort_values(ascending=False).index) == sorted(design, key=design.get, reverse=True)
    assert np.diff(pm25.sort_values().to_numpy()).min() > 1.0
    for station, level in design.items():
        assert pm25[station] == pytest.approx(level, rel=0.2), station
    assert pm25["FR04329"] > 10 > pm25["FR04034"]  # EU 2024/2881 annual limit value (2030)


def test_local_d1_now_has_its_24_hours_and_stays_ordinary(daily, hourly):
    d1 = hourly[(hourly["day"] == D1) & (hourly["pollutant"] == "PM10")]
    assert (d1.groupby("station_id").size() == 24).all()
    assert d1["ts_start_utc"].min() == pd.Timestamp("2026-01-13 23:00", tz="UTC")
    pm10 = daily[(daily["day"] == D1) & (daily["pollutant"] == "PM10")]
    assert pm10["mean"].between(20, 40).all()


NOISE_SITES = ("PARIS-PERIPHERIQUE-EST", "PARIS-BD-SOULT", "PARIS-RUE-DE-RIVOLI", "PARIS-QUAI-DE-LA-RAPEE")


def test_noise_covers_every_local_day_of_the_year(bundle):
    for site in NOISE_SITES:
        found = sorted(p.stem for p in (bundle / "bruitparif_rumeur/PeriodicValues2" / site).glob("*.json"))
        assert found == [d.isoformat() for d in _days(FIRST, LAST)], site


@pytest.mark.parametrize(("day", "hours"), [(dt.date(2025, 3, 30), 23), (dt.date(2025, 10, 26), 25),
                                            (dt.date(2025, 7, 1), 24), (dt.date(2026, 1, 13), 24)])
def test_noise_year_days_parse_with_their_local_hours(bundle, day, hours):
    source = spse.sources.get("bruitparif_rumeur")
    # (Ld, Le, Ln) of docs/demo.md "Noise"; year days scatter around them (σ 0.5 daily, 0.8 hourly)
    design = {"PARIS-PERIPHERIQUE-EST": (76.0, 74.0, 71.0), "PARIS-QUAI-DE-LA-RAPEE": (65.0, 62.0, 57.0),
              "PARIS-RUE-DE-RIVOLI": (70.0, 68.0, 62.0), "PARIS-BD-SOULT": (72.0, 70.0, 66.0)}
    for site in NOISE_SITES:
        relative = f"PeriodicValues2/{site}/{day.isoformat()}.json"
        result = source.parse((bundle / "bruitparif_rumeur" / relative).read_bytes(), relative, source.partition(day))
        assert result.rejects.empty
        rows = result.frame
        assert len(rows) == hours and rows["is_valid"].all() and rows["ts_start_utc"].is_unique
        local_hour = rows["ts_start_utc"].dt.tz_convert(TZ).dt.hour
        period = np.where((local_hour >= 6) & (local_hour < 18), 0, np.where((local_hour >= 18) & (local_hour < 22),
                                                                             1, 2))
        expected = np.array(design[site])[period]
        assert np.abs(rows["laeq_dba"].to_numpy() - expected).max() < 6.0, site


def test_fast_e2_lines_are_the_bytes_of_the_csv_writer():
    from spse.pipeline.demo.files import csv_text

    series, values, _ = air.hourly_values(demo._rng("air"))
    utc = timeline.file_hours_utc()
    n, t = values.shape
    row_series, row_hour = np.repeat(np.arange(n), t), np.tile(np.arange(t), n)
    jitter = np.round(np.random.default_rng(7).uniform(-0.049, 0.049, n * t), 3)
    assert np.isnan(values).any() and (values % 1 == 0).any()  # invalid hours and whole values are covered
    expected = csv_text(air.e2_frame(series, values, utc, row_series, row_hour, jitter), ";")
    lines = air.e2_lines(series, values, utc, row_series, row_hour, jitter)
    assert ";".join(air.E2_HEADER) + "\n" + "\n".join(lines) + "\n" == expected
