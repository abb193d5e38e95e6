"""The demo run of 2026-01-16 06:00 (observed day 2026-01-15) and its CAMS forecast alerts.

The bundle's CAMS run (base time 2026-01-15 00 UTC, docs/demo.md "CAMS forecast") forecasts
PM10 local-day means of 55 (J = 2026-01-16) and 52 (J+1 = 2026-01-17) µg/m³ at the north-east
grid points (latitude ≥ 48.85, longitude ≥ 2.35) and 30 at the others. Expected cells are
recomputed here by hand: each cell's centroid (from its id, EPSG:3035 → WGS84 with pyproj)
interpolated bilinearly between the four surrounding grid points with numpy, never from
spse's own output.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer

D2 = dt.date(2026, 1, 15)
J, J1 = dt.date(2026, 1, 16), dt.date(2026, 1, 17)
LATS = np.array([48.75, 48.85, 48.95])
LONS = np.array([2.15, 2.25, 2.35, 2.45, 2.55])
NORTH_EAST_MEAN = {J: 55.0, J1: 52.0}
ELSEWHERE = 30.0
TO_WGS84 = Transformer.from_crs(3035, 4326, always_xy=True)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    home = tmp_path_factory.mktemp("spse_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPSE_HOME", str(home))
        from spse.core.config import settings
        from spse.pipeline import daily as pipeline
        from spse.pipeline import demo, lake

        demo.ensure()
        summary = pipeline.run_day(D2)
        alerts = lake.read_partition("alerts", lake.date_partition(D2))
        zone_cells = lake.read_latest("zone_cells")
        grid_cells = lake.read_latest("grid_cells")
        outbox = settings().outbox / "alerts" / D2.isoformat()
        notes = [json.loads(p.read_text()) for p in sorted(outbox.glob("*.json"))]
        yield {"summary": summary, "alerts": alerts, "zone_cells": zone_cells, "grid_cells": grid_cells,
               "notes": notes, "bundle": settings().demo, "warehouse": settings().warehouse,
               "bulletin": settings().bulletin / f"{D2}.html"}


def designed_day_mean(lon: np.ndarray, lat: np.ndarray, day: dt.date) -> np.ndarray:
    """Bilinear interpolation of the designed PM10 day means of the grid points."""
    grid = np.where((LATS[:, None] >= 48.85) & (LONS[None, :] >= 2.35), NORTH_EAST_MEAN[day], ELSEWHERE)
    i = np.clip(np.searchsorted(LATS, lat, side="right") - 1, 0, len(LATS) - 2)
    k = np.clip(np.searchsorted(LONS, lon, side="right") - 1, 0, len(LONS) - 2)
    ty = (lat - LATS[i]) / 0.1
    tx = (lon - LONS[k]) / 0.1
    south = grid[i, k] * (1 - tx) + grid[i, k + 1] * tx
    north = grid[i + 1, k] * (1 - tx) + grid[i + 1, k + 1] * tx
    return south * (1 - ty) + north * ty


@pytest.fixture(scope="module")
def expected(demo_run):
    crosswalk = demo_run["zone_cells"]
    if "zone_level" in crosswalk.columns:
        crosswalk = crosswalk[crosswalk["zone_level"].fillna("arrondissement") == "arrondissement"]
    crosswalk = crosswalk[crosswalk["area_fraction"] > 0]
    cells = pd.Series(sorted(crosswalk["cell_id"].unique()))
    corner = cells.str.extract(r"N(\d+)E(\d+)$").astype(float)
    lon, lat = TO_WGS84.transform(corner[1].to_numpy() + 100.0, corner[0].to_numpy() + 100.0)
    means = {day: designed_day_mean(np.asarray(lon), np.asarray(lat), day) for day in (J, J1)}
    margin = min(float(np.min(np.abs(m - 50.0))) for m in means.values())
    assert margin > 1e-6, "a cell sits on the 50 µg/m³ contour: the design would be fragile"
    population = demo_run["grid_cells"].set_index("cell_id")["population"]
    out = {}
    for day, mean in means.items():
        above = set(cells[mean > 50.0])
        zones = sorted(set(crosswalk.loc[crosswalk["cell_id"].isin(above), "zone_id"]))
        out[day] = {"cells": above, "population": float(population.reindex(list(above)).fillna(0.0).sum()),
                    "zones": zones}
    return out


def forecast_alerts(demo_run) -> pd.DataFrame:
    alerts = demo_run["alerts"]
    return alerts[alerts["kind"] == "forecast"].sort_values(["date", "level"]).reset_index(drop=True)


def test_the_bundle_holds_the_designed_run(demo_run):
    import netCDF4

    path = demo_run["bundle"] / "cams_europe_forecast" / "2026-01-15" / "cams_europe_ensemble_forecast.nc"
    with netCDF4.Dataset(path) as nc:
        assert nc["time"].long_name == "FORECAST time from 20260115"
        assert list(nc["time"][:]) == list(range(97))
        assert list(np.round(nc["latitude"][:], 2)) == [48.95, 48.85, 48.75]
        pm10 = np.asarray(nc["pm10_conc"][:], dtype=float)[:, 0]
        no2 = np.asarray(nc["no2_conc"][:], dtype=float)
        o3 = np.asarray(nc["o3_conc"][:], dtype=float)
        so2 = np.asarray(nc["so2_conc"][:], dtype=float)
    # local day J = 2026-01-15 23:00 UTC → 2026-01-16 23:00 UTC = leads 23..46; J+1 = leads 47..70
    for day, leads in ((J, slice(23, 47)), (J1, slice(47, 71))):
        means = pm10[leads].mean(axis=0)
        assert means[:2, 2:] == pytest.approx(np.full((2, 3), NORTH_EAST_MEAN[day]))  # lat ≥ 48.85, lon ≥ 2.35
        assert means[2, :] == pytest.approx(np.full(5, ELSEWHERE)) and means[:, :2] == pytest.approx(ELSEWHERE)
    assert no2.max() < 200.0 and o3.max() < 180.0 and so2.max() < 300.0 and pm10.max() < 80.0


def test_the_run_ingests_the_forecast_of_the_day(demo_run):
    assert "cams_europe_forecast:date=2026-01-15" in demo_run["summary"].ingested
    assert demo_run["summary"].counts["forecast_cell_daily"] > 0


def test_forecast_alerts_are_the_designed_ones(demo_run):
    alerts = forecast_alerts(demo_run)
    assert list(zip(alerts["date"], alerts["pollutant"], alerts["level"], strict=True)) == [
        (J, "PM10", "alerte_persistance"), (J, "PM10", "information"), (J1, "PM10", "information")]
    assert (alerts["basis"] == "forecast").all() and (alerts["status"] == "opened").all()
    assert (alerts["alert_type"] == "regulatory_episode").all() and (alerts["alert_version"] == 1).all()
    assert (alerts["set_id"] == "FR_R221-1").all() and (alerts["threshold_value"] == 50.0).all()
    persist, today, tomorrow = alerts.iloc[0], alerts.iloc[1], alerts.iloc[2]
    assert today["value_max"] == pytest.approx(55.0) and tomorrow["value_max"] == pytest.approx(52.0)
    assert persist["value_max"] == pytest.approx(52.0)  # the north-east plateau forecast on both days
    for row, lead in ((today, 0), (tomorrow, 1)):
        trigger = json.loads(row["triggered_by"])["forecast"]
        assert trigger["base_time_utc"] == "2026-01-15T00:00:00+00:00" and trigger["lead_day"] == lead


def test_forecast_alerts_cover_the_hand_computed_cells(demo_run, expected):
    alerts = forecast_alerts(demo_run).set_index(["date", "level"])
    for (day, level), want in (((J, "information"), expected[J]), ((J1, "information"), expected[J1]),
                               ((J, "alerte_persistance"), expected[J1])):  # J+1's cells lie within J's
        row = alerts.loc[(day, level)]
        assert row["n_cells"] == len(want["cells"]), (day, level)
        assert row["area_km2"] == pytest.approx(0.04 * len(want["cells"]))
        assert row["population_total"] == pytest.approx(want["population"])
        assert row["zone_ids"].split(",") == want["zones"]
    assert expected[J1]["cells"] <= expected[J]["cells"]
    zones = set(alerts.loc[(J, "information"), "zone_ids"].split(","))
    assert {"75118", "75119", "75120"} <= zones and not zones & {"75115", "75116"}  # north-east, not west


def test_the_warehouse_dates_forecast_alerts_by_their_forecast_day(demo_run):
    import duckdb

    with duckdb.connect(str(demo_run["warehouse"]), read_only=True) as con:
        rows = con.execute("select date, level from marts.alerts where kind = 'forecast' "
                           "order by date, level").fetchall()
    assert rows == [(J, "alerte_persistance"), (J, "information"), (J1, "information")]


def test_observed_alerts_are_unchanged_and_ids_do_not_collide(demo_run):
    alerts = demo_run["alerts"]
    observed = alerts[(alerts["kind"] == "air_quality") & (alerts["status"] != "closed")
                      & (alerts["alert_type"] != "health_advisory")]
    assert sorted(zip(observed["alert_type"], observed["pollutant"], observed["level"], strict=True)) == [
        ("local_exceedance", "NO2", "information"), ("local_exceedance", "PM10", "information"),
        ("regulatory_episode", "PM10", "information")]
    assert (observed["date"] == D2).all()
    assert alerts["alert_id"].is_unique


def test_outbox_carries_the_forecast_notifications(demo_run):
    notes = [n for n in demo_run["notes"] if n["kind"] == "forecast"]
    assert sorted((n["date"], n["level"]) for n in notes) == [
        ("2026-01-16", "alerte_persistance"), ("2026-01-16", "information"), ("2026-01-17", "information")]
    persist = next(n for n in notes if n["level"] == "alerte_persistance")
    assert re.search(r"2016-01383", persist["threshold"]["reference"])
    assert "persistance" in persist["recommendation"]


def test_bulletin_shows_the_forecast_days(demo_run):
    html = demo_run["bulletin"].read_text()
    assert "Prévision pour le vendredi 16 janvier 2026" in html
    assert "Prévision pour le samedi 17 janvier 2026" in html
    assert "PM10 : alerte sur persistance (Code de l&#x27;environnement, art. R221-1)" in html
