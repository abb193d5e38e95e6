"""The contract every source keeps, run automatically on each module found by ``discover()``.

Convention for a source named ``<name>`` (see ``tests/fixtures/sources/README.md``):

* ``tests/fixtures/sources/<name>/SAMPLE_DAY`` holds a date ``YYYY-MM-DD``;
* the folder holds the upstream files of that day at the relative paths of
  ``files(SAMPLE_DAY)``, byte for byte as upstream serves them;
* ``bad/`` holds the same relative paths for the files that differ in one corrupted row,
  and ``bad/EXPECTED_REJECT`` names that row as ``<relative path>:<row>`` (``row`` as the
  source reports it: 1-based line of a text file, header = 1; 1-based record of a JSON
  list or GeoJSON FeatureCollection). The test lays ``bad/`` over a copy of the sample,
  so unchanged files are not duplicated.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from spse.core.columns import Column
from spse.core.config import settings, source_url_env
from spse.pipeline import lake
from spse.pipeline.ingest import ingest, read_quarantine
from spse.sources import discover, registry

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"
SOURCES = discover()
DUCKDB_TYPES = {"VARCHAR": {"VARCHAR"}, "DOUBLE": {"DOUBLE"}, "INTEGER": {"INTEGER", "BIGINT"},
                "BIGINT": {"BIGINT"}, "BOOLEAN": {"BOOLEAN"}, "TIMESTAMPTZ": {"TIMESTAMP WITH TIME ZONE"},
                "DATE": {"DATE"}}


@pytest.fixture(autouse=True)
def _excerpt_reference_checks(monkeypatch):
    """The samples are excerpts: no expected feature count (tests/fixtures/sources/README.md)."""
    monkeypatch.setenv("SPSE_REFERENCE_CHECKS_FILE", str(SAMPLES / "reference_checks_excerpts.csv"))


def _ids(source) -> str:
    return source.name


def _sample(source) -> tuple[Path, dt.date]:
    folder = SAMPLES / source.name
    if not (folder / "SAMPLE_DAY").is_file():
        pytest.skip(f"no recorded sample for {source.name} (reported by test_every_source_has_a_sample)")
    return folder, dt.date.fromisoformat((folder / "SAMPLE_DAY").read_text().strip())


def _ingest_from(source, folder: Path, day: dt.date, monkeypatch):
    monkeypatch.setenv(source_url_env(source.name), str(folder))
    return ingest(source, day)


def test_every_source_has_a_sample():
    missing = [s.name for s in SOURCES if not (SAMPLES / s.name / "SAMPLE_DAY").is_file()]
    assert not missing, f"add a recorded sample under tests/fixtures/sources/<name>/ for {missing}"


def test_names_are_unique_and_equal_module_names():
    names = [s.name for s in SOURCES]
    assert len(names) == len(set(names))
    for source in SOURCES:
        assert type(source).__module__ == f"spse.sources.{source.name}"


@pytest.mark.parametrize("source", SOURCES, ids=_ids)
def test_declaration(source):
    assert source.kind in ("air", "noise", "reference")
    assert source.cadence in ("daily", "reference")
    assert isinstance(source.schedule, str) and source.schedule
    assert source.description and source.dataset
    assert (importlib.import_module(type(source).__module__).__doc__ or "").strip(), "module docstring missing"
    for name, column in source.columns.items():
        assert column.type in DUCKDB_TYPES, f"{name}: unknown type {column.type}"
        assert isinstance(column.unit, str), f"{name}: unit must be a string ('' when none)"
        assert column.description.strip(), f"{name}: empty description"
    assert set(source.primary_key) <= set(source.columns)


def _contract(dataset: str) -> tuple[str, dict[str, tuple[str, str]]] | None:
    """The first producer of a canonical dataset (registry priority, else name) and its columns' type and unit."""
    producers = sorted((s for s in SOURCES if s.dataset == dataset),
                       key=lambda s: (registry.overlaps()[dataset].rank(s.name), s.name))
    if not producers:
        return None
    return producers[0].name, {n: (c.type, c.unit) for n, c in producers[0].columns.items()}


@pytest.mark.parametrize("source", SOURCES, ids=_ids)
def test_a_producer_of_a_canonical_dataset_keeps_its_columns(source):
    """Readers take the union of a dataset's producers: every one writes the first producer's columns."""
    writes = [(source.dataset, source.columns)] + [(a.dataset, a.columns) for a in source.also_writes]
    for dataset, columns in writes:
        found = _contract(dataset) if dataset in registry.overlaps() else None
        if found is None:
            continue
        first, expected = found
        own = {n: (c.type, c.unit) for n, c in columns.items()}
        assert own == expected and list(own) == list(expected), (
            f"{source.name} writes {dataset} with other columns than {first}: "
            f"extra {sorted(set(own) - set(expected))}, missing {sorted(set(expected) - set(own))}, differing "
            f"{sorted(n for n in set(own) & set(expected) if own[n] != expected[n])}")


@pytest.mark.parametrize("source", SOURCES, ids=_ids)
def test_ingest_recorded_sample(source, spse_home, monkeypatch):
    folder, day = _sample(source)
    report = _ingest_from(source, folder, day, monkeypatch)
    partition = source.partition_for(day)
    frame = lake.read_partition(source.dataset, partition)

    assert report.rows == len(frame) > 0
    assert report.rejected == 0, read_quarantine(source, day).to_dict("records")
    # the lake adds the producer's name in `source` when the schema has no such column
    added = [] if "source" in source.columns else ["source"]
    assert list(frame.columns) == [*source.columns, *added]
    assert set(frame["source"]) == {source.name}
    source.check(frame[list(source.columns)])
    key = list(source.primary_key)
    assert not frame[key].isna().any().any()
    assert not frame.duplicated(key).any()
    for name, column in source.columns.items():
        if column.type == "TIMESTAMPTZ":
            assert isinstance(frame[name].dtype, pd.DatetimeTZDtype) and str(frame[name].dtype.tz) == "UTC"

    path = lake.partition_path(source.dataset, partition, source.name)
    assert path == settings().lake / source.dataset / f"source={source.name}" / partition / "data.parquet"
    described = duckdb.sql(f"describe select * from read_parquet('{path}', hive_partitioning = false)").fetchall()
    declared_columns = {**source.columns, **{c: Column("VARCHAR", "", "producer") for c in added}}
    for (name, duck_type, *_), (declared, column) in zip(described, declared_columns.items(), strict=True):
        assert name == declared
        assert duck_type in DUCKDB_TYPES[column.type], f"{name}: DuckDB reads {duck_type}, declared {column.type}"

    for relative in source.files(day):
        upstream = (folder / relative).read_bytes()
        latest = lake.latest_raw_meta(source.name, source.raw_folder(relative, day), relative)
        landed = Path(latest["raw_path"])
        assert landed.is_relative_to(settings().raw / source.name / source.raw_folder(relative, day))
        assert landed.read_bytes() == upstream
        meta = json.loads(landed.with_name(landed.name + ".meta.json").read_text())
        assert meta["sha256"] == latest["sha256"] == hashlib.sha256(upstream).hexdigest()
        assert meta["size_bytes"] == len(upstream)
    assert path.with_name("provenance.json").is_file()


@pytest.mark.parametrize("source", SOURCES, ids=_ids)
def test_ingest_is_idempotent(source, spse_home, monkeypatch):
    folder, day = _sample(source)
    first = _ingest_from(source, folder, day, monkeypatch)
    before = lake.read_partition(source.dataset, source.partition_for(day))
    second = _ingest_from(source, folder, day, monkeypatch)
    after = lake.read_partition(source.dataset, source.partition_for(day))
    assert first.rows == second.rows == len(after)
    pd.testing.assert_frame_equal(before, after)
    assert lake.partitions(source.dataset) == [source.partition_for(day)]


@pytest.mark.parametrize("source", SOURCES, ids=_ids)
def test_one_corrupted_row_is_quarantined(source, spse_home, monkeypatch, tmp_path):
    folder, day = _sample(source)
    if not (folder / "bad" / "EXPECTED_REJECT").is_file():
        pytest.fail(f"{source.name}: add tests/fixtures/sources/{source.name}/bad/ with one corrupted row")
    good = _ingest_from(source, folder, day, monkeypatch)
    mixed = tmp_path / "bad_sample"
    shutil.copytree(folder, mixed, ignore=shutil.ignore_patterns("bad"))
    shutil.copytree(folder / "bad", mixed, dirs_exist_ok=True)
    report = _ingest_from(source, mixed, day, monkeypatch)
    rejects = read_quarantine(source, day)
    expected_file, expected_row = (folder / "bad" / "EXPECTED_REJECT").read_text().strip().rsplit(":", 1)

    assert report.rejected == 1 and len(rejects) == 1
    # One upstream row gives one output row in long formats, several in wide ones.
    assert report.rows < good.rows
    assert rejects.loc[0, "file"] == expected_file
    assert int(rejects.loc[0, "row"]) == int(expected_row)
    assert rejects.loc[0, "reason"].strip()
    assert rejects.loc[0, "source"] == source.name
