"""Fetch → land raw → parse → check → gate → lake partition + quarantine, the same for every source."""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from spse.core.config import source_base_url
from spse.core.errors import FeedError, RefusedInput, SchemaError
from spse.core.http import FetchPolicy
from spse.core.redaction import redact_url
from spse.pipeline import gate, lake, qualitylog
from spse.pipeline.fetch import requester
from spse.sources.base import ParseResult, Partition, Source, check_frame

log = logging.getLogger(__name__)

# Quarantined rows quoted in the quality log (all of them stay in the quarantine file).
QUARANTINE_SHOWN = 20


@dataclass(frozen=True)
class IngestReport:
    """What one ingest wrote: the partition of ``dataset``, its rows and quarantined rows.

    ``files`` holds the raw metadata of every landed file (URL, SHA-256, fetch time UTC);
    ``outcome`` is ``ok`` or ``partial`` (an incomplete day), with the gate's ``problems`` and
    ``completeness`` (expected and present station-hours) when it checked them.
    """

    source: str
    dataset: str
    partition: str
    rows: int
    rejected: int
    files: list[dict]
    outcome: str = "ok"  # ok | partial (quality log outcomes of a written partition)
    problems: list[dict] = field(default_factory=list)
    completeness: dict | None = None


def ingest(source: Source, day: dt.date) -> IngestReport:
    """Ingest one partition of ``source`` (the day's files, or the reference vintage) and record it.

    Raw files are landed before parsing, so they are kept even when the parse fails; the lake
    partition is replaced only when every file of it parsed and the data-quality gate
    (:func:`spse.pipeline.gate.inspect`) let it through. Raises
    :class:`spse.core.errors.FeedError` (naming feed, URL, file, row) if a file cannot be fetched
    or read, :class:`spse.core.errors.RefusedInput` if the gate refuses it. The quality log
    records a refusal as ``refused``, any other error as ``failed`` (with the feed, file and row
    it names), a written partition as ``ok`` or ``partial`` (incomplete day) with its
    quarantined rows.
    """
    report = ingest_days(source, [day])[day]
    if isinstance(report, FeedError):
        raise report
    return report


def ingest_days(source: Source, days: list[dt.date]) -> dict[dt.date, IngestReport | FeedError]:
    """:func:`ingest` of each of ``days`` in order, their files parsed together; each day's report or error.

    Every day's files are fetched and landed first, then parsed by
    :meth:`spse.sources.base.Source.parse_batch` (a backfill's chunk of days: one pass over
    their rows instead of one per file), then each day goes through the checks, the gate and
    the lake write in day order and is recorded in the quality log. A day whose files cannot
    be fetched or read gets its error; the other days go on.
    """
    landed: dict[dt.date, _Landed] = {}
    parsed: dict[dt.date, dict[str, ParseResult] | FeedError] = {}
    for day in days:
        try:
            landed[day] = _land(source, day)
        except FeedError as exc:
            parsed[day] = exc
    parsed.update(_parse_landed(source, landed))
    done: dict[dt.date, IngestReport | FeedError] = {}
    for day in days:
        try:
            done[day] = _recorded(source, day, landed.get(day), parsed[day])
        except FeedError as exc:
            done[day] = exc
    return done


def _recorded(source: Source, day: dt.date, landed: _Landed | None, parsed: dict[str, ParseResult] | FeedError
              ) -> IngestReport:
    """:func:`_finish` one partition and record its outcome in the quality log (see :func:`ingest`)."""
    partition = source.partition_for(day)
    try:
        report = _finish(source, day, landed, parsed)
    except FeedError as exc:
        outcome = "refused" if isinstance(exc, RefusedInput) else "failed"
        qualitylog.record(source.name, source.dataset, partition, outcome,
                          [{"check": "gate" if outcome == "refused" else type(exc).__name__,
                            "file": exc.file or exc.url, "row": exc.row, "detail": exc.problem}])
        raise
    rejects = read_quarantine(source, day).head(QUARANTINE_SHOWN)
    quarantined = [{"check": "quarantine", "file": r.file, "row": None if pd.isna(r.row) else int(r.row),
                    "detail": r.reason} for r in rejects.itertuples()]
    qualitylog.record(source.name, source.dataset, partition, report.outcome, report.problems + quarantined,
                      quarantined=report.rejected, rows=report.rows)
    return report


@dataclass
class _Landed:
    """One partition's files, fetched and landed raw: ``(relative name, raw folder, content)``, their metadata."""

    target: Partition
    fetched_at: str  # UTC, ISO 8601
    files: list[tuple[str, str, bytes]] = field(default_factory=list)
    meta: list[dict] = field(default_factory=list)


def _land(source: Source, day: dt.date) -> _Landed:
    """Fetch the files of ``source``'s partition of ``day`` and land each raw, with its metadata."""
    base = source_base_url(source.name)
    landed = _Landed(source.partition(day), dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    policy = FetchPolicy(headers=source.auth_headers(base), max_bytes=source.max_bytes,
                         deadline_s=source.fetch_deadline_s)
    previous = _LandedMeta(source, day)
    for relative, got in source.fetch_files(base, day, policy, previous, requester(source.name)):
        folder = source.raw_folder(relative, day)
        meta = {"source": source.name, "url": redact_url(got.url), "fetched_at_utc": landed.fetched_at,
                "http_status": got.status, "etag": got.headers.get("ETag"),
                "last_modified": got.headers.get("Last-Modified")}
        if got.status == 304 and previous.get(relative):
            content = Path(previous[relative]["raw_path"]).read_bytes()
            meta.update(etag=meta["etag"] or previous[relative].get("etag"),
                        last_modified=meta["last_modified"] or previous[relative].get("last_modified"),
                        not_modified=True)
        else:
            content = got.content
        lake.land_raw(source.name, folder, relative, content, meta)
        _refuse_html(source, relative, content)
        landed.files.append((relative, folder, content))
        landed.meta.append(lake.latest_raw_meta(source.name, folder, relative))
    return landed


def _parse_landed(source: Source, landed: dict[dt.date, _Landed]
                  ) -> dict[dt.date, dict[str, ParseResult] | FeedError]:
    """Each day's parsed files by relative name, or the day's first error.

    The files go to :meth:`Source.parse_batch` at most :data:`PARSE_BATCH_BYTES` at a time.
    """
    items = [(content, relative, each.target) for each in landed.values() for relative, _, content in each.files]
    results = iter([result for batch in _batches(items, PARSE_BATCH_BYTES) for result in source.parse_batch(batch)])
    parsed: dict[dt.date, dict[str, ParseResult] | FeedError] = {}
    for day, each in landed.items():
        mine = [next(results) for _ in each.files]
        error = next((r for r in mine if isinstance(r, FeedError)), None)
        parsed[day] = error if error is not None else {
            relative: _rows_of(source, each.target, result) if folder != each.target.label else result
            for (relative, folder, _), result in zip(each.files, mine, strict=True)}
    return parsed


# Files parsed in one Source.parse_batch call hold at most this many bytes (one file at least): the
# gain is on small files, whose parse is mostly fixed cost; large ones (a national E2 day, about
# 8 MB) are parsed a few at a time, so that their rows never all sit in memory at once.
PARSE_BATCH_BYTES = 16 * 2**20


def _batches(items: list[tuple[bytes, str, Partition]], limit: int) -> list[list[tuple[bytes, str, Partition]]]:
    """``items`` in order, cut into runs of at most ``limit`` bytes of payload (a larger item alone)."""
    batches: list[list] = []
    size = limit + 1
    for item in items:
        if size + len(item[0]) > limit:
            batches.append([])
            size = 0
        batches[-1].append(item)
        size += len(item[0])
    return batches


def _finish(source: Source, day: dt.date, landed: _Landed | None, parsed: dict[str, ParseResult] | FeedError
            ) -> IngestReport:
    """Combine, check and gate one partition's parsed files, then write its lake partition and provenance.

    ``parsed`` is the error of a partition that could not be fetched or read (``landed`` is then None).
    """
    if isinstance(parsed, FeedError):
        raise parsed
    partition = landed.target.label
    result = source.combine(parsed)
    source.check(result.frame, ",".join(parsed))
    verdict = gate.inspect(source, day, result, list(parsed), now=dt.datetime.fromisoformat(landed.fetched_at))
    written = with_source(verdict.frame, source.name)
    path = lake.write_partition(source.dataset, partition, written, source.name)
    if source.series_key and day is not None:
        gate.written(source, day, written, path)
    _write_also(source, result.also, ",".join(parsed))
    lake.write_quarantine(source.name, partition, verdict.rejects)
    report = IngestReport(source.name, source.dataset, partition, len(verdict.frame), len(verdict.rejects),
                          landed.meta, verdict.outcome, verdict.problems, verdict.completeness)
    provenance = {**asdict(report), "parser_version": source.parser_version, "ingested_at_utc": landed.fetched_at}
    lake.write_bytes_atomic(lake.partition_path(source.dataset, partition, source.name).with_name("provenance.json"),
                            json.dumps(provenance, indent=2).encode())
    if len(verdict.rejects):
        log.warning("%s %s: %d rows quarantined", source.name, partition, len(verdict.rejects))
    for problem in verdict.problems:
        log.warning("%s %s: %s", source.name, partition, problem["detail"])
    return report


def with_source(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """``frame`` with the canonical ``source`` column (the producer's name) when its schema lacks one."""
    if lake.SOURCE_COLUMN in frame.columns:
        return frame
    return frame.assign(**{lake.SOURCE_COLUMN: pd.Series(name, index=frame.index, dtype="string")})


def _write_also(source: Source, also: dict[str, pd.DataFrame], files: str) -> None:
    """Merge the rows of the datasets ``source`` also writes (``Source.also_writes``) into its own partitions."""
    for target in source.also_writes:
        rows = also.get(target.dataset)
        if rows is None or rows.empty:
            continue
        check_frame(source.name, target.columns, target.primary_key, rows.reset_index(drop=True), files)
        rows = with_source(rows, source.name)
        if lake.has_partition(target.dataset, target.partition, source.name):
            rows = pd.concat([lake.read_partition(target.dataset, target.partition, source.name), rows],
                             ignore_index=True)
        merged = rows.drop_duplicates(list(target.primary_key), keep="last").sort_values(list(target.primary_key))
        lake.write_partition_if_changed(target.dataset, target.partition, merged.reset_index(drop=True), source.name)


def _rows_of(source: Source, target: Partition, result: ParseResult) -> ParseResult:
    """Keep the rows of a file covering many days (:meth:`Source.covers`) that fall in ``target``'s window."""
    frame = result.frame
    if frame.empty or target.window is None:
        return result
    return ParseResult(frame[target.holds(frame[source.time_column])].reset_index(drop=True), result.rejects,
                       result.also)


class _LandedMeta(dict):
    """Relative name → metadata of its last landed version, looked up on first use.

    Looked up in the file's raw folder (:meth:`Source.raw_folder`: the partition, or the
    period of a file covering many days). Sources whose file list is known only while
    fetching (multi-step APIs) get conditional requests too.
    """

    def __init__(self, source: Source, day: dt.date | None) -> None:
        super().__init__()
        self.source, self.day = source, day

    def __missing__(self, relative: str) -> dict | None:
        self[relative] = lake.latest_raw_meta(self.source.name, self.source.raw_folder(relative, self.day), relative)
        return self[relative]

    def get(self, relative: str, default=None):
        return self[relative] or default


def _refuse_html(source: Source, relative: str, content: bytes) -> None:
    """An HTML page where data was expected (an error or login page served with 200)."""
    head = content[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html")):
        raise SchemaError(source.name, "received an HTML page instead of data", file=relative)


def read_quarantine(source: Source, day: dt.date) -> pd.DataFrame:
    """The rows of ``source`` quarantined for local day ``day`` (empty frame with ``QUARANTINE_COLUMNS`` if none)."""
    path = lake.settings().quarantine / source.name / source.partition_for(day) / "rejects.parquet"
    return pd.read_parquet(path) if path.exists() else pd.DataFrame(columns=lake.QUARANTINE_COLUMNS)
