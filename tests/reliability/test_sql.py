"""Experts' SQL cannot write or escape (``spse sql``), and ``spse export`` writes only where told.

Every refusal is checked three ways: exit code 1, one line on stderr "spse sql: refused: ..."
naming why, and the published warehouse and every lake file unchanged byte for byte
(SHA-256 before and after). Expected GeoJSON corners are recomputed here from the cell id
with pyproj, and exported rows are compared with the warehouse read by plain duckdb.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import time
import warnings
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
from pyproj import Transformer

D2 = dt.date(2026, 1, 15)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A published warehouse built from the demo bundle for D2 (one run, shared by the module)."""
    root = tmp_path_factory.mktemp("spse_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPSE_HOME", str(root))
        for key in list(os.environ):
            if key.startswith("SPSE_") and (key.endswith("_URL") or key.startswith("SPSE_SQL_")):
                mp.delenv(key)
        from spse.pipeline import daily as pipeline
        from spse.pipeline import demo

        demo.ensure()
        pipeline.run_day(D2)
        yield root


@pytest.fixture
def guarded(home):
    """Snapshot of the warehouse and lake; asserts after the test that nothing changed."""
    before = _fingerprint(home)
    yield home
    assert _fingerprint(home) == before


def _fingerprint(home: Path) -> dict[str, str]:
    files = [home / "warehouse" / "spse.duckdb", *sorted((home / "lake").rglob("*"))]
    return {str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files if p.is_file()}


def _published(home: Path, sql: str) -> pd.DataFrame:
    """The warehouse read by plain duckdb, independently of spse's reader."""
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"attach '{home / 'warehouse' / 'spse.duckdb'}' as w (read_only)")
        con.execute("use w")
        with warnings.catch_warnings():  # duckdb 1.5.5 + pandas 3.1: TIMESTAMPTZ conversion uses drop(inplace=True)
            warnings.filterwarnings("ignore", message="The inplace keyword in DataFrame.drop")
            return con.execute(sql).df()
    finally:
        con.close()


def _lake_partition(home: Path) -> Path:
    return home / "lake" / "alerts" / f"date={D2}" / "data.parquet"


# id, SQL (formatted with home, warehouse, partition), extra CLI args, expected words in the refusal
SQL_CASES = [
    ("copy_over_the_warehouse", "copy marts.alerts to '{warehouse}' (format parquet)", [],
     "COPY is not a read statement"),
    ("copy_over_a_lake_partition", "copy (select * from marts.alerts limit 0) to '{partition}' (format parquet)", [],
     "COPY is not a read statement"),
    ("explain_analyze_copy", "explain analyze copy marts.alerts to '{partition}' (format parquet)", [],
     "COPY is not a read statement"),
    ("read_text_etc_shadow", "select * from read_text('/etc/shadow')", [],
     'no file or network access from spse sql (Permission Error: Cannot access file "/etc/shadow"'),
    ("glob_root", "select * from glob('/root/*')", [], 'no file or network access from spse sql'),
    ("read_csv_etc_passwd", "select * from read_csv('/etc/passwd', sep = ':')", [],
     'Cannot access file "/etc/passwd"'),
    ("read_parquet_lake_file", "select * from read_parquet('{partition}')", [],
     "the lake, staging and intermediate views read the lake's files"),
    ("lake_view", "select * from lake.zones", [], "query the marts and meta tables"),
    ("two_statements", "select 1; select 2", [], "exactly one statement is allowed, got 2"),
    ("select_then_copy", "select 1; copy marts.alerts to '{warehouse}'", [], "exactly one statement is allowed"),
    ("create_table", "create table marts.scratch as select 1 as x", [], "CREATE is not a read statement"),
    ("create_temp_table", "create temp table scratch as select * from marts.alerts", [],
     "CREATE is not a read statement"),
    ("insert", "insert into marts.alerts select * from marts.alerts", [], "INSERT is not a read statement"),
    ("delete", "delete from marts.alerts", [], "DELETE is not a read statement (DELETE): spse sql is read-only"),
    ("drop_table", "drop table marts.alerts", [], "DROP is not a read statement"),
    ("attach_another_file", "attach '{home}/other.duckdb' as other", [], "ATTACH is not a read statement"),
    ("install_extension", "install spatial", [], "INSTALL is not a read statement"),
    ("load_extension", "load spatial", [], "LOAD is not a read statement"),
    ("set_enable_external_access", "set enable_external_access = true", [], "SET is not a read statement"),
    ("set_memory_limit", "set memory_limit = '100GB'", [], "SET is not a read statement"),
    ("pragma_assignment_writes_a_file", "pragma profiling_output = '{home}/lake/profile.json'", [],
     "PRAGMA is not a read statement (SET)"),
    ("pragma_force_checkpoint", "pragma force_checkpoint", [], "PRAGMA is not a read statement (PRAGMA)"),
    ("call_checkpoint", "call checkpoint()", [], "CALL is not a read statement"),
    ("export_database", "export database '{home}/dump'", [], "EXPORT is not a read statement"),
    ("unparsable", "selec 1", [], "the query does not parse"),
    ("memory_limit_exceeded", "select list(range) from range(300000000)", ["--memory-limit", "64MB"],
     "the query needs more than the memory limit of 64MB (--memory-limit)"),
    ("invalid_memory_limit", "select 1", ["--memory-limit", "lots"], "invalid memory limit 'lots'"),
]


@pytest.mark.parametrize(("sql", "extra", "expected"), [c[1:] for c in SQL_CASES], ids=[c[0] for c in SQL_CASES])
def test_spse_sql_refuses(guarded, capsys, sql, extra, expected):
    from spse.pipeline.cli import main

    home = guarded
    text = sql.format(home=home, warehouse=home / "warehouse" / "spse.duckdb", partition=_lake_partition(home))
    assert main(["sql", text, *extra]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("spse sql: refused: ")
    assert expected in captured.err
    assert captured.err.count("\n") == 1
    assert not (home / "other.duckdb").exists() and not (home / "dump").exists()
    assert not (home / "lake" / "profile.json").exists()


def test_spse_sql_stops_a_query_at_its_time_limit(guarded, capsys):
    from spse.pipeline.cli import main

    started = time.monotonic()
    code = main(["sql", "select count(*) from range(1000000) a, range(1000000) b where (a.range * b.range) % 7 = 3",
                 "--timeout", "1"])
    elapsed = time.monotonic() - started
    assert code == 1
    assert capsys.readouterr().err == "spse sql: refused: stopped at the time limit of 1 s (--timeout)\n"
    assert elapsed < 15  # the 10^12-row join takes hours; connecting and interrupting take well under 15 s


def test_time_limit_default_comes_from_the_configuration(guarded, capsys, monkeypatch):
    from spse.pipeline.cli import main

    monkeypatch.setenv("SPSE_SQL_TIMEOUT_S", "0.5")
    assert main(["sql", "select count(*) from range(1000000) a, range(1000000) b"]) == 1
    assert "time limit of 0.5 s" in capsys.readouterr().err


# The connection alone, with the statement check bypassed: DuckDB's own settings hold.
CONNECTION_CASES = [
    ("copy_over_the_warehouse", "copy marts.alerts to '{warehouse}' (format parquet)", duckdb.PermissionException,
     "file system operations are disabled by configuration"),
    ("copy_over_a_lake_partition", "copy (select 1 as x) to '{partition}' (format parquet)",
     duckdb.PermissionException, "file system operations are disabled by configuration"),
    ("read_text", "select * from read_text('/etc/shadow')", duckdb.PermissionException,
     'Cannot access file "/etc/shadow"'),
    ("glob", "select * from glob('/root/*')", duckdb.PermissionException, 'Cannot access file "/root/\\*"'),
    ("attach", "attach '{home}/other.duckdb' as other", duckdb.PermissionException,
     "file system operations are disabled by configuration"),
    ("install", "install spatial", duckdb.PermissionException, "file system operations are disabled by configuration"),
    ("load", "load spatial", duckdb.PermissionException,
     "Loading external extensions is disabled through configuration"),
    ("export_database", "export database '{home}/dump'", duckdb.PermissionException,
     "file system operations are disabled by configuration"),
    ("insert", "insert into marts.alerts select * from marts.alerts", duckdb.InvalidInputException,
     'Cannot execute statement of type "INSERT" on database "spse" which is attached in read-only mode'),
    ("set_enable_external_access", "set enable_external_access = true", duckdb.InvalidInputException,
     "the configuration has been locked"),
    ("unlock_configuration", "set lock_configuration = false", duckdb.InvalidInputException,
     "the configuration has been locked"),
    ("reset_memory_limit", "reset memory_limit", duckdb.InvalidInputException, "the configuration has been locked"),
    ("set_threads", "set threads = 64", duckdb.InvalidInputException, "the configuration has been locked"),
]


@pytest.mark.parametrize(("sql", "error", "message"), [c[1:] for c in CONNECTION_CASES],
                         ids=[c[0] for c in CONNECTION_CASES])
def test_expert_connection_itself_refuses(guarded, sql, error, message):
    from spse.pipeline.warehouse import connect_readonly

    home = guarded
    con = connect_readonly(lake=False)
    try:
        with pytest.raises(error, match=message):
            con.execute(sql.format(home=home, warehouse=home / "warehouse" / "spse.duckdb",
                                   partition=_lake_partition(home)))
        settings = dict(con.execute("select name, value from duckdb_settings() where name in "
                                    "('enable_external_access', 'lock_configuration', 'memory_limit', "
                                    "'threads')").fetchall())
    finally:
        con.close()
    assert settings["enable_external_access"] == "false"
    assert settings["lock_configuration"] == "true"
    assert settings["threads"] == "2"
    assert settings["memory_limit"] == "953.6 MiB"  # 1GB = 10^9 bytes, shown in MiB
    assert not (home / "other.duckdb").exists() and not (home / "dump").exists()


@pytest.mark.parametrize("sql", ["describe marts.alerts", "show tables", "summarize marts.thresholds",
                                 "pragma table_info('marts.alerts')", "explain select * from marts.alerts",
                                 "from marts.alerts select count(*)"])
def test_spse_sql_allows_statements_that_only_read(guarded, capsys, sql):
    from spse.pipeline.cli import main

    assert main(["sql", sql, "--format", "csv"]) == 0
    assert capsys.readouterr().out.strip()


def test_internal_readers_work_under_the_guard(guarded, capsys):
    from spse.pipeline.cli import main

    assert main(["summary", "--date", D2.isoformat()]) == 0
    out = capsys.readouterr().out
    assert "Alertes du jour" in out
    assert main(["tables", "--schema", "lake", "--table", "zones"]) == 0
    assert "geometry_wkt" in capsys.readouterr().out
    from spse.pipeline import bulletin

    assert "<svg" in bulletin.render(D2).read_text()  # reads lake.zones for the map


# ---- spse export -----------------------------------------------------------------------------

ZONE_SQL = ("select zone_id, zone_name, date, pollutant, statistic, pop_weighted_mean_ug_m3, population "
            "from marts.exposure_zone_daily where date = date '2026-01-15' and zone_level = 'arrondissement' "
            "order by zone_id, pollutant, statistic")


def test_export_csv_round_trip_with_provenance_sidecar(guarded, tmp_path, capsys):
    from spse.pipeline.cli import main

    out = tmp_path / "zones.csv"
    assert main(["export", ZONE_SQL, "--format", "csv", "--output", str(out)]) == 0
    assert capsys.readouterr().out == f"spse export: wrote {out}\n"
    got = pd.read_csv(out, dtype={"zone_id": str})
    expected = _published(guarded, ZONE_SQL)
    assert len(got) == len(expected) > 0
    assert got["zone_id"].tolist() == expected["zone_id"].tolist()
    assert got["date"].tolist() == [str(d.date()) for d in pd.to_datetime(expected["date"])]
    assert got["pop_weighted_mean_ug_m3"].to_numpy() == pytest.approx(
        expected["pop_weighted_mean_ug_m3"].to_numpy(), nan_ok=True)
    provenance = json.loads((tmp_path / "zones.csv.provenance.json").read_text(encoding="utf-8"))
    _check_provenance(guarded, provenance, ZONE_SQL, len(expected))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["zones.csv", "zones.csv.provenance.json"]
    umask = os.umask(0o022)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # an ordinary file, not mkstemp's 0600


def test_export_parquet_round_trip_with_provenance_metadata(guarded, tmp_path):
    from spse.pipeline.export import export

    out = export(ZONE_SQL, tmp_path / "zones.parquet", "parquet")
    table = pq.read_table(out)
    expected = _published(guarded, ZONE_SQL)
    got = table.to_pandas()
    assert got["zone_id"].tolist() == expected["zone_id"].tolist()
    assert got["population"].tolist() == pytest.approx(expected["population"].tolist())
    assert got["pop_weighted_mean_ug_m3"].to_numpy() == pytest.approx(
        expected["pop_weighted_mean_ug_m3"].to_numpy(), nan_ok=True)
    assert str(table.schema.field("date").type) == "date32[day]"  # types survive, not strings
    _check_provenance(guarded, json.loads(table.schema.metadata[b"spse_provenance"]), ZONE_SQL, len(expected))


def _check_provenance(home: Path, provenance: dict, sql: str, rows: int) -> None:
    build = _published(home, "select built_at_utc, target_day from meta.build_info").iloc[0]
    assert provenance["query"] == sql
    assert provenance["rows"] == rows
    assert pd.Timestamp(provenance["warehouse_built_at_utc"]) == pd.Timestamp(build["built_at_utc"])
    assert provenance["warehouse_target_day"] == "2026-01-15"
    assert "lcsqa_e2" in provenance["synthetic_sources"]  # every source reads the demo bundle here
    assert provenance["avertissement"].startswith("données synthétiques")


def _corners_wgs84(cell_id: str) -> list[tuple[float, float]]:
    """The four corners of an INSPIRE cell, by hand: id → south-west corner (m, EPSG:3035) → WGS84."""
    size = int(cell_id.split("RES")[1].split("m")[0])
    north = int(cell_id.split("mN")[1].split("E")[0])
    east = int(cell_id.rsplit("E", 1)[1])
    to_wgs84 = Transformer.from_crs("EPSG:3035", "EPSG:4326", always_xy=True)
    return [to_wgs84.transform(e, n) for e, n in
            [(east, north), (east + size, north), (east + size, north + size), (east, north + size)]]


def test_export_geojson_cells_are_their_squares_in_wgs84(guarded, tmp_path):
    from spse.pipeline.cli import main

    sql = ("select cell_id, value_ug_m3, population from marts.exposure_cell_daily where date = date '2026-01-15' "
           "and pollutant = 'PM10' and statistic = 'day_mean' order by cell_id")
    out = tmp_path / "cells.geojson"
    assert main(["export", sql, "--format", "geojson", "--output", str(out)]) == 0
    document = json.loads(out.read_text(encoding="utf-8"))
    expected = _published(guarded, sql)
    assert document["type"] == "FeatureCollection"
    assert len(document["features"]) == len(expected) > 2000
    assert document["metadata"]["query"] == sql
    assert document["metadata"]["avertissement"].startswith("données synthétiques")
    feature = document["features"][0]
    cell = expected["cell_id"].iloc[0]
    assert feature["properties"]["cell_id"] == cell
    assert feature["properties"]["population"] == pytest.approx(expected["population"].iloc[0])
    ring = feature["geometry"]["coordinates"][0]
    assert feature["geometry"]["type"] == "Polygon" and len(ring) == 5 and ring[0] == ring[-1]
    for (lon, lat), (x, y) in zip(ring[:4], _corners_wgs84(cell), strict=True):
        assert lon == pytest.approx(x, abs=1e-7) and lat == pytest.approx(y, abs=1e-7)
    assert 2.2 < ring[0][0] < 2.5 and 48.7 < ring[0][1] < 49.0  # around Paris


def test_export_geojson_known_cell_corner(guarded, tmp_path):
    """One fixed cell: its south-west corner N2890000 E3760000 is, in WGS84, pyproj's transform of it."""
    from spse.pipeline.export import export

    out = export("select 'CRS3035RES200mN2890000E3760000' as cell_id, 1 as v", tmp_path / "one.geojson", "geojson")
    ring = json.loads(out.read_text())["features"][0]["geometry"]["coordinates"][0]
    sw = Transformer.from_crs("EPSG:3035", "EPSG:4326", always_xy=True).transform(3760000, 2890000)
    assert ring[0] == pytest.approx(list(sw), abs=1e-7)
    assert ring[2] == pytest.approx(list(_corners_wgs84("CRS3035RES200mN2890000E3760000")[2]), abs=1e-7)


def test_export_geojson_stations_are_points(guarded, tmp_path):
    from spse.pipeline.export import export

    sql = ("select station_id, lon, lat, value from marts.station_daily where date = date '2026-01-15' "
           "and pollutant = 'NO2' and statistic = 'day_max_1h' and time_base = 'Europe/Paris' order by station_id")
    features = json.loads(export(sql, tmp_path / "st.geojson", "geojson").read_text())["features"]
    expected = _published(guarded, sql)
    assert [f["geometry"]["coordinates"] for f in features] == [
        [round(lon, 7), round(lat, 7)] for lon, lat in zip(expected["lon"], expected["lat"], strict=True)]


IN_HOME = r"is inside .*/spse_home\d* \(SPSE_HOME, the pipeline's own files\): export somewhere else"
EXPORT_REFUSALS = [
    ("into_a_lake_partition", "select * from marts.alerts", "parquet", "lake/alerts/date=2026-01-15/data.parquet",
     ["--force"], IN_HOME),
    ("into_the_lake_root", "select 1 as x", "csv", "lake/new.csv", [], IN_HOME),
    ("over_the_warehouse", "select 1 as x", "parquet", "warehouse/spse.duckdb", ["--force"],
     IN_HOME),
    ("into_raw", "select 1 as x", "csv", "raw/x.csv", [], IN_HOME),
    ("into_the_outbox", "select 1 as x", "csv", "outbox/alerts/x.csv", [], IN_HOME),
    ("into_a_source_input_folder", "select 1 as x", "csv", "{src}/FR_E2_2026-01-16.csv", [],
     r"is inside .*/e2_feed\d* \(input of source lcsqa_e2\): export somewhere else"),
    ("geojson_without_location", "select zone_id from marts.exposure_zone_daily", "geojson", "{tmp}/z.geojson", [],
     r"GeoJSON needs a location: select lon and lat .* or geometry_wkt \(WKT, EPSG:3035\)"),
    ("geojson_bad_wkt", "select 'POLYGON ((1 2' as geometry_wkt", "geojson", "{tmp}/w.geojson", [],
     r"row 1: geometry_wkt is not WKT"),
    ("geojson_bad_cell_id", "select 'N2890000E3760000' as cell_id", "geojson", "{tmp}/c.geojson", [],
     r"row 1: cell_id 'N2890000E3760000' is not an INSPIRE grid id"),
    ("write_statement", "copy marts.alerts to '{tmp}/a.csv'", "csv", "{tmp}/b.csv", [],
     r"COPY is not a read statement"),
    ("missing_folder", "select 1 as x", "csv", "{tmp}/no/such/folder/x.csv", [],
     r"folder .*/no/such/folder does not exist"),
]


@pytest.mark.parametrize(("sql", "fmt", "output", "extra", "expected"), [c[1:] for c in EXPORT_REFUSALS],
                         ids=[c[0] for c in EXPORT_REFUSALS])
def test_spse_export_refuses(guarded, tmp_path_factory, tmp_path, capsys, monkeypatch, sql, fmt, output, extra,
                             expected):
    from spse.pipeline.cli import main

    feed = tmp_path_factory.mktemp("e2_feed")  # a local folder an operator pointed a source at
    monkeypatch.setenv("SPSE_LCSQA_E2_URL", str(feed))
    (guarded / "outbox" / "alerts").mkdir(parents=True, exist_ok=True)
    if output.startswith("{tmp}"):
        target = output.format(tmp=tmp_path)
    elif output.startswith("{src}"):
        target = output.format(src=feed)
    else:
        target = str(guarded / output)
    code = main(["export", sql.format(tmp=tmp_path), "--format", fmt, "--output", target, *extra])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("spse export: refused: ") and err.count("\n") == 1
    assert re.search(expected, err), err
    assert list(tmp_path.iterdir()) == [] and list(feed.iterdir()) == []
    assert not (guarded / "lake" / "new.csv").exists() and not (guarded / "raw" / "x.csv").exists()
    assert not (guarded / "outbox" / "alerts" / "x.csv").exists()


def test_export_refuses_to_overwrite_unless_forced(guarded, tmp_path, capsys):
    from spse.pipeline.cli import main

    out = tmp_path / "n.csv"
    out.write_text("keep me\n")
    assert main(["export", "select 1 as x", "--format", "csv", "--output", str(out)]) == 1
    assert f"{out} exists: choose another path or pass --force" in capsys.readouterr().err
    assert out.read_text() == "keep me\n"
    assert main(["export", "select 1 as x", "--format", "csv", "--output", str(out), "--force"]) == 0
    assert out.read_text() == "x\n1\n"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_export_follows_a_symlinked_folder_into_the_lake_and_refuses(guarded, tmp_path, capsys):
    from spse.pipeline.cli import main

    (tmp_path / "looks_harmless").symlink_to(guarded / "lake" / "alerts", target_is_directory=True)
    out = tmp_path / "looks_harmless" / "x.parquet"
    assert main(["export", "select 1 as x", "--format", "parquet", "--output", str(out)]) == 1
    assert re.search(IN_HOME, capsys.readouterr().err)
    assert not (guarded / "lake" / "alerts" / "x.parquet").exists()


def test_export_geojson_from_a_wkt_column_in_epsg_3035(guarded, tmp_path):
    """The same square as a cell id and as WKT (EPSG:3035) gives the same WGS84 ring."""
    from spse.pipeline.export import export

    wkt = "POLYGON ((3760000 2890000, 3760200 2890000, 3760200 2890200, 3760000 2890200, 3760000 2890000))"
    out = export(f"select '{wkt}' as geometry_wkt, 'x' as name", tmp_path / "w.geojson", "geojson")
    feature = json.loads(out.read_text())["features"][0]
    assert feature["geometry"]["type"] == "Polygon"
    assert feature["properties"]["name"] == "x"
    ring = feature["geometry"]["coordinates"][0]
    for (lon, lat), (x, y) in zip(ring[:4], _corners_wgs84("CRS3035RES200mN2890000E3760000"), strict=True):
        assert lon == pytest.approx(x, abs=1e-7) and lat == pytest.approx(y, abs=1e-7)
