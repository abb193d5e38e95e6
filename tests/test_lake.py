import datetime as dt
import json

import pandas as pd
import pytest

from spse.pipeline import lake


def test_partition_rewrite_replaces_instead_of_appending(spse_home):
    day = dt.date(2026, 1, 15)
    first = pd.DataFrame({"k": [1, 2, 3]})
    lake.write_partition("demo", lake.date_partition(day), first)
    lake.write_partition("demo", lake.date_partition(day), pd.DataFrame({"k": [7]}))
    assert lake.read_partition("demo", "date=2026-01-15")["k"].tolist() == [7]
    assert lake.partitions("demo") == ["date=2026-01-15"]
    assert not list((spse_home / "lake" / "demo").rglob("*.tmp"))


def test_failed_write_keeps_previous_partition(spse_home):
    lake.write_partition("demo", "vintage=current", pd.DataFrame({"k": [1]}))

    class Unwritable(pd.DataFrame):
        def to_parquet(self, *args, **kwargs):
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        lake.write_parquet_atomic(lake.partition_path("demo", "vintage=current"), Unwritable({"k": [2]}))
    assert lake.read_latest("demo")["k"].tolist() == [1]
    assert not list((spse_home / "lake" / "demo").rglob("*.tmp"))


def test_raw_landing_keeps_bytes_and_hash(spse_home):
    payload = "a;b\r\n1;µ\r\n".encode()
    path = lake.land_raw("src", "date=2026-01-15", "2026/file.csv", payload, {"url": "file:///x"})
    assert path.read_bytes() == payload
    meta = json.loads(path.with_name("file.csv.meta.json").read_text())
    # sha256 of the exact bytes, computed independently of spse
    import hashlib

    assert meta["sha256"] == hashlib.sha256(payload).hexdigest()
    assert meta["size_bytes"] == len(payload)


def test_read_days_skips_missing(spse_home):
    lake.write_partition("d", "date=2026-01-14", pd.DataFrame({"k": [1]}))
    out = lake.read_days("d", [dt.date(2026, 1, 13), dt.date(2026, 1, 14)])
    assert out["k"].tolist() == [1]
    assert lake.read_days("d", [dt.date(2020, 1, 1)]).empty


def test_an_unchanged_derived_partition_keeps_its_file(spse_home):
    frame = pd.DataFrame({"cell_id": ["a", "b"], "area_fraction": [0.25, 0.75]})
    assert lake.write_partition_if_changed("zone_cells", "vintage=current", frame)
    path = lake.partition_path("zone_cells", "vintage=current")
    before = path.stat()
    assert not lake.write_partition_if_changed("zone_cells", "vintage=current", frame.copy())
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    changed = frame.assign(area_fraction=[0.5, 0.5])
    assert lake.write_partition_if_changed("zone_cells", "vintage=current", changed)
    pd.testing.assert_frame_equal(lake.read_partition("zone_cells", "vintage=current"), changed)


def test_two_producers_keep_their_own_partitions_and_are_read_as_one(spse_home):
    lake.write_partition("air_x", "date=2026-01-15", pd.DataFrame({"k": [1, 2]}), source="net_a")
    lake.write_partition("air_x", "date=2026-01-15", pd.DataFrame({"k": [3]}), source="net_b")
    lake.write_partition("air_x", "date=2026-01-15", pd.DataFrame({"k": [4]}), source="net_b")  # replaces b's only
    assert (spse_home / "lake/air_x/source=net_a/date=2026-01-15/data.parquet").is_file()
    union = lake.read_days("air_x", [dt.date(2026, 1, 15)])
    assert sorted(zip(union["source"], union["k"], strict=True)) == [("net_a", 1), ("net_a", 2), ("net_b", 4)]
    assert lake.read_partition("air_x", "date=2026-01-15", "net_b")["k"].tolist() == [4]
    assert lake.sources("air_x") == ["net_a", "net_b"]
    assert lake.count_rows("air_x", "date=2026-01-15") == 3


def test_a_partition_of_the_old_layout_is_read_as_its_source_until_rewritten(spse_home):
    old = spse_home / "lake/air_x/date=2026-01-14"
    old.mkdir(parents=True)
    pd.DataFrame({"k": [9]}).to_parquet(old / "data.parquet")
    (old / "provenance.json").write_text(json.dumps({"source": "net_a", "partition": "date=2026-01-14"}))
    assert lake.has_partition("air_x", "date=2026-01-14", "net_a")
    assert not lake.has_partition("air_x", "date=2026-01-14", "net_b")
    frame = lake.read_days("air_x", [dt.date(2026, 1, 14)])
    assert frame["source"].tolist() == ["net_a"] and frame["k"].tolist() == [9]
    lake.write_partition("air_x", "date=2026-01-14", pd.DataFrame({"k": [10]}), source="net_a")
    assert not (old / "data.parquet").exists() and not (old / "provenance.json").exists()
    assert lake.read_days("air_x", [dt.date(2026, 1, 14)])["k"].tolist() == [10]


def test_read_files_attributes_old_layout_files_only_where_a_source_may_have_written_them(spse_home):
    old = spse_home / "lake/air_x/date=2026-01-14"
    old.mkdir(parents=True)
    pd.DataFrame({"k": [9]}).to_parquet(old / "data.parquet")
    (old / "provenance.json").write_text(json.dumps({"source": "net_a", "partition": "date=2026-01-14"}))
    assert [f.source for f in lake.read_files("air_x")[1]] == ["net_a"]
    # a dataset no source writes: its files have no producer, their provenance is not read
    assert [f.source for f in lake.read_files("air_x", sourced=False)[1]] == [None]
    # unless a source's folder shows that one does
    lake.write_partition("air_x", "date=2026-01-15", pd.DataFrame({"k": [1]}), source="net_b")
    assert [(f.partition, f.source) for f in lake.read_files("air_x", sourced=False)[1]] == [
        ("date=2026-01-14", "net_a"), ("date=2026-01-15", "net_b")]


def test_listings_cached_lists_once_and_again_after_its_own_write(spse_home):
    day = dt.date(2026, 1, 15)
    lake.write_partition("demo", lake.date_partition(day), pd.DataFrame({"k": [1]}), source="a")
    with lake.listings_cached():
        assert lake.partitions("demo") == ["date=2026-01-15"]
        # a file another writer puts in place is not seen until the block ends...
        lake.write_parquet_atomic(lake.partition_path("demo", "date=2026-01-16", "b"), pd.DataFrame({"k": [2]}))
        assert lake.partitions("demo") == ["date=2026-01-15"]
        assert [p.source for p in lake.parts("demo", partition="date=2026-01-15")] == ["a"]
        # ...but a partition this thread writes is: the dataset is listed again
        lake.write_partition("demo", lake.date_partition(day + dt.timedelta(days=2)), pd.DataFrame({"k": [3]}), "a")
        assert lake.partitions("demo") == ["date=2026-01-15", "date=2026-01-16", "date=2026-01-17"]
        assert lake.parts("demo", source="b", partition="date=2026-01-16")[0].source == "b"
        assert lake.parts("demo", source="a", partition="date=2026-01-16") == []
        assert lake.has_partition("demo", "date=2026-01-17", "a") and not lake.has_partition("none", "date=x")
    assert lake.parts("demo") == lake._listed("demo")


def test_parts_in_gives_the_listing_of_those_partitions(spse_home):
    for day, source in (("2026-01-13", "net_a"), ("2026-01-14", "net_b"), ("2026-01-15", "net_a"),
                        ("2026-01-15", "net_b")):
        lake.write_partition("air_x", f"date={day}", pd.DataFrame({"k": [1]}), source=source)
    for day, source in (("2026-01-14", "net_a"), ("2026-01-15", "net_b")):  # old layout; the second is hidden
        old = spse_home / f"lake/air_x/date={day}"
        old.mkdir(parents=True)
        pd.DataFrame({"k": [9]}).to_parquet(old / "data.parquet")
        (old / "provenance.json").write_text(json.dumps({"source": source, "partition": f"date={day}"}))
    wanted = ["date=2026-01-15", "date=2026-01-14", "date=2026-01-20"]
    expected = [p for p in lake.parts("air_x") if p.partition in wanted]
    assert len(expected) == 4 and lake.parts_in("air_x", wanted) == expected
    with lake.listings_cached():
        assert lake.parts_in("air_x", wanted) == expected
    assert lake.parts_in("none", wanted) == []
