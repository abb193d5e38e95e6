"""Sources: the modules listed in ``registry.toml``, each defining ``SOURCE``.

Importing this package imports neither pandas nor a source module (the DAG files read
:mod:`spse.sources.registry` through it); :func:`discover` imports the listed modules.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from spse.sources import registry

if TYPE_CHECKING:
    from spse.sources.base import Source


def discover() -> list[Source]:
    """Every source of the registry, imported, sorted by name (a stable order for generated DAGs).

    Raises ``TypeError`` when a listed module defines no ``SOURCE``.
    """
    from spse.sources.base import Source

    found = []
    for entry in registry.entries():
        source = getattr(importlib.import_module(f"{__name__}.{entry.name}"), "SOURCE", None)
        if not isinstance(source, Source):
            raise TypeError(f"spse/sources/{entry.name}.py, listed in registry.toml, defines no SOURCE")
        found.append(source)
    return found


def active() -> list[Source]:
    """The sources this deployment runs (:func:`spse.sources.registry.running`)."""
    names = {e.name for e in registry.running(registry.entries())}
    return [s for s in discover() if s.name in names]


def get(name: str) -> Source:
    """The discovered source named ``name``; ``KeyError`` listing the known names otherwise."""
    for source in discover():
        if source.name == name:
            return source
    raise KeyError(f"no source named {name!r}; known: {[s.name for s in discover()]}")
