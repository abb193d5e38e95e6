"""The stations' daily and hourly rows behind the period indicators, held per month in the lake.

The period step computes the stations' year, season and month indicators from the
``station_daily`` rows of the period's days and the ``air_hourly`` rows of those days (and a day
either side). Reading them from the lake costs one file per day and producer, so a December
day read about 730 files. This store keeps, per dataset and calendar month, the rows the period
step reads of each day's files, as they come out of DuckDB (the same columns, types and order):

* ``station_daily``: :data:`COLUMNS` ``["station_daily"]`` of every row;
* ``air_hourly``: :data:`COLUMNS` ``["air_hourly"]`` of every row, and ``source``, the producer
  of its file (from its ``source=`` folder, or the listing for an old-layout file), so that the
  overlap rule (:mod:`spse.pipeline.canonical`) is applied when a period is read, as
  :func:`spse.pipeline.canonical.files_sql` applies it to the files;

each row with ``store_day``, the day of its partition. The file's Arrow metadata records, per
day, the files read: producer, path under the lake, size, modification time and inode (a lake
file is replaced by renaming a new one over it: a new inode).

:func:`refresh` compares each day's files with the lake's listing and rereads only the days
whose files are new, replaced or gone (a daily run: its day; a missing store: its month, one
read), so the store always holds what the lake's files hold.

Layout: ``lake/period_station/daily_inputs/<dataset>/month=<YYYY-MM>.arrow`` (Arrow IPC file,
uncompressed, replaced atomically; with the demo's 15 stations about 1.6 MB a month of
hourly rows and 0.3 MB of daily rows); the lake's partition listing and the
warehouse skip it (no ``data.parquet``).
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterable
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from spse.core.config import settings
from spse.pipeline import canonical, lake, periodstore

COLUMNS = {
    "station_daily": "station_id, station_class, pollutant, statistic, date, value, is_valid, time_base",
    "air_hourly": "station_id, station_class, pollutant, ts_start_utc, value, is_valid",
}
DAY = "store_day"
_META = b"spse_files"


def store_path(dataset: str, month: dt.date) -> Path:
    """The store file of ``dataset`` for the month starting on ``month``."""
    return settings().lake / "period_station" / "daily_inputs" / dataset / f"month={month:%Y-%m}.arrow"


def month_start(day: dt.date) -> dt.date:
    """First day of the month of ``day``."""
    return day.replace(day=1)


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """First days of the months holding a day of ``first`` … ``last`` (both included)."""
    return periodstore.months_of(month_start(first), last + dt.timedelta(days=1))


def _listing(dataset: str, months: list[dt.date]) -> dict[str, list[list]]:
    """Per day (ISO) of ``months`` holding a file of ``dataset``: its files ``[source, path, size, mtime, inode]``.

    The path is under the lake, so that a copied home keeps its store. Files in the lake's order
    (partition, producer), which is the order the period step read them in.
    """
    wanted = {lake.date_partition(day): day.isoformat() for month in months
              for day in (month + dt.timedelta(days=i) for i in range(31)) if month_start(day) == month}
    found: dict[str, list[list]] = {}
    root = settings().lake
    for part in lake.parts_in(dataset, wanted):
        day = wanted[part.partition]
        stamp = lake.file_stamp(part.path)
        if stamp is not None:
            found.setdefault(day, []).append([part.source, part.path.relative_to(root).as_posix(), *stamp])
    return found


def _load(dataset: str, month: dt.date) -> tuple[pa.Table | None, dict[str, list[list]]]:
    path = store_path(dataset, month)
    if not path.exists():
        return None, {}
    with pa.memory_map(str(path)) as source:
        table = pa.ipc.open_file(source).read_all()
    files = json.loads((table.schema.metadata or {}).get(_META, b"{}"))
    return table.replace_schema_metadata(None), files


def _save(dataset: str, month: dt.date, table: pa.Table, files: dict[str, list[list]]) -> None:
    table = table.replace_schema_metadata({_META: json.dumps(files, sort_keys=True).encode()})
    buffer = io.BytesIO()
    with pa.ipc.new_file(buffer, table.schema) as writer:
        writer.write_table(table)
    lake.write_bytes_atomic(store_path(dataset, month), buffer.getvalue())


def _read_days(dataset: str, files: list[lake.Part], con: duckdb.DuckDBPyConnection) -> pa.Table:
    """The store's rows of ``files`` (in their order), with the producer (``air_hourly``) and the partition day."""
    listed = "[" + ", ".join(canonical.quote(str(p.path)) for p in files) + "]"
    day = f"cast(regexp_extract(filename, '/date=([0-9-]+)/[^/]*$', 1) as date) as {DAY}"
    source = f", {canonical.source_sql(files, 'filename')} as source" if dataset == "air_hourly" else ""
    return con.execute(f"select {COLUMNS[dataset]}{source}, {day} "
                       f"from read_parquet({listed}, union_by_name = true, filename = true)").to_arrow_table()


def refresh_month(dataset: str, month: dt.date, listing: dict[str, list[list]],
                  con: duckdb.DuckDBPyConnection) -> tuple[pa.Table | None, dict[str, list[list]]]:
    """The rows of ``dataset`` for ``month`` brought up to the lake's files (``listing``: :func:`_listing`)."""
    table, recorded = _load(dataset, month)
    current = {day: files for day, files in listing.items() if dt.date.fromisoformat(day).replace(day=1) == month}
    changed = sorted(day for day in {*recorded, *current} if recorded.get(day) != current.get(day))
    if not changed:
        return table, recorded
    if table is not None:
        table = table.filter(pc.invert(pc.is_in(table[DAY], pa.array([dt.date.fromisoformat(d) for d in changed]))))
    root = settings().lake
    reread = [lake.Part(dataset, source, lake.date_partition(dt.date.fromisoformat(day)), root / path)
              for day in changed for source, path, *_ in current.get(day, [])]
    if reread:
        new = _read_days(dataset, reread, con)
        table = new if table is None else pa.concat_tables([table, new], promote_options="permissive")
    if table is None:
        return None, current
    # rows in day order, each day's rows in its files' order (the sort is stable)
    table = table.take(pc.sort_indices(table, [(DAY, "ascending")]))
    _save(dataset, month, table, current)
    return table, current


def refresh(dataset: str, months: Iterable[dt.date], con: duckdb.DuckDBPyConnection | None = None) -> None:
    """Bring the store of ``dataset`` for ``months`` (first days) up to the lake's files; only changed days are read.

    The days are read on ``con`` when given, else on a connection of their own.
    """
    months = sorted(set(months))
    if not months:
        return
    listing = _listing(dataset, months)
    own = con is None
    con = duckdb.connect() if own else con
    try:
        for month in months:
            refresh_month(dataset, month, listing, con)
    finally:
        if own:
            con.close()


def read(dataset: str, first: dt.date, last: dt.date) -> tuple[pa.Table | None, list[str | None]]:
    """The stored rows of ``dataset`` for ``first`` … ``last`` and the producers of the files they come from.

    Returns ``(None, [])`` when the lake held no file of those days at the last :func:`refresh`.
    The producers are those of the files, in (day, producer) order, with repeats, as a
    listing of the files gives them (a file with no row still names its producer).
    """
    tables, sources = [], []
    for month in months_between(first, last):
        table, files = _load(dataset, month)
        days = [day for day in sorted(files) if first.isoformat() <= day <= last.isoformat()]
        if table is None or not days:
            continue
        sources += [source for day in days for source, *_ in files[day]]
        inside = pc.and_(pc.greater_equal(table[DAY], pa.scalar(first)), pc.less_equal(table[DAY], pa.scalar(last)))
        tables.append(table.filter(inside))
    if not sources:
        return None, []
    return pa.concat_tables(tables, promote_options="permissive"), sources
