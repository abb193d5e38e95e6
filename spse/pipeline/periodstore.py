"""The daily cell values behind the period indicators, held as arrays in the lake.

The period step needs, for the year, season and month holding a day, every daily value of
those periods per cell. Reading them back from the ``surface_daily`` partitions costs one file
per day of the year, so it grows with the history. This store keeps them per calendar month
(every period is made of whole months) as (cell × day of the month) arrays, one per time base,
pollutant and statistic (``day_mean`` and ``day_max_8h_mean`` of :data:`POLLUTANTS`):

* ``value``: float64 [µg/m³], NaN where the day has no row or an invalid one (``is_valid``
  false or value NULL): the lake's values exactly;
* ``row``: bool, the cell has a row that day (valid or not), which makes it a series of a period;
* ``present``: bool per time base and day, the day's file holds rows of that time base
  (:func:`spse.pipeline.periods.choose_time_base` chooses among those of a period);
* ``stamp``: per day, the size, modification time and inode of the partition file read (the
  lake replaces a file by renaming a new one over it: a new inode).

:func:`refresh` compares each day's stamp with the lake's file of that day and rereads only the
days whose file is new, replaced or gone (a daily run: its day; a backfill or a missing store:
every day, one read per month), so the arrays always equal the lake's files. A day is the
partition day of ``surface_daily`` (the ``date`` of its rows, in their time base's calendar).

Layout: ``lake/period_cell/daily_inputs/month=<YYYY-MM>.npz`` (uncompressed NumPy archive,
replaced atomically, about 12 MB); the lake's partition listing and the warehouse skip it (no
``data.parquet``). A period reads only the arrays of its time base.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from spse.core.config import settings
from spse.pipeline import lake

SOURCE = "surface_daily"
KEY = "cell_id"
POLLUTANTS = ("NO2", "PM10", "PM2.5", "O3", "SO2")
STATISTICS = ("day_mean", "day_max_8h_mean")
Key = tuple[str, str, str]  # time base, pollutant, statistic


def store_path(month: dt.date) -> Path:
    """The store file of the month starting on ``month``."""
    return settings().lake / "period_cell" / "daily_inputs" / f"month={month:%Y-%m}.npz"


def months_of(start: dt.date, stop: dt.date) -> list[dt.date]:
    """First days of the months from ``start`` (a first day) to ``stop`` (excluded)."""
    found, month = [], start
    while month < stop:
        found.append(month)
        month = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return found


def _next_month(month: dt.date) -> dt.date:
    return months_of(month, month + dt.timedelta(days=32))[1]


@dataclass
class MonthStore:
    """The arrays of one month (see the module docstring); ``cells`` sorted; arrays read per time base."""

    month: dt.date
    cells: np.ndarray
    time_bases: list[str]
    present: np.ndarray  # (time base × day) bool
    stamp: np.ndarray  # (day × 3) int64: size, mtime_ns, inode of the file read; zeros: none
    keys: list[Key] = field(default_factory=list)
    value: dict[Key, np.ndarray] = field(default_factory=dict)
    row: dict[Key, np.ndarray] = field(default_factory=dict)

    @classmethod
    def empty(cls, month: dt.date) -> MonthStore:
        """A store of ``month`` holding no day."""
        days = (_next_month(month) - month).days
        return cls(month, np.array([], dtype=object), [], np.zeros((0, days), dtype=bool),
                   np.zeros((days, 3), dtype=np.int64))

    @classmethod
    def load(cls, month: dt.date) -> MonthStore:
        """The month's stored index (its arrays are read by :meth:`arrays`), or an empty store."""
        path = store_path(month)
        if not path.exists():
            return cls.empty(month)
        with np.load(path) as data:
            return cls(month, data["cells"].astype(object), [str(t) for t in data["time_bases"]], data["present"],
                       data["stamp"], [tuple(str(k) for k in key) for key in data["keys"]])

    @property
    def days(self) -> int:
        """Days of the month."""
        return len(self.stamp)

    def arrays(self, keys: Iterable[Key]) -> None:
        """Read the ``value`` and ``row`` arrays of ``keys`` not read yet."""
        wanted = [key for key in keys if key not in self.value]
        if not wanted:
            return
        with np.load(store_path(self.month)) as data:
            for key in wanted:
                i = self.keys.index(key)
                self.value[key], self.row[key] = data[f"value_{i}"], data[f"row_{i}"]

    def save(self) -> None:
        """Replace the month's file atomically (every array read)."""
        self.arrays(self.keys)
        keys = list(self.value)
        arrays = {"cells": self.cells.astype(str), "time_bases": np.array(self.time_bases, dtype=str),
                  "present": self.present, "stamp": self.stamp, "keys": np.array(keys, dtype=str).reshape(-1, 3)}
        for i, key in enumerate(keys):
            arrays[f"value_{i}"], arrays[f"row_{i}"] = self.value[key], self.row[key]
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        lake.write_bytes_atomic(store_path(self.month), buffer.getvalue())
        self.keys = keys

    def clear(self, days: np.ndarray) -> None:
        """Forget the rows of ``days`` (indexes in the month)."""
        self.arrays(self.keys)
        self.present[:, days] = False
        for key in self.value:
            self.value[key][:, days] = np.nan
            self.row[key][:, days] = False

    def _add_cells(self, cells: np.ndarray) -> None:
        merged = np.union1d(self.cells.astype(str), cells.astype(str))
        if len(merged) == len(self.cells):
            return
        where = np.searchsorted(merged, self.cells.astype(str))
        for key in self.value:
            value = np.full((len(merged), self.days), np.nan)
            row = np.zeros((len(merged), self.days), dtype=bool)
            value[where], row[where] = self.value[key], self.row[key]
            self.value[key], self.row[key] = value, row
        self.cells = merged.astype(object)

    def _time_base_index(self, time_base: str) -> int:
        if time_base not in self.time_bases:
            self.time_bases.append(time_base)
            self.present = np.vstack([self.present, np.zeros((1, self.days), dtype=bool)])
        return self.time_bases.index(time_base)

    def _arrays_of(self, key: Key) -> tuple[np.ndarray, np.ndarray]:
        if key not in self.value:
            self.value[key] = np.full((len(self.cells), self.days), np.nan)
            self.row[key] = np.zeros((len(self.cells), self.days), dtype=bool)
        return self.value[key], self.row[key]

    def fill(self, files: list[str], con: duckdb.DuckDBPyConnection) -> None:
        """Set the days of the rows of ``files`` (partition files of this month's days, cleared first)."""
        if not files:
            return
        self.arrays(self.keys)
        present = con.execute("select distinct time_base, date_diff('day', ?::date, date) as day "
                              "from read_parquet(?, union_by_name = true) where time_base is not null",
                              [self.month, files]).fetchall()
        for time_base, day in present:
            index = self._time_base_index(time_base)
            self.present[index, day] = True
        con.execute(f"create or replace temp table period_rows as select {KEY} as series, time_base, pollutant, "
                    "statistic, date_diff('day', ?::date, date) as day, value, "
                    "coalesce(is_valid, false) and value is not null as valid "
                    "from read_parquet(?, union_by_name = true) where time_base is not null "
                    "and statistic in ? and pollutant in ?", [self.month, files, list(STATISTICS), list(POLLUTANTS)])
        try:
            self._add_cells(np.asarray(con.execute("select distinct series from period_rows").fetchnumpy()["series"],
                                       dtype=object))
            con.register("period_cells", pd.DataFrame({"series": self.cells.astype(str),
                                                       "i": np.arange(len(self.cells))}))
            groups = [tuple(group) for group in con.execute(
                "select distinct time_base, pollutant, statistic from period_rows order by all").fetchall()]
            rows = con.execute("select c.i, list_position(?, [r.time_base, r.pollutant, r.statistic]) - 1 as g, "
                               "r.day, r.value, r.valid from period_rows r join period_cells c using (series)",
                               [[list(group) for group in groups]]).fetchnumpy()
        finally:
            con.execute("drop table if exists period_rows")
            con.unregister("period_cells")
        cell, day, group = (np.asarray(rows[name], dtype=np.int64) for name in ("i", "day", "g"))
        value, valid = np.asarray(rows["value"], dtype=float), np.asarray(rows["valid"], dtype=bool)
        for code, key in enumerate(groups):
            values, present_rows = self._arrays_of(key)
            pick = group == code
            present_rows[cell[pick], day[pick]] = True
            good = pick & valid
            values[cell[good], day[good]] = value[good]


def _stamps(month: dt.date, days: int) -> tuple[np.ndarray, list[str]]:
    """Per day of the month, the stamp of the lake's ``surface_daily`` file (zeros: none) and its path."""
    stamps = np.zeros((days, 3), dtype=np.int64)
    paths = []
    for i in range(days):
        path = lake.partition_path(SOURCE, lake.date_partition(month + dt.timedelta(days=i)))
        paths.append(str(path))
        stamp = lake.file_stamp(path)
        if stamp is not None:
            stamps[i] = stamp
    return stamps, paths


def refresh(months: Iterable[dt.date], pool: Executor | None = None,
            con: duckdb.DuckDBPyConnection | None = None) -> dict[dt.date, MonthStore] | None:
    """The stores of ``months`` brought up to the lake's files (rereading only changed days, saved when changed).

    With ``pool`` (a backfill's executor), the months are refreshed side by side and only saved:
    None is returned, the readers load them (:meth:`MonthStore.load`). Without, the days are read
    on ``con`` when given (else on a connection of their own).
    """
    months = sorted(set(months))
    if pool is not None:
        list(pool.map(_refresh_saved, months))
        return None
    return {month: refresh_month(month, con) for month in months}


def refresh_month(month: dt.date, con: duckdb.DuckDBPyConnection | None = None) -> MonthStore:
    """The store of ``month`` brought up to the lake's files (:func:`refresh`), read on ``con`` when given."""
    store = MonthStore.load(month)
    stamps, paths = _stamps(month, store.days)
    changed = np.flatnonzero((stamps != store.stamp).any(axis=1))
    if not len(changed):
        return store
    store.clear(changed)
    own = con is None
    con = duckdb.connect() if own else con
    try:
        store.fill([paths[i] for i in changed if stamps[i].any()], con)
    finally:
        if own:
            con.close()
    store.stamp[changed] = stamps[changed]
    store.save()
    return store


def _refresh_saved(month: dt.date) -> None:
    refresh_month(month)


def present_time_bases(period, stores: Mapping[dt.date, MonthStore]) -> set[str]:
    """The time bases with rows on a day of ``period`` (a :class:`spse.methods.period.Period`)."""
    found = set()
    for store in _month_stores(period, stores):
        found |= {tb for i, tb in enumerate(store.time_bases) if store.present[i].any()}
    return found


def period_matrices(period, stores: Mapping[dt.date, MonthStore], time_base: str
                    ) -> Iterator[tuple[str, str, np.ndarray, pd.DataFrame]]:
    """Yield ``(pollutant, statistic, matrix, series)`` of ``period`` in ``time_base``, sorted by pollutant, statistic.

    ``matrix`` is (series × day of the period) [µg/m³], NaN where missing or invalid; ``series``
    the sorted cells with a row in the period: what :func:`spse.methods.period.day_matrix` gives.
    """
    months = list(_month_stores(period, stores))
    for store in months:
        store.arrays(key for key in store.keys if key[0] == time_base)
    cells = np.unique(np.concatenate([np.array([], dtype=str), *(store.cells.astype(str) for store in months)]))
    for pollutant, statistic in sorted({key[1:] for store in months for key in store.value if key[0] == time_base}):
        key = (time_base, pollutant, statistic)
        matrix = np.full((len(cells), len(period.days)), np.nan)
        row = np.zeros(len(cells), dtype=bool)
        column = 0
        for store in months:
            if key in store.value:
                where = np.searchsorted(cells, store.cells.astype(str))
                matrix[where, column:column + store.days] = store.value[key]
                row[where] |= store.row[key].any(axis=1)
            column += store.days
        if row.any():
            yield pollutant, statistic, matrix[row], pd.DataFrame({KEY: cells[row].astype(object)})


def _month_stores(period, stores: Mapping[dt.date, MonthStore]) -> Iterator[MonthStore]:
    for month in months_of(period.start, period.stop):
        yield stores[month]
