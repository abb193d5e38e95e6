"""Shared fixtures: an isolated SPSE_HOME per test, and the real samples in ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def spse_home(tmp_path, monkeypatch):
    """A fresh SPSE_HOME with no source URL overrides."""
    home = tmp_path / "spse_home"
    monkeypatch.setenv("SPSE_HOME", str(home))
    for key in list(os.environ):
        if key.startswith("SPSE_") and key.endswith("_URL"):
            monkeypatch.delenv(key)
    return home


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public samples (``$SPSE_SHARED_DATA`` or ``../shared/data``); skips when absent.

    This is the only way tests read them: they are never copied into the repository.
    """
    candidates = [os.environ.get("SPSE_SHARED_DATA"), REPO.parent / "shared" / "data"]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    pytest.skip("real samples (../shared/data or SPSE_SHARED_DATA) are not available")
