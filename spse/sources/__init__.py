"""Source registry: every module in this package that defines ``SOURCE`` is a feed."""

from __future__ import annotations

import importlib
import pkgutil

from spse.sources.base import Source


def discover() -> list[Source]:
    """All registered sources, sorted by name (a stable order for generated DAGs)."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        source = getattr(module, "SOURCE", None)
        if isinstance(source, Source):
            found.append(source)
    return sorted(found, key=lambda s: s.name)


def active() -> list[Source]:
    """The sources this deployment runs.

    All of them but optional ones whose location is not set, and but those replaced by a
    configured stand-in (``Source.replaces``).
    """
    from spse.core.config import is_demo

    running = [s for s in discover() if not (s.optional and is_demo(s.name))]
    replaced = {name for s in running if s.optional for name in s.replaces}
    return [s for s in running if s.name not in replaced]


def get(name: str) -> Source:
    """The discovered source named ``name``; ``KeyError`` listing the known names otherwise."""
    for source in discover():
        if source.name == name:
            return source
    raise KeyError(f"no source named {name!r}; known: {[s.name for s in discover()]}")
