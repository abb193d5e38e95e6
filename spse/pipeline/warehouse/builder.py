"""Build a new warehouse file from the lake, the registers and the SQL models.

DuckDB allows one writing process per file, so ingest tasks write only Parquet lake
partitions, and each daily run builds a fresh file under ``warehouse/build/``; nothing
ever writes into the published file (:func:`spse.pipeline.warehouse.publish` swaps it in).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from spse.core import register
from spse.core.config import settings
from spse.core.errors import WarehouseError
from spse.pipeline import canonical, lake
from spse.pipeline.warehouse import models
from spse.pipeline.warehouse.models import REGISTER_TABLES, Model
from spse.pipeline.warehouse.schemas import EMPTY_SCHEMAS
from spse.sources import registry

log = logging.getLogger(__name__)

SUPPORTED_COMPARISONS = (">", ">=")
# Bump when the builder changes what the marts hold: the next build is then a full rebuild.
BUILDER_FORMAT = 1
# The DuckDB storage format of new warehouse files, readable by DuckDB 1.2 and later. Its ZSTD
# compression of long texts (the alerts' cell and facility lists) makes those tables about ten
# times smaller than the 0.10 format: DuckDB rewrites a table's last row group when a build
# appends to it, so an incremental build writes them whole. A change rebuilds in full.
STORAGE_VERSION = "v1.2.0"
# WAL size above which a commit checkpoints instead: a build's commit then writes its rows to
# the file once, not to the WAL and again to the file (duckdb ``auto_checkpoint_skip_wal_threshold``).
CHECKPOINT_THRESHOLD = "1MB"
# Compression methods a build does not try: analysing FSST for every text column of the rows a
# day rewrites cost 0.1-0.18 s of the 1.6-1.7 s of SQL of adding a day to the demo year (7 paired
# runs, 2026-12-06), for a file 0.5 % larger (255.3 against 254.0 MB after the backfill); the texts
# get dictionary or ZSTD instead.
DISABLED_COMPRESSION = "fsst"


def build_dir() -> Path:
    """Folder where new warehouse files are built before :func:`spse.pipeline.warehouse.publish` moves one in."""
    return settings().warehouse_dir / "build"


def build(day: dt.date | None = None, *, sql_dir: Path | None = None, days: list[dt.date] | None = None,
          full: bool = False) -> Path:
    """Build a complete warehouse file and return its path (not yet published).

    Creates ``warehouse/build/spse-<UTC timestamp>-<pid>.duckdb`` with: schema ``lake``
    (one view per lake dataset; reference datasets read only their latest ``vintage=``),
    the register tables ``marts.thresholds`` and ``marts.parameters``, the models of
    ``sql/staging``, ``sql/intermediate`` (views) and ``sql/marts`` (tables), a
    ``COMMENT ON`` for every model and column (``"<description> [<unit>]"``), and
    ``meta.build_info`` / ``meta.lake_partitions`` / ``meta.lake_partition_dates`` /
    ``meta.mart_partitions`` (provenance). ``day`` is the local day (Europe/Paris) the run
    reports on; it is recorded, the marts cover every day in the lake.
    ``build_info.build_started_utc`` (taken before the lake is read) and ``lake_state_sha256``
    tell which of two builds saw the newer lake: publish never replaces a later one.

    Incremental (docs/architecture.md, "Incremental builds"): when a published warehouse
    exists and was built from the same ``sql/`` models, registers, DuckDB version and
    reference datasets, the build starts from a copy of it and rebuilds, in each
    ``materialized: incremental`` mart, only the local days (Europe/Paris) whose lake
    partitions were added, changed or deleted since (plus ``days``, local days to recompute
    anyway); ``table`` marts are rebuilt in full. ``full=True``, or any of those differences,
    rebuilds everything from the lake; ``meta.build_info.build_mode`` and
    ``full_rebuild_reason`` say which was done and why. The published file is only read.

    Raises :class:`WarehouseError` naming the dataset, register row or model that failed;
    the failed file stays in ``warehouse/build/`` for inspection and nothing is published.
    """
    from spse.pipeline.warehouse import incremental
    from spse.pipeline.warehouse.publisher import prune_builds

    started = dt.datetime.now(dt.UTC)
    root = sql_dir or models.sql_dir()
    found = models.discover(root)
    sidecars = load_sidecars(found)
    folder = build_dir()
    folder.mkdir(parents=True, exist_ok=True)
    prune_builds()
    stamp = started.strftime("%Y%m%dT%H%M%S%fZ")
    path = folder / f"spse-{stamp}-{os.getpid()}.duckdb"
    context = BuildContext(day=day, root=root, found=found, sidecars=sidecars, started=started,
                           path=path, state=lake_state(), sql_sha256=sql_sha256(root),
                           forced_days=sorted(set(days or ())))
    reason = "requested (full=True)" if full else incremental.try_build(context)
    if reason is None:
        return path
    log.info("warehouse full rebuild: %s", reason)
    path.unlink(missing_ok=True)
    Path(f"{path}.wal").unlink(missing_ok=True)
    _build_full(context, reason)
    return path


@dataclass
class BuildContext:
    """What one build reads: the models and their sidecars, the lake state, the target file."""

    day: dt.date | None
    root: Path
    found: list[Model]
    sidecars: dict[str, models.Sidecar]
    started: dt.datetime
    path: Path
    state: pd.DataFrame
    sql_sha256: str
    forced_days: list[dt.date] = field(default_factory=list)

    def incremental_marts(self) -> list[Model]:
        """The ``materialized: incremental`` marts, in run order."""
        return [m for m in self.found if self.sidecars[m.qualified].incremental]


def load_sidecars(found: list[Model]) -> dict[str, models.Sidecar]:
    """Every model's sidecar by qualified name (only marts may be ``incremental``: :func:`models.load_sidecar`)."""
    return {model.qualified: models.load_sidecar(model.path.with_suffix(".yml"), model.label) for model in found}


def sql_sha256(root: Path) -> str:
    """SHA-256 of the models and sidecars under ``root`` (path and bytes), the builder's formats, the overlap rules."""
    digest = hashlib.sha256(f"builder format {BUILDER_FORMAT} storage {STORAGE_VERSION}\n".encode())
    # the overlap rules decide which producer's rows the lake views rank first
    digest.update(f"overlaps {sorted(canonical.rules().items())}\n".encode())
    for layer in models.LAYERS:
        for path in sorted([*(root / layer).glob("*.sql"), *(root / layer).glob("*.yml")]):
            digest.update(f"{layer}/{path.name}\n".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def connect_build(path: Path) -> duckdb.DuckDBPyConnection:
    """A writable connection to a build file within :func:`spse.core.config.build_memory_limit`, spilling beside it.

    A new file is written in :data:`STORAGE_VERSION`; a started one keeps the format it has.
    """
    from spse.core import config

    spill = path.parent / "spill"
    spill.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), config={"memory_limit": config.build_memory_limit(),
                                            "temp_directory": str(spill),
                                            "storage_compatibility_version": STORAGE_VERSION,
                                            "checkpoint_threshold": CHECKPOINT_THRESHOLD})
    con.execute("set enable_progress_bar = false")  # DuckDB prints it on stdout: noise in task logs
    con.execute("set parquet_metadata_cache = true")
    # no model's rows are ordered but by an ORDER BY (an incremental mart's partition_by): the
    # joins and aggregations of a full build need not keep their inputs' order (10 % less time)
    con.execute("set preserve_insertion_order = false")
    # a SET: DuckDB 1.5.5 takes this key in the connect config without applying it
    con.execute(f"set disabled_compression_methods = '{DISABLED_COMPRESSION}'")
    return con


def _build_full(context: BuildContext, reason: str) -> None:
    path, found = context.path, context.found
    con = connect_build(path)
    try:
        con.execute("begin transaction")  # one commit, not one per statement (hundreds of COMMENT ON)
        for schema in ("lake", *models.LAYERS, "meta"):
            con.execute(f"create schema {schema}")
        daily_views: dict[str, bool] = {}
        create_lake_views(con, context.state, daily_views)
        files = create_register_tables(con)
        for index, model in enumerate(found):
            run_model(con, model, {m.qualified for m in found[:index]}, [full_statement(model, context.sidecars)])
        document(con, context.root, found)
        write_partition_dates(con, context, daily_views, full=True)
        write_mart_partitions(con, context, {m.qualified: None for m in found if m.layer == "marts"})
        document_meta(con)
        write_meta(con, context.day, context.root, files, context.state, len(found), started=context.started,
                   build_name=path.name, sql_sha=context.sql_sha256, mode="full", reason=reason)
        con.execute("commit")
        con.execute("checkpoint")
    except WarehouseError:
        raise
    except duckdb.Error as exc:
        raise WarehouseError(f"warehouse build {path}: {exc}") from exc
    finally:
        con.close()
    log.info("warehouse built: %s (full, %d models: %s)", path, len(found), reason)


def full_statement(model: Model, sidecars: dict[str, models.Sidecar]) -> str:
    """The statement creating (or replacing) ``model`` whole; an incremental mart's rows in ``partition_by`` order.

    A full build runs it for every model, an incremental build for a ``table`` model whose
    lake inputs changed. An incremental build deletes whole partitions and DuckDB rewrites, at
    the checkpoint, every row group that lost rows: stored in order, a partition's rows lie in one or two.
    """
    sidecar = sidecars[model.qualified]
    if not sidecar.incremental:
        return f"create or replace {sidecar.kind} {model.qualified} as\n{model.select()}"
    return (f"create or replace table {model.qualified} as\nselect * from (\n{model.select()}\n)\n"
            f"order by {sidecar.partition_by}")


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def lake_state() -> pd.DataFrame:
    """The lake partitions a build reads, taken once before any is read.

    One row per partition file: ``dataset``, ``partition`` (its folder under the dataset:
    ``source=<name>/date=...`` for a source's partition, ``date=...`` for a derived one or
    one of the old layout, :mod:`spse.pipeline.lake`), ``path``, ``kind`` (``date`` or
    ``vintage``), ``size_bytes``, ``modified_ns``, ``inode`` (the lake replaces a partition
    by renaming a new file over it: a new inode even when size and mtime tick are equal),
    ``source`` (the producer, ``None`` for derived datasets). Daily datasets: every
    ``date=`` partition of every producer; reference datasets: each producer's latest ``vintage=``.
    """
    root = settings().lake
    present = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.exists() else []
    sourced = {entry.dataset for entry in registry.entries()}
    rows = []
    for dataset in present:
        daily, files = lake.read_files(dataset, sourced=dataset in sourced)
        rows.extend((dataset, f.key, f.path, "date" if daily else "vintage", f.stat.st_size, f.stat.st_mtime_ns,
                     f.stat.st_ino, f.source) for f in files)
    # Python strings (object), not pandas' Arrow strings: a build walks these rows in Python, 4 times faster
    frame = pd.DataFrame(rows, columns=["dataset", "partition", "path", "kind", "size_bytes", "modified_ns", "inode",
                                        "source"], dtype=object)
    return frame.astype({"size_bytes": "int64", "modified_ns": "int64", "inode": "int64"})


def create_lake_views(con: duckdb.DuckDBPyConnection, state: pd.DataFrame | None = None,
                      daily_views: dict[str, bool] | None = None, keep: frozenset[str] = frozenset(),
                      unchanged_files: dict[str, set[str]] | None = None) -> pd.DataFrame:
    """One ``lake.<dataset>`` view per dataset of ``state`` (default: :func:`lake_state`).

    Datasets of ``EMPTY_SCHEMAS`` absent from the lake get an empty typed view. Replaces
    existing views, except those of ``keep``: datasets whose view already reads exactly their
    partition files of ``state`` (an incremental build's copy; creating a view reads every
    file's Parquet footer). Returns ``state``; ``daily_views`` receives, for each daily
    dataset, whether its files have their own ``date`` (:func:`daily_view_sql`).
    ``unchanged_files`` (an incremental build): each dataset's files the existing view already
    read, unchanged since; when that view found its files uniform, only the others are checked,
    and when it did not, they still are not (until a full build).
    """
    state = lake_state() if state is None else state
    kept_columns = _all_columns(con) if keep else {}
    uniform_before = _uniform_views(con) if unchanged_files else set()
    created: dict[str, Path] = {}
    existing = {name for name, in con.execute("select view_name from duckdb_views() where schema_name = 'lake' "
                                              "and not internal").fetchall()}
    for name in existing - keep:
        con.execute(f"drop view lake.{name}")
    for dataset, rows in state.groupby("dataset", sort=True):
        chosen = rows["partition"].tolist()
        if dataset in keep:
            if rows["kind"].iloc[0] != "vintage" and daily_views is not None:
                daily_views[dataset] = _own_date(kept_columns[("lake", dataset)])
            continue
        uniform = False
        if rows["kind"].iloc[0] == "vintage":
            source = _daily_source(rows["path"].tolist())
            columns = {row[0] for row in con.execute(f"describe select * from {source}").fetchall()}
            vintage = "" if "vintage" in columns else ", regexp_extract(filename, 'vintage=([^/]+)/', 1) as vintage"
            con.execute(f"create view lake.{dataset} as select {_producer_columns(dataset, rows, columns)}{vintage} "
                        f"from {source}")
        else:
            unchanged = (unchanged_files or {}).get(dataset, set())
            if dataset in uniform_before:
                uniform = uniform_files(con, rows["path"].tolist(), unchanged)
            elif unchanged and dataset in existing:  # files of several schemas: still so, but for a full build
                uniform = False
            else:
                uniform = uniform_files(con, rows["path"].tolist())
            statement, own_date = daily_view_sql(con, dataset, rows, uniform)
            con.execute(statement)
            if daily_views is not None:
                daily_views[dataset] = own_date
        created[dataset] = Path(rows["path"].iloc[-1])
        con.execute(lake_comment_sql(dataset, chosen, uniform))
    _check_lake_columns(con, created)
    present = set(state["dataset"])
    for dataset, schema in EMPTY_SCHEMAS.items():
        if dataset in present:
            continue
        columns = ", ".join(f"cast(null as {t}) as {c}" for c, t in schema.view_columns().items())
        con.execute(f"create view lake.{dataset} as select {columns} limit 0")
        con.execute(f"comment on view lake.{dataset} is "
                    f"{_sql_string(f'Lake dataset {dataset}: absent from the lake, empty view')}")
    return state


def _own_date(columns: list[str]) -> bool:
    """Whether an existing daily view of ``columns`` (in order) takes ``date`` from its files.

    :func:`daily_view_sql` puts a file's own ``date`` before ``partition_date``, a date
    taken from the partition after it.
    """
    return columns.index("date") < columns.index("partition_date")


def lake_comment_sql(dataset: str, chosen: list[str], uniform: bool = False) -> str:
    """``COMMENT ON`` the lake view of ``dataset`` read from the partitions ``chosen``, ``uniform`` or by name."""
    text = f"Lake dataset {dataset}: {len(chosen)} partition(s) read, last {chosen[-1]}"
    return f"comment on view lake.{dataset} is {_sql_string(text + (_UNIFORM if uniform else ''))}"


_PARTITION_DATE = r"cast(regexp_extract(filename, 'date=(\d{4}-\d{2}-\d{2})', 1) as date)"
# the partition's folder under its dataset, as lake_state names it: [source=<name>/]date=YYYY-MM-DD
_PARTITION_KEY = r"regexp_extract(filename, '((source=[^/]+/)?date=[^/]+)/data\.parquet$', 1)"


def _daily_source(files: list[str], uniform: bool = False) -> str:
    """``read_parquet`` of ``files``; ``uniform`` when they all have the same columns and types.

    Uniform files are read by position of the first file's schema (binding reads one footer);
    others by name, the union of their columns (binding reads every footer).
    """
    listed = "[" + ", ".join(map(_sql_string, files)) + "]"
    by_name = "false" if uniform else "true"
    return f"read_parquet({listed}, hive_partitioning = false, union_by_name = {by_name}, filename = true)"


_UNIFORM = "; files of one schema, read by position"


def _uniform_views(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The ``lake`` views reading uniform files (:func:`_daily_source`), as their comment says."""
    return {name for name, comment in con.execute(
        "select view_name, comment from duckdb_views() where schema_name = 'lake' and not internal").fetchall()
        if comment and comment.endswith(_UNIFORM)}


def uniform_files(con: duckdb.DuckDBPyConnection, files: list[str], checked: set[str] = frozenset()) -> bool:
    """Whether ``files`` all have the same columns, in order, with the same types.

    ``checked``: files already known to share one schema; one of them stands for all.
    """
    reference = next((f for f in files if f in checked), None)
    to_read = [f for f in files if f not in checked] + ([reference] if reference else [])
    if len(to_read) <= 1:
        return True
    listed = "[" + ", ".join(map(_sql_string, to_read)) + "]"
    found = con.execute(f"""
        select count(distinct signature) from (
            select file_name, string_agg(name || ' ' || duckdb_type, ', ' order by column_id) as signature
            from parquet_schema({listed}) where num_children is null group by file_name)""").fetchone()[0]
    return found == 1


def _producer_exprs(dataset: str, rows: pd.DataFrame, columns: set[str]) -> dict[str, str]:
    """SQL of ``source`` and ``source_rank`` over the files ``rows`` (with ``filename``), for a dataset sources write.

    ``source`` names each row's producer (the file's column, else its ``source=`` folder, else
    the old-layout listing); ``source_rank`` its rank in the dataset's overlap rule (0 wins;
    ``[datasets]`` of the source registry, :mod:`spse.pipeline.canonical`). Empty for a
    derived dataset. ``columns``: the files' columns.
    """
    produced = rows[rows["source"].notna()] if "source" in rows.columns else rows.iloc[0:0]
    if produced.empty and canonical.rule(dataset) is None:
        return {}
    # files in source= folders are named by their folder: only the old layout's need listing
    parts = [lake.Part(dataset, s, "", Path(p)) for s, p in zip(produced["source"], produced["path"], strict=True)
             if not lake.in_producer_folder(p)]
    derived = canonical.source_sql(parts, "filename")
    named = f"coalesce(cast(source as varchar), {derived})" if "source" in columns else derived
    return {"source": named, "source_rank": f"cast({canonical.rank_sql(dataset, named)} as integer)"}


def _producer_columns(dataset: str, rows: pd.DataFrame, columns: set[str]) -> str:
    """``*`` without ``filename``, plus ``source`` and ``source_rank`` for a dataset written by sources."""
    exprs = _producer_exprs(dataset, rows, columns)
    if not exprs:
        return "* exclude (filename)"
    head = "* exclude (filename, source)" if "source" in columns else "* exclude (filename)"
    return head + "".join(f", {e} as {n}" for n, e in exprs.items())


def daily_view_sql(con: duckdb.DuckDBPyConnection, dataset: str, rows: pd.DataFrame,
                   uniform: bool = False) -> tuple[str, bool]:
    """``create or replace view lake.<dataset>`` over daily partition files ``rows`` (of :func:`lake_state`).

    The partition's day is ``partition_date``. A file's own ``date`` column wins over the
    partition's (hive partitioning would hide it: a forecast or forecast alert is about
    another day than the run that wrote it); files without one get ``date`` =
    ``partition_date``. Datasets written by sources get ``source`` and ``source_rank``
    (:func:`_producer_columns`). ``uniform``: the files share one schema (:func:`uniform_files`),
    read by position; their columns are then those of the last one (describing every file
    stats each: a year costs 5 ms more per dataset). Returns the statement and whether the
    files have their own ``date``.
    """
    files = rows["path"].tolist()
    source = _daily_source(files, uniform)
    described = _daily_source(files[-1:], uniform) if uniform else source
    columns = {row[0] for row in con.execute(f"describe select * from {described}").fetchall()}
    own_date = "" if "date" in columns else f", {_PARTITION_DATE} as date"
    return (f"create or replace view lake.{dataset} as select {_producer_columns(dataset, rows, columns)}, "
            f"{_PARTITION_DATE} as partition_date{own_date} from {source}"), "date" in columns


def restricted_view_sql(con: duckdb.DuckDBPyConnection, dataset: str, rows: pd.DataFrame, own_date: bool,
                        columns: list[tuple[str, str]], dates: list[dt.date]) -> str:
    """``lake.<dataset>`` over the files ``rows`` (of :func:`lake_state`) only and the rows of ``dates``.

    Same columns (the full view's ``columns``), types, ``date`` and producer rules as
    :func:`daily_view_sql` over every partition (columns the subset lacks are NULL), so
    the models read it exactly as the full view.
    """
    files = rows["path"].tolist()
    present, producer = set(), {}
    if files:
        source = _daily_source(files)
        present = {row[0] for row in con.execute(f"describe select * from {source}").fetchall()} - {"filename"}
        producer = _producer_exprs(dataset, rows, present)
    exprs = []
    for name, type_ in columns:
        if files and (name == "partition_date" or (name == "date" and not own_date)):
            expr = _PARTITION_DATE
        elif name in producer:
            expr = producer[name]
        else:
            expr = f'"{name}"' if name in present else "null"
        exprs.append(f'cast({expr} as {type_}) as "{name}"')
    select = ", ".join(exprs)
    if not files:
        return f"create or replace view lake.{dataset} as select {select} limit 0"
    return (f"create or replace view lake.{dataset} as select * from (select {select} from {source}) "
            f"where date in {date_list(dates)}")


def date_list(dates: list[dt.date]) -> str:
    """``(DATE '...', ...)`` for an ``in`` clause; ``(NULL)`` (matches nothing) when empty."""
    return "(" + (", ".join(f"date '{d.isoformat()}'" for d in dates) or "null") + ")"


def partition_dates(con: duckdb.DuckDBPyConnection, files: dict[str, list[str]],
                    dated: dict[str, bool]) -> pd.DataFrame:
    """The local days (``date``) each daily partition file holds rows for; ``files``: by dataset.

    ``dated``: whether a dataset's files have their own ``date`` (as its lake view found,
    :func:`daily_view_sql`), else the partition's day counts. One query for every dataset.
    """
    selects = []
    for dataset, paths in sorted(files.items()):
        if not paths:
            continue
        day = "cast(date as date)" if dated[dataset] else _PARTITION_DATE
        selects.append(f"select distinct {_sql_string(dataset)} as dataset, {_PARTITION_KEY} as partition, "
                       f"{day} as date from {_daily_source(paths)} where {day} is not null")
    if not selects:
        return pd.DataFrame({"dataset": [], "partition": [], "date": []})
    return con.execute("\nunion all\n".join(selects)).df()


def _check_lake_columns(con: duckdb.DuckDBPyConnection, created: dict[str, Path]) -> None:
    """Raise unless each view of ``created`` (dataset: an example file) has its contract's columns."""
    catalog = _all_columns(con) if any(d in EMPTY_SCHEMAS for d in created) else {}
    for dataset, example in created.items():
        schema = EMPTY_SCHEMAS.get(dataset)
        if schema is None:
            continue
        actual = set(catalog.get(("lake", dataset), []))
        missing = [c for c in schema.view_columns() if c not in actual]
        if missing:
            raise WarehouseError(f"lake dataset {dataset} (e.g. file {example}) lacks the columns {missing} "
                                 "of its contract in docs/architecture.md")


def create_register_tables(con: duckdb.DuckDBPyConnection) -> dict[str, Path]:
    """``marts.thresholds`` and ``marts.parameters`` from :mod:`spse.core.register`, with status and reference."""
    thresholds_file = register.files()["thresholds"]
    parameters_file = register.files()["parameters"]
    thresholds = register.thresholds()
    bad = ~thresholds["comparison"].isin(SUPPORTED_COMPARISONS)
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise WarehouseError(f"thresholds register {thresholds_file}, row {row + 2}: comparison "
                             f"{thresholds['comparison'].iloc[row]!r} is not one of {SUPPORTED_COMPARISONS}")
    con.register("register_thresholds", thresholds)
    con.execute("""
        create or replace table marts.thresholds as
        select set_id, pollutant, nullif(noise_source, '') as noise_source, averaging, value, unit, level,
            consecutive_periods, allowed_exceedances, comparison, status, reference
        from register_thresholds""")
    con.unregister("register_thresholds")
    con.register("register_parameters", register.parameters_frame())
    con.execute("""
        create or replace table marts.parameters as
        select name, value, nullif(unit, '') as unit, status, reference, description
        from register_parameters""")
    con.unregister("register_parameters")
    return {"thresholds": thresholds_file, "parameters": parameters_file}


def run_model(con: duckdb.DuckDBPyConnection, model: Model, earlier: set[str], statements: list[str]) -> None:
    """Run ``statements`` building ``model`` on ``con``, after checking its references against the ``earlier`` models.

    ``statements``: a full build's ``create`` (:func:`full_statement`), or an incremental
    build's delete and insert of the changed days. Raises :class:`WarehouseError` naming the
    model and its file when DuckDB refuses a statement.
    """
    models.check_references(model, earlier)
    try:
        for statement in statements:
            con.execute(statement)
    except duckdb.Error as exc:
        raise WarehouseError(f"{model.label} failed: {exc}") from exc


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    rows = con.execute("select column_name from duckdb_columns() where database_name = current_database() "
                       "and schema_name = ? and table_name = ? order by column_index", [schema, table]).fetchall()
    return [r[0] for r in rows]


def _all_columns(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], list[str]]:
    """``{(schema, table or view): columns in order}`` of the build's catalog, in one query."""
    found: dict[tuple[str, str], list[str]] = {}
    for schema, table, column in con.execute(
            "select schema_name, table_name, column_name from duckdb_columns() where database_name = "
            "current_database() order by schema_name, table_name, column_index").fetchall():
        found.setdefault((schema, table), []).append(column)
    return found


def document(con: duckdb.DuckDBPyConnection, root: Path, found: list[Model], only: set[str] | None = None) -> None:
    """``COMMENT ON`` every model and register table and their columns, from the sidecars.

    Every sidecar is checked against its model's columns; ``only`` (qualified names) limits
    the comments written to the objects an incremental build re-created.
    """
    targets = [(m.layer, m.name, m.path.with_suffix(".yml"), m.label) for m in found]
    targets += [("marts", t, root / "marts" / f"{t}.yml", f"register table marts.{t}") for t in REGISTER_TABLES]
    built = {(layer, name) for layer, name, _, _ in targets}
    for layer in models.LAYERS:
        for extra in sorted((root / layer).glob("*.yml")):
            if (layer, extra.stem) not in built:
                raise WarehouseError(f"sidecar {extra} documents no model (no {extra.with_suffix('.sql').name})")
    columns = _all_columns(con)
    for layer, name, sidecar_path, label in targets:
        sidecar = models.load_sidecar(sidecar_path, label)
        models.check_columns(sidecar, columns.get((layer, name), []), label)
        if only is not None and f"{layer}.{name}" not in only:
            continue
        con.execute(f"comment on {sidecar.kind} {layer}.{name} is {_sql_string(sidecar.description)}")
        for column in sidecar.columns:
            con.execute(f"comment on column {layer}.{name}.{column} is {_sql_string(sidecar.comment(column))}")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_partition_dates(con: duckdb.DuckDBPyConnection, context: BuildContext, dated: dict[str, bool], *,
                          full: bool, changed: dict[str, set[str]] | None = None) -> None:
    """``meta.lake_partition_dates``: the local days each daily partition read by an incremental mart holds.

    A later build finds the days to rebuild from it when a partition changes or disappears.
    ``full`` recomputes every row; otherwise only the ``changed`` partitions (by dataset) are.
    ``dated``: :func:`create_lake_views`'s ``daily_views`` (datasets whose files have a ``date``).
    """
    daily = context.state[(context.state["kind"] == "date")
                          & context.state["dataset"].isin(tracked_datasets(context))]
    if full:
        con.execute("create or replace table meta.lake_partition_dates "
                    "(dataset varchar, partition varchar, date date)")
        targets = {dataset: rows["path"].tolist() for dataset, rows in daily.groupby("dataset", sort=True)}
    else:
        targets = {}
        changed = {dataset: partitions for dataset, partitions in sorted((changed or {}).items()) if partitions}
        if changed:
            con.execute(f"delete from meta.lake_partition_dates where {partitions_in(changed)}")
        for dataset, partitions in changed.items():
            rows = daily[(daily["dataset"] == dataset) & daily["partition"].isin(partitions)]
            targets[dataset] = rows["path"].tolist()
    found = partition_dates(con, targets, dated)
    if len(found):
        con.register("partition_dates", found)
        con.execute("insert into meta.lake_partition_dates select dataset, partition, cast(date as date) "
                    "from partition_dates")
        con.unregister("partition_dates")


def partitions_in(partitions: dict[str, set[str]]) -> str:
    """SQL condition on ``dataset`` and ``partition`` matching the partitions of each dataset."""
    return " or ".join([f"(dataset = {_sql_string(dataset)} and partition in "
                        f"({', '.join(map(_sql_string, sorted(names)))}))"
                        for dataset, names in partitions.items() if names] or ["false"])


def tracked_datasets(context: BuildContext) -> list[str]:
    """The lake datasets an incremental mart reads (directly or through its models)."""
    deps = models.lake_dependencies(context.found)
    return sorted({d for m in context.incremental_marts() for d in deps[m.qualified]})


META_COMMENTS = {
    "mart_partitions": ("One row per mart × local day (marts with a date column): which build and which register "
                        "and model versions computed that day's rows (docs/architecture.md, Incremental builds)", {
        "mart": "Mart name, in schema marts [-]",
        "date": "Local calendar day of the mart's rows (Europe/Paris) [-]",
        "built_at_utc": "When the build that computed that day's rows wrote them (UTC) [-]",
        "build_name": "Build file that computed that day's rows (meta.build_info.build_name of that build) [-]",
        "thresholds_sha256": "SHA-256 of the thresholds register those rows used [-]",
        "parameters_sha256": "SHA-256 of the parameters register those rows used [-]",
        "sql_sha256": "SHA-256 of the sql/ models and sidecars those rows used [-]",
    }),
    "lake_partition_dates": ("One row per daily lake partition × local day it holds rows for, for the datasets "
                             "incremental marts read", {
        "dataset": "Lake dataset [-]",
        "partition": "Partition name, date=YYYY-MM-DD [-]",
        "date": "Local calendar day of rows in that partition (a forecast run holds several) [-]",
    }),
}


def document_meta(con: duckdb.DuckDBPyConnection) -> None:
    """``COMMENT ON`` the provenance tables ``meta.mart_partitions`` and ``meta.lake_partition_dates``."""
    for table, (description, columns) in META_COMMENTS.items():
        con.execute(f"comment on table meta.{table} is {_sql_string(description)}")
        for column, text in columns.items():
            con.execute(f"comment on column meta.{table}.{column} is {_sql_string(text)}")


def write_mart_partitions(con: duckdb.DuckDBPyConnection, context: BuildContext,
                          rebuilt: dict[str, list[dt.date] | None]) -> None:
    """``meta.mart_partitions``: for each mart day, the build and register versions its rows come from.

    ``rebuilt`` maps a mart's qualified name to the days this build recomputed, ``None``
    for all of them (a ``table`` mart, or a full build). Marts without a ``date`` column
    (or their ``partition_by`` column) have no rows.
    """
    files = register.files()
    stamp = [context.path.name, _sha256(files["thresholds"]), _sha256(files["parameters"]), context.sql_sha256]
    con.execute("""create table if not exists meta.mart_partitions (
        mart varchar, date date, built_at_utc timestamptz, build_name varchar,
        thresholds_sha256 varchar, parameters_sha256 varchar, sql_sha256 varchar)""")
    now = dt.datetime.now(dt.UTC)
    catalog = _all_columns(con)
    deleted, selects = [], []
    for qualified, days in rebuilt.items():
        layer, name = qualified.split(".", 1)
        column = context.sidecars[qualified].partition_by or "date"
        if column not in catalog.get((layer, name), []):
            continue
        where = "" if days is None else f" and date in {date_list(days)}"
        deleted.append(f"(mart = {_sql_string(name)}{where})")
        if days is not None and not days:
            continue
        source_where = "" if days is None else f" where {column} in {date_list(days)}"
        selects.append(f"select distinct {_sql_string(name)} as mart, cast({column} as date) as d "
                       f"from {qualified}{source_where}")
    if deleted:
        con.execute(f"delete from meta.mart_partitions where {' or '.join(deleted)}")
    if selects:
        con.execute(f"""insert into meta.mart_partitions
            select mart, d, ?, ?, ?, ?, ? from ({' union all '.join(selects)})
            where d is not null order by mart, d""", [now, *stamp])


def write_meta(con: duckdb.DuckDBPyConnection, day: dt.date | None, root: Path, files: dict[str, Path],
               partitions: pd.DataFrame, n_models: int, *, started: dt.datetime | None = None,
               build_name: str | None = None, sql_sha: str | None = None, mode: str = "full",
               reason: str = "", days_rebuilt: int | None = None,
               stored: dict[str, tuple[str, str]] | None = None) -> None:
    """Provenance: what this file was built from.

    ``meta.build_info`` is written last: a file without it is an incomplete build and
    :func:`spse.pipeline.warehouse.publish` refuses it.

    ``partitions`` is the :func:`lake_state` the build read (:func:`write_lake_partitions`,
    ``stored``). ``build_started_utc`` is ``started`` (default: now); ``lake_state_sha256`` the
    SHA-256 of the sorted ``dataset/partition size mtime_ns`` lines of the partitions read, and
    ``lake_modified_max_utc`` the newest of their modification times; ``build_name`` the build
    file's name (a retried publish recognises its build already published); ``sql_sha256``
    (:func:`sql_sha256`), ``build_mode`` (``full`` or ``incremental``), ``full_rebuild_reason``
    and ``days_rebuilt`` (distinct local days recomputed by an incremental build) say how it was built.
    """
    con.execute("drop table if exists meta.build_info")
    write_lake_partitions(con, partitions, stored)
    state = "\n".join(sorted(f"{d}/{p} {size} {ns}" for d, p, size, ns in
                             zip(partitions["dataset"], partitions["partition"], partitions["size_bytes"],
                                 partitions["modified_ns"], strict=True)))
    info = pd.DataFrame([{
        "built_at_utc": pd.Timestamp.now(tz="UTC"),
        "build_started_utc": pd.Timestamp(started or dt.datetime.now(dt.UTC)),
        "build_name": build_name,
        "lake_state_sha256": hashlib.sha256(state.encode()).hexdigest(),
        "lake_modified_max_utc": (pd.Timestamp(int(partitions["modified_ns"].max()), unit="ns", tz="UTC")
                                  if len(partitions) else pd.NaT),
        "target_day": day,
        "duckdb_version": duckdb.__version__,
        "sql_dir": str(root),
        "sql_sha256": sql_sha,
        "n_models": n_models,
        "thresholds_file": str(files["thresholds"]),
        "thresholds_sha256": _sha256(files["thresholds"]),
        "parameters_file": str(files["parameters"]),
        "parameters_sha256": _sha256(files["parameters"]),
        "build_mode": mode,
        "full_rebuild_reason": reason,
        "days_rebuilt": days_rebuilt,
    }])
    con.register("build_info", info)
    con.execute("create table meta.build_info as select * replace (cast(target_day as date) as target_day, "
                "cast(days_rebuilt as bigint) as days_rebuilt) from build_info")
    con.unregister("build_info")


def write_lake_partitions(con: duckdb.DuckDBPyConnection, partitions: pd.DataFrame,
                          stored: dict[str, tuple[str, str]] | None = None) -> None:
    """``meta.lake_partitions``: a row per partition file of ``partitions`` (a :func:`lake_state`), with its provenance.

    ``stored``: the rows the table already holds (an incremental build's copy), their
    ``dataset`` and ``partition`` by key (:func:`partition_key`). Rows of partitions gone or
    changed are then deleted and only the new files' rows written, their ``provenance.json``
    read: the cost follows what changed, not the history's length. Without it, the table is
    written anew.
    """
    if stored is None:
        con.execute("drop table if exists meta.lake_partitions")
        new = partitions
    else:
        keys = partition_key(partitions)
        gone: dict[str, set[str]] = {}
        for key in stored.keys() - set(keys):
            dataset, partition = stored[key]
            gone.setdefault(dataset, set()).add(partition)
        if gone:
            con.execute(f"delete from meta.lake_partitions where {partitions_in(gone)}")
        new = partitions[pd.Series([k not in stored for k in keys], index=partitions.index, dtype=bool)]
    rows = new.assign(
        modified_utc=pd.to_datetime(new["modified_ns"].astype("int64"), unit="ns", utc=True),
        provenance_json=pd.Series([_provenance(Path(p)) for p in new["path"]], dtype="object", index=new.index),
    )[["dataset", "partition", "path", "kind", "size_bytes", "modified_ns", "inode", "modified_utc",
       "provenance_json"]]
    con.register("lake_partitions", rows)
    # typed here: a frame's column of Nones (no provenance) would otherwise be an INTEGER column
    select = ("select * replace (cast(size_bytes as bigint) as size_bytes, cast(modified_ns as bigint) as modified_ns, "
              "cast(inode as bigint) as inode, cast(provenance_json as varchar) as provenance_json) "
              "from lake_partitions")
    if stored is None:
        con.execute(f"create table meta.lake_partitions as {select}")
    else:
        con.execute(f"insert into meta.lake_partitions by name {select}")
    con.unregister("lake_partitions")


def partition_key(frame: pd.DataFrame) -> list[str]:
    """:func:`file_key` of each row of a :func:`lake_state`."""
    return [file_key(*row) for row in zip(*(frame[c].tolist() for c in ("dataset", "partition", "size_bytes",
                                                                          "modified_ns", "inode")), strict=True)]


def file_key(dataset: str, partition: str, size_bytes: int, modified_ns: int, inode: int) -> str:
    """``dataset/partition size mtime_ns inode``: equal keys, same partition file."""
    return f"{dataset}/{partition} {size_bytes} {modified_ns} {inode}"


def _provenance(partition_file: Path) -> str | None:
    """The partition's ``provenance.json``, credentials removed from its URLs (older files may hold them)."""
    from spse.core.redaction import redact_url

    path = partition_file.with_name("provenance.json")
    if not path.exists():
        return None
    return redact_url(json.dumps(json.loads(path.read_text(encoding="utf-8")), ensure_ascii=False))
