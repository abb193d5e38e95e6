"""Every source reads the demo bundle through the production path (``spse.pipeline.ingest.ingest``).

The bundle is found at ``file://$SPSE_HOME/demo/<source>/`` (no URL override). Expected
counts come from docs/demo.md. A source whose module does not exist yet is skipped.
"""

from __future__ import annotations

import importlib
import shutil

import pandas as pd
import pytest

from spse.core.config import source_base_url
from spse.pipeline import demo, lake

D1, D2 = demo.DEMO_DAYS
SOURCES = {  # name → days to ingest
    "lcsqa_e2": (D1, D2),
    "lcsqa_stations": (D2,),
    "bruitparif_rumeur": (D1, D2),
    "noise_map_cbs": (D2,),
    "insee_filosofi_200m": (D2,),
    "paris_arrondissements": (D2,),
    "paris_facilities": (D2,),
    "cams_europe_forecast": (D1, D2),
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    return demo.generate(tmp_path_factory.mktemp("bundle") / "demo")


@pytest.fixture
def home(spse_home, generated):
    shutil.copytree(generated, spse_home / "demo")
    return spse_home


def _source(name: str):
    try:
        module = importlib.import_module(f"spse.sources.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"spse.sources.{name}":
            pytest.skip(f"source module spse.sources.{name} is not written yet")
        raise
    return module.SOURCE


def _ingest(name: str) -> tuple[object, dict]:
    from spse.pipeline.ingest import ingest, read_quarantine

    source = _source(name)
    reports = {day: ingest(source, day) for day in SOURCES[name]}
    rejects = pd.concat([read_quarantine(source, day) for day in SOURCES[name]], ignore_index=True)
    return source, {"reports": reports, "rejects": rejects}


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_source_ingests_the_bundle(home, name):
    assert source_base_url(name) == (home / "demo" / name).as_uri()
    source, result = _ingest(name)
    for day, report in result["reports"].items():
        assert report.rows > 0, day
        assert lake.has_partition(source.dataset, source.partition_for(day))
    if name == "paris_facilities":
        rejects = result["rejects"]
        assert len(rejects) == 1
        assert "etablissements-petite-enfance" in rejects.iloc[0]["file"]
        assert "CRE-0061" in rejects.iloc[0]["raw"]
    else:
        assert result["rejects"].empty, result["rejects"].to_dict("records")


def test_air_hourly_keeps_the_designed_invalid_hours(home):
    source, _ = _ingest("lcsqa_e2")
    d1 = lake.read_partition(source.dataset, source.partition_for(D1))
    d2 = lake.read_partition(source.dataset, source.partition_for(D2))
    assert len(d1) == len(d2) == 35 * 24
    assert (~d1["is_valid"]).sum() == 6 and (~d2["is_valid"]).sum() == 11
    no2 = d2[(d2["pollutant"] == "NO2") & d2["is_valid"]]
    peak = no2.loc[no2["value"].idxmax()]
    assert (peak["station_id"], peak["value"]) == ("FR04329", 212.0)
    assert peak["ts_start_utc"] == pd.Timestamp("2026-01-15 07:00", tz="UTC")


def test_population_and_facilities_totals(home):
    population, _ = _ingest("insee_filosofi_200m")
    cells = lake.read_latest(population.dataset)
    assert cells["population"].sum() == pytest.approx(2_101_538, abs=1e-6)
    facilities, _ = _ingest("paris_facilities")
    rows = lake.read_latest(facilities.dataset)
    counts = rows["category"].value_counts().to_dict()
    assert counts == {"ecole_maternelle": 79, "ecole_elementaire": 79, "creche": 60, "college": 24, "pmi": 20,
                      "ehpad": 20, "hospital": 12, "centre_sante": 12}
    assert set(rows.loc[rows["school_year"].notna(), "school_year"]) == {"2025-2026"}
    assert "CRE-0001" in set(rows["facility_id"])


def test_cams_forecast_is_the_designed_run(home):
    source, _ = _ingest("cams_europe_forecast")
    rows = lake.read_partition(source.dataset, source.partition_for(D2))
    # 6 pollutants × 97 lead times × 3 latitudes × 5 longitudes (docs/demo.md "CAMS forecast")
    assert len(rows) == 6 * 97 * 3 * 5
    assert set(rows["base_time_utc"]) == {pd.Timestamp("2026-01-15 00:00", tz="UTC")}
    assert set(rows["model"]) == {"ENSEMBLE"} and rows["lead_hours"].max() == 96
    co = rows.loc[rows["pollutant"] == "CO", "value"]
    assert co.to_numpy() == pytest.approx(0.3)  # 300 µg/m3 in the file, mg/m³ in the lake


def _north_east_pm10_day_mean(rows: pd.DataFrame, local_day: str) -> float:
    valid = rows["base_time_utc"] + pd.to_timedelta(rows["lead_hours"], unit="h")
    pick = ((rows["pollutant"] == "PM10") & (rows["lat"] >= 48.85) & (rows["lon"] >= 2.35)
            & (valid.dt.tz_convert("Europe/Paris").dt.strftime("%Y-%m-%d") == local_day))
    return float(rows.loc[pick, "value"].mean())


def test_the_run_of_the_day_before_forecast_52_where_the_demo_run_forecasts_55(home):
    source, _ = _ingest("cams_europe_forecast")
    before = lake.read_partition(source.dataset, source.partition_for(D1))
    demo_run = lake.read_partition(source.dataset, source.partition_for(D2))
    assert set(before["base_time_utc"]) == {pd.Timestamp("2026-01-14 00:00", tz="UTC")}
    # docs/demo.md "CAMS forecast": the ±2 swing cancels over the 24 hours of a January day.
    assert _north_east_pm10_day_mean(before, "2026-01-15") == pytest.approx(45.0)
    assert _north_east_pm10_day_mean(before, "2026-01-16") == pytest.approx(52.0)
    assert _north_east_pm10_day_mean(demo_run, "2026-01-16") == pytest.approx(55.0)
