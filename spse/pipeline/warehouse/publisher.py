"""Publish a built warehouse file by atomic rename, and keep the build folder small.

``os.replace`` swaps the directory entry in one step: an expert's open read-only
connection keeps reading the file it opened (the old inode stays alive until closed),
and every new connection opens the new file. A failed run never reaches this step, so
the last good file stays published.

The file it replaces is kept as ``warehouse/build/standby.duckdb`` (a hard link to the old
inode) when the new build is an incremental one that rebuilt few days: the next incremental
build updates it in place instead of copying the published file (:func:`take_standby`),
which makes adding a day independent of the warehouse's size.

Newer wins: under the writer lock (:mod:`spse.pipeline.locking`), a build whose
``meta.build_info.build_started_utc`` is older than the published file's is not published
(two runs at once, or a retried task, must not bring back an older state of the lake).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from spse.core.config import settings
from spse.core.errors import WarehouseError

log = logging.getLogger(__name__)

KEEP_OLD_BUILDS = 2
# A standby further behind than this many rebuilt days is dropped: copying the published file is
# cheaper. A daily run rebuilds about 8 (the day, the day before, their neighbours for
# air_hourly_overlaps, the ends of the current month, season and year); on the demo year, its
# build from the standby took 1.80-1.87 s, against 1.98-2.06 s from a copy (paired, 3 runs each).
STANDBY_MAX_DAYS = 14
_BUILD_NAME = re.compile(r"^spse-(\d{8}T\d{6}\d*Z)-(\d+)\.duckdb$")


@dataclass(frozen=True)
class Published:
    """What :func:`publish_build` did.

    ``path`` is the published warehouse either way; ``replaced`` is False when the build was
    older than it (``reason`` says why).
    """

    path: Path
    build: Path
    replaced: bool
    reason: str = ""


def publish(build_path: Path) -> Path:
    """:func:`publish_build` and return the published warehouse's path."""
    return publish_build(build_path).path


def publish_build(build_path: Path) -> Published:
    """Checkpoint and close ``build_path``, then atomically replace the published warehouse.

    When the published one was built from a later start, it is kept instead: the build stays
    in ``warehouse/build/``, which is logged and said in the result.

    Refuses a file that has no ``meta.build_info`` (an incomplete build). Keeps at most
    ``KEEP_OLD_BUILDS`` older files in ``warehouse/build/``. Runs under the writer lock.
    """
    from spse.pipeline import locking

    build_path = Path(build_path)
    target = settings().warehouse
    with locking.writer_lock(f"publish {build_path.name}"):
        if not build_path.exists():
            if target.exists() and _build_info(target).get("build_name") == build_path.name:
                reason = f"build {build_path.name} is already the published warehouse (a retried publish)"
                log.info("%s", reason)
                return Published(target, build_path, replaced=False, reason=reason)
            raise FileNotFoundError(f"warehouse build file {build_path} does not exist")
        started, close_to_published = _checkpoint(build_path)
        current = build_started(target) if target.exists() else None
        if current is not None and started < current:
            reason = (f"build {build_path.name} started at {started.isoformat()}, before the published warehouse's "
                      f"build ({current.isoformat()}): the published warehouse is newer and stays")
            log.warning("warehouse NOT published: %s", reason)
            return Published(target, build_path, replaced=False, reason=reason)
        _fsync(build_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        # A WAL beside the published name would be replayed into the new file: it can only come
        # from someone who opened the published file read-write, which the contract forbids.
        Path(f"{target}.wal").unlink(missing_ok=True)
        _keep_as_standby(target if target.exists() and close_to_published else None)
        os.replace(build_path, target)
        _fsync(target.parent)
        Path(f"{build_path}.wal").unlink(missing_ok=True)
        prune_builds()
    log.info("warehouse published: %s (build started %s)", target, started.isoformat())
    return Published(target, build_path, replaced=True)


def standby_path() -> Path:
    """The previously published warehouse file, kept for the next incremental build to update in place."""
    return settings().warehouse_dir / "build" / "standby.duckdb"


def _keep_as_standby(published: Path | None) -> None:
    """Make ``published`` (about to be replaced) the standby; ``None`` drops the standby."""
    standby = standby_path()
    standby.parent.mkdir(parents=True, exist_ok=True)
    standby.unlink(missing_ok=True)
    Path(f"{standby}.wal").unlink(missing_ok=True)
    if published is None:
        return
    try:
        os.link(published, standby)
    except OSError as exc:  # no hard links here: the next build copies the published file
        log.info("no standby warehouse kept (%s): the next incremental build copies the published file", exc)


def take_standby(path: Path) -> bool:
    """Move the standby warehouse to ``path`` for an incremental build; False when there is none.

    The standby is the warehouse published before the current one: a complete, checkpointed
    build that nothing writes. A connection opened before it was replaced may still read it:
    in this process, it is not taken (False, the file is dropped; the reader keeps its inode);
    in another, DuckDB's file lock refuses the build's writable connection. Either way the
    build copies the published file instead (:mod:`spse.pipeline.warehouse.incremental`).
    """
    standby = standby_path()
    Path(f"{standby}.wal").unlink(missing_ok=True)
    try:
        os.replace(standby, path)
    except FileNotFoundError:
        return False
    if _open_in_this_process(path):
        path.unlink()
        return False
    return True


def _open_in_this_process(path: Path) -> bool:
    """Whether a file descriptor of this process reads ``path``'s inode (True when it cannot tell).

    DuckDB's file locks are per process: they do not keep a connection of this process from
    writing a file another connection of it has open.
    """
    descriptors = Path("/proc/self/fd")
    if not descriptors.is_dir():
        return True
    target = path.stat()
    for fd in descriptors.iterdir():
        try:
            st = fd.stat()
        except OSError:
            continue
        if (st.st_ino, st.st_dev) == (target.st_ino, target.st_dev):
            return True
    return False


def _checkpoint(build_path: Path) -> tuple[dt.datetime, bool]:
    """Checkpoint a complete build; its ``build_started_utc``, and whether it differs little from the published.

    Little: an incremental build that rebuilt at most ``STANDBY_MAX_DAYS`` days. Only then is
    the published file worth keeping as the standby (after a backfill, updating it would
    rebuild the whole backfill again).
    """
    con = duckdb.connect(str(build_path))
    try:
        complete = con.execute("select count(*) from duckdb_tables() "
                               "where schema_name = 'meta' and table_name = 'build_info'").fetchone()[0]
        if not complete:
            raise WarehouseError(f"warehouse build {build_path} is incomplete (no meta.build_info): not published")
        con.execute("checkpoint")
        columns = {row[0] for row in con.execute("describe meta.build_info").fetchall()}
        close = False
        if {"build_mode", "days_rebuilt"} <= columns:
            mode, days = con.execute("select build_mode, days_rebuilt from meta.build_info").fetchone()
            close = mode == "incremental" and days is not None and days <= STANDBY_MAX_DAYS
        return _started(con, "meta.build_info"), close
    finally:
        con.close()


def build_started(path: Path) -> dt.datetime | None:
    """When the build of the warehouse file ``path`` started (UTC); ``None`` without ``meta.build_info``.

    ``build_started_utc``, or ``built_at_utc`` for files built before that column existed.
    """
    info = _build_info(path)
    value = info.get("build_started_utc", info.get("built_at_utc"))
    return value.astimezone(dt.UTC) if value is not None else None


def _build_info(path: Path) -> dict:
    """The row of ``meta.build_info`` of the warehouse file ``path`` (read-only); ``{}`` without it."""
    from spse.pipeline.warehouse.reader import CATALOG, connect_readonly

    con = connect_readonly(path)
    try:
        found = con.execute("select count(*) from duckdb_tables() where database_name = ? "
                            "and schema_name = 'meta' and table_name = 'build_info'", [CATALOG]).fetchone()[0]
        if not found:
            return {}
        cursor = con.execute(f"select * from {CATALOG}.meta.build_info")
        return dict(zip([d[0] for d in cursor.description], cursor.fetchone(), strict=True))
    finally:
        con.close()


def _started(con: duckdb.DuckDBPyConnection, table: str) -> dt.datetime:
    columns = {row[0] for row in con.execute(f"describe {table}").fetchall()}
    column = "build_started_utc" if "build_started_utc" in columns else "built_at_utc"
    value = con.execute(f"select {column} from {table}").fetchone()[0]
    return value.astimezone(dt.UTC)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def prune_builds(keep: int = KEEP_OLD_BUILDS) -> list[Path]:
    """Delete all but the ``keep`` newest leftover build files (failed or unpublished runs).

    Files of another live process are never touched: that process may still be building.
    Returns the deleted paths.
    """
    folder = settings().warehouse_dir / "build"
    if not folder.exists():
        return []
    leftovers = []
    for path in folder.glob("spse-*.duckdb"):
        match = _BUILD_NAME.match(path.name)
        if match and not _alive(int(match.group(2))):
            leftovers.append((match.group(1), path))
    doomed = [path for _, path in sorted(leftovers, reverse=True)[keep:]]
    for path in doomed:
        path.unlink(missing_ok=True)
        Path(f"{path}.wal").unlink(missing_ok=True)
    return doomed
