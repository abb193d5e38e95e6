"""Publish a built warehouse file by atomic rename, and keep the build folder small.

``os.replace`` swaps the directory entry in one step: an expert's open read-only
connection keeps reading the file it opened (the old inode stays alive until closed),
and every new connection opens the new file. A failed run never reaches this step, so
the last good file stays published.

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
        started = _checkpoint(build_path)
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
        os.replace(build_path, target)
        _fsync(target.parent)
        Path(f"{build_path}.wal").unlink(missing_ok=True)
        prune_builds()
    log.info("warehouse published: %s (build started %s)", target, started.isoformat())
    return Published(target, build_path, replaced=True)


def _checkpoint(build_path: Path) -> dt.datetime:
    """Checkpoint a complete build and return its ``build_started_utc``."""
    con = duckdb.connect(str(build_path))
    try:
        complete = con.execute("select count(*) from duckdb_tables() "
                               "where schema_name = 'meta' and table_name = 'build_info'").fetchone()[0]
        if not complete:
            raise WarehouseError(f"warehouse build {build_path} is incomplete (no meta.build_info): not published")
        con.execute("checkpoint")
        return _started(con, "meta.build_info")
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
