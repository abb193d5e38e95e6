"""``spse new-source`` writes a source that passes its own tests, the registry check and the contract suite."""

import datetime as dt
import importlib.util
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from spse.pipeline.scaffold import new_source
from spse.sources.lcsqa_e2 import SOURCE as E2

REPO = Path(__file__).resolve().parents[1]
E2_DAY = dt.date(2026, 1, 15)


@pytest.fixture
def checkout(tmp_path):
    root = tmp_path / "repo"
    for part in ("spse", "tests", "docs"):
        shutil.copytree(REPO / part, root / part, ignore=shutil.ignore_patterns("__pycache__"))
    for part in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / part, root / part)
    return root


def _unused_name(root, name="scaffold_probe"):
    """A source name the checkout does not have yet (a data engineer may have scaffolded one)."""
    while (root / "spse" / "sources" / f"{name}.py").exists():
        name += "_x"
    return name


def _run_its_tests(root: Path, name: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(root)}
    env.pop("SPSE_HOME", None)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"tests/sources/test_{name}.py",
         "tests/sources/test_contract.py", "tests/sources/test_registry.py",
         "-k", f"{name} or every_source_module_has_an_entry"],
        cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert " passed" in run.stdout
    assert name in subprocess.run(
        [sys.executable, "-c", "from spse.sources import discover; print([s.name for s in discover()])"],
        cwd=root, env=env, capture_output=True, text=True).stdout


def _module(root: Path, name: str):
    spec = importlib.util.spec_from_file_location(f"scaffolded_{name}", root / "spse" / "sources" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fresh_scaffold_passes_its_tests_and_the_contract_suite(checkout):
    name = _unused_name(checkout)
    written = new_source(name, checkout)
    assert checkout / f"spse/sources/{name}.py" in written
    _run_its_tests(checkout, name)


def test_scaffold_of_a_dataset_has_its_canonical_columns_registry_entry_and_doc_rows(checkout):
    name = _unused_name(checkout, "regional_network")
    new_source(name, checkout, dataset="air_hourly")
    source = _module(checkout, name).SOURCE
    assert source.dataset == "air_hourly"
    assert source.columns == E2.columns and source.primary_key == E2.primary_key
    assert (source.kind, source.cadence, source.schedule) == ("air", "daily", E2.schedule)
    # one more producer of air_hourly: configured, it writes its own partitions beside E2's
    # (datasets took several producers; it no longer stands in for E2)
    assert source.optional and source.replaces == ()
    assert source.day_window(E2_DAY) == E2.day_window(E2_DAY)
    entry = tomllib.loads((checkout / "spse/sources/registry.toml").read_text())[name]
    assert entry == {"dataset": "air_hourly", "kind": "air", "cadence": "daily", "schedule": E2.schedule,
                     "optional": True}
    sample = (checkout / f"tests/fixtures/sources/{name}/2026/{name}_2026-01-15.csv").read_text().splitlines()
    assert sample[0].split(";") == list(E2.columns) and len(sample) == 4
    readme = (checkout / "README.md").read_text()
    sources_table = readme[readme.index("## Sources"):readme.index("## Add a source")]
    assert f"| `{name}` | `air_hourly` | when configured, beside `lcsqa_e2` |" in sources_table
    assert f"| `{name}` |" in (checkout / "docs/sources.md").read_text()
    _run_its_tests(checkout, name)



def test_scaffold_like_a_reference_source_copies_its_cadence(checkout):
    name = _unused_name(checkout, "other_facilities")
    new_source(name, checkout, like="paris_facilities")
    source = _module(checkout, name).SOURCE
    assert (source.dataset, source.cadence, source.kind) == ("facilities", "reference", "reference")
    assert source.files(None) == [f"{name}.csv"] and source.day_window(E2_DAY) is None


def test_unknown_dataset_lists_the_known_ones(checkout):
    with pytest.raises(KeyError, match=r"no source produces dataset 'air_daily'; known: \[.*'air_hourly'"):
        new_source("regional_network", checkout, dataset="air_daily")
    assert not (checkout / "spse/sources/regional_network.py").exists()


def test_names_are_checked(checkout):
    with pytest.raises(ValueError, match="snake_case"):
        new_source("City-Noise", checkout)
    with pytest.raises(FileExistsError):
        new_source("lcsqa_e2", checkout)
