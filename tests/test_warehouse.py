"""The DuckDB warehouse: marts against hand-computed values (methods.md W1, W9), documentation,
atomic publication and read-only access.

Every test writes a tiny lake by hand in a temporary SPSE_HOME; expected values are computed
by hand in the comments, not taken from the code's output.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from spse.pipeline import lake, warehouse
from spse.pipeline.warehouse import EMPTY_SCHEMAS, WarehouseError

DAY = dt.date(2025, 1, 15)
_DTYPES = {"VARCHAR": "object", "DOUBLE": "float64", "BIGINT": "Int64", "BOOLEAN": "boolean", "DATE": "object",
           "TIMESTAMPTZ": "datetime64[ns, UTC]"}
MARTS = {"exposure_cell_daily", "exposure_zone_daily", "population_above_threshold_daily",
         "facility_exposure_daily", "station_daily", "surface_validation", "noise_station_daily",
         "noise_zone_bands", "noise_zone_thresholds", "alerts", "thresholds", "parameters"}

THRESHOLDS_CSV = """\
set_id,pollutant,noise_source,averaging,value,unit,level,consecutive_periods,allowed_exceedances,comparison,status,reference
TEST,PM2.5,,day_mean,15,µg/m³,test,1,,>,U,W1 threshold of methods.md §9
FR_R221-1,PM10,,day_mean,50,µg/m³,information,1,,>,C2,R221-1
FR_R221-1,PM10,,day_mean,80,µg/m³,alerte,1,,>,C2,R221-1
WHO_2021,PM10,,day_mean,45,µg/m³,guideline,1,3,>,C,WHO 2021
FR_R221-1,NO2,,1h,200,µg/m³,information,1,,>,C2,R221-1
FR_R221-1,NO2,,1h,400,µg/m³,alerte,3,,>,C2,R221-1 3 consecutive hours
EU_2008_50,CO,,day_max_8h_mean,10,mg/m³,limit,1,,>,C,2008/50
WHO_2021,PM2.5,,year_mean,5,µg/m³,guideline,1,,>,C,WHO 2021
FR_NOISE_2006,Lden,road,year,68,dB(A),limit,1,,>,C,arrêté 2006
WHO_2018,Lden,road,year,53,dB(A),guideline,1,,>,C,WHO 2018
"""


@pytest.fixture
def home(spse_home, tmp_path, monkeypatch):
    path = tmp_path / "thresholds.csv"
    path.write_text(THRESHOLDS_CSV, encoding="utf-8")
    monkeypatch.setenv("SPSE_THRESHOLDS_FILE", str(path))
    return spse_home


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


def write_reference(dataset: str, vintage: str = "current", **values) -> None:
    lake.write_partition(dataset, f"vintage={vintage}", frame(dataset, **values))


def write_cells(cells: dict[str, float], zone_cells: list[tuple[str, str, float]], **groups: list[float]) -> None:
    """Grid cells with populations, the zones named in ``zone_cells`` (arrondissements) and the crosswalk."""
    write_reference("grid_cells", cell_id=list(cells), population=list(cells.values()), **groups)
    zone_ids = sorted({z for z, _, _ in zone_cells})
    write_reference("zones", zone_id=zone_ids, zone_name=[f"Paris {z[-2:]}" for z in zone_ids],
                    zone_level=["arrondissement"] * len(zone_ids))
    write_reference("zone_cells", zone_id=[z for z, _, _ in zone_cells], cell_id=[c for _, c, _ in zone_cells],
                    area_fraction=[f for _, _, f in zone_cells])


def write_surface(rows: list[tuple[str, str, str, float | None, bool]], day: dt.date = DAY) -> None:
    """``rows`` = (cell_id, pollutant, statistic, value, is_valid)."""
    lake.write_partition("surface_daily", lake.date_partition(day), frame(
        "surface_daily", cell_id=[r[0] for r in rows], date=[day] * len(rows), pollutant=[r[1] for r in rows],
        statistic=[r[2] for r in rows], value=[r[3] for r in rows], is_valid=[r[4] for r in rows],
        n_valid=[24 if r[4] else 10 for r in rows], n_expected=[24] * len(rows),
        coverage=[1.0 if r[4] else 10 / 24 for r in rows], time_base=["Europe/Paris"] * len(rows)))


# W1: P = [120.5, 340.0, 55.2, 985.3], C = [12.0, 15.5, 9.8, 18.2] µg/m³, one zone holding all cells.
W1_CELLS = {"c1": 120.5, "c2": 340.0, "c3": 55.2, "c4": 985.3}
W1_VALUES = [12.0, 15.5, 9.8, 18.2]
W1_GROUPS = {"pop_0_5": [10.0, 20.0, 5.0, 40.0], "pop_65p": [15.0, 30.0, 8.0, 100.0],
             "pop_poor_households": [3.0, 7.0, 1.0, 9.0]}


def write_w1(extra_cells: dict[str, float] | None = None, extra_rows=()) -> None:
    cells = {**W1_CELLS, **(extra_cells or {})}
    groups = {k: v + [0.0] * (len(cells) - 4) for k, v in W1_GROUPS.items()}
    write_cells(cells, [("75101", c, 1.0) for c in cells], **groups)
    write_surface([(c, "PM2.5", "day_mean", v, True) for c, v in zip(W1_CELLS, W1_VALUES, strict=True)]
                  + list(extra_rows))


def build_and_publish(day: dt.date | None = DAY, **kwargs) -> Path:
    return warehouse.publish(warehouse.build(day, **kwargs))


def one(sql: str) -> dict:
    rows = warehouse.query(sql)
    assert len(rows) == 1, rows
    return rows.iloc[0].to_dict()


def test_w1_population_weighted_mean(home):
    write_w1()
    build_and_publish()
    zone = one("select * from marts.exposure_zone_daily where zone_id = '75101' and pollutant = 'PM2.5'")
    assert zone["population"] == pytest.approx(1501.0)
    assert zone["pop_weighted_sum"] == pytest.approx(25189.42)
    assert zone["pop_weighted_mean_ug_m3"] == pytest.approx(16.781758827448368, abs=1e-6)
    assert zone["pop_weighted_mean_ug_m3"] != pytest.approx(13.875)  # the arithmetic mean
    assert zone["share_population_valid"] == pytest.approx(1.0)
    assert (zone["min_cell_ug_m3"], zone["max_cell_ug_m3"]) == (9.8, 18.2)
    assert zone["zone_level"] == "arrondissement" and zone["statistic"] == "day_mean"
    assert zone["date"] == pd.Timestamp(DAY) or zone["date"] == DAY
    paris = one("select * from marts.exposure_zone_daily where zone_id = '75056'")
    assert paris["zone_level"] == "commune"
    assert paris["pop_weighted_mean_ug_m3"] == pytest.approx(16.781758827448368, abs=1e-6)


def test_w1_population_above_threshold(home):
    write_w1()
    build_and_publish()
    above = one("select * from marts.population_above_threshold_daily where zone_id = '75101' and set_id = 'TEST'")
    # cells above 15: c2 (15.5) and c4 (18.2)
    assert above["pop_total_above"] == pytest.approx(1325.3)
    assert above["share_total_above"] == pytest.approx(0.8829447035, abs=1e-9)
    assert above["pop_0_5_above"] == pytest.approx(20.0 + 40.0)
    assert above["pop_65p_above"] == pytest.approx(30.0 + 100.0)
    assert above["pop_poor_households_above"] == pytest.approx(7.0 + 9.0)
    assert (above["threshold_value"], above["level"], above["threshold_status"]) == (15.0, "test", "U")
    cells = warehouse.query("select cell_id, value_ug_m3, population, pop_0_5 from marts.exposure_cell_daily "
                            "order by cell_id")
    assert cells["value_ug_m3"].tolist() == W1_VALUES
    assert cells["population"].tolist() == list(W1_CELLS.values())
    assert cells["pop_0_5"].tolist() == W1_GROUPS["pop_0_5"]


def test_invalid_and_missing_cells_count_in_population_not_in_the_mean(home):
    # c5: 499 residents, value 100 in the file but invalid; c6: 100 residents, no surface row at all
    write_w1({"c5": 499.0, "c6": 100.0}, [("c5", "PM2.5", "day_mean", 100.0, False)])
    build_and_publish()
    zone = one("select * from marts.exposure_zone_daily where zone_id = '75101'")
    assert zone["population"] == pytest.approx(2100.0)
    assert zone["pop_weighted_mean_ug_m3"] == pytest.approx(16.781758827448368, abs=1e-6)
    assert zone["share_population_valid"] == pytest.approx(1501.0 / 2100.0)
    assert zone["max_cell_ug_m3"] == 18.2
    above = one("select * from marts.population_above_threshold_daily where zone_id = '75101' and set_id = 'TEST'")
    assert above["pop_total_above"] == pytest.approx(1325.3)
    assert above["share_total_above"] == pytest.approx(1325.3 / 2100.0)
    cells = warehouse.query("select cell_id, value_ug_m3, is_valid from marts.exposure_cell_daily "
                            "where cell_id in ('c5', 'c6') order by cell_id")
    # c6 has no surface row, so no cell row; c5's invalid value is never shown
    assert cells["cell_id"].tolist() == ["c5"]
    assert cells["value_ug_m3"].isna().all() and not cells["is_valid"].any()


def test_w9_cell_split_between_two_zones(home):
    # X (400, 16.0) is 30 % in A and 70 % in B; A also holds (600, 12.0), B holds (200, 20.0)
    write_cells({"x": 400.0, "a": 600.0, "b": 200.0},
                [("75101", "x", 0.3), ("75101", "a", 1.0), ("75102", "x", 0.7), ("75102", "b", 1.0)])
    write_surface([("x", "NO2", "day_mean", 16.0, True), ("a", "NO2", "day_mean", 12.0, True),
                   ("b", "NO2", "day_mean", 20.0, True)])
    build_and_publish()
    zones = warehouse.query("select * from marts.exposure_zone_daily order by zone_id").set_index("zone_id")
    assert zones.loc["75101", "population"] == pytest.approx(720.0)
    assert zones.loc["75101", "pop_weighted_mean_ug_m3"] == pytest.approx(12.666667, abs=1e-6)
    assert zones.loc["75102", "population"] == pytest.approx(480.0)
    assert zones.loc["75102", "pop_weighted_mean_ug_m3"] == pytest.approx(17.666667, abs=1e-6)
    # Paris re-aggregates the arrondissements exactly: (7200 + 1920 + 4000 + 4480) / 1200
    assert zones.loc["75056", "population"] == pytest.approx(1200.0)
    assert zones.loc["75056", "pop_weighted_sum"] == pytest.approx(17600.0)
    assert zones.loc["75056", "pop_weighted_mean_ug_m3"] == pytest.approx(17600.0 / 1200.0)
    assert zones.loc["75056", "pop_weighted_sum"] == pytest.approx(
        zones.loc["75101", "pop_weighted_sum"] + zones.loc["75102", "pop_weighted_sum"])


def test_threshold_rows_mapped_to_daily_statistics(home):
    write_cells({"c1": 100.0}, [("75101", "c1", 1.0)])
    write_surface([("c1", "NO2", "day_max_1h", 450.0, True), ("c1", "CO", "day_max_8h_mean", 20.0, True),
                   ("c1", "PM2.5", "day_mean", 15.0, True)])
    build_and_publish()
    rows = warehouse.query("select statistic, set_id, level, pop_total_above from "
                           "marts.population_above_threshold_daily where zone_id = '75101' order by set_id, level")
    # NO2 1h information (1 hour above) → day_max_1h; the 3-consecutive-hour alert, the mg/m³ CO row,
    # the annual mean and the noise rows are not daily statistics
    assert rows[["statistic", "set_id", "level"]].values.tolist() == [
        ["day_max_1h", "FR_R221-1", "information"], ["day_mean", "TEST", "test"]]
    # 15.0 is not strictly above 15
    assert rows.set_index("set_id").loc["TEST", "pop_total_above"] == 0.0
    assert rows.set_index("set_id").loc["FR_R221-1", "pop_total_above"] == 100.0


def test_round_before_compare_comes_from_the_parameter_register(home, tmp_path, monkeypatch):
    from spse.core import register

    params = register.parameters_frame()
    assert "round_before_compare" in set(params["name"])
    params.loc[params["name"] == "round_before_compare", "value"] = "true"
    path = tmp_path / "parameters.csv"
    params.to_csv(path, index=False)
    monkeypatch.setenv("SPSE_PARAMETERS_FILE", str(path))
    write_cells({"c1": 100.0, "c2": 50.0}, [("75101", "c1", 1.0), ("75101", "c2", 1.0)])
    write_surface([("c1", "PM2.5", "day_mean", 15.4, True), ("c2", "PM2.5", "day_mean", 15.5, True)])
    build_and_publish()
    # rounded: 15.4 → 15 (not above 15), 15.5 → 16 (above)
    assert one("select pop_total_above from marts.population_above_threshold_daily "
               "where zone_id = '75101' and set_id = 'TEST'")["pop_total_above"] == 50.0


def test_facility_exposure_lists_exceeded_thresholds(home):
    write_cells({"c1": 10.0, "c2": 10.0, "c3": 10.0}, [("75101", c, 1.0) for c in ("c1", "c2", "c3")])
    write_surface([("c1", "PM10", "day_mean", 52.0, True), ("c2", "PM10", "day_mean", 45.0, True),
                   ("c3", "PM10", "day_mean", None, False)])
    write_reference("facilities", facility_id=["f1", "f2", "f3"], category=["creche", "ehpad", "college"],
                    name=["Crèche A", "EHPAD B", "Collège C"], zone_id=["75101"] * 3)
    write_reference("facility_cells", facility_id=["f1", "f2", "f3"], cell_id=["c1", "c2", "c3"])
    build_and_publish()
    facilities = warehouse.query("select * from marts.facility_exposure_daily order by facility_id")
    assert facilities["thresholds_exceeded"].tolist()[:2] == ["FR_R221-1 information 50; WHO_2021 guideline 45", ""]
    assert facilities["n_thresholds_exceeded"].tolist()[:2] == [2, 0]
    assert pd.isna(facilities["thresholds_exceeded"].iloc[2]) and pd.isna(facilities["n_thresholds_exceeded"].iloc[2])
    assert facilities["category"].tolist() == ["creche", "ehpad", "college"]
    assert facilities["value_ug_m3"].tolist()[:2] == [52.0, 45.0]


def test_noise_band_bounds(home):
    # c1 (100 residents) all in 65-70; c2 (300) half in 65-70, a quarter in 70+; c3 (50) in no band
    write_cells({"c1": 100.0, "c2": 300.0, "c3": 50.0}, [("75101", c, 1.0) for c in ("c1", "c2", "c3")],
                pop_0_5=[10.0, 40.0, 0.0], pop_65p=[0.0, 0.0, 0.0])
    write_reference("noise_map_bands", band_id=["b65", "b70"], indicator=["Lden", "Lden"],
                    source_type=["road", "road"], db_low=[65.0, 70.0], db_high=[70.0, None], label=["65-70", ">70"])
    write_reference("noise_band_cells", band_id=["b65", "b65", "b70"], cell_id=["c1", "c2", "c2"],
                    area_fraction=[1.0, 0.5, 0.25])
    build_and_publish()
    bands = warehouse.query("select * from marts.noise_zone_bands where zone_id = '75101' order by db_low")
    assert bands["population"].tolist() == pytest.approx([100.0 + 150.0, 75.0])
    assert bands["pop_0_5"].tolist() == pytest.approx([10.0 + 20.0, 10.0])
    assert bands["share_population"].tolist() == pytest.approx([250.0 / 450.0, 75.0 / 450.0])
    bounds = warehouse.query("select * from marts.noise_zone_thresholds where zone_id = '75101' "
                             "order by threshold_value").set_index("set_id")
    # 68 dB: the 65-70 band reaches above 68 (upper bound) but is not entirely above it (lower bound)
    assert bounds.loc["FR_NOISE_2006", "pop_above_lower_bound"] == pytest.approx(75.0)
    assert bounds.loc["FR_NOISE_2006", "pop_above_upper_bound"] == pytest.approx(325.0)
    # 53 dB is below the lowest band: every band is above, and the unmapped residents may be
    assert bounds.loc["WHO_2018", "pop_above_lower_bound"] == pytest.approx(325.0)
    assert bounds.loc["WHO_2018", "pop_above_upper_bound"] == pytest.approx(450.0)
    paris = warehouse.query("select * from marts.noise_zone_thresholds where zone_id = '75056'")
    assert len(paris) == 2


def test_station_daily_gets_name_zone_and_unit(home):
    write_cells({"c1": 10.0}, [("75101", "c1", 0.4), ("75102", "c1", 0.6)])
    write_reference("air_stations", station_id=["S1"], station_name=["Paris Centre"], lon=[2.35], lat=[48.86])
    write_reference("station_cells", station_id=["S1"], cell_id=["c1"])
    lake.write_partition("station_daily", lake.date_partition(DAY), frame(
        "station_daily", station_id=["S1", "S1"], station_class=["background"] * 2, date=[DAY] * 2,
        pollutant=["NO2", "CO"], statistic=["day_mean", "day_max_8h_mean"], value=[41.0, 0.4],
        is_valid=[True, True], time_base=["Europe/Paris"] * 2))
    build_and_publish()
    rows = warehouse.query("select * from marts.station_daily order by pollutant")
    assert rows["station_name"].tolist() == ["Paris Centre"] * 2
    assert rows["zone_id"].tolist() == ["75102"] * 2
    assert rows["unit"].tolist() == ["mg/m³", "µg/m³"]


def test_reference_datasets_read_only_their_latest_vintage(home):
    write_w1()
    write_reference("grid_cells", vintage="2019", cell_id=list(W1_CELLS), population=[1.0] * 4)
    build_and_publish()
    assert one("select population from marts.exposure_zone_daily where zone_id = '75101'")["population"] == \
        pytest.approx(1501.0)


def test_every_mart_column_has_a_description_and_a_unit(home):
    build_and_publish()
    described = warehouse.describe_tables()
    marts = described[described["schema"] == "marts"]
    assert MARTS <= set(marts["table"])
    assert marts["description"].str.len().gt(0).all()
    assert marts["unit"].notna().all() and marts["unit"].str.len().gt(0).all()
    zone = marts[marts["table"] == "exposure_zone_daily"].set_index("column")
    assert zone.loc["pop_weighted_mean_ug_m3", "unit"] == "µg/m³"
    assert zone.loc["zone_id", "unit"] == "-"
    tables = warehouse.query("select table_name, comment from duckdb_tables() where schema_name = 'marts'")
    assert tables["comment"].str.startswith("One row per").all()
    # staging and intermediate models are documented too
    models = described[described["schema"].isin(["staging", "intermediate"])]
    assert len(models) and models["unit"].notna().all()


def test_empty_lake_builds_empty_marts(home):
    build_and_publish()
    counts = warehouse.query("select table_name, estimated_size from duckdb_tables() where schema_name = 'marts'")
    counts = dict(zip(counts["table_name"], counts["estimated_size"], strict=True))
    assert counts.pop("thresholds") == len(THRESHOLDS_CSV.strip().splitlines()) - 1
    assert counts.pop("parameters") > 0
    assert set(counts.values()) == {0}
    cols = warehouse.query("select * from marts.noise_station_daily").columns.tolist()
    assert cols[:2] == ["site_id", "site_name"]


def test_thresholds_table_keeps_status_and_reference(home):
    build_and_publish()
    row = one("select * from marts.thresholds where set_id = 'WHO_2018'")
    assert (row["status"], row["reference"], row["noise_source"]) == ("C", "WHO 2018", "road")
    assert pd.isna(one("select noise_source from marts.thresholds where set_id = 'TEST'")["noise_source"])


def test_reader_keeps_its_file_while_a_new_build_is_published(home):
    write_w1()
    build_and_publish()
    reader = warehouse.connect_readonly()
    try:
        sql = "select pop_weighted_mean_ug_m3 from marts.exposure_zone_daily where zone_id = '75101'"
        assert reader.execute(sql).fetchone()[0] == pytest.approx(16.781758827448368)
        write_surface([(c, "PM2.5", "day_mean", 10.0, True) for c in W1_CELLS])
        build_and_publish()
        assert reader.execute(sql).fetchone()[0] == pytest.approx(16.781758827448368)
        assert warehouse.query(sql).iloc[0, 0] == pytest.approx(10.0)
    finally:
        reader.close()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _sql_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "sql"
    shutil.copytree(warehouse.sql_dir(), copy)
    return copy


def test_failed_build_leaves_the_published_file_unchanged(home, tmp_path):
    write_w1()
    published = build_and_publish()
    before = _sha(published)
    sql = _sql_copy(tmp_path)
    (sql / "marts" / "zz_broken.sql").write_text("select no_such_column from intermediate.int_zone_cells_allocated\n")
    (sql / "marts" / "zz_broken.yml").write_text("description: One row per nothing.\ncolumns: {}\n")
    with pytest.raises(WarehouseError, match=r"marts\.zz_broken"):
        warehouse.build(DAY, sql_dir=sql)
    assert _sha(published) == before
    assert one("select count(*) as n from marts.exposure_cell_daily")["n"] == 4


def test_undocumented_or_absent_columns_fail_the_build(home, tmp_path):
    sql = _sql_copy(tmp_path)
    sidecar = sql / "marts" / "exposure_zone_daily.yml"
    text = sidecar.read_text(encoding="utf-8")
    sidecar.write_text("\n".join(line for line in text.splitlines() if not line.startswith("  n_cells_valid:")))
    with pytest.raises(WarehouseError, match=r"marts\.exposure_zone_daily.*undocumented \['n_cells_valid'\]"):
        warehouse.build(DAY, sql_dir=sql)
    sidecar.write_text(text + '  no_such_column: {description: "x", unit: "-"}\n')
    with pytest.raises(WarehouseError, match=r"documented but absent \['no_such_column'\]"):
        warehouse.build(DAY, sql_dir=sql)
    sidecar.write_text(text.replace('n_cells_valid: {description: "Grid cells intersecting the zone with a valid '
                                    'value", unit: count}', 'n_cells_valid: {description: "x"}'))
    with pytest.raises(WarehouseError, match=r"n_cells_valid.*unit"):
        warehouse.build(DAY, sql_dir=sql)


def test_models_read_only_the_layer_below(home, tmp_path):
    sql = _sql_copy(tmp_path)
    (sql / "marts" / "zz_shortcut.sql").write_text("select * from staging.stg_zones\n")
    (sql / "marts" / "zz_shortcut.yml").write_text("description: One row per zone.\ncolumns: {}\n")
    with pytest.raises(WarehouseError, match=r"zz_shortcut.*reads staging\.stg_zones"):
        warehouse.build(DAY, sql_dir=sql)


def test_lake_dataset_missing_a_contract_column_fails_with_its_name(home):
    lake.write_partition("zones", "vintage=current", pd.DataFrame({"zone_id": ["75101"], "zone_name": ["Paris 1er"]}))
    with pytest.raises(WarehouseError, match=r"lake dataset zones .*vintage=current.*zone_level"):
        warehouse.build(DAY)


def test_query_refuses_writes(home):
    build_and_publish()
    with pytest.raises(duckdb.Error, match="read-only"):
        warehouse.query("create table marts.scratch as select 1 as x")
    with pytest.raises(duckdb.Error, match="read-only"):
        warehouse.query("delete from marts.thresholds")


def test_publish_refuses_an_incomplete_build(home):
    path = home / "warehouse" / "build" / f"spse-20250101T000000000000Z-{os.getpid()}.duckdb"
    path.parent.mkdir(parents=True)
    duckdb.connect(str(path)).close()
    with pytest.raises(WarehouseError, match="incomplete"):
        warehouse.publish(path)
    assert not (home / "warehouse" / "spse.duckdb").exists()


def test_publish_keeps_at_most_two_old_builds(home):
    folder = home / "warehouse" / "build"
    folder.mkdir(parents=True)
    old = [folder / f"spse-2025010{i}T000000000000Z-{os.getpid()}.duckdb" for i in range(1, 5)]
    for path in old:
        path.write_bytes(b"failed build")
    published = build_and_publish()
    assert published == home / "warehouse" / "spse.duckdb"
    assert sorted(p.name for p in folder.glob("*.duckdb")) == [old[2].name, old[3].name]


def test_build_records_provenance(home):
    write_w1()
    build_and_publish()
    info = one("select * from meta.build_info")
    assert info["target_day"] == pd.Timestamp(DAY) or info["target_day"] == DAY
    assert info["thresholds_file"].endswith("thresholds.csv")
    parts = warehouse.query("select dataset, partition from meta.lake_partitions order by dataset")
    assert parts.values.tolist() == [["grid_cells", "vintage=current"], ["surface_daily", f"date={DAY}"],
                                     ["zone_cells", "vintage=current"], ["zones", "vintage=current"]]
