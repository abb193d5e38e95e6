"""``spse new-source`` writes a source that passes its own tests and the contract suite."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from spse.pipeline.scaffold import new_source

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def checkout(tmp_path):
    root = tmp_path / "repo"
    for part in ("spse", "tests"):
        shutil.copytree(REPO / part, root / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    return root


def _unused_name(root, name="scaffold_probe"):
    """A source name the checkout does not have yet (a data engineer may have scaffolded one)."""
    while (root / "spse" / "sources" / f"{name}.py").exists():
        name += "_x"
    return name


def test_fresh_scaffold_passes_its_tests_and_the_contract_suite(checkout):
    name = _unused_name(checkout)
    written = new_source(name, checkout)
    assert checkout / f"spse/sources/{name}.py" in written
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    env.pop("SPSE_HOME", None)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         f"tests/sources/test_{name}.py", "tests/sources/test_contract.py", "-k", name],
        cwd=checkout, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert " passed" in run.stdout
    assert name in subprocess.run(
        [sys.executable, "-c", "from spse.sources import discover; print([s.name for s in discover()])"],
        cwd=checkout, env=env, capture_output=True, text=True).stdout


def test_names_are_checked(checkout):
    with pytest.raises(ValueError, match="snake_case"):
        new_source("City-Noise", checkout)
    with pytest.raises(FileExistsError):
        new_source("lcsqa_e2", checkout)
