"""Publish a built warehouse file by atomic rename, and keep the build folder small.

``os.replace`` swaps the directory entry in one step: an expert's open read-only
connection keeps reading the file it opened (the old inode stays alive until closed),
and every new connection opens the new file. A failed run never reaches this step, so
the last good file stays published.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import duckdb

from spse.config import settings
from spse.warehouse.models import WarehouseError

log = logging.getLogger(__name__)

KEEP_OLD_BUILDS = 2
_BUILD_NAME = re.compile(r"^spse-(\d{8}T\d{6}\d*Z)-(\d+)\.duckdb$")


def publish(build_path: Path) -> Path:
    """Checkpoint and close ``build_path``, then atomically replace the published warehouse.

    Returns ``settings().warehouse``. Refuses a file that has no ``meta.build_info`` (an
    incomplete build). Keeps at most ``KEEP_OLD_BUILDS`` older files in ``warehouse/build/``.
    """
    build_path = Path(build_path)
    if not build_path.exists():
        raise FileNotFoundError(f"warehouse build file {build_path} does not exist")
    con = duckdb.connect(str(build_path))
    try:
        complete = con.execute("select count(*) from duckdb_tables() "
                               "where schema_name = 'meta' and table_name = 'build_info'").fetchone()[0]
        if not complete:
            raise WarehouseError(f"warehouse build {build_path} is incomplete (no meta.build_info): not published")
        con.execute("checkpoint")
    finally:
        con.close()
    _fsync(build_path)
    target = settings().warehouse
    target.parent.mkdir(parents=True, exist_ok=True)
    # A WAL beside the published name would be replayed into the new file: it can only come
    # from someone who opened the published file read-write, which the contract forbids.
    Path(f"{target}.wal").unlink(missing_ok=True)
    os.replace(build_path, target)
    _fsync(target.parent)
    Path(f"{build_path}.wal").unlink(missing_ok=True)
    prune_builds()
    log.info("warehouse published: %s", target)
    return target


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
