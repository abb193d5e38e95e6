"""The daily job once on the real public samples: real arrondissement polygons, the real
Paris school lists and the real Filosofi 2019 strip (ages and households), with the demo
bundle standing in only for the feeds that have no real Paris sample (air, noise).

The real files are read from ``../shared/data`` through the ``shared_data`` fixture and
laid out as upstream in a temporary folder; nothing is copied into the repository.
"""

from __future__ import annotations

import datetime as dt
import shutil

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import Point, shape
from warehouse_reader import read_warehouse

D2 = dt.date(2026, 1, 15)
SCHOOLS = ("etablissements-scolaires-maternelles", "etablissements-scolaires-ecoles-elementaires",
           "etablissements-scolaires-colleges")


@pytest.fixture(scope="module")
def real_run(shared_data, tmp_path_factory):
    upstream = tmp_path_factory.mktemp("upstream")
    home = tmp_path_factory.mktemp("spse_home")
    arr = upstream / "paris_arrondissements" / "arrondissements" / "exports"
    arr.mkdir(parents=True)
    shutil.copy(shared_data / "geo_paris" / "paris_arrondissements_opendata.geojson", arr / "geojson")
    pop = upstream / "insee_filosofi_200m"
    pop.mkdir(parents=True)
    shutil.copy(shared_data / "population" / "filosofi2019_200m_paris_strip_ages_households.csv",
                pop / "Filosofi2017_carreaux_200m_met.csv")
    for dataset in SCHOOLS:
        folder = upstream / "paris_facilities" / dataset / "exports"
        folder.mkdir(parents=True)
        shutil.copy(shared_data / "facilities" / f"paris_opendata_{dataset}.csv", folder / "csv")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPSE_HOME", str(home))
        mp.setenv("SPSE_PARIS_ARRONDISSEMENTS_URL", str(upstream / "paris_arrondissements"))
        mp.setenv("SPSE_INSEE_FILOSOFI_200M_URL", str(pop))
        mp.setenv("SPSE_PARIS_FACILITIES_URL", str(upstream / "paris_facilities"))
        mp.setenv("SPSE_PARIS_FACILITIES_DATASETS", ",".join(SCHOOLS))
        from spse.core.config import settings
        from spse.pipeline import daily as pipeline
        from spse.pipeline import demo

        demo.ensure()
        summary = pipeline.run_day(D2)
        yield {"summary": summary, "warehouse": settings().warehouse, "shared": shared_data, "summary_home": home}


def _query(run, sql):
    return read_warehouse(run["warehouse"], sql)


def test_real_arrondissements_and_strip_population(real_run):
    zones = _query(real_run, f"select zone_id, zone_level, population from marts.exposure_zone_daily "
                             f"where date = date '{D2}' and pollutant = 'PM10' and statistic = 'day_mean'")
    arrondissements = zones[zones["zone_level"] == "arrondissement"]
    assert sorted(arrondissements["zone_id"]) == [f"751{n:02d}" for n in range(1, 21)]
    strip = pd.read_csv(real_run["shared"] / "population" / "filosofi2019_200m_paris_strip_ages_households.csv")
    paris = zones.loc[zones["zone_id"] == "75056", "population"].iloc[0]
    # cells are selected by centroid in Paris; those cut by the boundary keep only their share inside
    assert paris == pytest.approx(strip["ind"].sum(), rel=0.01)
    assert arrondissements["population"].sum() == pytest.approx(paris, rel=1e-9)


def test_population_by_arrondissement_matches_an_independent_overlay(real_run):
    """Area-weighted allocation recomputed with shapely from the real polygons."""
    polygons = _real_arrondissements(real_run)
    strip = pd.read_csv(real_run["shared"] / "population" / "filosofi2019_200m_paris_strip_ages_households.csv")
    boxes = shapely.box(strip["x_laea_ll"], strip["y_laea_ll"], strip["x_laea_ll"] + 200, strip["y_laea_ll"] + 200)
    expected = {code: float((strip["ind"] * shapely.area(shapely.intersection(boxes, poly)) / 40_000).sum())
                for code, poly in polygons.items()}
    got = _query(real_run, f"select zone_id, population from marts.exposure_zone_daily where date = date '{D2}' "
                           "and pollutant = 'PM10' and statistic = 'day_mean' and zone_level = 'arrondissement'")
    for row in got.itertuples():
        assert row.population == pytest.approx(expected[row.zone_id], rel=1e-5, abs=1e-6)


def _real_arrondissements(run) -> dict:
    import json

    geo = json.loads((run["shared"] / "geo_paris" / "paris_arrondissements_opendata.geojson").read_text())
    to3035 = Transformer.from_crs("EPSG:4326", "EPSG:3035", always_xy=True)

    def project(coords):
        return np.column_stack(to3035.transform(coords[:, 0], coords[:, 1]))

    return {str(f["properties"]["c_arinsee"]): shapely.transform(shape(f["geometry"]), project)
            for f in geo["features"]}


def test_real_schools_reach_the_facility_marts(real_run):
    facilities = _query(real_run, f"select category, count(distinct facility_id) as n "
                                  f"from marts.facility_exposure_daily where date = date '{D2}' group by 1")
    counts = dict(zip(facilities["category"], facilities["n"], strict=True))
    colleges = pd.read_csv(real_run["shared"] / "facilities" / "paris_opendata_etablissements-scolaires-colleges.csv",
                           sep=";", encoding="utf-8-sig")
    latest = colleges["Année scolaire"].dropna().max()
    assert counts["college"] == (colleges["Année scolaire"] == latest).sum()  # 114 per year, SOURCES.md
    assert set(counts) == {"college", "ecole_elementaire", "ecole_maternelle"}


def test_alerts_still_raised_on_the_real_geography(real_run):
    alerts = _query(real_run, f"select pollutant, level, zone_ids from marts.alerts where date = date '{D2}' "
                              "and kind = 'air_quality' and alert_type <> 'health_advisory'")
    assert set(zip(alerts["pollutant"], alerts["level"], strict=True)) == {("NO2", "information"),
                                                                           ("PM10", "information")}
    no2 = alerts.loc[alerts["pollutant"] == "NO2"].iloc[0]
    stations = pd.read_csv(real_run["summary_home"] / "demo" / "lcsqa_stations" / "stations.csv")
    station = stations.loc[stations["code_site"] == "FR04329"].iloc[0]
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:3035", always_xy=True).transform(station.longitude, station.latitude)
    footprint = Point(x, y).buffer(100.0)
    touched = sorted(code for code, poly in _real_arrondissements(real_run).items() if poly.intersects(footprint))
    assert set(no2.zone_ids.split(",")) <= set(touched)
    assert no2.zone_ids
