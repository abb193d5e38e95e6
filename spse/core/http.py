"""What a fetch is asked and returns, and the requester a source receives: no I/O here.

A source says which files to fetch and, for a multi-step API, which requests to make
(:meth:`spse.sources.base.Source.fetch_files`), but it does not send them: the pipeline
hands it an :class:`Http`, :func:`spse.pipeline.fetch.fetch` with the feed's name bound,
the only code that opens a connection or a file (retries, deadline, size cap). The types
both sides name live here, in core, because the pipeline's own senders (webhooks,
:mod:`spse.pipeline.notify`, :mod:`spse.pipeline.dispatch`) use them too: in
``spse/sources`` they would make the pipeline's HTTP depend on the plug-in package, and
core already holds their error, :class:`spse.core.errors.FetchError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

DEFAULT_TIMEOUT_S = (10.0, 60.0)
DEFAULT_MAX_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True)
class FetchPolicy:
    """How hard to try. Timeouts in seconds (connect, read); ``max_bytes`` caps a decoded body.

    ``deadline_s`` [s] bounds the whole fetch of one file (all attempts, waits and bodies);
    ``None`` reads the register's ``fetch_deadline_s``.
    """

    timeout_s: tuple[float, float] = DEFAULT_TIMEOUT_S
    retries: int = 3
    backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    max_bytes: int = DEFAULT_MAX_BYTES
    headers: dict[str, str] = field(default_factory=dict)
    deadline_s: float | None = None

    def deadline(self) -> float:
        """The overall deadline [s] of one file."""
        if self.deadline_s is not None:
            return float(self.deadline_s)
        from spse.core import register

        return register.parameters().float("fetch_deadline_s")


@dataclass(frozen=True)
class Fetched:
    """Bytes received; ``url`` is the one requested, credentials removed (for the record)."""

    url: str
    content: bytes
    status: int | None
    headers: dict[str, str]


class Http(Protocol):
    """Fetch one URL for a source: ``http(url, policy, method="GET", json_body=None) -> Fetched``.

    The pipeline binds the feed named in errors (:func:`spse.pipeline.fetch.requester`).
    ``url`` is http(s), ``file://`` or a local path; ``method``/``json_body`` serve APIs that
    answer a POST (a login, a download request). Raises :class:`spse.core.errors.FetchError`.
    """

    def __call__(self, url: str, policy: FetchPolicy | None = None, *, method: str = "GET",
                 json_body: object | None = None) -> Fetched:
        """The bytes at ``url``."""
        ...


def join_url(base: str, relative: str) -> str:
    """``relative`` appended to ``base`` with exactly one ``/`` between them."""
    return f"{base.rstrip('/')}/{relative.lstrip('/')}"
