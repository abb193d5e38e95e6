"""The lake: raw landing, Parquet partitions and quarantine, all written atomically.

Layout (see docs/architecture.md)::

    raw/<source>/<partition or period>/<sha256[:16]>/<file> (+ <file>.meta.json)
    lake/<dataset>/source=<source>/<partition>/data.parquet   written by a source (a producer)
    lake/<dataset>/<partition>/data.parquet                   derived by the pipeline
    quarantine/<source>/<partition>/rejects.parquet

A partition is ``date=YYYY-MM-DD`` or ``vintage=<label>``. A dataset may have several
producers, each writing its own partitions under ``source=<name>/``; the readers here
(:func:`read_days`, :func:`read_latest`, :func:`read_partition`) return their union with a
``source`` column naming each row's producer (the overlap rule between producers is the
pipeline's, :mod:`spse.pipeline.canonical`). A lake written before producers had their own
folders holds a source's partitions at ``lake/<dataset>/<partition>/``: they are read as the
partitions of the source their ``provenance.json`` names, until that source writes the
partition again in its own folder (the old file is then removed). Every write goes to a
temporary file in the same folder and is renamed into place, so readers never see half a
file and re-running a day replaces its partition instead of appending to it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import itertools
import json
import os
import stat
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, TypeVar

import pandas as pd

if TYPE_CHECKING:
    import pyarrow as pa

from spse.core.columns import QUARANTINE_COLUMNS
from spse.core.config import settings

SOURCE_COLUMN = "source"
_SOURCE_FOLDER = "source="


@dataclass(frozen=True)
class Part:
    """One partition file of a dataset: its producer (``None``: derived), partition name and path.

    ``key`` is its folder under ``lake/<dataset>/`` (``source=<name>/date=...``, or
    ``date=...`` for a derived dataset and a partition of the old layout).
    """

    dataset: str
    source: str | None
    partition: str
    path: Path

    @property
    def key(self) -> str:
        """The partition's folder under ``lake/<dataset>/``."""
        folder = self.path.parent
        producer = folder.parent.name
        return f"{producer}/{folder.name}" if producer.startswith(_SOURCE_FOLDER) else folder.name


class PartFile(NamedTuple):
    """A :class:`Part`'s file as a listing found it, with its ``os.stat``.

    ``path`` is a string and ``key`` the part's :attr:`Part.key`.
    """

    source: str | None
    partition: str
    path: str
    key: str
    stat: os.stat_result


_Listed = TypeVar("_Listed", Part, PartFile)


def in_producer_folder(path: Path | str) -> bool:
    """Whether a partition file lies in a producer's ``source=<name>/`` folder (else: old layout or derived)."""
    return f"/{_SOURCE_FOLDER}" in (path.as_posix() if isinstance(path, Path) else path)


def date_partition(day: dt.date) -> str:
    """The partition name of ``day``, ``date=YYYY-MM-DD`` (the day of the source's file convention)."""
    return f"date={day.isoformat()}"


_SYNC_AT_END = threading.local()  # .written: the files of this thread's synced_at_end block, or None
# .found: {(lake, dataset): {partition (None: all): its Parts}} of this thread's listings_cached block, or None
_LISTINGS = threading.local()


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


@contextlib.contextmanager
def listings_cached() -> Iterator[None]:
    """Within: :func:`parts` lists each dataset's folder once; a :func:`write_partition` of this thread lists it again.

    For a long reader that asks the same questions day after day (a backfill's alert stage asks,
    for every day, which partitions each source has): it must be the lake's only writer meanwhile
    (the writer lock), since partitions another process writes stay unseen until the block ends.
    """
    outer = getattr(_LISTINGS, "found", None)
    _LISTINGS.found = {} if outer is None else outer
    try:
        yield
    finally:
        _LISTINGS.found = outer


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


def write_parquet_atomic(path: Path, frame: pd.DataFrame | pa.Table) -> None:
    """Write ``frame`` (without its index) to ``path`` as Parquet, atomically (see :func:`write_bytes_atomic`).

    An Arrow table is written as it is (the pandas schema metadata it carries included).
    """
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        if isinstance(frame, pd.DataFrame):
            frame.to_parquet(tmp, index=False)
        else:
            pq.write_table(frame, tmp, compression="snappy")
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


def partition_path(dataset: str, partition: str, source: str | None = None) -> Path:
    """Path of a partition's Parquet file: ``lake/<dataset>/source=<source>/<partition>/data.parquet``.

    Without ``source``: ``lake/<dataset>/<partition>/data.parquet`` (derived datasets).
    """
    folder = settings().lake / dataset
    if source is not None:
        folder = folder / f"{_SOURCE_FOLDER}{source}"
    return folder / partition / "data.parquet"


def write_partition(dataset: str, partition: str, frame: pd.DataFrame | pa.Table, source: str | None = None) -> Path:
    """Replace ``source``'s partition of ``dataset`` (derived: the partition) with ``frame``, atomically.

    A file of the same source and partition in the old layout (:mod:`spse.pipeline.lake`) is
    removed once the new one is in place. Returns the path written.
    """
    path = partition_path(dataset, partition, source)
    write_parquet_atomic(path, frame)
    _drop_old_layout(dataset, partition, source)
    listed = getattr(_LISTINGS, "found", None)
    if listed is not None:
        listed.pop((settings().lake, dataset), None)
    return path


def file_stamp(path: Path) -> tuple[int, int, int] | None:
    """Size, modification time [ns] and inode of a lake file; ``None`` when it is absent.

    The lake replaces a file by renaming a new one over it, so a rewritten file has a new stamp
    even when its size and time are the same.
    """
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ino


def write_day_partitions(dataset: str, frame: pd.DataFrame, days: list[dt.date]) -> dict[dt.date, int]:
    """Write the rows of each local day of ``days`` (``frame``'s ``date`` column) to its ``date=`` partition.

    A derived dataset only. The frame goes to Arrow once and each day's rows, in the frame's order,
    are slices of it: the files are those :func:`write_partition` writes day by day, without a
    pandas frame per day. A day without rows gets an empty partition. Returns the rows per day.
    A day's rows lying in a few runs (:func:`spse.methods.stats.days_frame`) are written from
    those runs, not copied (a million texts a month of surfaces).
    """
    import numpy as np
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False)
    epoch_days = table["date"].cast(pa.int32()).to_numpy(zero_copy_only=False)
    order = np.argsort(epoch_days, kind="stable")
    wanted = np.array([(day - dt.date(1970, 1, 1)).days for day in days])
    sorted_days = epoch_days[order]
    starts, stops = np.searchsorted(sorted_days, wanted, "left"), np.searchsorted(sorted_days, wanted, "right")
    breaks = np.flatnonzero(np.diff(order) != 1) + 1  # where the sorted rows stop following the frame's order
    copy = len(breaks) > len(order) // RUN_ROWS
    if copy:
        table = table.take(pa.array(order))
    written = {}
    for day, start, stop in zip(days, starts, stops, strict=True):
        if copy or start == stop:
            rows = table.slice(start, stop - start)
        else:
            cuts = [start, *breaks[(breaks > start) & (breaks < stop)].tolist(), stop]
            rows = pa.concat_tables([table.slice(order[a], b - a) for a, b in itertools.pairwise(cuts)])
        write_partition(dataset, date_partition(day), rows)
        written[day] = int(stop - start)
    return written


# Rows per run below which a day's rows are copied in order rather than written from their runs.
RUN_ROWS = 64


def write_partition_if_changed(dataset: str, partition: str, frame: pd.DataFrame, source: str | None = None) -> bool:
    """Write the partition only when its rows differ from the file there; whether it was written.

    A derived reference (the grid and its crosswalks) rebuilt from unchanged inputs keeps its
    file, so the warehouse sees no change and rebuilds nothing from it; so does a source's
    station list written again with the same stations.
    """
    path = partition_path(dataset, partition, source)
    if path.exists():
        try:
            same = pd.read_parquet(path).reset_index(drop=True).equals(frame.reset_index(drop=True))
        except (OSError, ValueError):
            same = False
        if same:
            return False
    write_partition(dataset, partition, frame, source)
    return True


def _drop_old_layout(dataset: str, partition: str, source: str | None) -> None:
    if source is None:
        return
    old = partition_path(dataset, partition)
    if old.exists() and _old_layout_source(old) == source:
        old.unlink()
        old.with_name("provenance.json").unlink(missing_ok=True)


def _old_layout_source(path: Path | str) -> str | None:
    """The source an old-layout partition file came from: its ``provenance.json``'s ``source``, else ``None``."""
    try:
        with open(os.path.join(os.path.dirname(path), "provenance.json"), encoding="utf-8") as fh:
            return json.load(fh).get("source")
    except (OSError, ValueError):
        return None


def parts(dataset: str, source: str | None = None, partition: str | None = None) -> list[Part]:
    """Every partition file of ``dataset`` (of ``source``, of ``partition`` when given), sorted by partition, source.

    Old-layout files are attributed to the source of their ``provenance.json`` and hidden
    by a file of the same source and partition in the producer's folder.
    """
    listed = getattr(_LISTINGS, "found", None)
    if listed is None:
        return _listed(dataset, source, partition)
    key = (settings().lake, dataset)
    if key not in listed:
        listed[key] = {None: _listed(dataset)}
        for part in listed[key][None]:
            listed[key].setdefault(part.partition, []).append(part)
    return [p for p in listed[key].get(partition, []) if source is None or p.source == source]


def _listed(dataset: str, source: str | None = None, partition: str | None = None) -> list[Part]:
    return [Part(dataset, f.source, f.partition, Path(f.path)) for f in _scan(dataset, source, partition)]


def read_files(dataset: str, sourced: bool = True) -> tuple[bool, list[PartFile]]:
    """Whether ``dataset`` is daily, and the files a reader of it reads, listed now with one ``stat`` each.

    Every ``date=`` partition of a daily dataset (one with any), each producer's latest
    partition of a reference one (:func:`latest_parts`). Never from a cached listing: a
    warehouse build lists the whole lake (2 600 files a year of a dozen daily datasets) to find
    what changed. ``sourced=False``: no source writes ``dataset`` (a derived one), so its files
    are not looked up as old-layout files of a source (:func:`_scan`).
    """
    found = _scan(dataset, old_layout=sourced)
    daily = any(f.partition.startswith("date=") for f in found)
    return daily, [f for f in found if f.partition.startswith("date=")] if daily else _latest_by_source(found)


def _scan(dataset: str, source: str | None = None, partition: str | None = None,
          old_layout: bool = True) -> list[PartFile]:
    """:func:`parts` of ``dataset`` as :class:`PartFile` (os.scandir and plain strings: a build lists them all).

    ``old_layout=False`` (a dataset no source writes) attributes files outside ``source=``
    folders to no producer without opening their ``provenance.json``, unless the dataset has
    ``source=`` folders: opening the missing file costs a derived dataset as much as its ``stat``.
    """
    root = os.path.join(settings().lake, dataset)
    try:
        folders = [e.name for e in os.scandir(root) if e.is_dir()]
    except (FileNotFoundError, NotADirectoryError):
        return []
    found = {}
    for name in folders:
        producer = name.removeprefix(_SOURCE_FOLDER)
        if not name.startswith(_SOURCE_FOLDER) or (source is not None and producer != source):
            continue
        folder = os.path.join(root, name)
        children = [partition] if partition is not None else [e.name for e in os.scandir(folder) if e.is_dir()]
        for child in children:
            path = f"{folder}/{child}/data.parquet"
            st = _file_stat(path)
            if st is not None:
                found[(producer, child)] = PartFile(producer, child, path, f"{name}/{child}", st)
    attributed = old_layout or any(name.startswith(_SOURCE_FOLDER) for name in folders)
    for name in folders:
        if name.startswith(_SOURCE_FOLDER) or (partition is not None and name != partition):
            continue
        path = f"{root}/{name}/data.parquet"
        st = _file_stat(path)
        if st is None:
            continue
        producer = _old_layout_source(path) if attributed else None
        if source is None or producer == source:
            found.setdefault((producer, name), PartFile(producer, name, path, name, st))
    return sorted(found.values(), key=lambda f: (f.partition, f.source or ""))


def _file_stat(path: str) -> os.stat_result | None:
    """``os.stat`` of ``path`` when it is a regular file, else ``None``."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st if stat.S_ISREG(st.st_mode) else None


def parts_in(dataset: str, partitions: Iterable[str]) -> list[Part]:
    """:func:`parts` of ``dataset`` in ``partitions`` only, sorted by partition, source.

    Looks up each partition of each producer instead of listing the dataset's every partition,
    so that a reader of a few days costs the same with a year or ten of history.
    """
    wanted = sorted(set(partitions))
    if getattr(_LISTINGS, "found", None) is not None:
        return [p for partition in wanted for p in parts(dataset, partition=partition)]
    root = settings().lake / dataset
    if not root.exists():
        return []
    with os.scandir(root) as entries:
        producers = sorted(e.name for e in entries if e.name.startswith(_SOURCE_FOLDER) and e.is_dir())
    found = {}
    for partition in wanted:
        for folder in producers:
            path = root / folder / partition / "data.parquet"
            if path.is_file():
                name = folder.removeprefix(_SOURCE_FOLDER)
                found[(name, partition)] = Part(dataset, name, partition, path)
        path = root / partition / "data.parquet"
        if path.is_file():
            name = _old_layout_source(path)
            found.setdefault((name, partition), Part(dataset, name, partition, path))
    return sorted(found.values(), key=lambda p: (p.partition, p.source or ""))


def sources(dataset: str) -> list[str]:
    """The producers with at least one partition of ``dataset``, sorted."""
    return sorted({p.source for p in parts(dataset) if p.source is not None})


def provenance_path(dataset: str, partition: str, source: str | None = None) -> Path:
    """The ``provenance.json`` of a partition (beside its file; old layout: beside the old file)."""
    chosen = parts(dataset, source, partition)
    path = chosen[0].path if chosen else partition_path(dataset, partition, source)
    return path.with_name("provenance.json")


def write_quarantine(source: str, partition: str, rejects: pd.DataFrame) -> Path | None:
    """Replace the partition's quarantine file; remove it when nothing was rejected."""
    path = settings().quarantine / source / partition / "rejects.parquet"
    if rejects.empty:
        path.unlink(missing_ok=True)
        return None
    write_parquet_atomic(path, rejects[QUARANTINE_COLUMNS])
    return path


def partitions(dataset: str, source: str | None = None) -> list[str]:
    """Names of the partitions of ``dataset`` (any producer, or ``source``'s) that hold a file, sorted."""
    return sorted({p.partition for p in parts(dataset, source)})


def has_partition(dataset: str, partition: str, source: str | None = None) -> bool:
    """Whether the lake holds the partition ``partition`` of ``dataset`` (from any producer, or ``source``)."""
    return bool(parts(dataset, source, partition))


def latest_partition(dataset: str, source: str | None = None) -> str | None:
    """The last partition of ``dataset`` (of ``source``) in name order (latest day or vintage), or ``None``."""
    found = partitions(dataset, source)
    return found[-1] if found else None


def count_rows(dataset: str, partition: str, source: str | None = None) -> int:
    """Rows of one partition (every producer's, or ``source``'s), from the Parquet footers (the data is not read)."""
    import pyarrow.parquet as pq

    return sum(pq.read_metadata(p.path).num_rows for p in parts(dataset, source, partition))


_READ_CACHE = threading.local()  # .frames: path, size, mtime → frame read in this thread's cached_reads block; .keep


@contextlib.contextmanager
def cached_reads(frames: dict | None = None, keep: int | None = None) -> Iterator[None]:
    """Within: :func:`read_parts` reads a file once and hands out copies (keyed by path, size and mtime).

    For a loop over consecutive days that each read the day before and after (the backfill's
    noise step reads every partition three times); the cache is dropped on leaving, unless
    the caller gives its own ``frames`` dict to keep it from one block to the next. ``keep``:
    at most that many files stay, the least recently read one leaving first.
    """
    outer = getattr(_READ_CACHE, "frames", None), getattr(_READ_CACHE, "keep", None)
    _READ_CACHE.frames, _READ_CACHE.keep = ({} if frames is None else frames), keep
    try:
        yield
    finally:
        _READ_CACHE.frames, _READ_CACHE.keep = outer


def _read_parquet(path: Path) -> pd.DataFrame:
    cache = getattr(_READ_CACHE, "frames", None)
    if cache is None:
        return _parquet_frame(path)
    stat = path.stat()
    key = (path, stat.st_size, stat.st_mtime_ns)
    frame = cache.pop(key) if key in cache else _parquet_frame(path)
    cache[key] = frame
    keep = getattr(_READ_CACHE, "keep", None)
    while keep is not None and len(cache) > keep:
        del cache[next(iter(cache))]
    return frame.copy()


def _parquet_frame(path: Path) -> pd.DataFrame:
    """The frame ``pandas.read_parquet`` gives for one file, read without a dataset around it (1-2 ms less a file)."""
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as file:
        return file.read().to_pandas()


def read_parts(chosen: list[Part]) -> pd.DataFrame:
    """Stack the files of ``chosen``; rows of a producer get its name in ``source`` when the file lacks it."""
    frames = []
    for part in chosen:
        frame = _read_parquet(part.path)
        if part.source is not None and SOURCE_COLUMN not in frame.columns:
            frame[SOURCE_COLUMN] = pd.Series(part.source, index=frame.index, dtype="string")
        frames.append(frame)
    if not frames:
        return pd.DataFrame()
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def read_partition(dataset: str, partition: str, source: str | None = None) -> pd.DataFrame:
    """Read one partition of ``dataset``: every producer's rows (or ``source``'s); ``FileNotFoundError`` if none."""
    chosen = parts(dataset, source, partition)
    if not chosen:
        raise FileNotFoundError(partition_path(dataset, partition, source))
    return read_parts(chosen)


def latest_parts(dataset: str) -> list[Part]:
    """Each producer's latest partition of ``dataset`` (reference datasets: each one's latest vintage)."""
    return _latest_by_source(parts(dataset))


def _latest_by_source(found: list[_Listed]) -> list[_Listed]:
    """The last of ``found`` (sorted by partition) of each producer, by producer."""
    latest = {item.source: item for item in found}
    return sorted(latest.values(), key=lambda item: item.source or "")


def read_latest(dataset: str) -> pd.DataFrame:
    """Read the latest partition of each producer of ``dataset`` (reference datasets: the latest vintages).

    Raises ``FileNotFoundError`` naming the dataset and the lake folder when it has none.
    """
    chosen = latest_parts(dataset)
    if not chosen:
        raise FileNotFoundError(f"lake dataset {dataset!r} has no partition under {settings().lake}")
    return read_parts(chosen)


def read_days(dataset: str, days: list[dt.date]) -> pd.DataFrame:
    """Concatenate the ``date=`` partitions among ``days``, of every producer."""
    return read_parts([p for d in days for p in parts(dataset, partition=date_partition(d))])
