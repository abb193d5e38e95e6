"""The lake: raw landing, Parquet partitions and quarantine, all written atomically.

Layout (see docs/architecture.md)::

    raw/<source>/<partition or period>/<sha256[:16]>/<file> (+ <file>.meta.json)
    lake/<dataset>/<partition>/data.parquet
    quarantine/<source>/<partition>/rejects.parquet

A partition is ``date=YYYY-MM-DD`` or ``vintage=<label>``. Every write goes to a
temporary file in the same folder and is renamed into place, so readers never see half a
file and re-running a day replaces its partition instead of appending to it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from spse.core.config import settings

QUARANTINE_COLUMNS = ["source", "file", "row", "reason", "raw"]


def date_partition(day: dt.date) -> str:
    """The partition name of ``day``, ``date=YYYY-MM-DD`` (the day of the source's file convention)."""
    return f"date={day.isoformat()}"


_SYNC_AT_END = threading.local()  # .written: the files of this thread's synced_at_end block, or None


@contextlib.contextmanager
def synced_at_end() -> Iterator[None]:
    """Within: :func:`write_bytes_atomic` does not fsync each file as it writes it; leaving, they are all fsynced.

    For bulk writers (a backfill's ingest lands a dozen small files per source and day): the
    first fsync commits the file system's journal for every file written before it, so the
    others cost little, where one fsync per write waits for one commit each. A machine crash
    inside the block may lose files written in it (a Parquet partition is never fsynced
    either); re-running the block writes them again.
    """
    outer = getattr(_SYNC_AT_END, "written", None)
    written: list[Path] = []
    _SYNC_AT_END.written = written
    try:
        yield
    finally:
        _SYNC_AT_END.written = outer
        for path in dict.fromkeys(written):
            with contextlib.suppress(FileNotFoundError), path.open("rb") as fh:
                os.fsync(fh.fileno())


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, fsynced then renamed.

    Readers see the old file or the new one, never half of it; the temporary file is removed
    when the write fails. Inside :func:`synced_at_end` the fsync waits for the end of the block.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            deferred = getattr(_SYNC_AT_END, "written", None)
            if deferred is None:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
        if deferred is not None:
            deferred.append(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_parquet_atomic(path: Path, frame: pd.DataFrame) -> None:
    """Write ``frame`` (without its index) to ``path`` as Parquet, atomically (see :func:`write_bytes_atomic`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def land_raw(source: str, partition: str, filename: str, data: bytes, meta: dict) -> Path:
    """Keep the bytes exactly as received, never overwritten, with URL, fetch time and SHA-256.

    Files are content-addressed (``raw/<source>/<partition>/<sha256[:16]>/<name>``), so a
    file that upstream rewrites keeps every received version and a version received again
    is not written again; ``latest_raw_meta`` points at the last one (used for conditional
    requests). ``partition`` is the lake partition, or the period (``year=2026``) of a file
    that covers many days, landed once for all of them.
    """
    sha = hashlib.sha256(data).hexdigest()
    folder = settings().raw / source / partition
    path = folder / sha[:16] / Path(filename).name
    record = {**meta, "sha256": sha, "size_bytes": len(data), "file": filename, "raw_path": str(path)}
    if not path.exists():
        write_bytes_atomic(path, data)
        write_bytes_atomic(path.with_name(path.name + ".meta.json"), json.dumps(record, indent=2).encode())
    write_bytes_atomic(_latest_meta_path(source, partition, filename), json.dumps(record, indent=2).encode())
    return path


def _latest_meta_path(source: str, partition: str, filename: str) -> Path:
    return settings().raw / source / partition / (filename.replace("/", "__") + ".latest.json")


def latest_raw_meta(source: str, partition: str, filename: str) -> dict | None:
    """Metadata of the last raw file landed for ``filename`` in this partition, if any."""
    path = _latest_meta_path(source, partition, filename)
    return json.loads(path.read_text()) if path.exists() else None


def partition_path(dataset: str, partition: str) -> Path:
    """Path of a lake partition's Parquet file, ``lake/<dataset>/<partition>/data.parquet``."""
    return settings().lake / dataset / partition / "data.parquet"


def write_partition(dataset: str, partition: str, frame: pd.DataFrame) -> Path:
    """Replace the partition of ``dataset`` with ``frame``, atomically; return its path."""
    path = partition_path(dataset, partition)
    write_parquet_atomic(path, frame)
    return path


def write_partition_if_changed(dataset: str, partition: str, frame: pd.DataFrame) -> bool:
    """Write the partition only when its rows differ from the file there; whether it was written.

    A derived reference (the grid and its crosswalks) rebuilt from unchanged inputs keeps its
    file, so the warehouse sees no change and rebuilds nothing from it.
    """
    path = partition_path(dataset, partition)
    if path.exists():
        try:
            same = pd.read_parquet(path).reset_index(drop=True).equals(frame.reset_index(drop=True))
        except (OSError, ValueError):
            same = False
        if same:
            return False
    write_parquet_atomic(path, frame)
    return True


def write_quarantine(source: str, partition: str, rejects: pd.DataFrame) -> Path | None:
    """Replace the partition's quarantine file; remove it when nothing was rejected."""
    path = settings().quarantine / source / partition / "rejects.parquet"
    if rejects.empty:
        path.unlink(missing_ok=True)
        return None
    write_parquet_atomic(path, rejects[QUARANTINE_COLUMNS])
    return path


def partitions(dataset: str) -> list[str]:
    """Names of the partitions of ``dataset`` that hold a Parquet file, sorted (oldest first)."""
    root = settings().lake / dataset
    if not root.exists():
        return []
    return sorted(p.parent.name for p in root.glob("*/data.parquet"))


def has_partition(dataset: str, partition: str) -> bool:
    """Whether the lake holds the partition ``partition`` of ``dataset``."""
    return partition_path(dataset, partition).exists()


def latest_partition(dataset: str) -> str | None:
    """The last partition of ``dataset`` in name order (latest day or vintage), or ``None``.

    Lists the folder names and checks the files from the last one back (one ``stat`` when it
    holds its file), not every partition of a long history.
    """
    root = settings().lake / dataset
    if not root.exists():
        return None
    for name in sorted(os.listdir(root), reverse=True):
        if (root / name / "data.parquet").exists():
            return name
    return None


def count_rows(dataset: str, partition: str) -> int:
    """Rows of one partition, from its Parquet footer (the data is not read)."""
    import pyarrow.parquet as pq

    return pq.read_metadata(partition_path(dataset, partition)).num_rows


def read_partition(dataset: str, partition: str) -> pd.DataFrame:
    """Read one partition of ``dataset``; ``FileNotFoundError`` when it is absent."""
    return pd.read_parquet(partition_path(dataset, partition))


def read_latest(dataset: str) -> pd.DataFrame:
    """Read the latest partition of ``dataset`` (reference datasets: the latest vintage).

    Raises ``FileNotFoundError`` naming the dataset and the lake folder when it has none.
    """
    partition = latest_partition(dataset)
    if partition is None:
        raise FileNotFoundError(f"lake dataset {dataset!r} has no partition under {settings().lake}")
    return read_partition(dataset, partition)


def read_days(dataset: str, days: list[dt.date]) -> pd.DataFrame:
    """Concatenate the ``date=`` partitions that exist among ``days``."""
    frames = [read_partition(dataset, date_partition(d)) for d in days if has_partition(dataset, date_partition(d))]
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True)
