"""Fetch → land raw → parse → check → lake partition + quarantine, the same for every source."""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import asdict, dataclass

import pandas as pd

from spse import lake
from spse.config import source_base_url
from spse.fetch import FetchPolicy, fetch
from spse.sources.base import ParseResult, Source

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestReport:
    source: str
    dataset: str
    partition: str
    rows: int
    rejected: int
    files: list[dict]


def ingest(source: Source, day: dt.date) -> IngestReport:
    """Ingest one partition of ``source`` (the day's files, or the reference vintage).

    Raises :class:`spse.errors.FeedError` (naming feed, URL, file, row) if a file cannot be
    fetched or read; in that case the lake partition is left as it was.
    """
    base = source_base_url(source.name)
    partition = source.partition_for(day)
    fetched_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    policy = FetchPolicy(headers=source.auth_headers(base))
    parsed: dict[str, ParseResult] = {}
    files = []
    for relative in source.files(day):
        url = source.url_for(base, relative)
        got = fetch(source.name, url, policy)
        meta = {"source": source.name, "url": _redact(url), "fetched_at_utc": fetched_at,
                "http_status": got.status, "etag": got.headers.get("ETag"),
                "last_modified": got.headers.get("Last-Modified")}
        raw_path = lake.land_raw(source.name, partition, relative, got.content, meta)
        parsed[relative] = source.parse(got.content, relative)
        files.append({**meta, "file": relative, "raw_path": str(raw_path),
                      "sha256": json.loads(raw_path.with_name(raw_path.name + ".meta.json").read_text())["sha256"]})
    result = source.combine(parsed)
    source.check(result.frame, ",".join(parsed))
    lake.write_partition(source.dataset, partition, result.frame)
    lake.write_quarantine(source.name, partition, result.rejects)
    report = IngestReport(source.name, source.dataset, partition, len(result.frame), len(result.rejects), files)
    lake.write_bytes_atomic(lake.partition_path(source.dataset, partition).with_name("provenance.json"),
                            json.dumps({**asdict(report), "parser_version": getattr(source, "parser_version", "1")},
                                       indent=2).encode())
    if len(result.rejects):
        log.warning("%s %s: %d rows quarantined", source.name, partition, len(result.rejects))
    return report


def _redact(url: str) -> str:
    """Drop query-string values that could carry a secret from what is recorded."""
    from urllib.parse import parse_qsl, urlencode, urlparse, urlunparse

    parts = urlparse(url)
    query = [(k, "***" if any(s in k.lower() for s in ("key", "token", "password", "secret")) else v)
             for k, v in parse_qsl(parts.query)]
    return urlunparse(parts._replace(query=urlencode(query)))


def read_quarantine(source: Source, day: dt.date) -> pd.DataFrame:
    path = lake.settings().quarantine / source.name / source.partition_for(day) / "rejects.parquet"
    return pd.read_parquet(path) if path.exists() else pd.DataFrame(columns=lake.QUARANTINE_COLUMNS)
