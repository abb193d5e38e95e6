"""Incremental warehouse builds: only the changed days are rebuilt, with the same marts as a full build.

Every test writes a tiny lake by hand (the helpers of tests/test_warehouse.py). The reference
for an incremental build is a full build of the same lake, compared row for row (EXCEPT ALL
both ways); the values of new or changed days are also computed by hand in the comments.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from test_warehouse import THRESHOLDS_CSV, W1_CELLS, W1_GROUPS, frame, write_cells, write_reference, write_surface

from spse.core.config import settings
from spse.pipeline import lake, warehouse
from spse.pipeline.warehouse import builder

DAY1 = dt.date(2025, 1, 15)
DAY2 = dt.date(2025, 1, 16)
DAY3 = dt.date(2025, 1, 17)
W1_VALUES = {"c1": 12.0, "c2": 15.5, "c3": 9.8, "c4": 18.2}
W1_POPULATION = sum(W1_CELLS.values())  # 1501.0


@pytest.fixture
def home(spse_home, tmp_path, monkeypatch):
    path = tmp_path / "thresholds.csv"
    path.write_text(THRESHOLDS_CSV, encoding="utf-8")
    monkeypatch.setenv("SPSE_THRESHOLDS_FILE", str(path))
    return spse_home


def write_day(day: dt.date, values: dict[str, float]) -> None:
    """PM2.5 day means of the W1 cells, a station row and a 2-day forecast run on ``day``."""
    write_surface([(c, "PM2.5", "day_mean", v, True) for c, v in values.items()], day=day)
    lake.write_partition("station_daily", lake.date_partition(day), frame(
        "station_daily", station_id=["S1"], station_class=["background"], date=[day], pollutant=["PM2.5"],
        statistic=["day_mean"], value=[values["c1"]], is_valid=[True], time_base=["Europe/Paris"]))
    cells = list(values)
    lake.write_partition("forecast_cell_daily", lake.date_partition(day), frame(
        "forecast_cell_daily", cell_id=cells * 2, date=[day] * 4 + [day + dt.timedelta(days=1)] * 4,
        pollutant=["PM10"] * 8, statistic=["day_mean"] * 8, value=[v + 40.0 for v in values.values()] * 2,
        is_valid=[True] * 8, time_base=["Europe/Paris"] * 8, lead_day=[0] * 4 + [1] * 4))


def write_lake(*days: dt.date) -> None:
    write_cells(W1_CELLS, [("75101", c, 1.0) for c in W1_CELLS], **W1_GROUPS)
    write_reference("air_stations", station_id=["S1"], station_name=["Paris Centre"], lon=[2.35], lat=[48.86])
    write_reference("station_cells", station_id=["S1"], cell_id=["c1"])
    for day in days:
        write_day(day, W1_VALUES)


def build_info(path: Path) -> dict:
    con = duckdb.connect(str(path), read_only=True)
    try:
        cursor = con.execute("select * from meta.build_info")
        return dict(zip([d[0] for d in cursor.description], cursor.fetchone(), strict=True))
    finally:
        con.close()


def assert_same_marts(built: Path, reference: Path) -> None:
    """Every mart of ``built`` holds exactly the rows of ``reference`` (a full build of the same lake)."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{built}' as a (read_only)")
        con.execute(f"attach '{reference}' as b (read_only)")
        tables = sorted(r[0] for r in con.execute(
            "select table_name from duckdb_tables() where database_name = 'b' and schema_name = 'marts'").fetchall())
        assert tables == sorted(r[0] for r in con.execute(
            "select table_name from duckdb_tables() where database_name = 'a' and schema_name = 'marts'").fetchall())
        for table in tables:
            for x, y in (("a", "b"), ("b", "a")):
                extra = con.execute(f"select count(*) from (select * from {x}.marts.{table} "
                                    f"except all select * from {y}.marts.{table})").fetchone()[0]
                assert extra == 0, f"marts.{table}: {extra} row(s) of {x} not in {y}"
    finally:
        con.close()


def zone_means(path: Path | None = None) -> dict[dt.date, float]:
    rows = warehouse.query("select date, pop_weighted_mean_ug_m3 from marts.exposure_zone_daily "
                           "where zone_id = '75101' and pollutant = 'PM2.5'", path)
    return {day(d): v for d, v in zip(rows["date"], rows.iloc[:, 1], strict=True)}


def day(value) -> dt.date:
    return value.date() if hasattr(value, "date") else value


def test_a_new_day_is_added_incrementally_and_equals_a_full_build(home):
    write_lake(DAY1)
    first = warehouse.build(DAY1)
    assert build_info(first)["build_mode"] == "full"
    warehouse.publish(first)
    # the next day: every cell at 10.0 µg/m³, so the population-weighted mean is 10.0
    write_day(DAY2, dict.fromkeys(W1_CELLS, 10.0))
    incremental = warehouse.build(DAY2)
    info = build_info(incremental)
    assert info["build_mode"] == "incremental"
    # surface and station day 2; the forecast run of day 2 covers days 2 and 3
    assert info["days_rebuilt"] == 2
    means = zone_means(incremental)
    assert means[DAY2] == pytest.approx(10.0)
    assert means[DAY1] == pytest.approx(16.781758827448368, abs=1e-6)  # W1 of methods.md
    full = warehouse.build(DAY2, full=True)
    assert build_info(full)["build_mode"] == "full"
    assert_same_marts(incremental, full)
    # the lake views left in the file cover every partition, not only the rebuilt days
    con = duckdb.connect(str(incremental), read_only=True)
    try:
        assert con.execute("select count(distinct partition_date) from lake.surface_daily").fetchone()[0] == 2
        assert con.execute("select count(*) from staging.stg_forecast_cell_daily").fetchone()[0] == 16
    finally:
        con.close()


def test_a_changed_old_partition_is_rebuilt_and_only_its_day(home):
    write_lake(DAY1, DAY2)
    first = warehouse.publish(warehouse.build(DAY2))
    first_name = build_info(first)["build_name"]
    write_surface([(c, "PM2.5", "day_mean", 20.0, True) for c in W1_CELLS], day=DAY1)
    incremental = warehouse.build(DAY2)
    info = build_info(incremental)
    assert (info["build_mode"], info["days_rebuilt"]) == ("incremental", 1)
    means = zone_means(incremental)
    assert means[DAY1] == pytest.approx(20.0)
    assert means[DAY2] == pytest.approx(16.781758827448368, abs=1e-6)
    assert_same_marts(incremental, warehouse.build(DAY2, full=True))
    built = warehouse.query("select date, build_name from meta.mart_partitions where mart = 'exposure_zone_daily' "
                            "order by date", incremental)
    assert built["build_name"].tolist() == [incremental.name, first_name]


def test_a_deleted_partition_removes_its_days(home):
    write_lake(DAY1, DAY2)
    warehouse.publish(warehouse.build(DAY2))
    for dataset in ("surface_daily", "station_daily", "forecast_cell_daily"):
        shutil.rmtree(settings().lake / dataset / lake.date_partition(DAY2))
    incremental = warehouse.build(DAY2)
    assert build_info(incremental)["build_mode"] == "incremental"
    assert set(zone_means(incremental)) == {DAY1}
    # the forecast run of day 1 still covers day 2
    forecast = warehouse.query("select distinct date from marts.forecast_zone_daily order by date", incremental)
    assert [day(d) for d in forecast["date"]] == [DAY1, DAY2]
    provenance = warehouse.query("select distinct date from meta.mart_partitions where mart = 'station_daily'",
                                 incremental)
    assert [day(d) for d in provenance["date"]] == [DAY1]
    assert_same_marts(incremental, warehouse.build(DAY2, full=True))


def test_the_lake_partitions_an_incremental_build_records_are_those_a_full_build_lists(home):
    write_lake(DAY1, DAY2)
    warehouse.publish(warehouse.build(DAY2))
    write_surface([(c, "PM2.5", "day_mean", 20.0, True) for c in W1_CELLS], day=DAY1)  # changed
    shutil.rmtree(settings().lake / "station_daily" / lake.date_partition(DAY2))  # deleted
    write_day(DAY3, W1_VALUES)  # added, with a provenance holding a credential
    added = settings().lake / "surface_daily" / lake.date_partition(DAY3) / "provenance.json"
    added.write_text('{"url": "https://user:secret@example.org/surface"}', encoding="utf-8")
    incremental = warehouse.build(DAY3)
    assert build_info(incremental)["build_mode"] == "incremental"
    full = warehouse.build(DAY3, full=True)
    con = duckdb.connect()
    try:
        con.execute(f"attach '{incremental}' as a (read_only)")
        con.execute(f"attach '{full}' as b (read_only)")
        for x, y in (("a", "b"), ("b", "a")):
            extra = con.execute(f"select dataset, partition from {x}.meta.lake_partitions "
                                f"except all select dataset, partition from {y}.meta.lake_partitions").fetchall()
            assert extra == [], f"meta.lake_partitions rows of {x} not in {y}"
            assert con.execute(f"select count(*) from (select * from {x}.meta.lake_partitions "
                               f"except all select * from {y}.meta.lake_partitions)").fetchone()[0] == 0
        # 3 surface days, station days 1 and 3, 3 forecast runs; grid and zone cells, zones, stations, station cells
        assert con.execute("select count(*) from a.meta.lake_partitions").fetchone()[0] == 3 + 2 + 3 + 5
        stored = con.execute("select provenance_json from a.meta.lake_partitions where dataset = 'surface_daily' "
                             f"and partition = '{lake.date_partition(DAY3)}'").fetchone()[0]
        assert "example.org/surface" in stored and "secret" not in stored
    finally:
        con.close()
    assert build_info(incremental)["lake_state_sha256"] == build_info(full)["lake_state_sha256"]


def test_a_changed_threshold_register_recomputes_the_history(home, tmp_path, monkeypatch):
    write_lake(DAY1, DAY2)
    warehouse.publish(warehouse.build(DAY2))
    # a corrected register (another file: spse.core.register caches a file's rows for the process)
    register_file = tmp_path / "thresholds-corrected.csv"
    register_file.write_text(THRESHOLDS_CSV.replace("TEST,PM2.5,,day_mean,15,", "TEST,PM2.5,,day_mean,10,"),
                             encoding="utf-8")
    monkeypatch.setenv("SPSE_THRESHOLDS_FILE", str(register_file))
    rebuilt = warehouse.build(DAY2)
    info = build_info(rebuilt)
    assert info["build_mode"] == "full"
    assert "thresholds" in info["full_rebuild_reason"]
    above = warehouse.query("select date, pop_total_above from marts.population_above_threshold_daily "
                            "where zone_id = '75101' and set_id = 'TEST' order by date", rebuilt)
    # above 10: c1 (12.0), c2 (15.5), c4 (18.2) = 120.5 + 340.0 + 985.3, on both days
    assert above["pop_total_above"].tolist() == pytest.approx([1445.8, 1445.8])
    sha = hashlib.sha256(register_file.read_bytes()).hexdigest()
    provenance = warehouse.query("select distinct thresholds_sha256 from meta.mart_partitions", rebuilt)
    assert provenance["thresholds_sha256"].tolist() == [sha]


def test_changed_models_or_reference_data_force_a_full_rebuild(home, tmp_path):
    write_lake(DAY1)
    warehouse.publish(warehouse.build(DAY1))
    sql = tmp_path / "sql"
    shutil.copytree(warehouse.sql_dir(), sql)
    sidecar = sql / "marts" / "station_daily.yml"
    sidecar.write_text(sidecar.read_text(encoding="utf-8").replace("materialized: incremental\n", ""),
                       encoding="utf-8")
    info = build_info(warehouse.build(DAY1, sql_dir=sql))
    assert (info["build_mode"], "SQL models" in info["full_rebuild_reason"]) == ("full", True)
    write_reference("grid_cells", vintage="zzz", cell_id=list(W1_CELLS), population=[1.0] * 4)
    info = build_info(warehouse.build(DAY1))
    assert (info["build_mode"], "grid_cells" in info["full_rebuild_reason"]) == ("full", True)
    info = build_info(warehouse.build(DAY1, full=True))
    assert info["full_rebuild_reason"] == "requested (full=True)"


def test_a_warehouse_of_another_storage_format_is_rebuilt_in_it(home, monkeypatch):
    def storage(path: Path) -> str:
        con = duckdb.connect()
        try:
            con.execute(f"attach '{path}' as w (read_only)")
            return con.execute("select tags['storage_version'] from duckdb_databases() where database_name = 'w'"
                               ).fetchone()[0]
        finally:
            con.close()

    write_lake(DAY1)
    current = builder.STORAGE_VERSION
    monkeypatch.setattr(builder, "STORAGE_VERSION", "v0.10.2")
    old = warehouse.publish(warehouse.build(DAY1))
    monkeypatch.setattr(builder, "STORAGE_VERSION", current)
    rebuilt = warehouse.build(DAY1)
    assert build_info(rebuilt)["build_mode"] == "full"
    assert storage(old) != storage(rebuilt) == "v1.2.0+"
    assert_same_marts(rebuilt, old)


def test_published_file_is_untouched_until_publish_and_readers_keep_reading(home):
    write_lake(DAY1)
    published = warehouse.publish(warehouse.build(DAY1))
    before = (hashlib.sha256(published.read_bytes()).hexdigest(), published.stat().st_mtime_ns)
    reader = warehouse.connect_readonly(lake=False)
    try:
        sql = "select count(distinct date) from marts.exposure_zone_daily"
        assert reader.execute(sql).fetchone()[0] == 1
        write_day(DAY2, dict.fromkeys(W1_CELLS, 10.0))
        incremental = warehouse.build(DAY2)
        assert build_info(incremental)["build_mode"] == "incremental"
        assert (hashlib.sha256(published.read_bytes()).hexdigest(), published.stat().st_mtime_ns) == before
        assert reader.execute(sql).fetchone()[0] == 1
        warehouse.publish(incremental)
        assert hashlib.sha256(published.read_bytes()).hexdigest() != before[0]
        assert reader.execute(sql).fetchone()[0] == 1
        assert warehouse.query(sql).iloc[0, 0] == 2
    finally:
        reader.close()


def test_an_unchanged_lake_rebuilds_no_day(home):
    write_lake(DAY1)
    first = warehouse.publish(warehouse.build(DAY1))
    again = warehouse.build(DAY1)
    assert (build_info(again)["build_mode"], build_info(again)["days_rebuilt"]) == ("incremental", 0)
    assert_same_marts(again, first)
    forced = warehouse.build(DAY1, days=[DAY1])
    assert build_info(forced)["days_rebuilt"] == 1
    assert_same_marts(forced, first)


def test_mart_partitions_are_documented_for_spse_tables(home):
    write_lake(DAY1)
    warehouse.publish(warehouse.build(DAY1))
    described = warehouse.describe_tables()
    meta = described[(described["schema"] == "meta") & (described["table"] == "mart_partitions")].set_index("column")
    assert list(meta.index) == ["mart", "date", "built_at_utc", "build_name", "thresholds_sha256",
                                "parameters_sha256", "sql_sha256"]
    assert meta["description"].str.len().gt(0).all() and (meta["unit"] == "-").all()
    assert "thresholds register" in meta.loc["thresholds_sha256", "description"]


def test_materialization_keys_are_checked(home, tmp_path):
    sql = tmp_path / "sql"
    shutil.copytree(warehouse.sql_dir(), sql)
    staging = sql / "staging" / "stg_surface_daily.yml"
    original = staging.read_text(encoding="utf-8")
    staging.write_text(original.replace("\ncolumns:", "\nmaterialized: incremental\npartition_by: date\ncolumns:"),
                       encoding="utf-8")
    with pytest.raises(warehouse.WarehouseError, match=r"materialized 'incremental' is not one of \('view', 'table'\)"):
        warehouse.build(DAY1, sql_dir=sql)
    staging.write_text(original, encoding="utf-8")
    mart = sql / "marts" / "station_daily.yml"
    mart.write_text(mart.read_text(encoding="utf-8").replace("partition_by: date", "partition_by: day"),
                    encoding="utf-8")
    with pytest.raises(warehouse.WarehouseError, match="partition_by must name one of its documented columns"):
        warehouse.build(DAY1, sql_dir=sql)


def test_a_full_build_stores_an_incremental_mart_in_partition_order(home, tmp_path):
    write_lake(DAY1, DAY2, DAY3)
    sql = tmp_path / "sql"
    shutil.copytree(warehouse.sql_dir(), sql)
    model = sql / "marts" / "station_daily.sql"
    model.write_text(model.read_text(encoding="utf-8").rstrip() + "\norder by date desc\n", encoding="utf-8")
    stored = "select date from marts.station_daily order by rowid"
    path = warehouse.build(DAY3, sql_dir=sql, full=True)
    assert [day(d) for d in warehouse.query(stored, path)["date"]] == [DAY1, DAY2, DAY3]
    sidecar = sql / "marts" / "station_daily.yml"
    sidecar.write_text(sidecar.read_text(encoding="utf-8").replace("materialized: incremental\n", ""),
                       encoding="utf-8")
    path = warehouse.build(DAY3, sql_dir=sql, full=True)
    assert [day(d) for d in warehouse.query(stored, path)["date"]] == [DAY3, DAY2, DAY1]


def test_an_intermediate_table_is_built_once_and_follows_its_lake_inputs(home, tmp_path):
    sql = tmp_path / "sql"
    shutil.copytree(warehouse.sql_dir(), sql)
    (sql / "intermediate" / "int_surface_days_counted.sql").write_text(
        "with surface as (\n    select * from staging.stg_surface_daily\n),\n\n"
        "final as (\n    select date, count(*) as n_rows from surface group by date\n)\n\nselect * from final\n",
        encoding="utf-8")
    (sql / "intermediate" / "int_surface_days_counted.yml").write_text(
        "description: One row per day of surface_daily, its number of rows.\nmaterialized: table\ncolumns:\n"
        "  date: {description: Local day, unit: '-'}\n  n_rows: {description: Rows of the day, unit: '-'}\n",
        encoding="utf-8")
    write_lake(DAY1)
    warehouse.publish(warehouse.build(DAY1, sql_dir=sql))
    write_day(DAY2, W1_VALUES)
    incremental = warehouse.build(DAY2, sql_dir=sql)
    assert build_info(incremental)["build_mode"] == "incremental"
    con = duckdb.connect(str(incremental), read_only=True)
    try:
        kinds = dict(con.execute("select table_name, 'table' from duckdb_tables() where schema_name = 'intermediate' "
                                 "union all select view_name, 'view' from duckdb_views() "
                                 "where schema_name = 'intermediate'").fetchall())
        assert kinds["int_surface_days_counted"] == "table" and kinds["int_zone_cells_allocated"] == "table"
        assert kinds["int_cell_exposures_joined"] == "view"
        # the 4 W1 cells' PM2.5 day mean, each day: recomputed with the new day, from every partition
        rows = con.execute("select date, n_rows from intermediate.int_surface_days_counted order by date").fetchall()
        assert [(day(d), n) for d, n in rows] == [(DAY1, 4), (DAY2, 4)]
        assert con.execute("select comment from duckdb_tables() where table_name = 'int_surface_days_counted'"
                           ).fetchone()[0] == "One row per day of surface_daily, its number of rows."
    finally:
        con.close()
    assert_same_marts(incremental, warehouse.build(DAY2, sql_dir=sql, full=True))
    mart = sql / "marts" / "station_daily.yml"
    mart.write_text(mart.read_text(encoding="utf-8").replace("materialized: incremental", "materialized: view"),
                    encoding="utf-8")
    with pytest.raises(warehouse.WarehouseError, match=r"materialized 'view' is not one of \('table', 'incremental'\)"):
        warehouse.build(DAY2, sql_dir=sql)


def test_an_interrupted_incremental_build_leaves_a_file_publish_refuses(home, monkeypatch):
    write_lake(DAY1)
    published = warehouse.publish(warehouse.build(DAY1))
    before = hashlib.sha256(published.read_bytes()).hexdigest()
    write_day(DAY2, dict.fromkeys(W1_CELLS, 10.0))

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(builder, "run_model", interrupted)
        with pytest.raises(KeyboardInterrupt):
            warehouse.build(DAY2)
    left = sorted(warehouse.builder.build_dir().glob("spse-*.duckdb"))
    assert len(left) == 1
    with pytest.raises(warehouse.WarehouseError, match="incomplete"):
        warehouse.publish(left[0])
    assert hashlib.sha256(published.read_bytes()).hexdigest() == before


def test_a_changed_partition_of_any_producer_is_seen(home):
    from spse.pipeline.warehouse import incremental

    rows = frame("noise_hourly", site_id=["N1"], ts_start_utc=[dt.datetime(2025, 1, 15, tzinfo=dt.UTC)],
                 laeq_dba=[60.0], is_valid=[True])
    lake.write_partition("noise_hourly", lake.date_partition(DAY1), rows, source="net_a")
    lake.write_partition("noise_hourly", lake.date_partition(DAY1), rows, source="net_b")
    before = builder.lake_state()
    assert sorted(before["partition"]) == ["source=net_a/date=2025-01-15", "source=net_b/date=2025-01-15"]
    lake.write_partition("noise_hourly", lake.date_partition(DAY1), rows.assign(laeq_dba=61.0), source="net_b")
    after = builder.lake_state()
    assert incremental.changed_partitions(incremental.partition_files(before), incremental.partition_files(after),
                                          {"noise_hourly"}) == {
        "noise_hourly": {"source=net_b/date=2025-01-15"}}
    # the days each partition holds are keyed like the lake state
    con = duckdb.connect()
    dates = builder.partition_dates(con, {"noise_hourly": after["path"].tolist()}, {"noise_hourly": False})
    assert sorted(dates["partition"]) == sorted(after["partition"])
    assert {day(d) for d in dates["date"]} == {DAY1}


def test_a_second_producer_of_the_station_list_rebuilds_in_full_and_counts(home):
    write_lake(DAY1)
    warehouse.publish(warehouse.build(DAY1))
    lake.write_partition("air_stations", "vintage=current", frame(
        "air_stations", station_id=["S1", "RN1"], station_name=["Other name", "Réseau 1"], lon=[2.0, 2.40],
        lat=[48.0, 48.89], source=["net_a", "net_a"]), source="net_a")
    rebuilt = warehouse.build(DAY1)
    info = build_info(rebuilt)
    assert info["build_mode"] == "full" and "air_stations" in info["full_rebuild_reason"]
    stations = warehouse.query("select station_id, station_name, source from staging.stg_air_stations "
                               "order by station_id", rebuilt)
    # S1 from both lists: the test lake's file has no known producer (written without provenance), which
    # ranks after every named one
    assert stations.values.tolist() == [["RN1", "Réseau 1", "net_a"], ["S1", "Other name", "net_a"]]


def test_the_previous_warehouse_is_updated_in_place_and_equals_a_full_build(home):
    write_lake(DAY1)
    first = warehouse.publish(warehouse.build(DAY1))
    first_inode = first.stat().st_ino
    write_day(DAY2, dict.fromkeys(W1_CELLS, 10.0))
    warehouse.publish(warehouse.build(DAY2))
    standby = warehouse.publisher.standby_path()
    assert standby.stat().st_ino == first_inode  # the day-1 warehouse, kept by the publish
    write_day(DAY3, dict.fromkeys(W1_CELLS, 11.0))
    third = warehouse.build(DAY3)
    assert third.stat().st_ino == first_inode and not standby.exists()
    info = build_info(third)
    # the standby holds day 1 only: days 2 and 3, and the day-3 forecast's day 4, are rebuilt
    assert (info["build_mode"], info["days_rebuilt"]) == ("incremental", 3)
    assert zone_means(third)[DAY3] == pytest.approx(11.0)
    assert_same_marts(third, warehouse.build(DAY3, full=True))


def test_no_standby_is_kept_after_a_build_that_rebuilt_many_days(home, monkeypatch):
    write_lake(DAY1)
    warehouse.publish(warehouse.build(DAY1))
    write_day(DAY2, dict.fromkeys(W1_CELLS, 10.0))
    second = warehouse.build(DAY2)
    assert build_info(second)["days_rebuilt"] == 2  # day 2 and its forecast's day 3
    monkeypatch.setattr(warehouse.publisher, "STANDBY_MAX_DAYS", 1)
    warehouse.publish(second)
    assert not warehouse.publisher.standby_path().exists()
    write_day(DAY3, dict.fromkeys(W1_CELLS, 11.0))
    third = warehouse.build(DAY3)
    assert build_info(third)["days_rebuilt"] == 2  # from the copy of day 2's warehouse


def test_a_previous_warehouse_still_read_is_not_written(home):
    write_lake(DAY1)
    warehouse.publish(warehouse.build(DAY1))
    reader = warehouse.connect_readonly(lake=False)  # opened on the day-1 warehouse
    try:
        write_day(DAY2, dict.fromkeys(W1_CELLS, 10.0))
        warehouse.publish(warehouse.build(DAY2))
        write_day(DAY3, dict.fromkeys(W1_CELLS, 11.0))
        third = warehouse.build(DAY3)
        info = build_info(third)
        assert (info["build_mode"], info["days_rebuilt"]) == ("incremental", 2)  # from the copy of day 2's
        assert reader.execute("select count(distinct date) from marts.exposure_zone_daily").fetchone()[0] == 1
        assert_same_marts(third, warehouse.build(DAY3, full=True))
    finally:
        reader.close()


def test_a_previous_warehouse_read_by_another_process_is_not_written(home):
    write_lake(DAY1)
    first = warehouse.publish(warehouse.build(DAY1))
    reader = subprocess.Popen([sys.executable, "-c", (
        "import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
        "print(con.execute('select count(*) from marts.exposure_zone_daily').fetchone()[0], flush=True); "
        "sys.stdin.read(); print(con.execute('select count(*) from marts.exposure_zone_daily').fetchone()[0])"),
        str(first)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        before = reader.stdout.readline().strip()
        write_day(DAY2, dict.fromkeys(W1_CELLS, 10.0))
        warehouse.publish(warehouse.build(DAY2))
        write_day(DAY3, dict.fromkeys(W1_CELLS, 11.0))
        third = warehouse.build(DAY3)
        assert build_info(third)["days_rebuilt"] == 2  # from the copy of day 2's warehouse
        after, _ = reader.communicate("", timeout=60)
        assert after.strip() == before
    finally:
        reader.kill()


def test_a_file_with_another_schema_makes_the_view_read_by_name(home):
    write_lake(DAY1, DAY2)
    first = warehouse.publish(warehouse.build(DAY2))

    def view(path: Path) -> tuple[str, list]:
        con = duckdb.connect(str(path), read_only=True)
        try:
            comment = con.execute("select comment from duckdb_views() where view_name = 'station_daily'").fetchone()[0]
            columns = [r[0] for r in con.execute("describe lake.station_daily").fetchall()]
            return comment, columns
        finally:
            con.close()

    assert view(first)[0].endswith("files of one schema, read by position")
    write_day(DAY3, dict.fromkeys(W1_CELLS, 11.0))
    lake.write_partition("station_daily", lake.date_partition(DAY3), frame(
        "station_daily", station_id=["S1"], station_class=["background"], date=[DAY3], pollutant=["PM2.5"],
        statistic=["day_mean"], value=[11.0], is_valid=[True], time_base=["Europe/Paris"]).assign(note="new column"))
    third = warehouse.build(DAY3)
    comment, columns = view(third)
    assert comment == "Lake dataset station_daily: 3 partition(s) read, last date=2025-01-17" and "note" in columns
    notes = warehouse.query("select date, note from lake.station_daily order by date", third)
    assert notes["note"].isna().tolist() == [True, True, False]
    assert_same_marts(third, warehouse.build(DAY3, full=True))
    # the next day's file has the first schema again: the view, of several schemas, stays read by name
    warehouse.publish(third)
    day4 = DAY3 + dt.timedelta(days=1)
    write_day(day4, dict.fromkeys(W1_CELLS, 12.0))
    fourth = warehouse.build(day4)
    comment, columns = view(fourth)
    assert comment == "Lake dataset station_daily: 4 partition(s) read, last date=2025-01-18" and "note" in columns
    assert_same_marts(fourth, warehouse.build(day4, full=True))


def test_mart_columns_are_checked_only_when_a_lake_view_they_read_changed_columns(home, monkeypatch):
    from spse.pipeline.warehouse import incremental, models

    checked = []
    original = incremental._check_columns
    monkeypatch.setattr(incremental, "_check_columns", lambda con, model: (checked.append(model.qualified),
                                                                            original(con, model)))
    write_lake(DAY1, DAY2)
    warehouse.publish(warehouse.build(DAY2))
    write_day(DAY3, dict.fromkeys(W1_CELLS, 11.0))
    warehouse.publish(warehouse.build(DAY3))
    assert checked == []  # new files of the same schemas: the same views, the same mart columns
    day4 = DAY3 + dt.timedelta(days=1)
    write_day(day4, dict.fromkeys(W1_CELLS, 12.0))
    lake.write_partition("station_daily", lake.date_partition(day4), frame(
        "station_daily", station_id=["S1"], station_class=["background"], date=[day4], pollutant=["PM2.5"],
        statistic=["day_mean"], value=[12.0], is_valid=[True], time_base=["Europe/Paris"]).assign(note="new column"))
    fourth = warehouse.build(day4)
    found = models.discover(models.sql_dir())
    deps = models.lake_dependencies(found)
    readers = {m.qualified for m in found if m.layer == "marts" and "station_daily" in deps[m.qualified]
               and builder.load_sidecars(found)[m.qualified].incremental}
    assert readers and set(checked) == readers
    assert_same_marts(fourth, warehouse.build(day4, full=True))


def test_uniform_files_compare_names_order_and_types(tmp_path):
    con = duckdb.connect()
    files = {}
    for name, select in {"a": "1.5::double as v, 'x' as s", "b": "2.5::double as v, 'y' as s",
                         "ints": "2::bigint as v, 'y' as s", "order": "'y' as s, 2.5::double as v"}.items():
        files[name] = str(tmp_path / f"{name}.parquet")
        con.execute(f"copy (select {select}) to '{files[name]}'")
    assert builder.uniform_files(con, [files["a"], files["b"]])
    assert not builder.uniform_files(con, [files["a"], files["ints"]])
    assert not builder.uniform_files(con, [files["a"], files["order"]])
    # a file known to be of the view's one schema stands for the others: only the new one is read
    assert not builder.uniform_files(con, [files["a"], files["b"], files["ints"]], checked={files["a"], files["b"]})
    assert builder.uniform_files(con, [files["a"], files["b"]], checked={files["a"]})


def _air_hours(day: dt.date, source: str, hours: dict[dt.datetime, float]) -> None:
    """NO2 hourly values of station S1 in ``source``'s partition of ``day``."""
    starts = list(hours)
    lake.write_partition("air_hourly", lake.date_partition(day), frame(
        "air_hourly", station_id=["S1"] * len(starts), pollutant=["NO2"] * len(starts), ts_start_utc=starts,
        ts_end_utc=[s + dt.timedelta(hours=1) for s in starts], value=list(hours.values()),
        unit=["µg/m³"] * len(starts),
        is_valid=[True] * len(starts), source=[source] * len(starts)), source=source)


def test_an_overlap_across_a_day_boundary_is_rebuilt_with_its_neighbour_days(home):
    # E2 files hold the hours of their UTC day, another producer's the hours of its local day: the
    # hour 23:00 UTC of day 1 is in E2's day-1 partition and in eea_aq's day-2 one (00:00 in Paris)
    late = dt.datetime.combine(DAY1, dt.time(23), tzinfo=dt.UTC)
    write_lake(DAY1)
    _air_hours(DAY1, "lcsqa_e2", {late - dt.timedelta(hours=11): 20.0, late: 10.0})
    warehouse.publish(warehouse.build(DAY1))
    _air_hours(DAY2, "eea_aq", {late: 12.0, late + dt.timedelta(hours=13): 5.0})
    second = warehouse.build(DAY2)
    overlaps = warehouse.query("select date, source, value, kept_source, kept_value, difference "
                               "from marts.air_hourly_overlaps", second)
    # eea_aq's row is set aside (E2 first in the registry's priority), dated by its own partition
    assert overlaps.assign(date=overlaps["date"].map(day)).to_dict("records") == [
        {"date": DAY2, "source": "eea_aq", "value": 12.0, "kept_source": "lcsqa_e2", "kept_value": 10.0,
         "difference": 2.0}]
    assert_same_marts(second, warehouse.build(DAY2, full=True))
    # E2 corrects its day-1 value: the day-2 overlap row follows
    warehouse.publish(second)
    _air_hours(DAY1, "lcsqa_e2", {late - dt.timedelta(hours=11): 20.0, late: 11.0})
    third = warehouse.build(DAY2)
    assert warehouse.query("select difference from marts.air_hourly_overlaps", third)["difference"].tolist() == [1.0]
    assert_same_marts(third, warehouse.build(DAY2, full=True))


def test_a_renamed_noise_site_keeps_its_former_name_on_earlier_days(home):
    def noise_day(day: dt.date, name: str, lon: float) -> None:
        start = dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC)
        lake.write_partition("noise_hourly", lake.date_partition(day), frame(
            "noise_hourly", site_id=["N1", "N1"], site_name=[f"{name} (matin)", name], lon=[lon, lon],
            lat=[48.85, 48.85], ts_start_utc=[start, start + dt.timedelta(hours=1)], laeq_dba=[60.0, 62.0],
            is_valid=[True, True], source=["bruitparif_rumeur"] * 2), source="bruitparif_rumeur")
        lake.write_partition("noise_station_daily", lake.date_partition(day), frame(
            "noise_station_daily", site_id=["N1"], date=[day], ld_dba=[61.0], n_valid_hours=[2], is_valid=[False]))

    write_lake(DAY1)
    noise_day(DAY1, "Rue de Rivoli", 2.35)
    warehouse.publish(warehouse.build(DAY1))
    write_day(DAY2, W1_VALUES)
    noise_day(DAY2, "Rivoli - Louvre", 2.34)  # renamed and moved on day 2; its last hour's name wins
    second = warehouse.build(DAY2)
    rows = warehouse.query("select date, site_name, lon from marts.noise_station_daily order by date", second)
    assert list(zip(rows["date"].map(day), rows["site_name"], rows["lon"], strict=True)) == [
        (DAY1, "Rue de Rivoli", 2.35), (DAY2, "Rivoli - Louvre", 2.34)]
    assert_same_marts(second, warehouse.build(DAY2, full=True))
