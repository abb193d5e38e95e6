"""The registry of sources, ``registry.toml``: which sources exist and when they run.

Read without pandas, so both :func:`spse.sources.discover` (which then imports the modules
it lists) and the Airflow DAG factory (:mod:`spse.pipeline.orchestration`, which must parse
in a fraction of a second) read the same declaration. Each source module's class repeats
these attributes; ``tests/sources/test_registry.py`` checks they agree.
"""

from __future__ import annotations

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


def entries(path: Path = REGISTRY) -> list[Entry]:
    """Every source of the registry at ``path``, sorted by name.

    Raises ``ValueError`` naming the source and the field when a table lacks a field or has
    an unknown one.
    """
    with path.open("rb") as fh:
        tables = tomllib.load(fh)
    found = []
    for name, table in tables.items():
        unknown = set(table) - set(FIELDS)
        missing = {"dataset", "kind", "cadence", "schedule"} - set(table)
        if unknown or missing:
            raise ValueError(f"{path.name} [{name}]: unknown fields {sorted(unknown)}, missing {sorted(missing)}")
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
