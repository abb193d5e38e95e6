"""The quality log: what the data-quality gate and the daily run found wrong with each input.

One JSON record per source and partition, replaced by each new attempt
(``quality/<source>/<partition>.json`` under ``SPSE_HOME``), so the log always says how
the *last* attempt at that partition went:

* ``ok``       every file parsed and passed the gate (rows may still be quarantined:
               ``quarantined`` counts them);
* ``partial``  the partition was written but the day is incomplete (fewer station-hours
               than expected); it is re-fetched by the next run;
* ``refused``  the gate refused the input (a reference vintage that changed beyond its
               tolerance, a file whose rows are all implausible): the last good
               partition is kept, untouched;
* ``failed``   the input could not be fetched or read (HTTP error, wrong shape); the last
               good partition, if any, is kept.

``problems`` lists what was found, each ``{"check", "file", "row", "detail"}`` (``row`` is
the 1-based line in ``file``, header = 1, or ``None``). The daily alert run turns every
record that is not ``ok``, and every ``ok`` record with quarantined rows, into a
``data_quality`` alert (:func:`spse.pipeline.alerts.quality.input_problem_alerts`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path

from spse.core.config import settings

OUTCOMES = ("ok", "partial", "refused", "failed")


def _path(source: str, partition: str) -> Path:
    return settings().home / "quality" / source / f"{partition}.json"


def record(source: str, dataset: str, partition: str, outcome: str, problems: Iterable[dict] = (), *,
           quarantined: int = 0, rows: int | None = None) -> dict:
    """Write (replace) the record of the last attempt at ``source``/``partition`` and return it."""
    from spse.pipeline.lake import write_bytes_atomic

    if outcome not in OUTCOMES:
        raise ValueError(f"quality outcome {outcome!r} is not one of {OUTCOMES}")
    entry = {
        "source": source, "dataset": dataset, "partition": partition, "outcome": outcome,
        "checked_at_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "rows": rows, "quarantined": int(quarantined),
        "problems": [{"check": p.get("check", ""), "file": p.get("file"), "row": p.get("row"),
                      "detail": p.get("detail", "")} for p in problems],
    }
    write_bytes_atomic(_path(source, partition), json.dumps(entry, indent=2, ensure_ascii=False).encode())
    return entry


def read(source: str, partition: str) -> dict | None:
    """The record of the last attempt at ``source``/``partition``, or ``None``."""
    path = _path(source, partition)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def concerning(day: dt.date, sources: Iterable) -> list[dict]:
    """Records the daily run of local ``day`` must report: not ``ok``, or ``ok`` with quarantined rows.

    For daily sources, the partitions of ``day`` and, when the source ``uses_previous_day``,
    the day before (the local day's hours span two UTC days); for reference sources, their
    current partition (a refused or failed update stays reported, each day, until an update
    passes).
    """
    found = []
    for source in sources:
        wanted = [source.partition_for(day)]
        if source.cadence == "daily" and getattr(source, "uses_previous_day", True):
            wanted.insert(0, source.partition_for(day - dt.timedelta(days=1)))
        for partition in dict.fromkeys(wanted):
            entry = read(source.name, partition)
            if entry and (entry["outcome"] != "ok" or entry.get("quarantined")):
                found.append(entry)
    return found
