"""``spse/sources/registry.toml`` is the one list of sources: each module's class agrees with its entry."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from spse import sources
from spse.sources import registry

SOURCES_DIR = Path(sources.__file__).parent


def _modules_defining_source() -> set[str]:
    names = set()
    for path in SOURCES_DIR.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(isinstance(n, ast.Assign) and any(getattr(t, "id", None) == "SOURCE" for t in n.targets)
               for n in tree.body):
            names.add(path.stem)
    return names


def test_every_source_module_has_an_entry_and_every_entry_a_module():
    listed = {e.name for e in registry.entries()}
    modules = _modules_defining_source()
    assert not modules - listed, f"add a table to spse/sources/registry.toml for {sorted(modules - listed)}"
    assert not listed - modules, f"registry.toml lists sources without module: {sorted(listed - modules)}"


@pytest.mark.parametrize("source", sources.discover(), ids=lambda s: s.name)
def test_class_matches_its_entry(source):
    (entry,) = [e for e in registry.entries() if e.name == source.name]
    assert registry.mismatches(entry, source) == {}


def test_mismatches_name_the_differing_fields():
    class Feed:
        name, dataset, kind, cadence, schedule, optional, replaces = "f", "d", "air", "daily", "5 * * * *", False, []

    entry = registry.Entry("f", "d", "air", "daily", "0 * * * *", optional=True)
    assert registry.mismatches(entry, Feed()) == {"schedule": ("0 * * * *", "5 * * * *"), "optional": (True, False)}


def test_a_table_with_an_unknown_or_missing_field_is_refused(tmp_path):
    path = tmp_path / "registry.toml"
    path.write_text('[feed]\ndataset = "d"\nkind = "air"\ncadence = "daily"\nshedule = "0 * * * *"\n')
    with pytest.raises(ValueError, match=r"\[feed\]: unknown fields \['shedule'\], missing \['schedule'\]"):
        registry.entries(path)


def test_running_leaves_out_unconfigured_optional_and_replaced_sources(monkeypatch):
    for key in [k for k in os.environ if k.startswith("SPSE_") and k.endswith("_URL")]:
        monkeypatch.delenv(key)
    plain = registry.Entry("plain", "d1", "air", "daily", "0 * * * *")
    stand_in = registry.Entry("stand_in", "d2", "air", "daily", "0 * * * *", optional=True, replaces=("plain",))
    assert registry.running([plain, stand_in]) == [plain]
    monkeypatch.setenv("SPSE_STAND_IN_URL", "https://example.invalid/")
    assert registry.running([plain, stand_in]) == [stand_in]


def test_reading_the_registry_imports_neither_pandas_nor_a_source_module():
    code = ("import sys; from spse.sources import registry; registry.entries(); "
            "print(sorted(m for m in sys.modules if m == 'pandas' or m.startswith('spse.sources.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['spse.sources.registry']"
