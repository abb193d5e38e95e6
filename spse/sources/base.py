"""The contract every source implements, and the checks run on what it returns.

A source is one module in ``spse/sources/`` that defines a subclass of :class:`Source`
and a module-level ``SOURCE`` instance, with its entry in ``spse/sources/registry.toml``.
Its ``parse`` is pure (bytes and the :class:`Partition` it builds in, frames out) so it is
tested offline on recorded samples; fetching, landing, quarantine and lake writes are
shared (``spse.pipeline.ingest``): a source names its files and, for a multi-step API, its
requests (:meth:`Source.fetch_files`), and the requester the ingest passes sends them. An
upstream file may cover many days (a yearly or monthly export, :meth:`Source.covers`): it
is landed once per upstream version and each day's partition keeps its own rows. Code
lists that map upstream codes to ours (crosswalks) live beside the sources,
:func:`read_crosswalk`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar

import pandas as pd

from spse.core.columns import EMPTY_DTYPES, QUARANTINE_COLUMNS, TYPE_CHECKS
from spse.core.columns import Column as Column  # re-exported: source plug-ins import it from here
from spse.core.errors import FeedError, SchemaError
from spse.core.http import Fetched, FetchPolicy, Http, join_url

CROSSWALKS = Path(__file__).parent / "crosswalks"


@dataclass(frozen=True)
class Measure:
    """Measured values the data-quality gate checks against ``registers/plausibility.csv``.

    ``columns`` hold the values; their quantity (pollutant or indicator) is the literal
    ``quantity`` or the row's ``quantity_column``; their unit the literal ``unit``, the
    row's ``unit_column``, or, with neither, the register's unit of the quantity (the
    source has converted). ``sentinels``: whether no-data sentinels apply (not to counts).
    """

    columns: tuple[str, ...]
    quantity: str | None = None
    quantity_column: str | None = None
    unit: str | None = None
    unit_column: str | None = None
    sentinels: bool = True


@dataclass(frozen=True)
class AlsoWrites:
    """Rows of another canonical dataset a source writes from the same files (e.g. its station list).

    A measurement network's station list (``air_stations``) gives the positions the surfaces need.

    ``columns`` and ``primary_key`` are that dataset's contract (the columns of its other
    producers, e.g. ``lcsqa_stations``); the rows go to ``lake/<dataset>/source=<source>/<partition>/``,
    merged with the rows written before (a station seen once stays listed; a row of the same
    key is replaced), and the file is rewritten only when its rows change.
    """

    dataset: str
    columns: dict[str, Column]
    primary_key: tuple[str, ...]
    partition: str = "vintage=current"


@dataclass
class ParseResult:
    """Rows in the canonical schema, the rejected rows with their reason, and more.

    ``also``: rows of the datasets the source also writes (:class:`AlsoWrites`), by dataset name.
    """

    frame: pd.DataFrame
    rejects: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=QUARANTINE_COLUMNS))
    also: dict[str, pd.DataFrame] = field(default_factory=dict)


@dataclass(frozen=True)
class Partition:
    """The lake partition a parse builds.

    ``label`` is ``date=YYYY-MM-DD`` or ``vintage=<label>``; ``day`` the day it stands for
    (the file convention's day; ``None`` for reference data ingested without a day);
    ``window`` the UTC instants ``[start, end)`` its rows must fall in
    (:meth:`Source.day_window`), ``None`` when any instant goes.
    """

    label: str
    day: dt.date | None
    window: tuple[pd.Timestamp, pd.Timestamp] | None = None

    def holds(self, instants: pd.Series) -> pd.Series:
        """Tell, row by row, whether tz-aware UTC ``instants`` fall in ``window`` (all True without one)."""
        if self.window is None:
            return pd.Series(True, index=instants.index)
        start, end = self.window
        return (instants >= start) & (instants < end)


def reject_rows(source: str, file: str, rows: list[int], reasons: list[str], raw: list[str]) -> pd.DataFrame:
    """Build quarantine rows. ``rows`` are 1-based line numbers in the file (header = 1)."""
    return pd.DataFrame({"source": source, "file": file, "row": rows, "reason": reasons, "raw": raw},
                        columns=QUARANTINE_COLUMNS)


class Source:
    """Base class of a feed. Subclasses set the class attributes and implement ``parse``."""

    name: ClassVar[str]
    dataset: ClassVar[str]
    kind: ClassVar[str]  # "air" | "noise" | "reference"
    cadence: ClassVar[str]  # "daily" | "reference"
    schedule: ClassVar[str]  # cron, Europe/Paris, of its ingest DAG
    description: ClassVar[str]
    columns: ClassVar[dict[str, Column]]
    primary_key: ClassVar[tuple[str, ...]]
    # Days re-fetched on each daily run because upstream rewrites them (0 = only the day).
    refetch_days: ClassVar[int] = 0
    # Reference sources: the label of the partition they write.
    vintage: ClassVar[str] = "current"
    # Optional sources feed extra products; the daily run ingests them only when their
    # location is configured (``SPSE_<NAME>_URL``), the demo bundle does not carry them.
    optional: ClassVar[bool] = False
    # Bumped when parse() changes what it produces; recorded in each partition's provenance.
    parser_version: ClassVar[str] = "1"
    # Sources this one stands in for when configured (same dataset, another distribution).
    replaces: ClassVar[tuple[str, ...]] = ()
    # Daily sources: the run of a day also needs the partition of the day before (a local day
    # spans two UTC days); False when only the latest partition counts (forecast runs).
    uses_previous_day: ClassVar[bool] = True
    # Daily sources: fetched for every past day by ``spse backfill``; False for forecast runs,
    # which serve only the days after their run.
    backfilled: ClassVar[bool] = True
    # Age of the last successful fetch [h] past which the daily run fetches the source again
    # and freshness calls it stale; None: spse.freshness.DEFAULT_MAX_AGE_HOURS by cadence.
    # Reference sources set it from their upstream's update rhythm (their ingest schedule).
    max_age_hours: ClassVar[float | None] = None
    # Largest file accepted from upstream [bytes].
    max_bytes: ClassVar[int] = 200 * 1024 * 1024
    # Longest fetch of one file [s], all attempts included; None: the register's fetch_deadline_s.
    fetch_deadline_s: ClassVar[float | None] = None
    # Largest decompressed ZIP member [bytes]; None: the register's max_decompressed_bytes.
    max_decompressed_bytes: ClassVar[int | None] = None
    # Data-quality gate (spse.pipeline.gate): measured values checked against the plausibility
    # register, the series whose station-hours a daily measurement partition should hold
    # (empty: no completeness check), and the instant column checked against day_window.
    measures: ClassVar[tuple[Measure, ...]] = ()
    series_key: ClassVar[tuple[str, ...]] = ()
    time_column: ClassVar[str] = "ts_start_utc"
    # Other canonical datasets written from the same files (a network's station list):
    # parse returns their rows in ParseResult.also[dataset].
    also_writes: ClassVar[tuple[AlsoWrites, ...]] = ()

    def day_window(self, day: dt.date) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """UTC instants [start, end) the rows of ``day``'s partition must fall in; ``None`` = any.

        Daily measurement sources override it with their file convention
        (:func:`utc_day`, :func:`local_day`); forecasts and reference data have none.
        """
        return None

    def day_window_label(self, day: dt.date) -> str:
        """How messages name the window of ``day`` (a UTC or local day); the ISO date by default."""
        return day.isoformat()

    def files(self, day: dt.date) -> list[str]:
        """Paths, relative to the source's base URL, of the files for ``day``."""
        raise NotImplementedError

    def covers(self, relative: str, day: dt.date | None) -> str | None:
        """Name the period an upstream file spans when it holds more than ``day``'s rows.

        ``None`` (the default): the file belongs to ``day``'s partition alone. A yearly
        export returns e.g. ``f"year={day:%Y}"``, a monthly one ``f"month={day:%Y-%m}"``:
        the file is then landed once per upstream version under
        ``raw/<source>/<period>/`` and reused by every day of the period (conditional GET,
        then the SHA-256 of its bytes), and each day's partition keeps only the rows that
        fall in its window (:meth:`Partition.holds`).
        """
        return None

    def raw_folder(self, relative: str, day: dt.date | None) -> str:
        """The folder of ``raw/<source>/`` where ``relative`` is landed: its period, else the partition."""
        return self.covers(relative, day) or self.partition_for(day)

    def partition(self, day: dt.date | None) -> Partition:
        """The :class:`Partition` of ``day`` (reference sources: their vintage) that ``parse`` receives."""
        window = self.day_window(day) if day is not None and self.cadence == "daily" else None
        return Partition(self.partition_for(day), day, window)

    def url_for(self, base: str, relative: str) -> str:
        """Full URL of one file; override when upstream uses query strings over HTTP."""
        return join_url(base, relative)

    def fetch_files(self, base: str, day: dt.date, policy: FetchPolicy, previous: dict[str, dict],
                    http: Http) -> Iterator[tuple[str, Fetched]]:
        """Yield ``(relative name, fetched)`` for each file of the partition.

        ``http`` sends every request (the ingest's :func:`spse.pipeline.fetch.requester`, with
        retries, deadline and size cap): a source never opens a connection itself. The default
        GETs ``files(day)``, sending ``If-None-Match``/``If-Modified-Since`` from ``previous``
        (relative name → metadata of the last landed version). Override for multi-step APIs (a
        login, a POST that returns the list of files to download).
        """
        for relative in self.files(day):
            last = previous.get(relative) or {}
            conditional = {k: v for k, v in (("If-None-Match", last.get("etag")),
                                             ("If-Modified-Since", last.get("last_modified"))) if v}
            headers = {**policy.headers, **conditional}
            yield relative, http(self.url_for(base, relative), replace(policy, headers=headers))

    def request_headers(self) -> dict[str, str]:
        """Extra HTTP headers (e.g. an API key read with ``spse.core.secrets``). Never logged."""
        return {}

    def auth_headers(self, base: str) -> dict[str, str]:
        """Headers for this run's requests, from secrets (no request: a login is made in :meth:`fetch_files`)."""
        return self.request_headers()

    def parse(self, payload: bytes, filename: str, partition: Partition) -> ParseResult:
        """Parse one fetched file into rows of ``columns`` and quarantined rejects (pure, no I/O).

        ``filename`` is the file's path relative to the base URL, named in errors and rejects;
        ``partition`` the partition being built (its day and UTC window): a file covering
        many days (:meth:`covers`) may skip the other days' rows early, the ingest keeps
        only the rows in ``partition.window`` anyway. Raises :class:`SchemaError` when the
        file is not in the documented format.
        """
        raise NotImplementedError

    def parse_batch(self, items: list[tuple[bytes, str, Partition]]) -> list[ParseResult | FeedError]:
        """:meth:`parse` of each ``(payload, filename, partition)``, in order; a file that fails gives its error.

        The ingest of many days (:func:`spse.pipeline.ingest.ingest_days`) parses their files in
        one call. The default parses them one by one; a source whose per-file cost is mostly
        fixed overhead reads them in one pass, with the same results file by file.
        """
        results: list[ParseResult | FeedError] = []
        for payload, filename, partition in items:
            try:
                results.append(self.parse(payload, filename, partition))
            except FeedError as exc:
                results.append(exc)
        return results

    def parse_alone(self, payload: bytes, filename: str, partition: Partition) -> ParseResult:
        """:meth:`parse` of a source whose :meth:`parse_batch` reads the files: a batch of one."""
        result = self.parse_batch([(payload, filename, partition)])[0]
        if isinstance(result, FeedError):
            raise result
        return result

    def combine(self, parsed: dict[str, ParseResult]) -> ParseResult:
        """Join the per-file results of one partition (default: stack them)."""
        frames = [r.frame for r in parsed.values() if not r.frame.empty]
        rejects = [r.rejects for r in parsed.values() if not r.rejects.empty]
        frame = pd.concat(frames, ignore_index=True) if frames else self.empty_frame()
        also = {}
        for target in self.also_writes:
            pieces = [r.also[target.dataset] for r in parsed.values() if target.dataset in r.also]
            if pieces:
                rows = pd.concat(pieces, ignore_index=True)
                also[target.dataset] = rows.drop_duplicates(list(target.primary_key), keep="last")
        return ParseResult(frame, pd.concat(rejects, ignore_index=True) if rejects else ParseResult(frame).rejects,
                           also)

    def partition_for(self, day: dt.date) -> str:
        """``date=YYYY-MM-DD`` for a daily source, ``vintage=<vintage>`` for reference data."""
        return f"date={day.isoformat()}" if self.cadence == "daily" else f"vintage={self.vintage}"

    def check(self, frame: pd.DataFrame, filename: str = "") -> None:
        """Raise :class:`SchemaError` if ``frame`` breaks the declared schema or key."""
        check_frame(self.name, self.columns, self.primary_key, frame, filename)

    def empty_frame(self) -> pd.DataFrame:
        """A frame with no row and the columns and pandas dtypes of ``columns``."""
        return pd.DataFrame({name: pd.Series(dtype=EMPTY_DTYPES[c.type]) for name, c in self.columns.items()})


def check_frame(source: str, columns: dict[str, Column], primary_key: tuple[str, ...], frame: pd.DataFrame,
                filename: str = "") -> None:
    """Raise :class:`SchemaError` (naming ``source`` and the fix) if ``frame`` breaks ``columns`` or ``primary_key``."""
    expected = list(columns)
    if list(frame.columns) != expected:
        missing = [c for c in expected if c not in frame.columns]
        extra = [c for c in frame.columns if c not in columns]
        raise SchemaError(source, f"columns differ from the schema: missing {missing}, extra {extra}", file=filename)
    for name, col in columns.items():
        series = frame[name]
        null = series.isna().to_numpy()
        if null.all() and len(series):
            if not col.nullable:
                raise SchemaError(source, f"column {name} is empty", file=filename)
            if pd.api.types.is_object_dtype(series):
                raise SchemaError(source, f"column {name} is all empty: Parquet type null, expected "
                                  f"{col.type}; {_dtype_fix(col.type)}", file=filename)
        if len(series) and not TYPE_CHECKS[col.type](series):
            raise SchemaError(source, f"column {name} has dtype {series.dtype}, expected {col.type}; "
                              f"{_dtype_fix(col.type)}", file=filename)
        if not col.nullable and null.any():
            row = int(null.nonzero()[0][0])
            raise SchemaError(source, f"column {name} has nulls", file=filename, row=row)
    dup = frame.duplicated(list(primary_key), keep=False)
    if dup.any():
        first = frame.loc[dup, list(primary_key)].iloc[0].to_dict()
        raise SchemaError(source, f"primary key {primary_key} not unique, e.g. {first}", file=filename)


# How parse gives a column of each type its dtype (named in check's messages).
_DTYPE_FIXES = {
    "VARCHAR": "pd.Series(values, dtype='string')",
    "DOUBLE": "pd.to_numeric(values, errors='coerce').astype('float64')",
    "INTEGER": "pd.Series(values, dtype='int64')",
    "BIGINT": "pd.Series(values, dtype='int64')",
    "BOOLEAN": "pd.Series(values, dtype='bool')",
    "TIMESTAMPTZ": "pd.to_datetime(values, utc=True)",
    "DATE": "pd.to_datetime(values).dt.date (datetime.date objects)",
}


def _dtype_fix(column_type: str) -> str:
    return f"give it its dtype in parse, e.g. {_DTYPE_FIXES[column_type]}"


def read_crosswalk(source: str, what: str) -> pd.DataFrame:
    """Read the code list ``spse/sources/crosswalks/<source>_<what>.csv`` (UTF-8, ``,``-separated).

    A crosswalk maps upstream codes (station short codes, category codes) to ours; every
    column is read as text (``string`` dtype), empty cells as missing. Raises
    ``FileNotFoundError`` naming the expected path when it is absent.
    """
    path = CROSSWALKS / f"{source}_{what}.csv"
    if not path.is_file():
        raise FileNotFoundError(f"crosswalk {what!r} of source {source!r}: add {path}")
    return pd.read_csv(path, dtype="string", keep_default_na=False, na_values=[""], encoding="utf-8")


def utc_day(day: dt.date) -> tuple[pd.Timestamp, pd.Timestamp]:
    """[00:00, 24:00) UTC of ``day``."""
    start = pd.Timestamp(day, tz="UTC")
    return start, start + pd.Timedelta(days=1)


def local_day(day: dt.date, zone: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """[00:00, 24:00) local of ``day`` in ``zone``, in UTC: 23, 24 or 25 hours."""
    start = pd.Timestamp(day).tz_localize(zone)
    end = pd.Timestamp(day + dt.timedelta(days=1)).tz_localize(zone)
    return start.tz_convert("UTC"), end.tz_convert("UTC")
