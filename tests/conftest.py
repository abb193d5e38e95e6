"""Shared fixtures: an isolated SPSE_HOME per test, the real samples in ../shared/data, a local SMTP server."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from smtp_recorder import Recorder, free_port

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


@contextlib.contextmanager
def _running_smtp(env: pytest.MonkeyPatch) -> Iterator[Recorder]:
    """An aiosmtpd server on 127.0.0.1 (no TLS) and the ``SPSE_SMTP_*`` settings that point at it."""
    handler = Recorder()
    handler.port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    env.setenv("SPSE_SMTP_HOST", "127.0.0.1")
    env.setenv("SPSE_SMTP_PORT", str(handler.port))
    env.setenv("SPSE_SMTP_SECURITY", "none")
    env.setenv("SPSE_SMTP_FROM", "alertes@spse.test")
    env.setenv("SPSE_SMTP_BACKOFF_S", "0")
    env.setenv("SPSE_SMTP_TIMEOUT_S", "5")
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def smtp_recorder(spse_home, monkeypatch):
    """A local SMTP server for one test; ``.messages`` holds ``(recipient, EmailMessage)``."""
    with _running_smtp(monkeypatch) as handler:
        yield handler


@pytest.fixture(scope="module")
def smtp_recorder_module():
    """A local SMTP server shared by the tests of a module (its ``SPSE_SMTP_*`` settings set for the module)."""
    with pytest.MonkeyPatch.context() as env, _running_smtp(env) as handler:
        yield handler
