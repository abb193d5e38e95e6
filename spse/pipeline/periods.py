"""The period step: year, season and month indicators per cell and per station → lake.

:func:`build_periods` recomputes the periods holding a day (its year, season and month) from the
lake's daily datasets (``surface_daily`` per cell, ``station_daily`` per station) and, for the
stations, their hourly values (``air_hourly``): means, percentiles, exceedance counts against
the register's limit, target and guideline rows with their compliance, SOMO35 and AOT40
(:mod:`spse.methods.period`). :func:`build_periods_range` does the same once per period for a
range of days (backfill).

Time base: the EU and WHO period statistics use the daily rows of the EU statistics day
(register ``eu_day_time_base``) when the lake holds them, else those of the procedure day
(``day_time_base``), else the one time base present; the rows of one period are never mixed
across time bases, and the chosen one is stored in ``time_base``.

Lake layout: ``period_cell`` and ``period_station``, one partition per last day of a period,
``date=<period_end>`` (the warehouse reads ``date=`` partitions): ``date=2025-12-31`` holds
the year 2025 and the month 2025-12, ``date=2025-02-28`` the month 2025-02 and the winter
2025-S-winter. Periods sharing a partition end together, so they are current together: a day
rewrites the partitions of its month, season and year only, never a closed month's. Rewriting a
period replaces its rows in that partition and keeps the others. Partitions of the former layout
(``date=<period_start>``, always a first of the month, when no period ends) are moved to this one
by :func:`relayout` before any period is written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import itertools
import json
import logging
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import Executor

import duckdb
import numpy as np
import pandas as pd
import pyarrow.compute as pc

from spse.core import register
from spse.core.columns import Column
from spse.methods import period as pm
from spse.pipeline import canonical, lake, periodstore, stationstore

log = logging.getLogger(__name__)

CELL_KEYS = ["cell_id"]
STATION_KEYS = ["station_id", "station_class"]
PERIOD_AVERAGINGS = ("day_mean", "day_max_8h_mean", "1h", "year_mean")
PERIOD_LEVELS = ("limit", "target", "guideline", "guideline_short_term")
POLLUTANTS = ("NO2", "PM10", "PM2.5", "O3", "SO2")

COLUMNS: dict[str, dict[str, Column]] = {
    "period_cell": {
        "cell_id": Column("VARCHAR", "", "200 m cell (spse.methods.grid)", nullable=False),
        **pm.COLUMNS,
    },
    "period_station": {
        "station_id": Column("VARCHAR", "", "Station id (E2 code)", nullable=False),
        "station_class": Column("VARCHAR", "", "background | traffic | industrial"),
        **pm.COLUMNS,
    },
}


def period_thresholds(params: Mapping[str, str]) -> pd.DataFrame:
    """Register rows the period indicators test: sets of ``period_threshold_sets``, µg/m³, limit/target/guideline."""
    rows = register.thresholds()
    sets = params["period_threshold_sets"].split()
    keep = (rows["set_id"].isin(sets) & (rows["unit"] == "µg/m³") & rows["averaging"].isin(PERIOD_AVERAGINGS)
            & rows["level"].isin(PERIOD_LEVELS))
    return rows[keep].reset_index(drop=True)


def choose_time_base(present: set[str], params: Mapping[str, str]) -> str | None:
    """The EU statistics time base when present, else the procedure's, else the first present (sorted)."""
    for name in ("eu_day_time_base", "day_time_base"):
        if params.get(name) in present:
            return params[name]
    return sorted(present)[0] if present else None


def _files(dataset: str, first: dt.date, stop: dt.date) -> list[str]:
    """The daily partition files of ``dataset`` from ``first`` to ``stop`` (excluded), in day order (one listing)."""
    wanted = {lake.date_partition(d) for d in pd.date_range(first, stop - dt.timedelta(days=1), freq="D").date}
    return [str(p.path) for p in lake.parts(dataset) if p.partition in wanted]


_LOCAL = threading.local()  # .connection: this thread's in-memory DuckDB connection of a build, or None


@contextlib.contextmanager
def _connection() -> Iterator[duckdb.DuckDBPyConnection]:
    """The connection of this thread's current build (:func:`_build`, a pool's task), or a new one for the block.

    One connection for a daily build: opening one costs about 15 ms of CPU, and the step used seven.
    """
    current = getattr(_LOCAL, "connection", None)
    if current is not None:
        yield current
        return
    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")
    _LOCAL.connection = con
    try:
        yield con
    finally:
        _LOCAL.connection = None
        con.close()


def _query(sql: str, parameters: list) -> pd.DataFrame:
    """Run ``sql`` on the in-memory DuckDB connection of the current build (:func:`_connection`)."""
    from spse.pipeline.warehouse.reader import fetch_frame

    with _connection() as con:
        return fetch_frame(con, sql, parameters)


def _query_arrow(sql: str, parameters: list) -> pd.DataFrame:
    """:func:`_query` through Arrow: the same frame (text in the default string dtype), a fifth of the CPU.

    DuckDB's own pandas conversion of a year of station hours (about 0.6 M rows) cost 0.3 s.
    """
    import pyarrow as pa

    with _connection() as con:
        table = con.execute(sql, parameters).to_arrow_table()
    text = pd.StringDtype("pyarrow", na_value=np.nan)
    return table.to_pandas(types_mapper={pa.string(): text, pa.large_string(): text}.get)


def daily_time_base(files: list[str], params: Mapping[str, str]) -> str | None:
    """The time base the period uses among those of the daily rows in ``files`` (:func:`choose_time_base`)."""
    if not files:
        return None
    present = _query("select distinct time_base from read_parquet(?, union_by_name = true)", [files])
    return choose_time_base(set(present["time_base"].dropna()), params)


def read_daily_groups(files: list[str], keys: list[str], time_base: str, table: str | None = None):
    """Yield ``(pollutant, statistic, rows)``: the ``day_mean`` / ``day_max_8h_mean`` rows of one time base.

    ``table``: a table of the current build's connection holding the rows, read instead of ``files``.
    The files are scanned once into Arrow (a year of cells: about 4 M rows, 0.3 GB), then each
    pollutant and statistic is cut from it: ``rows`` is ``[*keys, date, value, is_valid]`` (about
    800 000 rows), text columns in the default string dtype, ``date`` as ``datetime64[us]``.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    scan, scanned = (table, []) if table is not None else ("read_parquet(?, union_by_name = true)", [files])
    with _connection() as con:
        rows = con.execute(f"select {', '.join(keys)}, pollutant, statistic, date, value, is_valid "
                           f"from {scan} where time_base = ? "
                           "and statistic in ('day_mean', 'day_max_8h_mean') and pollutant in ?",
                           [*scanned, time_base, list(POLLUTANTS)]).to_arrow_table()
    text = pd.StringDtype("pyarrow", na_value=np.nan)
    rows = rows.set_column(rows.column_names.index("date"), "date", pc.cast(rows["date"], pa.timestamp("us")))
    groups = rows.group_by(["pollutant", "statistic"]).aggregate([]).to_pylist()
    for pollutant, statistic in sorted((g["pollutant"], g["statistic"]) for g in groups):
        mask = pc.and_(pc.equal(rows["pollutant"], pollutant), pc.equal(rows["statistic"], statistic))
        group = rows.filter(mask).select([*keys, "date", "value", "is_valid"])
        yield pollutant, statistic, group.to_pandas(types_mapper={pa.string(): text, pa.large_string(): text}.get)


def read_hourly(period: pm.Period) -> pd.DataFrame:
    """Station hourly values around the period (a day either side): ``[*STATION_KEYS, pollutant, ts_start_utc, value]``.

    Invalid hours are NaN; several series of a station for one pollutant are averaged
    (:func:`spse.methods.surfaces.station_hourly`).
    """
    from spse.methods.surfaces import station_hourly

    wanted = {lake.date_partition(d) for d in pd.date_range(period.start - dt.timedelta(days=1), period.stop).date}
    files = [p for p in lake.parts("air_hourly") if p.partition in wanted]
    if not files:
        return pd.DataFrame(columns=[*STATION_KEYS, "pollutant", "ts_start_utc", "value"])
    scan = canonical.files_sql("air_hourly", files,
                               "station_id, station_class, pollutant, ts_start_utc, value, is_valid")
    air = _query(f"select * from ({scan}) where pollutant in ?", [list(POLLUTANTS)])
    return station_hourly(air)


def read_hourly_stored(period: pm.Period) -> pd.DataFrame:
    """:func:`read_hourly` from the :mod:`spse.pipeline.stationstore` rows (refreshed first by :func:`_build`)."""
    from spse.methods.surfaces import station_hourly

    rows, producers = stationstore.read("air_hourly", period.start - dt.timedelta(days=1), period.stop)
    if rows is None:
        return pd.DataFrame(columns=[*STATION_KEYS, "pollutant", "ts_start_utc", "value"])
    shown = canonical.visible("air_hourly", producers)
    hidden = sorted({p for p in producers if p} - {p for p in shown if p})
    where = f" where source is null or source not in ({', '.join(map(canonical.quote, hidden))})" if hidden else ""
    scan = canonical.resolved_sql(
        "air_hourly", f"select {stationstore.COLUMNS['air_hourly']}, source from stored_air_hourly{where}", shown)
    with _connection() as con:
        con.register("stored_air_hourly", rows)
        try:
            air = _query_arrow(f"select * from ({scan}) where pollutant in ?", [list(POLLUTANTS)])
        finally:
            con.unregister("stored_air_hourly")
    return station_hourly(air)


def station_store_months(periods: list[pm.Period]) -> dict[str, set[dt.date]]:
    """The months of each :mod:`spse.pipeline.stationstore` dataset that the station rows of ``periods`` read."""
    day = dt.timedelta(days=1)
    return {"station_daily": {m for p in periods for m in stationstore.months_between(p.start, p.stop - day)},
            "air_hourly": {m for p in periods for m in stationstore.months_between(p.start - day, p.stop)}}


# each period dataset's daily input and series keys
DAILY_INPUTS = {"period_cell": ("surface_daily", CELL_KEYS), "period_station": ("station_daily", STATION_KEYS)}


def period_tables(period: pm.Period, params: Mapping[str, str]) -> dict[str, pd.DataFrame]:
    """``period_cell`` and ``period_station`` rows of ``period`` (empty frames when the lake has no daily rows)."""
    return {dataset: period_table(dataset, period, params) for dataset in COLUMNS}


def period_table(dataset: str, period: pm.Period, params: Mapping[str, str],
                 stores: Mapping[dt.date, periodstore.MonthStore] | None = None,
                 station_store: bool = False) -> pd.DataFrame:
    """The rows of ``dataset`` (``period_cell`` or ``period_station``) for ``period``.

    With ``stores`` (the :mod:`spse.pipeline.periodstore` arrays of the period's years, up to
    date), the cells' daily values come from them instead of the ``surface_daily`` files. With
    ``station_store`` (in a build, the :mod:`spse.pipeline.stationstore` refreshed), the
    stations' rows come from it instead of the ``station_daily`` and ``air_hourly`` files.
    """
    if dataset == "period_cell" and stores is not None:
        return _cell_table_from_store(period, params, stores)
    if dataset == "period_station" and station_store:
        return _station_table_from_store(period, params)
    source, keys = DAILY_INPUTS[dataset]
    rules = pm.rules_from(params)
    limits = period_thresholds(params)
    files = _files(source, period.start, period.stop)
    time_base = daily_time_base(files, params)
    if time_base is None:
        return _empty(dataset)
    hourly = read_hourly(period) if dataset == "period_station" else pd.DataFrame()
    parts = [block for pollutant, statistic, rows in read_daily_groups(files, keys, time_base)
             for block in pm.group_blocks(rows, keys, pollutant, statistic, period, limits, rules,
                                          mean_from_daily=hourly.empty)]
    if not hourly.empty:
        parts += pm.hourly_blocks(hourly, keys, period, time_base, limits, rules)
    return _frame(dataset, parts, period, time_base, keys)


def _station_table_from_store(period: pm.Period, params: Mapping[str, str]) -> pd.DataFrame:
    """``period_station`` rows of ``period`` from the station store, as :func:`period_table` computes from the lake."""
    daily, _ = stationstore.read("station_daily", period.start, period.stop - dt.timedelta(days=1))
    if daily is None:
        return _empty("period_station")
    with _connection() as con:
        return _station_rows(period, params, daily, con)


def _station_rows(period: pm.Period, params: Mapping[str, str], daily, con: duckdb.DuckDBPyConnection
                  ) -> pd.DataFrame:
    con.register("stored_station_daily", daily)
    try:
        time_base = choose_time_base(set(pc.unique(daily["time_base"]).drop_null().to_pylist()), params)
        if time_base is None:
            return _empty("period_station")
        rules, limits = pm.rules_from(params), period_thresholds(params)
        hourly = read_hourly_stored(period)
        parts = [block for pollutant, statistic, rows in read_daily_groups([], STATION_KEYS, time_base,
                                                                           "stored_station_daily")
                 for block in pm.group_blocks(rows, STATION_KEYS, pollutant, statistic, period, limits, rules,
                                              mean_from_daily=hourly.empty)]
    finally:
        con.unregister("stored_station_daily")
    if not hourly.empty:
        parts += pm.hourly_blocks(hourly, STATION_KEYS, period, time_base, limits, rules)
    return _frame("period_station", parts, period, time_base, STATION_KEYS)


def _cell_table_from_store(period: pm.Period, params: Mapping[str, str],
                           stores: Mapping[dt.date, periodstore.MonthStore]) -> pd.DataFrame:
    """``period_cell`` rows of ``period`` from the store's arrays, as :func:`period_table` computes from the lake."""
    time_base = choose_time_base(periodstore.present_time_bases(period, stores), params)
    if time_base is None:
        return _empty("period_cell")
    rules, limits = pm.rules_from(params), period_thresholds(params)
    parts = [block for pollutant, statistic, matrix, series in periodstore.period_matrices(period, stores, time_base)
             for block in pm.matrix_blocks(matrix, series, CELL_KEYS, pollutant, statistic, period, limits, rules)]
    return _frame("period_cell", parts, period, time_base, CELL_KEYS)


def _frame(dataset: str, parts: list[dict], period: pm.Period, time_base: str, keys: list[str]) -> pd.DataFrame:
    """The rows of ``dataset`` from the indicator blocks of ``period`` (:func:`spse.methods.period.period_frame`)."""
    frame = pm.period_frame(parts, period, time_base, keys)
    if frame is not None:
        return frame
    frames = [pm._finish([part], keys) for part in parts]
    frames = [f for f in frames if len(f)]
    return pm.with_period(pd.concat(frames, ignore_index=True), period, time_base, keys) if frames \
        else _empty(dataset)


def _empty(dataset: str) -> pd.DataFrame:
    return pd.DataFrame(columns=list(COLUMNS[dataset]))


REGISTER_VERSIONS = "register_versions.json"


def register_version() -> str:
    """SHA-256 of the thresholds and parameters register files in use: the version a period was computed with."""
    digest = hashlib.sha256()
    for name in ("thresholds", "parameters"):
        digest.update(register.files()[name].read_bytes())
    return digest.hexdigest()


def write_period(dataset: str, period: pm.Period, frame: pd.DataFrame, version: str | None = None) -> int:
    """Replace the rows of ``period`` in its partition ``date=<period end>``; return the rows written.

    ``version`` (the register's, :func:`register_version`) is recorded per period beside the
    partition (``register_versions.json``), so that a corrected register recomputes the period.
    """
    return write_periods(dataset, [(period, frame)], version)


def partition_of(period: pm.Period) -> str:
    """The partition of ``period_cell`` and ``period_station`` holding ``period``'s rows: ``date=<its last day>``."""
    return lake.date_partition(period.end)


def write_periods(dataset: str, computed: list[tuple[pm.Period, pd.DataFrame]], version: str | None = None) -> int:
    """:func:`write_period` of several periods ending on the same day, in one write of their partition."""
    partition = partition_of(computed[0][0])
    if any(partition_of(period) != partition for period, _ in computed):
        raise ValueError(f"write_periods: the periods {[p.label for p, _ in computed]} do not share a partition")
    return _replace_periods(dataset, partition, [(p.label, frame) for p, frame in computed],
                            {p.label: version or register_version() for p, _ in computed})


def _replace_periods(dataset: str, partition: str, computed: list[tuple[str, pd.DataFrame]],
                     versions_of: dict[str, str]) -> int:
    """Replace the rows of the periods ``computed`` (label, rows) in ``partition``; record their register versions."""
    frames = [frame for _, frame in computed]
    versions = lake.partition_path(dataset, partition).with_name(REGISTER_VERSIONS)
    recorded = json.loads(versions.read_text(encoding="utf-8")) if versions.exists() else None
    replaced = {label for label, _ in computed}
    # a partition whose record names only periods recomputed here has no rows to keep: not read
    if lake.has_partition(dataset, partition) and (recorded is None or not set(recorded) <= replaced):
        kept = lake.read_partition(dataset, partition)
        kept = kept[~kept["period"].isin(replaced)]
        frames = [kept, *frames] if len(kept) else frames
        if recorded is None:  # the kept periods' versions are unknown: stale_periods recomputes them
            recorded = {str(label): "" for label in kept["period"].unique()}
    frames = [f for f in frames if len(f)] or frames[:1]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if frame.empty and not lake.has_partition(dataset, partition):
        return 0
    lake.write_partition(dataset, partition, frame[list(COLUMNS[dataset])])
    recorded = recorded or {}
    recorded.update(versions_of)
    lake.write_bytes_atomic(versions, json.dumps(recorded, indent=1, sort_keys=True).encode())
    return len(frame)


def relayout(dataset: str) -> list[str]:
    """Move the partitions of ``dataset`` in the former layout, ``date=<period start>``, to ``date=<period end>``.

    Each period's rows go to the partition of its last day with the register version its
    partition recorded (none recorded: an unknown version, so :func:`stale_periods` recomputes
    it); the former partition is then removed. Returns the partitions moved.
    """
    moved = []
    for partition in lake.partitions(dataset):
        if not partition.endswith("-01"):  # no period ends on a first of the month
            continue
        path = lake.partition_path(dataset, partition)
        versions = path.with_name(REGISTER_VERSIONS)
        recorded = json.loads(versions.read_text(encoding="utf-8")) if versions.exists() else {}
        frame = lake.read_partition(dataset, partition)
        for end, rows in frame.groupby(pd.to_datetime(frame["period_end"]).dt.date, sort=True):
            by_period = [(str(label), same) for label, same in rows.groupby("period", sort=True)]
            _replace_periods(dataset, lake.date_partition(end), by_period,
                             {label: recorded.get(label, "") for label, _ in by_period})
        for name in (path, versions, path.with_name("provenance.json")):
            name.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            path.parent.rmdir()
        moved.append(partition)
    if moved:
        log.info("%s: partitions of the former layout (date=<period start>) moved to date=<period end>: %s",
                 dataset, ", ".join(moved))
    return moved


def stale_periods(seasons: Mapping[str, tuple[int, ...]], version: str) -> list[pm.Period]:
    """Periods in the lake computed with another register version (or none recorded): to recompute from the lake.

    A partition's periods are those its ``register_versions.json`` records (:func:`write_periods`
    records each period it writes), or, without that file, those of its rows.
    """
    labels = set()
    for dataset in COLUMNS:
        for partition in lake.partitions(dataset):
            path = lake.partition_path(dataset, partition)
            versions = path.with_name(REGISTER_VERSIONS)
            if versions.exists():
                recorded = json.loads(versions.read_text(encoding="utf-8"))
                labels |= {label for label, used in recorded.items() if used != version}
            else:
                labels |= set(pd.read_parquet(path, columns=["period"])["period"].unique())
    return [pm.period_of_label(label, seasons) for label in sorted(labels)]


def _build(periods: list[pm.Period], pool: Executor | None = None) -> dict[str, int]:
    """Compute ``periods`` and, first, every period of the lake computed under another register version.

    The cells of ``periods`` come from the :mod:`spse.pipeline.periodstore` arrays of their years,
    and the stations' rows from the :mod:`spse.pipeline.stationstore`, both refreshed here from the
    lake first; the periods recomputed for a register change are read from the lake's daily files.
    Each dataset's partition (the periods ending on one day) is one task of ``pool`` when given:
    the cells first, the longest periods first. Without a pool, one DuckDB connection serves it all.
    """
    if pool is not None:
        return _build_all(periods, pool)
    with _connection():
        return _build_all(periods, None)


def _build_all(periods: list[pm.Period], pool: Executor | None) -> dict[str, int]:
    for dataset in COLUMNS:
        relayout(dataset)
    params = register.parameters()
    version = register_version()
    stale = stale_periods(pm.parse_seasons(params["seasons"]), version)
    if stale:
        log.info("periods computed under another register version, recomputed from the lake: %s",
                 ", ".join(p.label for p in stale))
    from_lake = frozenset(p.label for p in stale)
    with _connection() as con:
        stores = periodstore.refresh((month for p in periods if p.label not in from_lake
                                      for month in periodstore.months_of(p.start, p.stop)), pool, con)
        for source, months in station_store_months([p for p in periods if p.label not in from_lake]).items():
            stationstore.refresh(source, months, con)
    periods = list({p.label: p for p in [*stale, *periods]}.values())
    # periods ending on the same day share a partition of each dataset (a year and its December)
    groups = [list(same) for _, same in itertools.groupby(sorted(periods, key=lambda p: p.end),
                                                          key=lambda p: p.end)]
    units = sorted(((dataset, group) for dataset in COLUMNS for group in groups),
                   key=lambda unit: (unit[0] != "period_cell", -max(p.stop - p.start for p in unit[1])))
    counts = {name: 0 for name in COLUMNS}
    datasets, partitions = [dataset for dataset, _ in units], [group for _, group in units]
    run = pool.map if pool is not None else map
    # with a pool, each task loads the saved arrays rather than receiving them
    for dataset, rows in zip(datasets, run(_build_partition, datasets, partitions, itertools.repeat(version),
                                           itertools.repeat(from_lake), itertools.repeat(stores)), strict=True):
        counts[dataset] += rows
    return counts


def _build_partition(dataset: str, same_end: list[pm.Period], version: str, from_lake: frozenset[str],
                     stores: dict[dt.date, periodstore.MonthStore] | None) -> int:
    """Compute the periods of ``same_end`` for ``dataset`` and write their partition; the rows computed.

    The cells of a period not in ``from_lake`` come from ``stores`` (default: the saved arrays).
    """
    params = register.parameters()
    computed = []
    if stores is None and dataset == "period_cell":
        stores = {month: periodstore.MonthStore.load(month) for p in same_end if p.label not in from_lake
                  for month in periodstore.months_of(p.start, p.stop)}
    with _connection():
        for period in same_end:
            held = None if period.label in from_lake else stores
            computed.append((period, period_table(dataset, period, params, held, period.label not in from_lake)))
            log.info("%s %s: %d rows", dataset, period.label, len(computed[-1][1]))
        write_periods(dataset, computed, version)
    return sum(len(frame) for _, frame in computed)


def build_periods(day: dt.date) -> dict[str, int]:
    """Recompute the year, season and month holding ``day`` (Europe/Paris); rows written per dataset.

    Any period of the lake computed under another version of the registers (a corrected
    threshold) is recomputed too, from the lake's daily values (:func:`stale_periods`).
    """
    seasons = pm.parse_seasons(register.parameters()["seasons"])
    return _build(pm.periods_of_day(day, seasons))


def build_periods_range(first: dt.date, last: dt.date, pool: Executor | None = None) -> dict[str, int]:
    """Recompute every period holding a day of ``first`` … ``last``, each once (backfill); rows per dataset.

    ``pool`` (an executor of the backfill) computes the partitions side by side.
    """
    seasons = pm.parse_seasons(register.parameters()["seasons"])
    return _build(pm.periods_between(first, last, seasons), pool)
