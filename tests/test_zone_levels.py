"""Exposure by IRIS and by quartier beside the arrondissements (methods.md §6.5, worked example W9).

A hand-made lake on a strip of four 200 m cells, all in EPSG:3035 metres (x from X0, one row at Y0):

    cell   a          x          b          c
    pop    600        400        200        300
    NO2    12.0       16.0       20.0       10.0   µg/m³ (day mean, all valid)

    arrondissement 75101 = [X0, X0 + 600]  (a, x, b)      75102 = [X0 + 600, X0 + 800]  (c)
    quartier      7510101 = 75101                        7510205 = 75102
    IRIS          A 751010101 = [X0, X0 + 260]: a + 30 % of x
                  B 751010102 = [X0 + 260, X0 + 600]: 70 % of x + b
                  C 751020201 = 75102

W9 by hand: IRIS A pop 600 + 0.3·400 = 720, PWC (7200 + 1920) / 720 = 12.666667; IRIS B pop
0.7·400 + 200 = 480, PWC (4480 + 4000) / 480 = 17.666667. Arrondissement 75101: 1200,
(7200 + 6400 + 4000) / 1200 = 14.666667. Paris: 1500 residents (not 3000 or 4500),
(17 600 + 3000) / 1500 = 13.733333. Expected values are computed here, never read from the code.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from spse.methods import grid
from spse.pipeline import cli, lake, warehouse
from spse.pipeline import daily as pipeline
from spse.pipeline.alerts import impact
from spse.pipeline.ingest import ingest
from spse.pipeline.warehouse import EMPTY_SCHEMAS
from spse.pipeline.warehouse.reader import fetch_frame
from spse.sources import get as get_source

DAY = dt.date(2025, 1, 15)
X0, Y0 = 3_760_000, 2_886_000

THRESHOLDS_CSV = """\
set_id,pollutant,noise_source,averaging,value,unit,level,consecutive_periods,allowed_exceedances,comparison,status,reference
TEST,NO2,,day_mean,15,µg/m³,test,1,,>,U,hand-made threshold of tests/test_zone_levels.py
WHO_2018,Lden,road,year,53,dB(A),guideline,1,,>,C,WHO 2018
FR_R221-1,PM10,,day_mean,50,µg/m³,information,1,,>,C2,R221-1 (bulletin legend)
FR_R221-1,PM10,,day_mean,80,µg/m³,alerte,1,,>,C2,R221-1 (bulletin legend)
WHO_2021,PM10,,day_mean,45,µg/m³,guideline,1,3,>,C,WHO 2021 (bulletin legend)
"""

CELLS = {"a": (0, 600.0, 12.0), "x": (200, 400.0, 16.0), "b": (400, 200.0, 20.0), "c": (600, 300.0, 10.0)}
IRIS_A, IRIS_B, IRIS_C = "751010101", "751010102", "751020201"


_DTYPES = {"VARCHAR": "str", "DOUBLE": "float64", "BIGINT": "Int64", "BOOLEAN": "boolean", "DATE": "object",
           "TIMESTAMPTZ": "datetime64[ns, UTC]"}


def write(dataset: str, partition: str = "vintage=current", **values) -> None:
    """A lake partition with every contract column of ``dataset`` (``EMPTY_SCHEMAS``); columns not given are null."""
    n = len(next(iter(values.values())))
    lake.write_partition(dataset, partition, pd.DataFrame({
        name: pd.Series(values.get(name, [None] * n), dtype=_DTYPES[type_])
        for name, type_ in EMPTY_SCHEMAS[dataset].columns.items()}))


def cell(name: str) -> str:
    return str(grid.cell_id([X0 + CELLS[name][0]], [Y0])[0])


def strip(x_from: int, x_to: int) -> str:
    return shapely.box(X0 + x_from, Y0, X0 + x_to, Y0 + 200).wkt


def write_zones(dataset: str, rows: list[tuple[str, str, int, int]], parents: list[str] | None = None) -> None:
    """``rows`` = (zone_id, name, x_from, x_to) relative to X0, over the strip's single row of cells."""
    level = grid.ZONE_LEVELS[dataset]
    extra = {} if parents is None else {"parent_zone_id": parents, "geometry_repaired": [False] * len(rows)}
    write(dataset, zone_id=[r[0] for r in rows], zone_name=[r[1] for r in rows], zone_label=[r[1] for r in rows],
          zone_level=[level] * len(rows), area_m2=[float((r[3] - r[2]) * 200) for r in rows],
          geometry_wkt=[strip(r[2], r[3]) for r in rows], **extra)


@pytest.fixture
def home(spse_home, tmp_path, monkeypatch):
    path = tmp_path / "thresholds.csv"
    path.write_text(THRESHOLDS_CSV, encoding="utf-8")
    monkeypatch.setenv("SPSE_THRESHOLDS_FILE", str(path))
    return spse_home


def write_lake(*, with_finer_levels: bool = True) -> None:
    names = list(CELLS)
    population = np.array([CELLS[n][1] for n in names])
    write("population", cell_id=[cell(n) for n in names], x_3035=[float(X0 + CELLS[n][0]) for n in names],
          y_3035=[float(Y0)] * len(names), population=population, pop_0_5=population / 10,
          pop_65p=population / 5, is_imputed=[False] * len(names))
    write_zones("zones", [("75101", "Paris 1er", 0, 600), ("75102", "Paris 2e", 600, 800)])
    if with_finer_levels:
        write_zones("zones_iris", [(IRIS_A, "Iris A", 0, 260), (IRIS_B, "Iris B", 260, 600),
                                   (IRIS_C, "Iris C", 600, 800)], ["75101", "75101", "75102"])
        write_zones("zones_quartiers", [("7510101", "Quartier 1", 0, 600), ("7510205", "Quartier 5", 600, 800)],
                    ["75101", "75102"])
    write("facilities", facility_id=[])
    write("air_stations", station_id=[])
    # one Lden road band 65-70 dB(A) over cells a and x
    write("noise_map_bands", band_id=["L65"], indicator=["Lden"], source_type=["road"], db_low=[65.0],
          db_high=[70.0], label=["65-70"], geometry_wkt=[strip(0, 400)])
    n = len(names)
    write("surface_daily", lake.date_partition(DAY), cell_id=[cell(c) for c in names], date=[DAY] * n,
          pollutant=["NO2"] * n, statistic=["day_mean"] * n, value=[CELLS[c][2] for c in names],
          n_valid=[24] * n, n_expected=[24] * n, coverage=[1.0] * n, is_valid=[True] * n,
          time_base=["Europe/Paris"] * n)


def build() -> None:
    pipeline.build_grid()
    warehouse.publish(warehouse.build(DAY))


def test_grid_crosswalk_carries_every_level(home):
    write_lake()
    counts = pipeline.build_grid()
    zone_cells = lake.read_latest("zone_cells")
    assert list(zone_cells.columns) == ["zone_id", "cell_id", "area_fraction", "zone_level"]
    # a, x, b in 75101; c in 75102; a, x in A; x, b in B; c in C; a, x, b in 7510101; c in 7510205
    assert counts["zone_cells"] == 4 + 5 + 4
    fractions = zone_cells.set_index(["zone_level", "zone_id", "cell_id"])["area_fraction"]
    assert fractions[("iris", IRIS_A, cell("x"))] == pytest.approx(60 * 200 / 40_000)  # 0.3
    assert fractions[("iris", IRIS_B, cell("x"))] == pytest.approx(140 * 200 / 40_000)  # 0.7
    assert fractions[("arrondissement", "75101", cell("x"))] == pytest.approx(1.0)
    assert fractions[("quartier", "7510101", cell("x"))] == pytest.approx(1.0)
    per_level = zone_cells.groupby(["zone_level", "cell_id"])["area_fraction"].sum()
    assert np.allclose(per_level.to_numpy(), 1.0)  # each level partitions the strip on its own


def test_grid_without_finer_levels_keeps_arrondissements_only(home):
    write_lake(with_finer_levels=False)
    pipeline.build_grid()
    zone_cells = lake.read_latest("zone_cells")
    assert set(zone_cells["zone_level"]) == {"arrondissement"}
    assert sorted(zone_cells["zone_id"].unique()) == ["75101", "75102"]


def test_w9_exposure_by_iris_quartier_arrondissement_and_paris(home):
    write_lake()
    build()
    rows = warehouse.query("select * from marts.exposure_zone_daily where pollutant = 'NO2'")
    assert len(rows) == 3 + 2 + 2 + 1
    zones = rows.set_index("zone_id")
    expected = {
        IRIS_A: ("iris", "75101", 720.0, 12.666667, 2),
        IRIS_B: ("iris", "75101", 480.0, 17.666667, 2),
        IRIS_C: ("iris", "75102", 300.0, 10.0, 1),
        "7510101": ("quartier", "75101", 1200.0, 14.666667, 3),
        "7510205": ("quartier", "75102", 300.0, 10.0, 1),
        "75101": ("arrondissement", "75056", 1200.0, 14.666667, 3),
        "75102": ("arrondissement", "75056", 300.0, 10.0, 1),
    }
    for zone_id, (level, parent, population, pwc, n_cells) in expected.items():
        row = zones.loc[zone_id]
        assert (row["zone_level"], row["parent_zone_id"], row["n_cells"]) == (level, parent, n_cells), zone_id
        assert row["population"] == pytest.approx(population), zone_id
        assert row["pop_weighted_mean_ug_m3"] == pytest.approx(pwc, abs=1e-6), zone_id
    paris = zones.loc["75056"]
    assert paris["zone_level"] == "commune" and pd.isna(paris["parent_zone_id"])
    assert paris["population"] == pytest.approx(1500.0)
    assert paris["pop_weighted_sum"] == pytest.approx(20_600.0)
    assert paris["pop_weighted_mean_ug_m3"] == pytest.approx(20_600.0 / 1500.0)
    # every level re-aggregates to Paris exactly (Σ P·C / Σ P, methods.md §6.5 point 3)
    sums = rows[rows["zone_level"] != "commune"].groupby("zone_level")[["population", "pop_weighted_sum"]].sum()
    assert np.allclose(sums["population"], 1500.0) and np.allclose(sums["pop_weighted_sum"], 20_600.0)


def test_population_above_threshold_per_level(home):
    write_lake()
    build()
    rows = warehouse.query("select * from marts.population_above_threshold_daily where set_id = 'TEST'")
    above = rows.set_index("zone_id")
    # NO2 > 15: x (16) and b (20). A: 0.3·400; B: 0.7·400 + 200; 75101: 400 + 200; Paris 600
    expected = {IRIS_A: 120.0, IRIS_B: 480.0, IRIS_C: 0.0, "7510101": 600.0, "7510205": 0.0, "75101": 600.0,
                "75102": 0.0, "75056": 600.0}
    assert sorted(above.index) == sorted(expected)
    for zone_id, people in expected.items():
        assert above.loc[zone_id, "pop_total_above"] == pytest.approx(people), zone_id
    assert above.loc[IRIS_B, "pop_0_5_above"] == pytest.approx(0.7 * 40 + 20)
    assert above.loc[IRIS_B, "share_total_above"] == pytest.approx(1.0)
    assert above.loc[IRIS_A, "share_total_above"] == pytest.approx(120.0 / 720.0)
    assert above.loc[IRIS_A, "parent_zone_id"] == "75101"


def test_noise_bands_and_thresholds_per_level(home):
    write_lake()
    build()
    bands = warehouse.query("select * from marts.noise_zone_bands").set_index("zone_id")
    # band over a and x: A 600 + 0.3·400, B 0.7·400, C untouched, 75101 and Paris 600 + 400
    assert sorted(bands.index) == sorted([IRIS_A, IRIS_B, "7510101", "75101", "75056"])
    assert bands.loc[IRIS_A, "population"] == pytest.approx(720.0)
    assert bands.loc[IRIS_B, "population"] == pytest.approx(280.0)
    assert bands.loc[IRIS_B, "zone_population"] == pytest.approx(480.0)
    assert bands.loc[IRIS_B, "share_population"] == pytest.approx(280.0 / 480.0)
    assert bands.loc["75056", "population"] == pytest.approx(1000.0)
    assert bands.loc["75056", "zone_population"] == pytest.approx(1500.0)
    who = warehouse.query("select * from marts.noise_zone_thresholds where set_id = 'WHO_2018'").set_index("zone_id")
    # 53 dB(A) is below the only band (65): lower bound = band residents, upper bound adds the unmapped ones
    assert who.loc[IRIS_B, "pop_above_lower_bound"] == pytest.approx(280.0)
    assert who.loc[IRIS_B, "pop_above_upper_bound"] == pytest.approx(480.0)
    assert who.loc[IRIS_C, "pop_above_lower_bound"] == pytest.approx(0.0)
    assert who.loc[IRIS_C, "pop_above_upper_bound"] == pytest.approx(300.0)
    assert who.loc["75056", "pop_above_lower_bound"] == pytest.approx(1000.0)
    assert who.loc["75056", "population"] == pytest.approx(1500.0)
    assert who.loc[IRIS_C, "parent_zone_id"] == "75102"


def test_summary_and_bulletin_show_arrondissements_and_paris_only(home, capsys):
    from spse.pipeline import bulletin

    write_lake()
    build()
    cli.print_summary(DAY)
    out = capsys.readouterr().out
    assert "Paris 1er" in out and "75056" in out
    assert "Iris A" not in out and "Quartier 1" not in out and IRIS_A not in out
    page = bulletin.render(DAY).read_text(encoding="utf-8")
    assert "Paris 1er" in page and "Paris 2e" in page
    assert "Iris" not in page and "Quartier 1" not in page


def test_alert_zones_are_arrondissements_only():
    zone_cells = pd.DataFrame({
        "zone_id": ["75101", IRIS_A, IRIS_B, "7510101", "75102"],
        "cell_id": ["x", "x", "x", "x", "c"],
        "area_fraction": [1.0, 0.3, 0.7, 1.0, 1.0],
        "zone_level": ["arrondissement", "iris", "iris", "quartier", "arrondissement"]})
    zones = pd.DataFrame({"zone_id": ["75101", "75102"], "zone_name": ["Paris 1er", "Paris 2e"]})
    grid_cells = pd.DataFrame({"cell_id": ["x", "c"], "population": [400.0, 300.0], "pop_0_5": [40.0, 30.0],
                               "pop_65p": [80.0, 60.0], "pop_poor_households": [4.0, 3.0]})
    empty_facilities = pd.DataFrame({"facility_id": pd.Series(dtype="str"), "cell_id": pd.Series(dtype="str"),
                                     "category": pd.Series(dtype="str")})
    affected = pd.DataFrame({"rule": [0], "cell_id": ["x"]})
    row = impact.summarise(affected, grid_cells, zone_cells, zones, empty_facilities, empty_facilities).iloc[0]
    assert (row["zone_ids"], row["zone_names"]) == ("75101", "Paris 1er")
    assert row["population_total"] == pytest.approx(400.0)  # whole cell, never counted once per level
    # a crosswalk written before the finer levels has no zone_level: its rows are arrondissements
    legacy = impact.summarise(affected, grid_cells, zone_cells[zone_cells["zone_level"] == "arrondissement"]
                              .drop(columns="zone_level"), zones, empty_facilities, empty_facilities).iloc[0]
    assert legacy["zone_ids"] == "75101"


def test_crosswalk_without_zone_level_reads_as_arrondissements(home):
    write_lake(with_finer_levels=False)
    pipeline.build_grid()
    legacy = lake.read_latest("zone_cells").drop(columns="zone_level")
    lake.write_partition("zone_cells", pipeline.GRID_PARTITION, legacy)
    warehouse.publish(warehouse.build(DAY))
    rows = warehouse.query("select zone_id, zone_level, population from marts.exposure_zone_daily order by zone_id")
    assert rows["zone_id"].tolist() == ["75056", "75101", "75102"]
    assert rows["zone_level"].tolist() == ["commune", "arrondissement", "arrondissement"]
    assert rows["population"].tolist() == pytest.approx([1500.0, 1200.0, 300.0])


def _upstream(folder: Path, source_name: str, sample: Path, monkeypatch) -> None:
    """Lay ``sample`` out under its source's ``files()`` name in ``folder`` and point the source there."""
    (relative,) = get_source(source_name).files(DAY)
    target = folder / source_name / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(sample, target)
    monkeypatch.setenv(f"SPSE_{source_name.upper()}_URL", str(folder / source_name))


@pytest.mark.shared_data
def test_real_iris_and_filosofi_allocate_the_same_population_as_the_arrondissements(shared_data, home, tmp_path,
                                                                                  monkeypatch):
    upstream = tmp_path / "upstream"
    _upstream(upstream, "iris_contours", shared_data / "geo_paris" / "paris_iris_contours_992.geojson", monkeypatch)
    _upstream(upstream, "paris_arrondissements", shared_data / "geo_paris" / "paris_arrondissements_opendata.geojson",
              monkeypatch)
    _upstream(upstream, "insee_filosofi_200m",
              shared_data / "population" / "filosofi2019_200m_paris_strip_ages_households.csv", monkeypatch)
    for name in ("iris_contours", "paris_arrondissements", "insee_filosofi_200m"):
        ingest(get_source(name), DAY)
    assert len(lake.read_latest("zones_iris")) == 992
    write("facilities", facility_id=[])
    write("air_stations", station_id=[])
    pipeline.build_grid()

    zone_cells = lake.read_latest("zone_cells")
    cells = lake.read_latest("grid_cells")[["cell_id", "population"]]
    allocated = zone_cells.merge(cells, on="cell_id")
    allocated["allocated"] = allocated["population"] * allocated["area_fraction"]
    by_level = allocated.groupby("zone_level")["allocated"].sum()
    assert set(by_level.index) == {"arrondissement", "iris"}
    # the strip holds 182 747 residents (INSEE Filosofi 2019); both levels cover Paris, so they agree
    assert by_level["arrondissement"] == pytest.approx(by_level["iris"], rel=5e-3)
    assert by_level["arrondissement"] == pytest.approx(182_747, rel=5e-3)
    assert zone_cells.loc[zone_cells["zone_level"] == "iris", "zone_id"].str.len().eq(9).all()

    warehouse.publish(warehouse.build(DAY))
    con = warehouse.connect_readonly()
    try:
        levels = fetch_frame(con, "select zone_level, sum(population) as population, "
                                                   "count(distinct zone_id) as zones "
                                                   "from intermediate.int_zone_cells_allocated group by zone_level")
    finally:
        con.close()
    levels = levels.set_index("zone_level")
    assert levels.loc["commune", "population"] == pytest.approx(by_level["arrondissement"], rel=1e-6)
    assert levels.loc["iris", "population"] == pytest.approx(by_level["iris"], rel=1e-6)
    assert levels.loc["commune", "zones"] == 1
