"""The period step and marts on a small lake built by hand, with the four expert questions of
docs/expert-queries.md run as ``spse sql`` runs them (spse.pipeline.warehouse.expert).

Lake: three cells, two arrondissements, winter 2025 (December 2024 - February 2025) and the year
2025 of daily surface values, two stations' daily NO2 for 2025. Expected values are computed by hand
in the comments.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spse.core import register
from spse.methods import period as pm
from spse.pipeline import lake, periods, warehouse
from spse.pipeline.warehouse import EMPTY_SCHEMAS, expert

REPO = Path(__file__).resolve().parents[1]
_DTYPES = {"VARCHAR": "object", "DOUBLE": "float64", "BIGINT": "Int64", "BOOLEAN": "boolean", "DATE": "object",
           "TIMESTAMPTZ": "datetime64[ns, UTC]"}
WINTER = pd.date_range("2024-12-01", "2025-02-28", freq="D")  # 31 + 31 + 28 = 90 days
YEAR_2025 = pd.date_range("2025-01-01", "2025-12-31", freq="D")
ALL_DAYS = pd.date_range("2024-12-01", "2025-12-31", freq="D")
CELLS = ("c1", "c2", "c3")
# c1 → 75101; c2 half in 75101, half in 75102; c3 → 75102
POP_0_5 = {"c1": 10.0, "c2": 20.0, "c3": 40.0}
# winter NO2 days at 40 µg/m³ (the rest at 10): WHO 24-h guideline 25 with 3 allowed days
WINTER_NO2_DAYS = {"c1": 5, "c2": 3, "c3": 4}
PM25 = {"c1": 12.0, "c2": 8.0, "c3": 10.0}
O3_EPISODE = {("c1", "2025-07-10"): 190.0, ("c1", "2025-07-11"): 195.0, ("c2", "2025-07-11"): 185.0}


def frame(dataset: str, **values) -> pd.DataFrame:
    """A frame with every contract column of ``dataset``; columns not given are null."""
    n = len(next(iter(values.values())))
    columns = {}
    for name, type_ in EMPTY_SCHEMAS[dataset].columns.items():
        if name in values:
            columns[name] = pd.Series(values[name], dtype=_DTYPES[type_] if type_ != "VARCHAR" else None)
        else:
            columns[name] = pd.Series([None] * n, dtype=_DTYPES[type_])
    return pd.DataFrame(columns)


def daily_frame(dataset: str, key: dict, day: dt.date, rows: list[tuple[str, str, float | None]],
                time_base: str = "Europe/Paris") -> pd.DataFrame:
    """``rows`` = (pollutant, statistic, value); None = invalid day."""
    n = len(rows)
    return frame(dataset, **{k: [v] * n for k, v in key.items()}, date=[day] * n,
                 pollutant=[r[0] for r in rows], statistic=[r[1] for r in rows], value=[r[2] for r in rows],
                 is_valid=[r[2] is not None for r in rows], n_valid=[24] * n, n_expected=[24] * n,
                 coverage=[1.0] * n, time_base=[time_base] * n)


def winter_no2(cell: str, day: pd.Timestamp) -> float:
    return 40.0 if WINTER.get_loc(day) < WINTER_NO2_DAYS[cell] else 10.0


def write_lake() -> None:
    lake.write_partition("grid_cells", "vintage=current", frame(
        "grid_cells", cell_id=list(CELLS), population=[100.0, 200.0, 400.0], pop_0_5=list(POP_0_5.values()),
        pop_65p=[5.0, 6.0, 7.0], pop_poor_households=[1.0, 2.0, 3.0]))
    lake.write_partition("zones", "vintage=current", frame(
        "zones", zone_id=["75101", "75102"], zone_name=["Paris 1er", "Paris 2e"], zone_level=["arrondissement"] * 2))
    lake.write_partition("zone_cells", "vintage=current", frame(
        "zone_cells", zone_id=["75101", "75101", "75102", "75102"], cell_id=["c1", "c2", "c2", "c3"],
        area_fraction=[1.0, 0.5, 0.5, 1.0]))
    lake.write_partition("facilities", "vintage=current", frame(
        "facilities", facility_id=["f1", "f2", "f3", "f4"], category=["creche", "creche", "creche", "ehpad"],
        name=["Crèche A", "Crèche B", "Crèche C", "EHPAD D"], zone_id=["75101", "75102", "75101", "75101"]))
    lake.write_partition("facility_cells", "vintage=current", frame(
        "facility_cells", facility_id=["f1", "f2", "f3", "f4"], cell_id=["c1", "c3", "c2", "c1"]))
    lake.write_partition("air_stations", "vintage=current", frame(
        "air_stations", station_id=["s1", "s2"], station_name=["Paris Centre", "Paris Est"]))
    for day in ALL_DAYS:
        rows = []
        for cell in CELLS:
            no2 = winter_no2(cell, day) if day in WINTER else 10.0
            cell_rows = [("NO2", "day_mean", no2), ("PM2.5", "day_mean", PM25[cell])]
            if (cell, day.strftime("%Y-%m-%d")) in O3_EPISODE:
                cell_rows.append(("O3", "day_max_1h", O3_EPISODE[(cell, day.strftime("%Y-%m-%d"))]))
            rows.append(daily_frame("surface_daily", {"cell_id": cell}, day.date(), cell_rows))
        lake.write_partition("surface_daily", lake.date_partition(day.date()), pd.concat(rows, ignore_index=True))
        if day.year == 2025:
            index = YEAR_2025.get_loc(day)
            s1 = 60.0 if index < 20 else 30.0
            s2 = 15.0 if index < 200 else None
            lake.write_partition("station_daily", lake.date_partition(day.date()), pd.concat([
                daily_frame("station_daily", {"station_id": "s1", "station_class": "background"}, day.date(),
                            [("NO2", "day_mean", s1)]),
                daily_frame("station_daily", {"station_id": "s2", "station_class": "traffic"}, day.date(),
                            [("NO2", "day_mean", s2)]),
            ], ignore_index=True))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The lake, the period step over December 2024 - December 2025, and a published warehouse."""
    home = tmp_path_factory.mktemp("spse_home")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("SPSE_HOME", str(home))
        write_lake()
        counts = periods.build_periods_range(dt.date(2024, 12, 1), dt.date(2025, 12, 31))
        warehouse.publish(warehouse.build(dt.date(2025, 12, 31)))
        yield counts


def expert_query(label: str) -> str:
    """The SQL of the question ``label`` ((a) … (d)) in docs/expert-queries.md."""
    text = (REPO / "docs" / "expert-queries.md").read_text(encoding="utf-8")
    section = text.split(f"## ({label})", 1)[1]
    return re.search(r'spse sql "(.*?)"', section, re.S).group(1)


def test_step_writes_each_period_once_periods_ending_together_share_a_partition(built):
    assert built["period_cell"] > 0 and built["period_station"] > 0
    assert lake.partitions("period_cell") == [
        "date=2024-12-31", "date=2025-01-31", "date=2025-02-28", "date=2025-03-31", "date=2025-04-30",
        "date=2025-05-31", "date=2025-06-30", "date=2025-07-31", "date=2025-08-31", "date=2025-09-30",
        "date=2025-10-31", "date=2025-11-30", "date=2025-12-31", "date=2026-02-28"]
    shared = lake.read_partition("period_cell", "date=2025-12-31")
    assert set(shared["period"]) == {"2025", "2025-12"}
    assert set(lake.read_partition("period_cell", "date=2024-12-31")["period"]) == {"2024", "2024-12"}
    assert set(lake.read_partition("period_cell", "date=2025-01-31")["period"]) == {"2025-01"}
    assert set(lake.read_partition("period_cell", "date=2025-02-28")["period"]) == {"2025-02", "2025-S-winter"}
    # the winter of December 2025 ends in February 2026: its partition is written before its last day
    assert set(lake.read_partition("period_cell", "date=2026-02-28")["period"]) == {"2026-S-winter"}
    keys = ["period", "cell_id", "pollutant", "indicator", "set_id", "q"]
    assert shared.groupby(keys, dropna=False).size().max() == 1
    # rewriting the month keeps the year's rows of the same partition
    periods.write_period("period_cell", pm.month_period(2025, 12), periods._empty("period_cell"))
    assert set(lake.read_partition("period_cell", "date=2025-12-31")["period"]) == {"2025"}
    periods.build_periods(dt.date(2025, 12, 15))
    rebuilt = lake.read_partition("period_cell", "date=2025-12-31")
    assert set(rebuilt["period"]) == {"2025", "2025-12"} and len(rebuilt) == len(shared)


def test_a_children_above_the_who_no2_guideline_last_winter(built):
    rows = expert.frame(expert_query("a")).set_index("zone_id")
    # c1 5 days > 3 (above), c2 3 days (not above), c3 4 days (above):
    # 75101 = c1 10 + ½ c2 0 = 10 children; 75102 = c3 40 = 40 children
    assert rows.loc["75101", "pop_0_5_above"] == pytest.approx(10.0)
    assert rows.loc["75102", "pop_0_5_above"] == pytest.approx(40.0)
    assert set(rows["period"]) == {"2025-S-winter"}


def test_b_creches_ranked_by_pm25_annual_mean(built):
    rows = expert.frame(expert_query("b"))
    # f1 in c1 (12), f2 in c3 (10), f3 in c2 (8); the EHPAD is another category
    assert rows["facility_id"].tolist() == ["f1", "f2", "f3"]
    assert rows["rank_in_category"].tolist() == [1, 2, 3]
    assert rows["mean_ug_m3"].tolist() == pytest.approx([12.0, 10.0, 8.0])
    assert rows["coverage_met"].all()


def test_c_days_of_the_o3_episode(built):
    rows = expert.frame(expert_query("c"))
    # information threshold 180 (R221-1): c1 on 10 and 11 July (100 residents), c2 on 11 July (200)
    assert [pd.Timestamp(d).date() for d in rows["date"]] == [dt.date(2025, 7, 10), dt.date(2025, 7, 11)]
    assert rows["pop_total_above"].tolist() == pytest.approx([100.0, 300.0])
    assert rows["max_cell_ug_m3"].tolist() == pytest.approx([190.0, 195.0])


def test_d_annual_compliance_per_threshold_set(built):
    rows = expert.frame(expert_query("d"))
    verdict = {(r.station_id, r.set_id, r.averaging, r.threshold_value): r for r in rows.itertuples()}
    # s1: 20 days at 60 and 345 at 30; mean = (20 × 60 + 345 × 30) / 365 = 11550 / 365 = 31.643836
    s1_year = verdict[("s1", "EU_2008_50", "year_mean", 40.0)]
    assert s1_year.value == pytest.approx(11550 / 365)
    assert s1_year.compliance == "compliant"
    assert verdict[("s1", "EU_2024_2881", "year_mean", 20.0)].compliance == "not_compliant"
    eu_days = verdict[("s1", "EU_2024_2881", "day_mean", 50.0)]
    assert (eu_days.value, eu_days.allowed_exceedances, eu_days.compliance) == (20, 18, "not_compliant")
    who_days = verdict[("s1", "WHO_2021", "day_mean", 25.0)]
    assert who_days.judged_by == "percentile" and who_days.judged_value == pytest.approx(60.0)
    assert who_days.compliance == "not_compliant"
    # s2: 200 valid days of 365 at 15 (coverage 0.548 < 0.9): never compliant
    assert verdict[("s2", "EU_2008_50", "year_mean", 40.0)].compliance == "undetermined"
    # a mean of 15 > 10 over 55 % of the year proves nothing either way
    assert verdict[("s2", "WHO_2021", "year_mean", 10.0)].compliance == "undetermined"
    assert verdict[("s2", "EU_2024_2881", "day_mean", 50.0)].compliance == "undetermined"
    assert set(rows["period"]) == {"2025"}


def test_the_questions_take_the_last_ended_period_when_the_lake_goes_on(spse_home):
    # five days of 2026 begin a year and go on with the winter 2026: PM2.5 at 30 in every cell,
    # which would rank the crèches all equal if the year 2026 were taken
    write_lake()
    for day in pd.date_range("2026-01-01", "2026-01-05", freq="D"):
        lake.write_partition("surface_daily", lake.date_partition(day.date()), pd.concat(
            [daily_frame("surface_daily", {"cell_id": cell}, day.date(), [("NO2", "day_mean", 40.0),
                                                                          ("PM2.5", "day_mean", 30.0)])
             for cell in CELLS], ignore_index=True))
        station = {"station_id": "s1", "station_class": "background"}
        lake.write_partition("station_daily", lake.date_partition(day.date()),
                             daily_frame("station_daily", station, day.date(), [("NO2", "day_mean", 30.0)]))
    periods.build_periods_range(dt.date(2024, 12, 1), dt.date(2026, 1, 5))
    warehouse.publish(warehouse.build(dt.date(2026, 1, 5)))
    winter = expert.frame(expert_query("a")).set_index("zone_id")
    assert set(winter["period"]) == {"2025-S-winter"}
    assert winter["pop_0_5_above"].to_dict() == pytest.approx({"75101": 10.0, "75102": 40.0})
    creches = expert.frame(expert_query("b"))
    assert set(creches["period"]) == {"2025"}
    assert creches["mean_ug_m3"].tolist() == pytest.approx([12.0, 10.0, 8.0])
    assert set(expert.frame(expert_query("d"))["period"]) == {"2025"}


def test_zone_mean_is_population_weighted(built):
    rows = expert.frame(
        "select zone_id, pop_weighted_mean, population_valid from marts.exposure_zone_period "
        "where pollutant = 'PM2.5' and period = '2025' and indicator = 'mean' and zone_level = 'arrondissement' "
        "order by zone_id")
    # 75101: (100 × 12 + 100 × 8) / 200 = 10; 75102: (100 × 8 + 400 × 10) / 500 = 9.6
    assert rows["pop_weighted_mean"].tolist() == pytest.approx([10.0, 9.6])
    assert rows["population_valid"].tolist() == pytest.approx([200.0, 500.0])


def test_period_uses_the_eu_time_base_rows_when_present(spse_home, tmp_path, monkeypatch):
    params = tmp_path / "parameters.csv"
    source = register.files()["parameters"].read_text(encoding="utf-8")
    if "\neu_day_time_base," not in source:
        source = source.rstrip("\n") + '\neu_day_time_base,UTC,,U,"test",""\n'
    params.write_text(source, encoding="utf-8")
    monkeypatch.setenv("SPSE_PARAMETERS_FILE", str(params))
    march = pd.date_range("2025-03-01", "2025-03-31", freq="D")
    for day in march:
        lake.write_partition("surface_daily", lake.date_partition(day.date()), pd.concat([
            daily_frame("surface_daily", {"cell_id": "c1"}, day.date(), [("NO2", "day_mean", 20.0)],
                        time_base="Europe/Paris"),
            daily_frame("surface_daily", {"cell_id": "c1"}, day.date(), [("NO2", "day_mean", 30.0)],
                        time_base=register.parameters()["eu_day_time_base"]),
        ], ignore_index=True))
    periods.build_periods(dt.date(2025, 3, 15))
    month = lake.read_partition("period_cell", "date=2025-03-31")
    mean = month[(month["period"] == "2025-03") & (month["indicator"] == "mean")].iloc[0]
    assert mean["value"] == 30.0 and mean["n_valid"] == 31
    assert mean["time_base"] == register.parameters()["eu_day_time_base"]


def test_o3_target_days_judged_on_three_years(spse_home):
    # station s3: 30, 30 and 20 days above 120 in July 2023, 2024, 2025 (sum 80 > 3 × 25 allowed by
    # EU 2008/50: the 3-year mean 26.67 exceeds whatever the missing days); s4: 10 days a year
    # (sum 30 ≤ 75, but only July is measured: coverage unmet, undetermined)
    days_above = {2023: {"s3": 30, "s4": 10}, 2024: {"s3": 30, "s4": 10}, 2025: {"s3": 20, "s4": 10}}
    for year, counts in days_above.items():
        for day in pd.date_range(f"{year}-07-01", f"{year}-07-31", freq="D"):
            lake.write_partition("station_daily", lake.date_partition(day.date()), pd.concat([
                daily_frame("station_daily", {"station_id": s, "station_class": "background"}, day.date(),
                            [("O3", "day_max_8h_mean", 130.0 if day.day <= n else 90.0)])
                for s, n in counts.items()], ignore_index=True))
        periods.build_periods(dt.date(year, 7, 15))
    warehouse.publish(warehouse.build(dt.date(2025, 7, 31)))
    rows = expert.frame(
        "select station_id, value, exceedances_3y_mean, n_years, compliance_basis, compliance "
        "from marts.compliance_period where period = '2025' and set_id = 'EU_2008_50' and pollutant = 'O3' "
        "order by station_id").set_index("station_id")
    assert rows.loc["s3", "value"] == 20
    assert rows.loc["s3", "exceedances_3y_mean"] == pytest.approx(80 / 3)
    assert (rows.loc["s3", "n_years"], rows.loc["s3", "compliance_basis"]) == (3, "3-year mean")
    assert rows.loc["s3", "compliance"] == "not_compliant"
    assert rows.loc["s4", "exceedances_3y_mean"] == pytest.approx(10.0)
    assert rows.loc["s4", "compliance"] == "undetermined"


def test_station_periods_use_the_hourly_values(spse_home):
    # two June days of hourly O3 at one station, 100 µg/m³ except 2 June 07:00 and 08:00 UTC (08:00 and
    # 09:00 CET) at 180 and 120; the station's daily rows exist for the two days (time base CET)
    hours = pd.date_range("2025-06-01", periods=48, freq="h", tz="UTC")
    values = np.full(48, 100.0)
    values[24 + 7], values[24 + 8] = 180.0, 120.0
    for day in (dt.date(2025, 6, 1), dt.date(2025, 6, 2)):
        inside = hours.date == day
        lake.write_partition("air_hourly", lake.date_partition(day), pd.DataFrame({
            "station_id": "s1", "station_class": "background", "pollutant": "O3", "ts_start_utc": hours[inside],
            "value": values[inside], "is_valid": True}))
        lake.write_partition("station_daily", lake.date_partition(day), daily_frame(
            "station_daily", {"station_id": "s1", "station_class": "background"}, day,
            [("O3", "day_max_8h_mean", 110.0)], time_base="CET"))
    tables = periods.period_tables(pm.month_period(2025, 6), register.parameters())
    rows = tables["period_station"]
    # June in CET runs from 31 May 23:00 to 30 June 23:00 UTC: 720 hours, the 48 given all inside
    mean = rows[rows["indicator"] == "mean"].iloc[0]
    assert (mean["n_valid"], mean["n_expected"], mean["statistic"]) == (48, 720, "1h")
    assert mean["value"] == pytest.approx((46 * 100.0 + 180.0 + 120.0) / 48)
    # AOT40 hours 08-19 CET = 07-18 UTC: 1 June 12 × (100 − 80) = 240; 2 June (180 − 80) + (120 − 80)
    # + 10 × 20 = 340; total 580
    aot = rows[rows["indicator"] == "aot40"].iloc[0]
    assert aot["value"] == pytest.approx(580.0)
    assert (aot["n_valid"], aot["n_expected"]) == (24, 30 * 12)
    assert aot["time_base"] == "CET"
    # the daily rows still give the target days (110 ≤ 120: none)
    target = rows[(rows["indicator"] == "exceedance_count") & (rows["set_id"] == "EU_2008_50")].iloc[0]
    assert (target["statistic"], target["value"]) == ("day_max_8h_mean", 0)


def test_the_summary_year_figures_for_paris(built):
    from spse.pipeline.warehouse import connect_readonly, report

    con = connect_readonly()
    try:
        figures = report.year_figures(con, 2025)
    finally:
        con.close()
    exposure = figures["exposure"].set_index("pollutant")
    # Paris = the three cells: PM2.5 (100 × 12 + 200 × 8 + 400 × 10) / 700; NO2 10 every day of 2025
    assert exposure.loc["PM2.5", "mean_ug_m3"] == pytest.approx(6800 / 700)
    assert exposure.loc["NO2", "mean_ug_m3"] == pytest.approx(10.0)
    assert exposure.loc["PM2.5", "share_covered"] == pytest.approx(1.0)
    # WHO annual guidelines: PM2.5 5 (every resident above), NO2 10 (10 is not above: strict >)
    assert exposure.loc["PM2.5", "above_who_annual"] == pytest.approx(700.0)
    assert exposure.loc["NO2", "above_who_annual"] == pytest.approx(0.0)
    assert figures["alerts"].empty and figures["health"].empty


def test_a_corrected_threshold_recomputes_the_past_periods_from_the_lake(spse_home, tmp_path, monkeypatch):
    write_lake()
    periods.build_periods_range(dt.date(2024, 12, 1), dt.date(2025, 12, 31))

    def december_days_above(cell: str) -> float:
        rows = lake.read_partition("period_cell", "date=2024-12-31")
        row = rows[(rows["period"] == "2024-12") & (rows["cell_id"] == cell) & (rows["pollutant"] == "NO2")
                   & (rows["set_id"] == "WHO_2021") & (rows["averaging"] == "day_mean")
                   & (rows["indicator"] == "exceedance_count")]
        return float(row["value"].iloc[0])

    # December 2024: c1 has its first 5 winter days at 40 µg/m³, the other 26 at 10 (WHO 24-h guideline 25)
    assert december_days_above("c1") == 5
    corrected = tmp_path / "thresholds.csv"
    text = (REPO / "spse" / "registers" / "thresholds.csv").read_text(encoding="utf-8")
    who_no2_day = next(line for line in text.splitlines() if line.startswith("WHO_2021,NO2,,day_mean,25,"))
    corrected.write_text(text.replace(who_no2_day, who_no2_day.replace(",day_mean,25,", ",day_mean,5,")),
                         encoding="utf-8")
    monkeypatch.setenv("SPSE_THRESHOLDS_FILE", str(corrected))
    periods.build_periods(dt.date(2025, 12, 31))  # the daily step of a day a year later
    assert december_days_above("c1") == 31  # every December day (40 or 10) is above 5 µg/m³ now


def test_period_marts_rebuilt_incrementally_equal_a_full_build(built):
    import duckdb

    from spse.core.config import settings

    periods.build_periods(dt.date(2025, 12, 31))  # rewrites the partitions of 2025, 2025-12 and the winter 2026
    incremental = warehouse.build(dt.date(2025, 12, 31))
    full = warehouse.build(dt.date(2025, 12, 31), full=True)
    con = duckdb.connect()
    con.execute(f"attach '{incremental}' as inc (read_only)")
    con.execute(f"attach '{full}' as ful (read_only)")
    assert con.execute("select build_mode from inc.meta.build_info").fetchone()[0] == "incremental"
    for mart in ("exposure_cell_period", "exposure_zone_period", "station_period", "facility_exposure_period"):
        columns = con.execute("select column_name, data_type from duckdb_columns() where database_name = 'ful' "
                              "and schema_name = 'marts' and table_name = ?", [mart]).fetchall()
        select = ", ".join(f"round({c}, 9)" if t == "DOUBLE" else c for c, t in columns)  # sums in any order
        for a, b in (("inc", "ful"), ("ful", "inc")):
            extra = con.execute(f"select count(*) from (select {select} from {a}.marts.{mart} except all "
                                f"select {select} from {b}.marts.{mart})").fetchone()[0]
            assert extra == 0, (mart, a)
    assert settings().warehouse.exists()


def test_partitions_of_the_former_layout_are_moved_to_the_period_end(spse_home):
    # date=<period start>: the year 2025 with its January, and the December 2024 with the winter 2025
    def rows(*periods_: tuple[str, str, dt.date, dt.date], value: float = 1.0) -> pd.DataFrame:
        frame = pd.DataFrame([{"cell_id": "c1", "pollutant": "NO2", "period": label, "period_kind": kind,
                               "period_start": start, "period_end": end, "indicator": "mean", "value": value}
                              for label, kind, start, end in periods_])
        return frame.reindex(columns=list(periods.COLUMNS["period_cell"]))
    year = ("2025", "year", dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    january = ("2025-01", "month", dt.date(2025, 1, 1), dt.date(2025, 1, 31))
    december = ("2024-12", "month", dt.date(2024, 12, 1), dt.date(2024, 12, 31))
    winter = ("2025-S-winter", "season", dt.date(2024, 12, 1), dt.date(2025, 2, 28))
    lake.write_partition("period_cell", "date=2025-01-01", rows(year, january))
    lake.write_bytes_atomic(lake.partition_path("period_cell", "date=2025-01-01").with_name("register_versions.json"),
                            b'{"2025": "v1", "2025-01": "v1"}')
    lake.write_partition("period_cell", "date=2024-12-01", rows(december, winter))  # no versions recorded
    # a partition of the new layout already there keeps its other periods
    lake.write_partition("period_cell", "date=2024-12-31", rows(("2024", "year", dt.date(2024, 1, 1),
                                                                  dt.date(2024, 12, 31)), value=7.0))

    assert sorted(periods.relayout("period_cell")) == ["date=2024-12-01", "date=2025-01-01"]

    assert lake.partitions("period_cell") == ["date=2024-12-31", "date=2025-01-31", "date=2025-02-28",
                                              "date=2025-12-31"]
    held = {p: sorted(lake.read_partition("period_cell", p)["period"]) for p in lake.partitions("period_cell")}
    assert held == {"date=2024-12-31": ["2024", "2024-12"], "date=2025-01-31": ["2025-01"],
                    "date=2025-02-28": ["2025-S-winter"], "date=2025-12-31": ["2025"]}
    versions = {p: json.loads(lake.partition_path("period_cell", p).with_name("register_versions.json").read_text())
                for p in ["date=2025-01-31", "date=2025-12-31", "date=2025-02-28"]}
    assert versions == {"date=2025-01-31": {"2025-01": "v1"}, "date=2025-12-31": {"2025": "v1"},
                        "date=2025-02-28": {"2025-S-winter": ""}}
    # periods moved without a recorded version are recomputed, as they were before the move
    stale = {p.label for p in periods.stale_periods(pm.parse_seasons(register.parameters()["seasons"]), "v1")}
    assert stale == {"2024", "2024-12", "2025-S-winter"}
    assert periods.relayout("period_cell") == []
