"""The registry of sources, ``registry.toml``: which sources exist and when they run.

Read without pandas, so both :func:`spse.sources.discover` (which then imports the modules
it lists) and the Airflow DAG factory (:mod:`spse.pipeline.orchestration`, which must parse
in a fraction of a second) read the same declaration. Each source module's class repeats
these attributes; ``tests/sources/test_registry.py`` checks they agree.

Its ``[datasets.<name>]`` tables give the overlap rule of the datasets several sources feed
(:class:`Overlap`): which rows are "the same" (``key``) and which source wins (``priority``).
"""

from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from spse.core.config import is_demo

REGISTRY = Path(__file__).with_name("registry.toml")


@dataclass(frozen=True)
class Entry:
    """The scheduling attributes of one source (:class:`spse.sources.base.Source` names them)."""

    name: str
    dataset: str
    kind: str
    cadence: str
    schedule: str
    optional: bool = False
    replaces: tuple[str, ...] = ()


FIELDS = tuple(f.name for f in fields(Entry))
DATASETS = "datasets"


@dataclass(frozen=True)
class Overlap:
    """The overlap rule of a dataset fed by several sources.

    Rows of two sources with equal ``key`` columns (the same station and hour) are the same
    observation: the source earliest in ``priority`` keeps all its rows of that key, the
    others' rows are set aside for comparison. Sources absent from ``priority`` come after
    the listed ones, in name order.
    """

    dataset: str
    key: tuple[str, ...]
    priority: tuple[str, ...] = ()

    def rank(self, source: str | None) -> int:
        """Position of ``source`` in the priority (0 first); unlisted sources share the last rank."""
        return self.priority.index(source) if source in self.priority else len(self.priority)


_PARSED: dict[Path, tuple[tuple[int, int], dict]] = {}


def _load(path: Path | None) -> dict:
    """The registry file parsed, again only when its modification time or size changed (a copy)."""
    path = path or REGISTRY
    stat = path.stat()
    stamp = (stat.st_mtime_ns, stat.st_size)
    parsed = _PARSED.get(path)
    if parsed is None or parsed[0] != stamp:
        with path.open("rb") as fh:
            parsed = _PARSED[path] = (stamp, tomllib.load(fh))
    return copy.deepcopy(parsed[1])


def overlaps(path: Path | None = None) -> dict[str, Overlap]:
    """The overlap rule of each dataset with a ``[datasets.<name>]`` table, by dataset name."""
    rules = {}
    for dataset, table in _load(path).get(DATASETS, {}).items():
        unknown = set(table) - {"key", "priority"}
        if unknown or "key" not in table:
            raise ValueError(f"registry [datasets.{dataset}]: needs key (and priority), unknown {sorted(unknown)}")
        rules[dataset] = Overlap(dataset, tuple(table["key"]), tuple(table.get("priority", ())))
    return rules


def entries(path: Path | None = None) -> list[Entry]:
    """Every source of the registry at ``path`` (default :data:`REGISTRY`, read when called), sorted by name.

    Raises ``ValueError`` naming the source and the field when a table lacks a field or has
    an unknown one.
    """
    tables = _load(path)
    found = []
    for name, table in tables.items():
        if name == DATASETS:
            continue
        unknown = set(table) - set(FIELDS)
        missing = {"dataset", "kind", "cadence", "schedule"} - set(table)
        if unknown or missing:
            raise ValueError(f"{(path or REGISTRY).name} [{name}]: unknown fields {sorted(unknown)}, "
                             f"missing {sorted(missing)}")
        found.append(Entry(name=name, **{**table, "replaces": tuple(table.get("replaces", ()))}))
    return sorted(found, key=lambda e: e.name)


def running(listed: list[Entry]) -> list[Entry]:
    """The entries this deployment runs, in the order given.

    All but optional ones whose ``SPSE_<NAME>_URL`` is not set, and but those replaced by
    a configured stand-in (``replaces``).
    """
    on = [e for e in listed if not (e.optional and is_demo(e.name))]
    replaced = {name for e in on if e.optional for name in e.replaces}
    return [e for e in on if e.name not in replaced]


def mismatches(entry: Entry, source: object) -> dict[str, tuple[object, object]]:
    """Fields where ``source`` (a Source instance) differs from ``entry``: name → (registry, class)."""
    return {f: (getattr(entry, f), tuple(getattr(source, f)) if f == "replaces" else getattr(source, f))
            for f in FIELDS
            if getattr(entry, f) != (tuple(getattr(source, f)) if f == "replaces" else getattr(source, f))}
