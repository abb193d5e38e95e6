"""The synthetic demo bundle: every feed of the daily job, generated offline.

``generate`` writes, under ``root`` (default ``$SPSE_HOME/demo``), one folder per source
laid out as upstream, in the feeds' real formats, read by the production connectors through
``file://`` URLs (``spse.core.config.source_base_url``). Values are invented from a fixed seed,
so two generations are byte-identical; the stations, arrondissements and their populations
are real facts (``spse.pipeline.demo.facts``). ``docs/demo.md`` lists the designed facts: a PM10
episode in the north and east on 2026-01-15, an NO2 peak of 212.0 µg/m³ at FR04329, the
invalid hours, the noise levels, the crèche row that must be quarantined, and the CAMS runs of
2026-01-14 and 2026-01-15 00 UTC, the later revising the earlier's PM10 forecast for 2026-01-16
and forecasting PM10 above 50 in the north-east on 2026-01-16 and 2026-01-17.
The air and noise files cover the whole local year ``DEMO_YEAR`` (2025-01-16 to 2026-01-15)
with designed seasons and episodes (``spse.pipeline.demo.air_year``).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
from pathlib import Path

import numpy as np

from spse.pipeline.demo.timeline import DEMO_DAYS, DEMO_YEAR

__all__ = ["BUNDLE_FORMAT", "DEMO_DAYS", "DEMO_YEAR", "SEED", "SUBSCRIPTIONS", "bundle_version", "ensure", "generate",
           "install_subscriptions"]

log = logging.getLogger(__name__)

SEED = 20260115
# The demo's subscribers (e-mail addresses under example.org), format: docs/notifications.md.
SUBSCRIPTIONS = Path(__file__).with_name("subscriptions.yml")
BUNDLE_FORMAT = "1"
MARKER = "BUNDLE_VERSION"
# One independent random stream per part, so changing one part leaves the others' bytes unchanged.
_STREAMS = {"air": 1, "noise": 2, "population": 3, "facilities": 4, "air_year": 5, "noise_year": 6}


def bundle_version() -> str:
    """``<format>+<digest of the generator's source>``: any change to ``spse.pipeline.demo`` regenerates."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return f"{BUNDLE_FORMAT}+{digest.hexdigest()[:16]}"


def _rng(part: str) -> np.random.Generator:
    return np.random.default_rng([SEED, _STREAMS[part]])


def _default_root() -> Path:
    from spse.core.config import settings

    return settings().demo


def _write_all(root: Path) -> None:
    from spse.pipeline.demo import (
        air,
        air_year,
        facilities,
        forecast,
        ihd_incidence,
        life_table,
        mortality,
        noise,
        noise_map,
        population,
        zones,
    )

    air.write(root, _rng("air"))
    air_year.write(root, _rng("air_year"))
    forecast.write(root)
    noise.write(root, _rng("noise"))
    noise.write_year(root, _rng("noise_year"))
    noise_map.write(root)
    population.write(root, _rng("population"))
    zones.write(root)
    facilities.write(root, _rng("facilities"))
    mortality.write(root)
    life_table.write(root)
    ihd_incidence.write(root)
    (root / MARKER).write_text(bundle_version() + "\n", encoding="utf-8")


def generate(root: Path | None = None) -> Path:
    """Write the bundle under ``root`` and return it; an existing bundle there is replaced.

    The files are written into a temporary sibling folder that is renamed into place, so a
    reader never sees half a bundle.
    """
    root = Path(root) if root is not None else _default_root()
    root.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=root.parent, prefix=f".{root.name}.new-"))
    try:
        _write_all(work)
        if root.exists():
            old = Path(tempfile.mkdtemp(dir=root.parent, prefix=f".{root.name}.old-"))
            root.rename(old / root.name)
            work.rename(root)
            shutil.rmtree(old, ignore_errors=True)
        else:
            work.rename(root)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    log.info("demo bundle %s written to %s", bundle_version(), root)
    return root


def is_current(root: Path | None = None) -> bool:
    """Whether ``root`` holds a complete bundle of this generator's version."""
    root = Path(root) if root is not None else _default_root()
    marker = root / MARKER
    return marker.is_file() and marker.read_text(encoding="utf-8").strip() == bundle_version()


def ensure(root: Path | None = None) -> Path:
    """Generate the bundle if it is missing or was written by another version; return its root."""
    root = Path(root) if root is not None else _default_root()
    if not is_current(root):
        try:
            generate(root)
        except OSError:
            if not is_current(root):  # another process may have renamed its bundle into place first
                raise
    return root


def install_subscriptions(path: Path) -> bool:
    """Copy the demo's subscriptions file to ``path`` unless a file is there; True when copied.

    An operator's own subscriptions are never overwritten.
    """
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SUBSCRIPTIONS, path)
    return True
