"""The health step (spse.pipeline.health) and its marts, on a hand-made lake.

Expected values are computed in the tests with the power form of the CRF,
AF = 1 − RR^(−ΔC/10) (methods.md §7.1), never read from the step's output.
"""

from __future__ import annotations

import datetime as dt
import math

import duckdb
import pandas as pd
import pytest

from spse.core import register
from spse.core.register import Parameters
from spse.pipeline import health, lake
from spse.pipeline.warehouse import models

TOL = 1e-9
W6B_POP30 = [2000.0, 3500.0, 1500.0, 3000.0]
W6B_PM25 = [14.0, 11.0, 8.0, 5.0]


def ad(pop30, rate, conc, c0, rr) -> float:
    return sum(p * rate * (1 - rr ** (-max(c - c0, 0.0) / 10)) for p, c in zip(pop30, conc, strict=True))


def mortality(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["year", "zone_id", "age_min", "age_max", "deaths", "population"])


def test_baseline_takes_the_year_or_the_latest_earlier_one_and_the_30_plus_share():
    table = mortality([
        (2023, "75101", 0, 29, 3.0, 10000.0), (2023, "75101", 30, None, 100.0, 10000.0),
        (2025, "75101", 0, 29, 3.0, 12000.0), (2025, "75101", 30, 64, 40.0, 6000.0),
        (2025, "75101", 65, None, 80.0, 2000.0),
    ])
    got = health.baseline_by_zone(table, 2024, 30).loc["75101"]
    assert (got["baseline_year"], got["rate"], got["share_old"]) == (2023, 0.01, 0.5)
    got = health.baseline_by_zone(table, 2026, 30).loc["75101"]
    # 2025: 30+ = 6000 + 2000 residents, 40 + 80 deaths, of 20 000 residents
    assert got["baseline_year"] == 2025
    assert got["rate"] == pytest.approx(120 / 8000, abs=TOL) and got["share_old"] == pytest.approx(0.4, abs=TOL)
    assert health.baseline_by_zone(table, 2020, 30).loc["75101", "baseline_year"] == 2023


def who_params(**changes) -> Parameters:
    return Parameters({**register.parameters(), "crf_longterm_default_set": "who2021", **changes})


def w6b_inputs():
    # all ages = 2 × the W6b 30+ populations (share 0.5), rate 0.01
    cells = pd.DataFrame({"zone_id": "75101", "cell_id": ["c1", "c2", "c3", "c4"], "area_fraction": 1.0,
                          "population": [2 * p for p in W6B_POP30]})
    means = pd.DataFrame({"cell_id": ["c1", "c2", "c3", "c4"], "pollutant": "PM2.5", "value": W6B_PM25,
                          "coverage": [1.0, 1.0, 0.95, 1.0]})
    baseline = health.baseline_by_zone(mortality([(2025, "75101", 0, 29, 3.0, 10000.0),
                                                  (2025, "75101", 30, None, 100.0, 10000.0)]), 2025, 30)
    return cells, means, baseline


def test_w6b_cellwise_deaths_per_counterfactual_with_interval():
    rows = health.zone_impacts(*w6b_inputs(), who_params()).set_index("counterfactual")
    assert set(rows.index) == {"who_2021", "eu_2030", "lowest_observed"}
    who = rows.loc["who_2021"]
    assert who["attributable_deaths"] == pytest.approx(3.260203, abs=1e-6)  # methods.md W6b
    assert who["attributable_deaths_low"] == pytest.approx(ad(W6B_POP30, 0.01, W6B_PM25, 5, 1.06), abs=TOL)
    assert who["attributable_deaths_high"] == pytest.approx(ad(W6B_POP30, 0.01, W6B_PM25, 5, 1.09), abs=TOL)
    assert who["baseline_deaths_30p"] == pytest.approx(100.0) and who["pop_30p"] == pytest.approx(10000.0)
    assert who["share_of_deaths"] == pytest.approx(3.260203 / 100, abs=1e-8)
    assert who["pwm_ug_m3"] == pytest.approx(9.35)  # W6b PWC
    assert (who["min_coverage"], who["n_cells"], who["crf_set"]) == (0.95, 4, "who2021")
    assert rows.loc["eu_2030", "attributable_deaths"] == pytest.approx(ad(W6B_POP30, 0.01, W6B_PM25, 10, 1.08),
                                                                       abs=TOL)
    assert rows.loc["lowest_observed", "counterfactual_ug_m3"] == 5.0


def test_cell_impacts_are_the_w6b_cells_and_sum_to_the_zone():
    cells, means, baseline = w6b_inputs()
    means = pd.concat([means, pd.DataFrame({"cell_id": ["c1"], "pollutant": "NO2", "value": [30.0],
                                            "coverage": 1.0})], ignore_index=True)
    rows = health.cell_impacts(cells, means, baseline, who_params())
    who = rows[(rows["counterfactual"] == "who_2021") & (rows["pollutant"] == "PM2.5")].set_index("cell_id")
    # methods.md W6b per-cell deaths 1.338411, 1.579435, 0.342357, 0
    assert who["attributable_deaths"].to_dict() == pytest.approx(
        {"c1": 1.338411, "c2": 1.579435, "c3": 0.342357, "c4": 0.0}, abs=1e-6)
    assert who["pop_30p"].tolist() == pytest.approx(W6B_POP30)
    assert who.loc["c2", "attributable_deaths_high"] == pytest.approx(ad([3500.0], 0.01, [11.0], 5, 1.09), abs=TOL)
    no2 = rows[(rows["counterfactual"] == "who_2021") & (rows["pollutant"] == "NO2")].set_index("cell_id")
    assert no2.loc["c2", "attributable_deaths"] == 0.0 and pd.isna(no2.loc["c2", "value_ug_m3"])
    zones = health.zone_impacts(cells, means, baseline, who_params())
    summed = rows.groupby(["pollutant", "counterfactual"])[["attributable_deaths", "attributable_deaths_low"]].sum()
    for _, zone in zones.iterrows():
        got = summed.loc[(zone["pollutant"], zone["counterfactual"])]
        assert got["attributable_deaths"] == pytest.approx(zone["attributable_deaths"], abs=TOL)
        assert got["attributable_deaths_low"] == pytest.approx(zone["attributable_deaths_low"], abs=TOL)


def life_tables(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["year", "zone_id", "sex", "age", "qx", "ex"])


# Ages 30, 31 and 32 (open), q = 0.1, 0.5; e = 3.0, 2.0, 1.5. Survivors 1, 0.9, 0.45: deaths 0.1 at 30.5,
# 0.45 at 31.5, and the 0.45 left die at 32 + 1.5 = 33.5.
TINY_TABLE = [("75", "_T", 30, 0.1, 3.0), ("75", "_T", 31, 0.5, 2.0), ("75", "_T", 32, 1.0, 1.5)]


def yll_inputs():
    """The W6b cells; 30+ deaths split 20 at age 30 and 80 at 31+; the tiny table for 2024, another for 2020."""
    cells, means, _ = w6b_inputs()
    table = mortality([(2025, "75101", 0, 29, 3.0, 10000.0), (2025, "75101", 30, 30, 20.0, 5000.0),
                       (2025, "75101", 31, None, 80.0, 5000.0)])
    tables = life_tables([(2024, *row) for row in TINY_TABLE]
                         + [(2020, "75", "_T", age, 0.5, 9.0) for age in (30, 31, 32)]
                         + [(2024, "75", "F", age, 0.5, 9.0) for age in (30, 31, 32)])
    return cells, means, table, tables


def test_yll_by_hand_on_a_tiny_life_table():
    cells, means, table, tables = yll_inputs()
    per_death = health.yll_per_death(table, tables, 2025, 30)
    # band 30: mean age of death 30.5, e = 2.5; band 31+: (0.45 × 31.5 + 0.45 × 33.5) / 0.9 = 32.5, beyond the
    # open age 32 so e = e32 = 1.5; weights 20/100 and 80/100: 0.2 × 2.5 + 0.8 × 1.5 = 1.7 years
    assert per_death.loc["75101"].tolist() == [pytest.approx(1.7, abs=1e-12), "75", 2024]
    baseline = health.baseline_by_zone(table, 2025, 30).join(per_death)
    who = health.zone_impacts(cells, means, baseline, who_params()).set_index("counterfactual").loc["who_2021"]
    assert who["attributable_deaths"] == pytest.approx(3.260203, abs=1e-6)  # W6b: the same deaths
    assert who["years_of_life_lost"] == pytest.approx(3.260203 * 1.7, abs=1e-6)
    assert who["years_of_life_lost_low"] == pytest.approx(ad(W6B_POP30, 0.01, W6B_PM25, 5, 1.06) * 1.7, abs=TOL)
    assert who["years_of_life_lost_high"] == pytest.approx(ad(W6B_POP30, 0.01, W6B_PM25, 5, 1.09) * 1.7, abs=TOL)
    assert (who["life_table_zone"], who["life_table_year"]) == ("75", 2024)


def test_yll_is_null_without_a_usable_life_table(caplog):
    cells, means, table, tables = yll_inputs()
    assert health.yll_per_death(table, tables[tables["zone_id"] == "99"], 2025, 30).empty
    gap = tables[(tables["year"] == 2024) & (tables["age"] != 31)]  # ages 30 and 32: not a table
    assert health.yll_per_death(table, gap, 2025, 30).empty
    assert "unusable" in caplog.text
    rows = health.zone_impacts(cells, means, health.baseline_by_zone(table, 2025, 30), who_params())
    assert rows["years_of_life_lost"].isna().all() and rows["attributable_deaths"].notna().all()
    assert rows["life_table_zone"].isna().all()


def test_the_zone_s_own_table_comes_before_the_departement_s():
    _, _, table, tables = yll_inputs()
    own = life_tables([(2025, "75101", "_T", age, q, 4.0) for age, q in ((30, 0.5), (31, 1.0))])
    got = health.yll_per_death(table, pd.concat([tables, own]), 2025, 30).loc["75101"]
    # e is 4.0 at every age of the 75101 table
    assert got.tolist() == [pytest.approx(4.0), "75101", 2025]


def test_user_counterfactual_and_shared_cell():
    cells, means, baseline = w6b_inputs()
    # c1 is half in 75101 and half in 75102 (same baseline)
    cells = pd.concat([cells.assign(area_fraction=[0.5, 1, 1, 1]),
                       pd.DataFrame({"zone_id": ["75102"], "cell_id": ["c1"], "area_fraction": [0.5],
                                     "population": [4000.0]})], ignore_index=True)
    baseline = pd.concat([baseline, baseline.rename(index={"75101": "75102"})])
    rows = health.zone_impacts(cells, means, baseline, who_params(counterfactual_user="8"))
    user = rows[rows["counterfactual"] == "user"].set_index("zone_id")["attributable_deaths"]
    expected_101 = ad([1000.0, 3500.0, 1500.0, 3000.0], 0.01, W6B_PM25, 8, 1.08)
    assert user.to_dict() == pytest.approx({"75101": expected_101, "75102": ad([1000.0], 0.01, [14.0], 8, 1.08)})


def test_no2_uses_its_own_crf_and_hrapie_falls_back_to_spf_for_no2():
    cells, _, baseline = w6b_inputs()
    means = pd.DataFrame({"cell_id": ["c1", "c2"], "pollutant": "NO2", "value": [30.0, 9.0], "coverage": 1.0})
    rows = health.zone_impacts(cells, means, baseline, Parameters({**register.parameters(),
                                                                   "crf_longterm_default_set": "hrapie"}))
    who = rows.set_index("counterfactual").loc["who_2021"]
    assert (who["crf_set"], who["rr"]) == ("spf", 1.023)
    # c3, c4 have no NO2 value: in the baseline, not in the deaths
    assert who["attributable_deaths"] == pytest.approx(ad([2000.0], 0.01, [30.0], 10, 1.023), abs=TOL)
    assert who["pop_30p_without_value"] == pytest.approx(4500.0)


def test_noise_band_effects_at_band_centres():
    bands = pd.DataFrame({"indicator": ["Lden", "Lden", "Ln", "Lden", "Lden"],
                          "source_type": ["road", "road", "road", "industry", "road"],
                          "db_low": [55.0, 60.0, 50.0, 55.0, 55.0], "db_high": [60.0, 65.0, 55.0, 60.0, 60.0]})
    got = health.noise_band_effects(bands, register.parameters()).set_index(["indicator", "db_low"])
    assert len(got) == 3  # industry has no curve; the repeated band once
    # road %HA at 57.5 = 78.9270 − 3.1162·57.5 + 0.0342·57.5² ; road %HSD at 52.5
    assert got.loc[("Lden", 55.0), "percent_affected"] == pytest.approx(12.81925, abs=1e-9)
    assert got.loc[("Ln", 50.0), "percent_affected"] == pytest.approx(19.4312 - 0.9336 * 52.5 + 0.0126 * 52.5**2,
                                                                      abs=1e-9)
    assert got.loc[("Lden", 60.0), "rr_ihd"] == pytest.approx(1.08 ** ((62.5 - 53) / 10), abs=1e-12)
    assert math.isnan(got.loc[("Ln", 50.0), "rr_ihd"])
    assert got.loc[("Ln", 50.0), "effect"] == "high_sleep_disturbance"


# ---------------------------------------------------------------- the step on a hand lake

def _write_lake() -> None:
    lake.write_partition("grid_cells", "vintage=current", pd.DataFrame(
        {"cell_id": ["c1", "c2", "c3", "c4"], "population": [2 * p for p in W6B_POP30]}))
    lake.write_partition("zone_cells", "vintage=current", pd.DataFrame(
        {"zone_id": "75101", "cell_id": ["c1", "c2", "c3", "c4"], "area_fraction": 1.0,
         "zone_level": "arrondissement"}))
    lake.write_partition("baseline_mortality", "vintage=current", mortality(
        [(2025, "75101", 0, 29, 3.0, 10000.0), (2025, "75101", 30, None, 100.0, 10000.0)]).astype(
        {"year": "int32", "age_min": "int32", "age_max": "Int32"}))
    for day in (dt.date(2025, 1, 1), dt.date(2025, 1, 2)):
        rows = [(c, "PM2.5", "day_mean", v, True, "UTC") for c, v in zip(["c1", "c2", "c3", "c4"], W6B_PM25,
                                                                            strict=True)]
        rows += [("c1", "PM2.5", "day_mean", 99.0, True, "Europe/Paris"),  # procedure day: not the EU base
                 ("c2", "PM2.5", "day_mean", 99.0, False, "UTC"),  # invalid: ignored
                 ("c2", "PM2.5", "day_max_1h", 99.0, True, "UTC")]
        lake.write_partition("surface_daily", lake.date_partition(day), pd.DataFrame(
            rows, columns=["cell_id", "pollutant", "statistic", "value", "is_valid", "time_base"]))


@pytest.fixture
def low_coverage(tmp_path, monkeypatch):
    """The register with health_min_year_coverage 0.005: two days of a year are enough (0.0055)."""
    text = register.files()["parameters"].read_text(encoding="utf-8").replace(
        "health_min_year_coverage,0.9,", "health_min_year_coverage,0.005,")
    path = tmp_path / "parameters.csv"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("SPSE_PARAMETERS_FILE", str(path))


def test_a_year_without_enough_days_is_not_written_and_empties_an_earlier_run(spse_home):
    _write_lake()  # two days of 2025: coverage 2/365 < 0.9
    assert health.build_health(dt.date(2025, 6, 1)) == {"health_impact_zone_year": 0}
    assert not lake.partitions("health_impact_zone_year")
    lake.write_partition("health_impact_zone_year", "date=2025-01-01", pd.DataFrame({"zone_id": ["75101"]}))
    health.build_health(dt.date(2025, 6, 1))
    stale = lake.read_partition("health_impact_zone_year", "date=2025-01-01")
    assert stale.empty and list(stale.columns) == list(health.COLUMNS["health_impact_zone_year"])


def test_build_health_writes_the_year_from_surface_daily(spse_home, low_coverage):
    _write_lake()
    counts = health.build_health(dt.date(2025, 6, 1))
    assert counts == {"health_impact_zone_year": 3}  # 2024 has no data; PM2.5 × 3 counterfactuals
    rows = lake.read_partition("health_impact_zone_year", "date=2025-01-01").set_index("counterfactual")
    who = rows.loc["who_2021"]
    # register default set: Santé publique France PM2.5 1.15 (1.05-1.25)
    assert who["attributable_deaths"] == pytest.approx(ad(W6B_POP30, 0.01, W6B_PM25, 5, 1.15), abs=TOL)
    assert who["attributable_deaths_low"] == pytest.approx(ad(W6B_POP30, 0.01, W6B_PM25, 5, 1.05), abs=TOL)
    assert (who["exposure_source"], who["time_base"], who["year"]) == ("surface_daily", "UTC", 2025)
    assert who["min_coverage"] == pytest.approx(2 / 365)


def test_build_health_writes_years_of_life_lost_with_a_life_table_in_the_lake(spse_home, low_coverage):
    _write_lake()
    lake.write_partition("life_table", "vintage=current", life_tables([(2024, *row) for row in TINY_TABLE]).astype(
        {"year": "int32", "age": "int32"}))
    health.build_health(dt.date(2025, 6, 1))
    who = lake.read_partition("health_impact_zone_year", "date=2025-01-01").set_index("counterfactual").loc["who_2021"]
    # one 30+ band: mean age of death (0.1 × 30.5 + 0.45 × 31.5 + 0.45 × 33.5) = 32.3, past the open age 32: e = 1.5
    assert who["yll_per_death"] == pytest.approx(1.5, abs=1e-12)
    assert who["years_of_life_lost"] == pytest.approx(1.5 * ad(W6B_POP30, 0.01, W6B_PM25, 5, 1.15), abs=TOL)
    assert (who["life_table_zone"], who["life_table_year"]) == ("75", 2024)


def test_period_cell_is_preferred_when_present(spse_home):
    # c1 has 97 % of the year; c2's year mean (90 % needed) is left out
    _write_lake()
    lake.write_partition("period_cell", "date=2025-12-31", pd.DataFrame({
        "cell_id": ["c1", "c1", "c2"], "pollutant": "PM2.5", "period_kind": ["year", "month", "year"],
        "indicator": "mean", "statistic": "day_mean", "value": [15.0, 50.0, 30.0], "coverage": [0.97, 1.0, 0.8],
        "time_base": "UTC"}))
    health.build_health(dt.date(2025, 6, 1))
    who = lake.read_partition("health_impact_zone_year", "date=2025-01-01").set_index("counterfactual").loc["who_2021"]
    assert who["exposure_source"] == "period_cell" and who["n_cells"] == 1
    assert who["pop_30p_without_value"] == pytest.approx(3500.0 + 1500.0 + 3000.0)
    assert who["attributable_deaths"] == pytest.approx(ad([2000.0], 0.01, [15.0], 5, 1.15), abs=TOL)


# ---------------------------------------------------------------- the marts, on hand-made intermediate rows

def _mart_of(con, layer: str, name: str, order: str) -> pd.DataFrame:
    model = models.Model(layer, name, models.sql_dir() / layer / f"{name}.sql")
    return con.execute(f"select * from ({model.select()}) as m order by {order}").df()


def _mart(con, name: str, order: str) -> pd.DataFrame:
    return _mart_of(con, "marts", name, order)


def test_paris_row_sums_the_arrondissements():
    rows = pd.DataFrame({
        "zone_id": ["75101", "75102"], "zone_level": "arrondissement", "zone_name": ["1er", "2e"],
        "calendar_year": 2025, "pollutant": "PM2.5", "counterfactual": "who_2021", "counterfactual_ug_m3": 5.0,
        "crf_set": "spf", "rr": 1.15, "rr_low": 1.05, "rr_high": 1.25, "pop_30p": [1000.0, 3000.0],
        "pop_30p_without_value": [0.0, 1000.0], "pwm_ug_m3": [10.0, 13.0], "baseline_year": 2025,
        "baseline_rate_30p": [0.01, 0.02], "baseline_deaths_30p": [10.0, 60.0], "attributable_deaths": [1.0, 4.0],
        "attributable_deaths_low": [0.5, 2.0], "attributable_deaths_high": [1.5, 6.0], "share_of_deaths": [0.1, 4 / 60],
        "exposure_source": "period_cell", "time_base": "UTC", "min_coverage": [0.95, 0.9], "n_cells": [3, 5],
        "yll_per_death": [10.0, 12.0], "years_of_life_lost": [10.0, 48.0], "years_of_life_lost_low": [5.0, 24.0],
        "years_of_life_lost_high": [15.0, 72.0], "life_table_zone": "75", "life_table_year": 2024})
    # NO2: the 2e has no life table
    no2 = rows.assign(pollutant="NO2", yll_per_death=[10.0, None], years_of_life_lost=[10.0, None],
                      years_of_life_lost_low=[5.0, None], years_of_life_lost_high=[15.0, None],
                      life_table_zone=["75", None], life_table_year=[2024, None])
    rows = pd.concat([rows, no2], ignore_index=True)
    con = duckdb.connect(":memory:")
    con.execute("create schema intermediate")
    con.register("rows", rows)
    con.execute("create table intermediate.int_health_impact_zones_named as select * from rows")
    both = _mart(con, "health_impact_zone_year", "zone_id").set_index(["pollutant", "zone_id"])
    paris_no2 = both.loc[("NO2", "75056")]
    assert pd.isna(paris_no2["years_of_life_lost"]) and pd.isna(paris_no2["yll_per_death"])  # never a partial sum
    assert paris_no2["attributable_deaths"] == 5.0
    got = both.loc["PM2.5"]
    paris = got.loc["75056"]
    # YLL 10 + 48, interval 5 + 24 and 15 + 72; per death 58 / 5 deaths
    assert (paris["years_of_life_lost"], paris["years_of_life_lost_low"], paris["years_of_life_lost_high"]) == (
        58.0, 29.0, 87.0)
    assert paris["yll_per_death"] == pytest.approx(11.6) and paris["life_table_zone"] == "75"
    assert (paris["zone_level"], paris["attributable_deaths"], paris["attributable_deaths_low"],
            paris["attributable_deaths_high"]) == ("commune", 5.0, 2.5, 7.5)
    # PWM over residents with a value: (10 × 1000 + 13 × 2000) / 3000 = 12; rate 70 / 4000; share 5 / 70
    assert paris["pwm_ug_m3"] == pytest.approx(12.0)
    assert paris["baseline_rate_30p"] == pytest.approx(70 / 4000) and paris["share_of_deaths"] == pytest.approx(5 / 70)
    assert (paris["min_coverage"], paris["n_cells"]) == (0.9, 8)
    assert got.loc["75101", "attributable_deaths"] == 1.0


def test_noise_zone_effects_people_affected_and_paf():
    bands = pd.DataFrame({
        "zone_id": "75101", "zone_level": "arrondissement", "zone_name": "1er", "parent_zone_id": "75056",
        "indicator": "Lden", "source_type": "road", "db_low": [55.0, 60.0, 65.0, 70.0],
        "db_high": [60.0, 65.0, 70.0, 75.0], "level_db": [55.0, 60.0, 65.0, 70.0], "effect": "high_annoyance",
        "percent_affected": [10.0, 15.0, 20.0, 30.0], "rr_ihd": [1.08 ** (x / 10) for x in (2, 7, 12, 17)],
        "population": [300.0, 250.0, 200.0, 100.0]})
    bands["people_affected"] = bands["population"] * bands["percent_affected"] / 100
    con = duckdb.connect(":memory:")
    con.execute("create schema intermediate")
    con.register("bands", bands)
    con.execute("create table intermediate.int_zone_noise_effects_joined as select * from bands")
    con.execute("create table intermediate.int_zone_cells_allocated as select * from (values "
                "('75101', 'arrondissement', 1000.0), ('75102', 'arrondissement', 1000.0)) "
                "as t(zone_id, zone_level, population)")
    con.execute("create table intermediate.int_zone_ihd_incidence_matched as select '75101' as zone_id, "
                "'arrondissement' as zone_level, '75' as incidence_zone_id, 2024 as incidence_year, "
                "0.004 as incidence_rate")
    con.register("bands_2", bands.assign(zone_id="75102"))
    con.execute("insert into intermediate.int_zone_noise_effects_joined select * from bands_2")
    rows = _mart(con, "noise_zone_effects", "zone_id").set_index("zone_id")
    row = rows.loc["75101"]
    assert row["people_affected"] == pytest.approx(30 + 37.5 + 40 + 30)
    assert row["share_affected"] == pytest.approx(137.5 / 1000)
    # methods.md W5: shares {55: 0.30, 60: 0.25, 65: 0.20, 70: 0.10} of the levels 55-70 → PAF 0.0492662790
    assert row["paf_ihd"] == pytest.approx(0.0492662790, abs=1e-9)
    # cases = PAF × incidence × population = 0.0492662790 × 0.004 × 1000
    assert row["ihd_cases"] == pytest.approx(0.197065116, abs=1e-9)
    assert (row["ihd_incidence_zone"], row["ihd_incidence_year"], row["ihd_incidence_rate"]) == ("75", 2024, 0.004)
    assert rows.loc["75102", "paf_ihd"] == pytest.approx(0.0492662790, abs=1e-9)
    assert pd.isna(rows.loc["75102", "ihd_cases"])  # no incidence for the 2e: NULL, not 0


def test_ihd_incidence_is_the_zone_s_then_its_arrondissement_s_then_its_departement_s():
    con = duckdb.connect(":memory:")
    for schema in ("intermediate", "staging"):
        con.execute(f"create schema {schema}")
    con.execute("create table intermediate.int_zone_cells_allocated as select * from (values "
                "('75056', 'commune'), ('75101', 'arrondissement'), ('75113', 'arrondissement'), "
                "('751130101', 'iris'), ('751010101', 'iris'), ('75113', 'arrondissement')) as t(zone_id, zone_level)")
    con.execute("create table staging.stg_ihd_incidence as select * from (values "
                "(2023, '75', 0.001), (2024, '75', 0.002), (2024, '75113', 0.003), (2025, '75113', 0.004), "
                "(2025, '92', 0.009)) as t(calendar_year, zone_id, incidence_rate)")
    got = _mart_of(con, "intermediate", "int_zone_ihd_incidence_matched", "zone_id").set_index("zone_id")
    assert got.index.tolist() == ["75056", "75101", "751010101", "75113", "751130101"]
    # the latest year of the best code: own (75113: 2025), arrondissement (IRIS of the 13e), département (others)
    assert got["incidence_zone_id"].tolist() == ["75", "75", "75", "75113", "75113"]
    assert got["incidence_year"].tolist() == [2024, 2024, 2024, 2025, 2025]
    assert got["incidence_rate"].tolist() == [0.002, 0.002, 0.002, 0.004, 0.004]


def test_expert_query_of_the_doc():
    doc = (models.sql_dir().parent / "docs" / "expert-queries-health.md").read_text(encoding="utf-8")
    query = doc.split("```sql\n", 1)[1].split("```", 1)[0]
    rows = pd.DataFrame({
        "zone_id": ["75056", "75101", "75102", "75056", "75056"], "zone_level": ["commune", "arrondissement",
                                                                                  "arrondissement", "commune",
                                                                                  "commune"],
        "zone_name": ["Paris", "1er", "2e", "Paris", "Paris"], "calendar_year": [2025, 2025, 2025, 2025, 2024],
        "pollutant": ["PM2.5", "PM2.5", "PM2.5", "NO2", "PM2.5"],
        "counterfactual": ["who_2021", "who_2021", "who_2021", "who_2021", "who_2021"],
        "attributable_deaths": [30.4, 10.4, 20.0, 99.0, 77.0], "attributable_deaths_low": [12.0, 4.0, 8.0, 1, 1],
        "attributable_deaths_high": [45.0, 15.0, 30.0, 1, 1], "share_of_deaths": [0.05, 0.04, 0.06, 0.1, 0.1],
        "pwm_ug_m3": [9.96, 9.5, 10.2, 20.0, 8.0], "years_of_life_lost": [300.4, 100.0, 200.4, 9.0, 9.0],
        "years_of_life_lost_low": [120.0, 40.0, 80.0, 1, 1], "years_of_life_lost_high": [450.0, 150.0, 300.0, 1, 1]})
    con = duckdb.connect(":memory:")
    con.execute("create schema marts")
    con.register("rows", rows)
    con.execute("create table marts.health_impact_zone_year as select * from rows")
    got = con.execute(query).df()
    # Paris first, then the arrondissements by deaths; only PM2.5, WHO, the latest year
    assert got["zone_id"].tolist() == ["75056", "75102", "75101"]
    assert got.iloc[0][["deaths_avoided", "deaths_avoided_low", "deaths_avoided_high"]].tolist() == [30, 12, 45]
    assert got.iloc[0]["pct_of_deaths_30p"] == 5.0 and got.iloc[0]["pm25_pwm_ug_m3"] == 10.0
    assert got.iloc[0][["years_of_life_lost", "years_of_life_lost_low", "years_of_life_lost_high"]].tolist() == [
        300, 120, 450]


def test_bulletin_shows_years_of_life_lost_and_ihd_cases_where_present():
    from spse.pipeline import bulletin_health

    deaths = pd.DataFrame({
        "zone_id": "75101", "zone_level": "arrondissement", "zone_name": "1er", "pollutant": ["PM2.5", "NO2"],
        "attributable_deaths": [10.4, 3.0], "attributable_deaths_low": [4.0, 1.0],
        "attributable_deaths_high": [15.0, 5.0], "share_of_deaths": [0.05, 0.01],
        "years_of_life_lost": [1234.5, None], "years_of_life_lost_low": [470.0, None],
        "years_of_life_lost_high": [1780.2, None]})
    noise = pd.DataFrame({"zone_id": "75101", "indicator": ["Lden", "Ln"], "people_affected": [1500.0, 600.0],
                          "share_affected": [0.1, 0.04], "ihd_cases": [2.345, None]})
    part = bulletin_health._impact_table(deaths, noise)
    assert ('<td class="n">10 [4–15] (5,0 %)<br>1\u202f234 [470–1\u202f780] années de vie perdues</td>'
            '<td class="n">3 [1–5] (1,0 %)</td>') in part  # NO2 without a life table: deaths only
    assert '<td class="n">1\u202f500 (10,0 %)<br>2,3 cas de cardiopathie ischémique par an</td>' in part
    assert '<td class="n">600 (4,0 %)</td>' in part


def test_a_year_is_recomputed_only_when_an_input_or_its_partition_changed(spse_home, low_coverage, monkeypatch):
    _write_lake()
    assert health.build_health(dt.date(2025, 6, 1)) == {"health_impact_zone_year": 3}
    computed = []
    compute = health._compute_health_year
    monkeypatch.setattr(health, "_compute_health_year", lambda *a: (computed.append(a[0]), compute(*a))[1])
    assert health.build_health(dt.date(2025, 6, 1)) == {"health_impact_zone_year": 3}
    assert computed == []
    # a day of 2025 rewritten (a higher PM2.5 mean): 2025 again, 2024 (no data, unchanged) not
    rows = lake.read_partition("surface_daily", "date=2025-01-02").assign(value=lambda f: f["value"] + 10.0)
    lake.write_partition("surface_daily", "date=2025-01-02", rows.drop(columns="source", errors="ignore"))
    before = lake.read_partition("health_impact_zone_year", "date=2025-01-01")["attributable_deaths"].sum()
    health.build_health(dt.date(2025, 6, 1))
    assert computed == [2025]
    assert lake.read_partition("health_impact_zone_year", "date=2025-01-01")["attributable_deaths"].sum() > before
    # the written partition removed: recomputed and written again
    lake.partition_path("health_impact_zone_year", "date=2025-01-01").unlink()
    assert health.build_health(dt.date(2025, 6, 1)) == {"health_impact_zone_year": 3}
    assert computed == [2025, 2025] and lake.has_partition("health_impact_zone_year", "date=2025-01-01")
