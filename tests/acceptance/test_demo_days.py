"""The daily job on the demo bundle, without Airflow: the alerts it was built to contain.

Expected values come from the bundle's design (docs/demo.md), recomputed here by hand or
from the generated upstream files with pandas and pyproj, never from spse's own output.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer
from warehouse_reader import read_warehouse

D1, D2 = dt.date(2026, 1, 14), dt.date(2026, 1, 15)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    home = tmp_path_factory.mktemp("spse_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPSE_HOME", str(home))
        from spse.core.config import settings
        from spse.pipeline import daily as pipeline
        from spse.pipeline import demo

        demo.ensure()
        pipeline.run_day(D1)
        first = pipeline.run_day(D2)
        again = pipeline.run_day(D2)  # a re-run must not duplicate anything
        yield {"home": home, "settings": settings(), "first": first, "again": again}


def _query(demo_run, sql: str) -> pd.DataFrame:
    return read_warehouse(demo_run["settings"].warehouse, sql)


def _air_alerts(demo_run, day: dt.date, types: tuple[str, ...] = ("regulatory_episode", "local_exceedance")
                ) -> pd.DataFrame:
    listed = ", ".join(f"'{t}'" for t in types)
    return _query(demo_run, f"select * from marts.alerts where date = date '{day}' and kind = 'air_quality' "
                            f"and status <> 'closed' and alert_type in ({listed}) "
                            "order by alert_type, pollutant, level")


def test_ordinary_day_raises_no_alert(demo_run):
    assert _air_alerts(demo_run, D1).empty
    # docs/demo.md "NO2 winter": every background NO2 day mean exceeds the WHO 2021 guideline (25) on D1 and D2
    advisories = _air_alerts(demo_run, D1, ("health_advisory",))
    assert "NO2" in set(advisories["pollutant"]) and set(advisories["set_id"]) == {"WHO_2021"}
    assert (advisories["label"].str.startswith("Avis sanitaire (recommandation OMS)")).all()
    assert not advisories["meets_episode_criteria"].any()


def test_episode_day_raises_exactly_the_designed_alerts(demo_run):
    alerts = _air_alerts(demo_run, D2)
    assert list(zip(alerts["alert_type"], alerts["pollutant"], alerts["level"], alerts["set_id"], strict=True)) == [
        ("local_exceedance", "NO2", "information", "FR_R221-1"), ("local_exceedance", "PM10", "information",
                                                                  "FR_R221-1"),
        ("regulatory_episode", "PM10", "information", "FR_R221-1")]
    no2, pm10_local, pm10 = alerts.iloc[0], alerts.iloc[1], alerts.iloc[2]
    assert no2.value_max == 212.0
    assert no2.station_ids == "FR04329"
    assert no2.basis == "station"
    assert no2.zone_ids == "75112"
    # the traffic station FR04329 (a = 64, b = 76: 70.0) is a local exceedance, not part of the episode
    assert (pm10_local.station_ids, pm10_local.value_max) == ("FR04329", 70.0)
    # background stations only: FR04018 Aubervilliers (a = 56, b = 74: 65.0) is the highest, and an IDW surface
    # never exceeds its highest station
    assert pm10.value_max == 65.0
    assert pm10.basis == "surface+station"
    stations = set(pm10.station_ids.split(","))
    assert {"FR04004", "FR04014"} <= stations
    assert not stations & {"FR04329", "FR04012", "FR04055", "FR04060", "FR04179"}  # traffic, invalid or below 50
    assert set(pm10.zone_ids.split(",")) >= {"75118", "75119", "75120"}  # north-east
    assert not set(pm10.zone_ids.split(",")) & {"75115", "75116", "75107"}  # west and south-west


def test_the_pm10_episode_is_regulatory_with_its_criteria(demo_run):
    pm10 = _air_alerts(demo_run, D2, ("regulatory_episode",)).iloc[0]
    criteria = {c["name"]: c for c in json.loads(pm10.criteria)}
    # methods.md §1.2, W8: 10 % of Paris's legal population 2 113 705 (INSEE millésime 2022) = 211 370.5
    assert criteria["population"]["threshold"] == pytest.approx(211_370.5)
    assert criteria["population"]["value"] == pytest.approx(pm10.population_exposed, abs=0.1)
    # the north-east of Paris (18e, 19e, 20e alone hold over 500 000 residents) is far above it
    assert criteria["population"]["met"] is True and pm10.population_exposed > 211_370.5
    # the grid covers Paris (< 100 km²): the regional area criterion cannot be assessed here
    assert criteria["area_km2"]["met"] is None and pm10.area_km2 < 100
    assert criteria["background_situation"]["met"] is True
    assert bool(pm10.meets_episode_criteria)
    assert pm10.label.startswith("Épisode de pollution (procédure préfectorale)")
    assert "Population générale" in pm10.recommendation


def test_no2_alert_names_the_facilities_and_people_next_to_the_station(demo_run):
    demo = demo_run["settings"].demo
    no2 = _air_alerts(demo_run, D2, ("local_exceedance",)).iloc[0]
    assert (no2.pollutant, no2.label.startswith("Dépassement local")) == ("NO2", True)
    assert not no2.meets_episode_criteria
    assert "Population générale" not in no2.recommendation
    triggered = json.loads(no2.triggered_by)["stations"]
    # docs/demo.md: the only NO2 hour above 200 is 08:00 local (07:00 UTC) on D2
    assert [s["hours_local"] for s in triggered] == [["2026-01-15T08:00+01:00"]]
    facilities = json.loads(no2.facilities_by_category)
    assert facilities == {"creche": 1, "ecole_maternelle": 1}
    assert "CRE-0001" in no2.facility_ids.split(",")
    # Population of the cells whose 200 m square lies within 100 m of the station, read
    # from the generated Filosofi CSV and the station list with pandas and pyproj only.
    stations = pd.read_csv(demo / "lcsqa_stations" / "stations.csv")
    station = stations.loc[stations["code_site"] == "FR04329"].iloc[0]
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:3035", always_xy=True).transform(
        station["longitude"], station["latitude"])
    grid = pd.read_csv(demo / "insee_filosofi_200m" / "Filosofi2017_carreaux_200m_met.csv")
    coords = grid["Idcar_200m"].str.extract(r"N(?P<n>\d+)E(?P<e>\d+)").astype(float)
    dx = np.maximum.reduce([coords["e"] - x, np.zeros(len(grid)), x - (coords["e"] + 200)])
    dy = np.maximum.reduce([coords["n"] - y, np.zeros(len(grid)), y - (coords["n"] + 200)])
    near = np.hypot(dx, dy) <= 100.0
    assert near.sum() == no2.n_cells
    assert sorted(grid.loc[near, "Idcar_200m"]) == sorted(
        no2.cell_ids.split(","))
    assert no2.population_total == pytest.approx(grid.loc[near, "Ind"].sum())
    assert no2.population_exposed == pytest.approx(grid.loc[near, "Ind"].sum())
    assert no2.pop_0_5 == pytest.approx(grid.loc[near, ["Ind_0_3", "Ind_4_5"]].sum().sum())
    assert no2.pop_65p == pytest.approx(grid.loc[near, ["Ind_65_79", "Ind_80p"]].sum().sum())


def test_station_means_use_the_local_day_and_the_coverage_rule(demo_run):
    both = _query(demo_run, f"select station_id, value, is_valid, time_base from marts.station_daily "
                            f"where date = date '{D2}' and pollutant = 'PM10' and statistic = 'day_mean'")
    daily = both[both["time_base"] == "Europe/Paris"]
    got = dict(zip(daily["station_id"], daily["value"], strict=True))
    # (a + b) / 2 of the design; the UTC day (EU statistics, Geod'air) gives 59.1667, 54.25, 68.5833
    utc = both[both["time_base"] == "UTC"].set_index("station_id")["value"]
    assert utc["FR04004"] == pytest.approx(59.1667, abs=1e-4)
    assert utc["FR04014"] == pytest.approx(54.25)
    assert utc["FR04329"] == pytest.approx(68.5833, abs=1e-4)
    assert got["FR04004"] == pytest.approx(60.0)
    assert got["FR04014"] == pytest.approx(55.0)
    assert got["FR04329"] == pytest.approx(70.0)
    assert got["FR04179"] == pytest.approx(35.0)
    basch = daily.loc[daily["station_id"] == "FR04012"].iloc[0]
    assert not basch.is_valid
    assert math.isnan(basch.value)  # 17 valid hours < 18


def test_noise_lden_matches_the_designed_period_levels(demo_run):
    noise = _query(demo_run, f"select site_name, lden_dba, ln_dba, is_valid from marts.noise_station_daily "
                             f"where date = date '{D2}'").set_index("site_name")

    def lden(ld, le, ln):
        return 10 * math.log10((12 * 10 ** (ld / 10) + 4 * 10 ** ((le + 5) / 10) + 8 * 10 ** ((ln + 10) / 10)) / 24)

    peripherique, rapee = noise.loc["PARIS-PERIPHERIQUE-EST"], noise.loc["PARIS-QUAI-DE-LA-RAPEE"]
    assert peripherique.lden_dba == pytest.approx(lden(76.0, 74.0, 71.0), abs=1e-6)
    assert rapee.lden_dba == pytest.approx(66.11412607, abs=1e-6)  # methods.md W4
    assert rapee.ln_dba == pytest.approx(57.0, abs=1e-6)  # the two 75 dB hours at weight 0.5 are excluded
    assert not noise.loc["PARIS-RUE-DE-RIVOLI"].is_valid  # evening keeps 2 of 4 hours


def test_rerun_creates_no_duplicate(demo_run):
    alerts = _query(demo_run, f"select alert_id from marts.alerts where date = date '{D2}'")
    assert alerts["alert_id"].is_unique
    assert demo_run["first"].alerts == demo_run["again"].alerts
    outbox = sorted(p.name for p in (demo_run["settings"].outbox / "alerts" / D2.isoformat()).glob("*.json"))
    # the run's folder holds one file per alert version it issued: observed, data-quality and its forecasts
    issued = _query(demo_run, f"select alert_id, alert_version from marts.alert_history "
                              f"where run_date = date '{D2}' and issued_on = date '{D2}'")
    assert outbox == sorted(f"{r.alert_id}-v{r.alert_version}.json" for r in issued.itertuples())
    forecast = _query(demo_run, f"select alert_id from marts.alerts where kind = 'forecast' "
                                f"and date in (date '{D2 + dt.timedelta(days=1)}', date '{D2 + dt.timedelta(days=2)}')")
    assert forecast["alert_id"].is_unique and set(forecast["alert_id"]) <= set(issued["alert_id"])
    every = _query(demo_run, "select alert_id from marts.alerts")
    assert every["alert_id"].is_unique


def test_the_designed_quarantined_row_raises_the_only_data_quality_alert(demo_run):
    quality = _query(demo_run, f"select pollutant, set_id, recommendation from marts.alerts "
                               f"where kind = 'data_quality' and date = date '{D2}'")
    assert list(zip(quality["pollutant"], quality["set_id"], strict=True)) == [
        ("paris_facilities", "DQ_INPUT_QUARANTINE")]
    assert "etablissements-petite-enfance/exports/csv, ligne 62" in quality["recommendation"].iloc[0]


def test_only_the_designed_facility_row_is_quarantined(demo_run):
    rejects = pd.concat(pd.read_parquet(p) for p in (demo_run["home"] / "quarantine").rglob("rejects.parquet"))
    assert len(rejects) == 1
    assert rejects.iloc[0]["source"] == "paris_facilities"
    assert "CRE-0061" in rejects.iloc[0]["raw"]


def test_population_totals_reach_the_marts(demo_run):
    paris = _query(demo_run, f"select max(population) as p from marts.exposure_zone_daily "
                             f"where zone_id = '75056' and date = date '{D2}'")
    # 2 101 538 persons in the bundle; a little is lost where a cell straddles the outline
    assert paris["p"].iloc[0] == pytest.approx(2_101_538, rel=0.02)


def test_bulletin_is_self_contained(demo_run):
    html = (demo_run["settings"].bulletin / f"{D2}.html").read_text()
    assert "<svg" in html
    assert "212" in html
    assert "http://" not in html and "https://" not in html


def test_cli_reads_the_published_warehouse(demo_run, capsys):
    from spse.pipeline.cli import main

    assert main(["alerts", "--date", D2.isoformat(), "--json"]) == 0
    alerts = json.loads(capsys.readouterr().out)
    assert sorted((a["alert_type"], a["pollutant"], a["level"]) for a in alerts
                  if a["kind"] == "air_quality" and a["alert_type"] != "health_advisory") == [
        ("local_exceedance", "NO2", "information"), ("local_exceedance", "PM10", "information"),
        ("regulatory_episode", "PM10", "information")]
    assert main(["tables", "--table", "alerts"]) == 0
    assert "population_total" in capsys.readouterr().out
    assert main(["sql", "select count(*) as n from marts.thresholds where set_id = 'WHO_2021'", "--format", "csv"]) == 0
    register_file = Path(__file__).resolve().parents[2] / "spse" / "registers" / "thresholds.csv"
    who_rows = sum(line.startswith("WHO_2021,") for line in register_file.read_text().splitlines())
    assert capsys.readouterr().out.split() == ["n", str(who_rows)]


def test_cli_sql_is_read_only(demo_run, capsys):
    from spse.pipeline.cli import main

    assert main(["sql", "delete from marts.alerts"]) == 1
    assert "read-only" in capsys.readouterr().err
    assert not _air_alerts(demo_run, D2).empty


def test_zone_key_indicators_pivot_the_zone_mart(demo_run, capsys):
    """marts.zone_key_indicators_daily against a pandas pivot of the exposure_zone_daily rows."""
    from spse.pipeline.cli import main

    zone = _query(demo_run, "select * from marts.exposure_zone_daily")
    key = _query(demo_run, "select * from marts.zone_key_indicators_daily").set_index(["date", "zone_level", "zone_id"])
    indicators = {"pm10_day_mean_ug_m3": ("PM10", "day_mean"), "pm25_day_mean_ug_m3": ("PM2.5", "day_mean"),
                  "no2_day_max_1h_ug_m3": ("NO2", "day_max_1h"), "o3_day_max_8h_mean_ug_m3": ("O3", "day_max_8h_mean")}
    zones = zone.drop_duplicates(["date", "zone_level", "zone_id"]).set_index(["date", "zone_level", "zone_id"])
    assert key.index.is_unique and sorted(key.index) == sorted(zones.index)
    assert {d.date() for d in key.index.get_level_values("date")} == {D1, D2}
    assert (key["population"] == zones.loc[key.index, "population"]).all()
    assert (key["zone_name"] == zones.loc[key.index, "zone_name"]).all()
    for column, (pollutant, statistic) in indicators.items():
        rows = zone[(zone["pollutant"] == pollutant) & (zone["statistic"] == statistic)]
        expected = rows.set_index(["date", "zone_level", "zone_id"])["pop_weighted_mean_ug_m3"]
        assert len(expected) == len(key)  # the demo has every key indicator in every zone
        assert key.loc[expected.index, column].to_numpy() == pytest.approx(expected.to_numpy(), nan_ok=True)
    assert main(["tables", "--table", "zone_key_indicators_daily"]) == 0
    listed = capsys.readouterr().out
    assert "marts.zone_key_indicators_daily" in listed and "pm10_day_mean_ug_m3" in listed and "[µg/m³]" in listed


def test_daily_multiexposure_classes_on_the_episode_day(demo_run):
    """Air classes of marts.multiexposure_cell_daily recomputed with pandas from the cell values and the register."""
    register_file = Path(__file__).resolve().parents[2] / "spse" / "registers" / "thresholds.csv"
    rungs = pd.read_csv(register_file)
    sets = ["WHO_2021", "EU_2024_2881", "EU_2008_50"]  # register multiexposure_air_sets
    rungs = rungs[rungs["set_id"].isin(sets) & (rungs["averaging"] == "day_mean")
                  & rungs["level"].isin(["guideline", "limit"]) & rungs["pollutant"].isin(["PM2.5", "PM10", "NO2"])]
    rungs = rungs.assign(rung=rungs["set_id"].map({s: i + 1 for i, s in enumerate(sets)}))
    values = _query(demo_run, f"select cell_id, pollutant, value_ug_m3 from marts.exposure_cell_daily where date = "
                              f"date '{D2}' and statistic = 'day_mean' and is_valid and time_base = 'Europe/Paris' "
                              "and pollutant in ('PM2.5', 'PM10', 'NO2')")
    paired = values.merge(rungs, on="pollutant")
    paired = paired.assign(rung=np.where(paired["value_ug_m3"] > paired["value"], paired["rung"], 0))
    expected = paired.groupby("cell_id")["rung"].max()
    got = _query(demo_run, f"select cell_id, air_class from marts.multiexposure_cell_daily where date = date '{D2}' "
                           "and time_base = 'Europe/Paris'").set_index("cell_id")["air_class"]
    assert len(got) == len(expected) > 2000
    assert (got.sort_index() == expected.sort_index()).all()
    assert expected.max() == 3  # the PM10 episode is above the EU 2008/50 daily limit (50) somewhere
    zones = _query(demo_run, f"select * from marts.multiexposure_zone_daily where date = date '{D2}' "
                             "and zone_level = 'commune'")
    # every resident with a valid cell value is in one class; the loud ring road makes hotspots that day
    paris = _query(demo_run, f"select population_valid from marts.exposure_zone_daily where zone_id = '75056' "
                             f"and date = date '{D2}' and pollutant = 'PM10' and statistic = 'day_mean' "
                             "and time_base = 'Europe/Paris'")
    assert zones["population"].sum() == pytest.approx(paris["population_valid"].iloc[0], rel=1e-9)
    assert zones.loc[zones["is_hotspot"], "population"].sum() > 0
