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


def _air_alerts(demo_run, day: dt.date) -> pd.DataFrame:
    return _query(demo_run, f"select * from marts.alerts where date = date '{day}' and kind = 'air_quality' "
                            "and status <> 'closed' order by pollutant, level")


def test_ordinary_day_raises_no_alert(demo_run):
    assert _air_alerts(demo_run, D1).empty


def test_episode_day_raises_exactly_the_designed_alerts(demo_run):
    alerts = _air_alerts(demo_run, D2)
    assert list(zip(alerts["pollutant"], alerts["level"], alerts["set_id"], strict=True)) == [
        ("NO2", "information", "FR_R221-1"), ("PM10", "information", "FR_R221-1")]
    no2, pm10 = alerts.iloc[0], alerts.iloc[1]
    assert no2.value_max == 212.0
    assert no2.station_ids == "FR04329"
    assert no2.basis == "station"
    assert no2.zone_ids == "75112"
    assert pm10.value_max == 70.0  # FR04329, a = 64, b = 76
    assert pm10.basis == "surface+station"
    stations = set(pm10.station_ids.split(","))
    assert {"FR04004", "FR04014", "FR04329"} <= stations
    assert not stations & {"FR04012", "FR04055", "FR04060", "FR04179"}  # invalid day or below 50
    assert set(pm10.zone_ids.split(",")) >= {"75118", "75119", "75120"}  # north-east
    assert not set(pm10.zone_ids.split(",")) & {"75115", "75116", "75107"}  # west and south-west


def test_no2_alert_names_the_facilities_and_people_next_to_the_station(demo_run):
    demo = demo_run["settings"].demo
    no2 = _air_alerts(demo_run, D2).iloc[0]
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
    assert no2.population_total == pytest.approx(grid.loc[near, "Ind"].sum())
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
    outbox = list((demo_run["settings"].outbox / "alerts" / D2.isoformat()).glob("*.json"))
    # the run's folder also holds its forecast alerts for J and J+1 (tests/acceptance/test_demo_forecast.py)
    forecast = _query(demo_run, f"select alert_id from marts.alerts where kind = 'forecast' "
                                f"and date in (date '{D2 + dt.timedelta(days=1)}', date '{D2 + dt.timedelta(days=2)}')")
    assert forecast["alert_id"].is_unique
    quality = _query(demo_run, f"select alert_id from marts.alerts where kind = 'data_quality' and date = date '{D2}'")
    assert len(outbox) == len(_air_alerts(demo_run, D2)) + len(forecast) + len(quality)


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
    assert sorted((a["pollutant"], a["level"]) for a in alerts if a["kind"] == "air_quality") == [
        ("NO2", "information"), ("PM10", "information")]
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
