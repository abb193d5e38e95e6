"""Incremental warehouse builds: start from a previous warehouse, rebuild only the changed days.

The build starts from the standby (the warehouse published before the current one, kept by
:mod:`spse.pipeline.warehouse.publisher`), moved into ``warehouse/build/`` and updated in
place, or else from a plain file copy of the published file (checkpointed and never written);
the file is then updated and published like any build. Days to rebuild
come from comparing the lake partitions (``size_bytes``, ``modified_ns``, ``inode``) with the
starting file's ``meta.lake_partitions``, and ``meta.lake_partition_dates`` (the local days each partition
holds, Europe/Paris): a partition added, changed or deleted makes its days, before and
after the change, rebuilt in every ``materialized: incremental`` mart reading its dataset.
While such a mart is rebuilt, the lake views read only the partitions and rows of its own days
(delete then insert of those days; ``neighbour_days`` widens both), and every partition again for the
``table`` models (marts, and intermediate models materialised as tables) whose lake inputs
changed (the others keep their rows) and at the end.

Anything the file cannot be trusted for returns a reason and the build runs in full:
no published warehouse, one built before incremental builds, changed ``sql/`` models or
sidecars, a changed register (thresholds or parameters), another DuckDB version, a
changed reference dataset (new ``vintage=``), a mart whose columns would change.
See docs/architecture.md, "Incremental builds".
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import time
from pathlib import Path

import duckdb
import pandas as pd

from spse.core import register
from spse.core.config import settings
from spse.core.errors import WarehouseError
from spse.pipeline.warehouse import builder, models, publisher

log = logging.getLogger(__name__)

_META_TABLES = ("build_info", "lake_partitions", "lake_partition_dates", "mart_partitions")


class _FullRebuild(Exception):
    """The copy cannot be updated: the message says why."""


def try_build(context: builder.BuildContext) -> str | None:
    """Build ``context.path`` from a published warehouse; ``None`` when done, else why a full build is needed.

    Starts from the standby (the warehouse published before the current one,
    :func:`spse.pipeline.warehouse.publisher.take_standby`), updated in place: what changed in
    the lake since it was built is rebuilt, which costs the same with a month or years of
    history. Without a usable standby (none, an expert still reading it, or built from other
    models or registers), starts from a file copy of the published warehouse.

    When it returns a reason, the caller removes the file and builds in full. A model's SQL
    error raises :class:`WarehouseError` as in a full build.
    """
    published = settings().warehouse
    if not published.exists():
        return "no published warehouse"
    began = time.perf_counter()
    reason = ""
    for start in ("standby", "copy"):
        con = _open_start(context.path, published, start)
        if con is None:
            continue
        try:
            days = _update(con, context)
            con.execute("commit")
            con.execute("checkpoint")
        except _FullRebuild as exc:
            reason = str(exc)
            con.close()
            context.path.unlink(missing_ok=True)
            Path(f"{context.path}.wal").unlink(missing_ok=True)
            continue
        except duckdb.Error as exc:
            raise WarehouseError(f"warehouse incremental build {context.path}: {exc}") from exc
        finally:
            con.close()
        log.info("warehouse built: %s (incremental from the %s, %d day(s) rebuilt, %.2f s)",
                 context.path, "standby" if start == "standby" else "published file's copy", days,
                 time.perf_counter() - began)
        return None
    return reason


def _open_start(path: Path, published: Path, start: str) -> duckdb.DuckDBPyConnection | None:
    """A writable connection to ``path`` holding the standby or a copy of ``published``; None without a standby."""
    if start == "standby":
        if not publisher.take_standby(path):
            return None
        try:
            return builder.connect_build(path)
        except duckdb.IOException as exc:  # an expert's connection still holds the previous file
            log.info("standby warehouse not used (%s): copying the published file", exc)
            path.unlink(missing_ok=True)
            return None
    shutil.copyfile(published, path)
    return builder.connect_build(path)


def _published_info(con: duckdb.DuckDBPyConnection) -> dict:
    tables = {r[0] for r in con.execute("select table_name from duckdb_tables() where schema_name = 'meta'").fetchall()}
    missing = [t for t in _META_TABLES if t not in tables]
    if missing:
        raise _FullRebuild(f"the published warehouse predates incremental builds (no meta.{missing[0]})")
    cursor = con.execute("select * from meta.build_info")
    info = dict(zip([d[0] for d in cursor.description], cursor.fetchone(), strict=True))
    if "sql_sha256" not in info or "inode" not in builder._columns(con, "meta", "lake_partitions"):
        raise _FullRebuild("the published warehouse predates incremental builds")
    return info


def _check_same_inputs(info: dict, context: builder.BuildContext) -> None:
    if info["sql_sha256"] != context.sql_sha256:
        raise _FullRebuild("the SQL models or their sidecars changed (sql_sha256)")
    files = register.files()
    for name in ("thresholds", "parameters"):
        if info[f"{name}_sha256"] != builder._sha256(files[name]):
            raise _FullRebuild(f"the {name} register changed ({files[name]}): the history is recomputed")
    if info["duckdb_version"] != duckdb.__version__:
        raise _FullRebuild(f"DuckDB {info['duckdb_version']} built the published warehouse, "
                           f"this is {duckdb.__version__}")


PartitionFiles = dict[str, dict[str, tuple[str, str, int, int, int]]]


_STATE_COLUMNS = ("dataset", "partition", "path", "kind", "size_bytes", "modified_ns", "inode")


def partition_files(state: pd.DataFrame | list[tuple]) -> PartitionFiles:
    """``{dataset: {partition: (path, kind, size_bytes, modified_ns, inode)}}`` of a lake state.

    ``state``: a :func:`spse.pipeline.warehouse.builder.lake_state`, or rows of
    :data:`_STATE_COLUMNS` (``meta.lake_partitions``).
    """
    rows = zip(*(state[c].tolist() for c in _STATE_COLUMNS), strict=True) if isinstance(state, pd.DataFrame) else state
    found: PartitionFiles = {}
    for dataset, partition, path, kind, size, modified, inode in rows:
        found.setdefault(dataset, {})[partition] = (path, kind, int(size), int(modified), int(inode))
    return found


def changed_partitions(old: PartitionFiles, new: PartitionFiles, datasets: set[str]) -> dict[str, set[str]]:
    """Daily partitions of ``datasets`` added, changed (size, mtime or inode) or deleted between two lake states.

    Raises ``_FullRebuild`` when a reference dataset (``vintage=``) among them changed.
    """
    changed = {}
    for dataset in sorted(datasets):
        before = {p: key[1:] for p, key in old.get(dataset, {}).items()}
        after = {p: key[1:] for p, key in new.get(dataset, {}).items()}
        kinds = {key[0] for key in [*before.values(), *after.values()]}
        if "vintage" in kinds:
            if before != after:
                raise _FullRebuild(f"reference dataset {dataset} changed ({sorted(before)} -> {sorted(after)})")
            continue
        diff = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
        if diff:
            changed[dataset] = diff
    return changed


def unchanged_datasets(old: PartitionFiles, new: PartitionFiles) -> frozenset[str]:
    """Datasets whose partition files (path, size, mtime, inode) are the same in both lake states.

    Their ``lake`` views in the starting file read exactly the files the build would list.
    """
    return frozenset(d for d, files in new.items() if old.get(d) == files)


def unchanged_paths(old: PartitionFiles, new: PartitionFiles) -> dict[str, set[str]]:
    """Each dataset's partition files that are the same (path, size, mtime, inode) in both lake states."""
    return {d: {key[0] for p, key in files.items() if old.get(d, {}).get(p) == key} for d, files in new.items()}


def _dates_of(con: duckdb.DuckDBPyConnection, changed: dict[str, set[str]]) -> dict[str, set[dt.date]]:
    found: dict[str, set[dt.date]] = {dataset: set() for dataset in changed}
    if changed:
        for dataset, date in con.execute("select distinct dataset, date from meta.lake_partition_dates "
                                         f"where {builder.partitions_in(changed)}").fetchall():
            found[dataset].add(date)
    return found


def _update(con: duckdb.DuckDBPyConnection, context: builder.BuildContext) -> int:
    """Update the copy on ``con``; the number of distinct local days rebuilt."""
    info = _published_info(con)
    _check_same_inputs(info, context)
    # committed at once: a copy left by a killed build is incomplete (no build_info), never published
    con.execute("drop table meta.build_info")
    con.execute("begin transaction")  # then one commit, not one per statement (hundreds of COMMENT ON)
    found = context.found
    deps = models.lake_dependencies(found)
    read = set().union(*(deps[m.qualified] for m in found if context.sidecars[m.qualified].kind == "table"))
    old = con.execute("select dataset, partition, path, kind, size_bytes, modified_ns, inode "
                      "from meta.lake_partitions").fetchall()
    stored = {builder.file_key(d, p, s, m, i): (d, p) for d, p, _, _, s, m, i in old}
    old_files = partition_files(old)
    new_files = partition_files(context.state)
    changed = changed_partitions(old_files, new_files, read)
    tracked = set(builder.tracked_datasets(context))
    changed_tracked = {d: p for d, p in changed.items() if d in tracked}
    daily_views: dict[str, bool] = {}
    columns_before = _lake_columns(con)
    builder.create_lake_views(con, context.state, daily_views, keep=unchanged_datasets(old_files, new_files),
                              unchanged_files=unchanged_paths(old_files, new_files))
    columns = _lake_columns(con)
    reshaped = {d for d in columns if columns_before.get(d) != columns[d]}
    before = _dates_of(con, changed_tracked)
    builder.write_partition_dates(con, context, daily_views, full=False, changed=changed_tracked)
    after = _dates_of(con, changed_tracked)
    affected = {d: before[d] | after[d] for d in changed_tracked}
    forced = set(context.forced_days)
    plan, read_days = {}, {}
    for m in context.incremental_marts():
        around = context.sidecars[m.qualified].neighbour_days
        changed_days = set().union(*(affected.get(d, set()) for d in deps[m.qualified]))
        plan[m.qualified] = sorted(forced | _widened(changed_days, around))
        read_days[m.qualified] = tuple(sorted(_widened(set(plan[m.qualified]), around)))
    all_days = sorted(set().union(*plan.values()))
    views = _RestrictedViews(con, context.state, tracked, daily_views, columns,
                             sorted(set().union(*read_days.values())))
    recreated: set[str] = set()  # the register tables stand: the same registers (_check_same_inputs)
    kept: dict[str, list[dt.date]] = {}
    for index, model in enumerate(found):
        sidecar = context.sidecars[model.qualified]
        if sidecar.kind == "view":
            continue
        earlier = {m.qualified for m in found[:index]}
        if not sidecar.incremental:
            if not forced and not deps[model.qualified] & changed.keys():
                if model.layer == "marts":
                    kept[model.qualified] = []  # same models, registers and lake inputs: the same rows
                continue
            views.full(deps[model.qualified])
            builder.run_model(con, model, earlier, [builder.full_statement(model, context.sidecars)])
            recreated.add(model.qualified)
            continue
        days = plan[model.qualified]
        if not days:
            continue
        views.restricted(deps[model.qualified], read_days[model.qualified])
        if deps[model.qualified] & reshaped:  # else the same models, registers and inputs: the same columns
            _check_columns(con, model)
        column, in_days = sidecar.partition_by, builder.date_list(days)
        builder.run_model(con, model, earlier, [
            f"delete from {model.qualified} where {column} in {in_days}",
            f"insert into {model.qualified} select * from (\n{model.select()}\n) where {column} in {in_days}",
        ])
    views.full(set(daily_views))
    builder.document(con, context.root, found, only=recreated)
    rebuilt: dict[str, list[dt.date] | None] = {m.qualified: None for m in found if m.layer == "marts"}
    rebuilt.update(plan)
    rebuilt.update(kept)
    builder.write_mart_partitions(con, context, rebuilt)
    builder.document_meta(con)
    builder.write_meta(con, context.day, context.root, register.files(), context.state, len(found),
                       started=context.started, build_name=context.path.name, sql_sha=context.sql_sha256,
                       mode="incremental", days_rebuilt=len(all_days), stored=stored)
    log.info("incremental build: changed partitions %s; days rebuilt %s",
             {d: sorted(p) for d, p in changed.items()}, [d.isoformat() for d in all_days])
    return len(all_days)


def _widened(days: set[dt.date], around: int) -> set[dt.date]:
    """``days`` and the ``around`` days either side of each."""
    return {d + dt.timedelta(days=k) for d in days for k in range(-around, around + 1)}


def _lake_columns(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[str, str]]]:
    """``{dataset: [(column, type), ...]}`` of the ``lake`` views, in order."""
    columns: dict[str, list[tuple[str, str]]] = {}
    for view, column, type_ in con.execute(
            "select table_name, column_name, data_type from duckdb_columns() where database_name = current_database() "
            "and schema_name = 'lake' order by table_name, column_index").fetchall():
        columns.setdefault(view, []).append((column, type_))
    return columns


class _RestrictedViews:
    """Swaps ``lake.<dataset>`` between its full view and one restricted to the days a mart rebuilds.

    Each incremental mart reads, of the daily datasets incremental marts read (``tracked``),
    only the partitions holding its own days and the rows of those days
    (:func:`spse.pipeline.warehouse.builder.restricted_view_sql`). The full view is renamed
    aside (``<dataset>__full``) rather than re-created: renaming does not re-read every
    partition's Parquet footer as creating it does. ``columns``: the full views' columns and
    types (:func:`_lake_columns`); ``days``: every day any mart reads.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, state: pd.DataFrame, tracked: set[str],
                 daily_views: dict[str, bool], columns: dict[str, list[tuple[str, str]]],
                 days: list[dt.date]) -> None:
        self.con, self.daily_views, self.columns = con, daily_views, columns
        daily = state[state["dataset"].isin(tracked) & (state["kind"] == "date")]
        self.files = {dataset: rows for dataset, rows in daily.groupby("dataset")}
        self.holding: dict[tuple[str, dt.date], set[str]] = {}
        if days:
            for dataset, partition, date in con.execute(
                    "select distinct dataset, partition, date from meta.lake_partition_dates "
                    f"where date in {builder.date_list(days)}").fetchall():
                self.holding.setdefault((dataset, date), set()).add(partition)
        self.current: dict[str, tuple[dt.date, ...]] = {}
        self.statements: dict[tuple[str, tuple[dt.date, ...]], str] = {}

    def restricted(self, datasets: set[str], days: tuple[dt.date, ...]) -> None:
        """Datasets among ``datasets`` that have a restricted view read only ``days``."""
        for dataset in sorted(datasets & self.files.keys()):
            if self.current.get(dataset) == days:
                continue
            if dataset not in self.current:
                self.con.execute(f"alter view lake.{dataset} rename to {dataset}__full")
            self.con.execute(self._statement(dataset, days))
            self.current[dataset] = days

    def _statement(self, dataset: str, days: tuple[dt.date, ...]) -> str:
        if (dataset, days) not in self.statements:
            rows = self.files[dataset]
            held = set().union(*(self.holding.get((dataset, d), set()) for d in days))
            self.statements[(dataset, days)] = builder.restricted_view_sql(
                self.con, dataset, rows[rows["partition"].isin(held)], self.daily_views[dataset],
                self.columns[dataset], list(days))
        return self.statements[(dataset, days)]

    def full(self, datasets: set[str]) -> None:
        """Datasets among ``datasets`` read every partition again."""
        for dataset in sorted(datasets & self.current.keys()):
            self.con.execute(f"drop view lake.{dataset}")
            self.con.execute(f"alter view lake.{dataset}__full rename to {dataset}")
            del self.current[dataset]


def _check_columns(con: duckdb.DuckDBPyConnection, model: models.Model) -> None:
    """Raise ``_FullRebuild`` unless the model's query gives the mart's columns and types, in order."""
    table = con.execute(f"describe {model.qualified}").fetchall()
    query = con.execute(f"describe select * from (\n{model.select()}\n)").fetchall()
    if [(r[0], r[1]) for r in table] != [(r[0], r[1]) for r in query]:
        raise _FullRebuild(f"the columns of {model.qualified} changed")

