"""How fresh each source is: last successful fetch, latest partition, row count, quality.

A source is ``stale`` when its last successful ingest is older than ``max_age_hours``
(declared by the source; default by cadence) or, for a daily source, when it has no
partition for the day the daily run reports on. Stale sources raise ``data_quality``
alerts (``spse.pipeline.alerts``) and show in ``spse sources``. ``quality`` is the outcome of the
last attempt at the day's partition in the quality log (``ok``, ``partial``, ``refused``,
``failed``; ``spse.pipeline.qualitylog``, written by the gate ``spse.pipeline.gate``); :func:`shown_status`
is what ``spse sources`` prints (``partial`` for a fresh but incomplete day) and
:func:`needs_refetch` what the daily run ingests again.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd

from spse.pipeline import lake, qualitylog
from spse.sources.base import Source

# Quality-log outcomes after which the day's partition is ingested again.
REFETCH_OUTCOMES = ("partial", "failed")

DEFAULT_MAX_AGE_HOURS = {"daily": 36, "reference": 24 * 400}


def max_age_hours(source: Source) -> float:
    """Age [h] after which the last successful ingest of ``source`` is stale.

    The source's own ``max_age_hours``, else the default of its cadence (daily: 36 h,
    reference: 400 days).
    """
    return float(getattr(source, "max_age_hours", None) or DEFAULT_MAX_AGE_HOURS[source.cadence])


def quality(source: Source, day: dt.date | None = None) -> dict | None:
    """Quality-log record of the last attempt at ``day``'s partition (latest partition without a day)."""
    partition = source.partition_for(day) if day is not None else lake.latest_partition(source.dataset, source.name)
    return qualitylog.read(source.name, partition) if partition else None


def needs_refetch(source: Source, day: dt.date, now: dt.datetime | None = None) -> bool:
    """Whether ``day``'s partition of ``source`` must be ingested (again) by the daily run.

    Yes when the lake lacks it, when the quality log says its last attempt was ``partial``
    or ``failed``, and, for a reference source, when its last successful fetch is older
    than :func:`max_age_hours` (its cadence; a refused vintage waits for that too).
    """
    if not lake.has_partition(source.dataset, source.partition_for(day), source.name):
        return True
    record = quality(source, day)
    if record is not None and record["outcome"] in REFETCH_OUTCOMES:
        return True
    if source.cadence == "daily":
        return False
    age = status(source, now or dt.datetime.now(dt.UTC))["age_hours"]
    return age is not None and age > max_age_hours(source)


def status(source: Source, now: dt.datetime, day: dt.date | None = None) -> dict:
    """One row of the freshness report for ``source`` at ``now`` (UTC)."""
    latest = lake.latest_partition(source.dataset, source.name)
    record = quality(source, day)
    row = {"source": source.name, "dataset": source.dataset, "kind": source.kind, "cadence": source.cadence,
           "schedule": source.schedule, "latest_partition": latest, "rows": 0, "last_fetch_utc": None,
           "age_hours": None, "max_age_hours": max_age_hours(source), "status": "never",
           "quality": record["outcome"] if record else None}
    if latest is None:
        return row
    row["rows"] = lake.count_rows(source.dataset, latest, source.name)
    row["last_fetch_utc"], row["age_hours"] = _last_fetch(source, latest, now)
    if _stale(source, latest, row["age_hours"], day):
        row["status"] = "stale"
    else:
        row["status"] = "fresh" if row["age_hours"] is not None else "unknown"  # written without provenance
    return row


def stale_datasets(sources: list[Source], day: dt.date, now: dt.datetime | None = None) -> set[str]:
    """Datasets of the ``sources`` whose :func:`status` is ``stale`` for local day ``day`` at ``now`` (UTC).

    The same test as :func:`report`, without the row counts and quality records it also reads.
    """
    now = now or dt.datetime.now(dt.UTC)
    out = set()
    for source in sources:
        latest = lake.latest_partition(source.dataset, source.name)
        if latest is not None and _stale(source, latest, _last_fetch(source, latest, now)[1], day):
            out.add(source.dataset)
    return out


def _last_fetch(source: Source, latest: str, now: dt.datetime) -> tuple[str | None, float | None]:
    """When the ``latest`` partition was ingested (ISO 8601 UTC) and its age at ``now`` [h], from its provenance."""
    provenance = lake.provenance_path(source.dataset, latest, source.name)
    if provenance.exists():
        fetched = json.loads(provenance.read_text()).get("ingested_at_utc")
        if fetched:
            return fetched, round((now - dt.datetime.fromisoformat(fetched)).total_seconds() / 3600, 1)
    return None, None


def _stale(source: Source, latest: str, age_hours: float | None, day: dt.date | None) -> bool:
    """Older than the source allows, or (a daily source) without ``day``'s partition."""
    stale_age = age_hours is not None and age_hours > max_age_hours(source)
    # A forecast source (not backfilled) has no runs for past days by design: only a day after its latest run misses.
    missing_day = (day is not None and source.cadence == "daily"
                   and (getattr(source, "backfilled", True) or source.partition_for(day) > latest)
                   and not lake.has_partition(source.dataset, source.partition_for(day), source.name))
    return stale_age or missing_day


def shown_status(row: dict) -> str:
    """Status printed by ``spse sources``: ``partial`` when a fresh day's partition is incomplete."""
    return "partial" if row["status"] == "fresh" and row.get("quality") == "partial" else row["status"]


def report(sources: list[Source], now: dt.datetime | None = None, day: dt.date | None = None) -> pd.DataFrame:
    """One :func:`status` row per source, at ``now`` (default: the current UTC time) for local day ``day``."""
    now = now or dt.datetime.now(dt.UTC)
    return pd.DataFrame([status(s, now, day) for s in sources])
