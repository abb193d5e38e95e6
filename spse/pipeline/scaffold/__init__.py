"""``spse new-source NAME``: the three files of a new source, ready to pass the tests.

It writes, from the templates beside this module:

* ``spse/sources/<name>.py``: a working source for a simple documented format
  (``;``-separated UTF-8 CSV: ``site_id;pollutant;ts_start_utc;value``, ISO 8601 UTC
  hour-beginning instants, values in µg/m³), with comments on what to replace;
* ``tests/fixtures/sources/<name>/``: a recorded sample of that format, its ``SAMPLE_DAY``
  and a ``bad/`` variant with one corrupted row, the layout the contract suite reads;
* ``tests/sources/test_<name>.py``: hand-checked values of the sample.

A fresh scaffold passes ``make test`` for real; the engineer then replaces sample, parser
and expected values together.
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path
from string import Template

TEMPLATES = Path(__file__).parent / "templates"
SAMPLE_DAY = "2026-01-15"


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def check_name(name: str, root: Path) -> None:
    """Refuse a ``name`` that is not a snake_case identifier, or a source that already exists under ``root``."""
    if not re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", name) or keyword.iskeyword(name):
        raise ValueError(f"source name {name!r} must be snake_case, e.g. 'city_noise_sensors'")
    if (root / "spse" / "sources" / f"{name}.py").exists():
        raise FileExistsError(f"spse/sources/{name}.py already exists")


def new_source(name: str, root: Path) -> list[Path]:
    """Write the files of source ``name`` under the repository ``root``; return them."""
    root = root.resolve()
    if not (root / "spse" / "sources").is_dir():
        raise FileNotFoundError(f"{root} is not an spse checkout (no spse/sources/)")
    check_name(name, root)
    values = {"name": name, "Class": _camel(name), "env": f"SPSE_{name.upper()}_URL", "day": SAMPLE_DAY,
              "year": SAMPLE_DAY[:4]}
    fixture = root / "tests" / "fixtures" / "sources" / name
    targets = {
        "source.py.tmpl": root / "spse" / "sources" / f"{name}.py",
        "test_source.py.tmpl": root / "tests" / "sources" / f"test_{name}.py",
        "sample.csv.tmpl": fixture / SAMPLE_DAY[:4] / f"{name}_{SAMPLE_DAY}.csv",
        "bad_sample.csv.tmpl": fixture / "bad" / SAMPLE_DAY[:4] / f"{name}_{SAMPLE_DAY}.csv",
    }
    written = []
    for template, target in targets.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(Template((TEMPLATES / template).read_text()).substitute(values), encoding="utf-8")
        written.append(target)
    (fixture / "SAMPLE_DAY").write_text(SAMPLE_DAY + "\n")
    (fixture / "bad" / "EXPECTED_REJECT").write_text(f"{SAMPLE_DAY[:4]}/{name}_{SAMPLE_DAY}.csv:4\n")
    written += [fixture / "SAMPLE_DAY", fixture / "bad" / "EXPECTED_REJECT"]
    registry = root / "spse" / "sources" / "registry.toml"
    with registry.open("a", encoding="utf-8") as fh:
        fh.write(f'\n[{name}]\ndataset = "{name}"\nkind = "air"\ncadence = "daily"\nschedule = "30 * * * *"\n'
                 "optional = true\n")
    return [*written, registry]
