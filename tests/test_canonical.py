"""The overlap rule of a dataset fed by several sources, on hand-made rows (spse.pipeline.canonical)."""

import datetime as dt

import pandas as pd

from spse.pipeline import canonical, lake

DAY = dt.date(2026, 1, 15)
H0 = pd.Timestamp("2026-01-15 00:00", tz="UTC")


def _rows(source, station, values, procedure="p1"):
    return pd.DataFrame({"station_id": station, "pollutant": "NO2", "procedure": procedure,
                         "ts_start_utc": [H0 + pd.Timedelta(hours=h) for h in range(len(values))],
                         "value": values, "source": source})


def test_the_first_source_in_the_priority_keeps_its_rows_of_a_shared_key(spse_home):
    # registry: [datasets.air_hourly] priority = ["lcsqa_e2"]; "aaa_net" is unlisted, so after E2 despite its name
    lake.write_partition("air_hourly", "date=2026-01-15", pd.concat([
        _rows("lcsqa_e2", "FR1", [10.0, 11.0]), _rows("lcsqa_e2", "FR1", [12.0, 13.0], procedure="p2")]),
        source="lcsqa_e2")
    lake.write_partition("air_hourly", "date=2026-01-15", pd.concat([
        _rows("aaa_net", "FR1", [50.0, 51.0, 52.0]), _rows("aaa_net", "RN9", [7.0])]), source="aaa_net")
    kept = canonical.read_days("air_hourly", [DAY])
    # FR1 hours 0 and 1: E2's two procedures (4 rows); FR1 hour 2: only aaa_net has it; RN9: aaa_net's own
    assert sorted(zip(kept["source"], kept["station_id"], kept["value"], strict=True)) == [
        ("aaa_net", "FR1", 52.0), ("aaa_net", "RN9", 7.0),
        ("lcsqa_e2", "FR1", 10.0), ("lcsqa_e2", "FR1", 11.0), ("lcsqa_e2", "FR1", 12.0), ("lcsqa_e2", "FR1", 13.0)]
    aside = canonical.overlaps("air_hourly", [DAY])
    assert sorted(aside["value"]) == [50.0, 51.0] and set(aside["source"]) == {"aaa_net"}


def test_unlisted_sources_are_ordered_by_name(spse_home):
    lake.write_partition("air_hourly", "date=2026-01-15", _rows("net_b", "X", [2.0]), source="net_b")
    lake.write_partition("air_hourly", "date=2026-01-15", _rows("net_a", "X", [1.0]), source="net_a")
    assert canonical.read_days("air_hourly", [DAY])["value"].tolist() == [1.0]


def test_a_stand_in_hides_the_source_it_replaces(spse_home):
    # registry: insee_filosofi_zip replaces insee_filosofi_200m
    cells = pd.DataFrame({"cell_id": ["c1", "c2"], "population": [10.0, 20.0]})
    lake.write_partition("population", "vintage=current", cells.assign(source="insee_filosofi_200m"),
                         source="insee_filosofi_200m")
    lake.write_partition("population", "vintage=current", cells.iloc[:1].assign(population=11.0,
                         source="insee_filosofi_zip"), source="insee_filosofi_zip")
    frame = canonical.read_latest("population")
    assert frame["cell_id"].tolist() == ["c1"] and frame["population"].tolist() == [11.0]


def test_the_sql_reading_of_many_partitions_applies_the_same_rule(spse_home):
    import duckdb

    lake.write_partition("air_hourly", "date=2026-01-15", _rows("lcsqa_e2", "FR1", [10.0, 11.0]), source="lcsqa_e2")
    lake.write_partition("air_hourly", "date=2026-01-15", _rows("aaa_net", "FR1", [50.0, 51.0, 52.0]),
                         source="aaa_net")
    sql = canonical.files_sql("air_hourly", lake.parts("air_hourly"), "station_id, pollutant, ts_start_utc, value")
    assert sorted(duckdb.sql(sql).df()["value"]) == [10.0, 11.0, 52.0]


def test_an_old_layout_file_without_provenance_has_no_producer(spse_home):
    import duckdb

    # a partition written before the source= layout, and without a provenance naming its source
    path = lake.partition_path("air_hourly", "date=2026-01-15")
    path.parent.mkdir(parents=True)
    _rows("x", "FR1", [10.0]).drop(columns="source").to_parquet(path)
    found = lake.parts("air_hourly")
    assert [(p.source, p.key) for p in found] == [(None, "date=2026-01-15")]
    sql = f"select {canonical.source_sql(found, 'filename')} as source from read_parquet('{path}', filename = true)"
    assert duckdb.sql(sql).fetchall() == [(None,)]
