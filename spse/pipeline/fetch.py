"""Fetching upstream files over HTTP(S), ``file://`` or a local path: the one place spse sends a request.

Sources never call it: the ingest hands each one :func:`requester` (its feed name bound),
typed :class:`spse.core.http.Http`, where the request's types also live.

HTTP: connect/read timeouts, retries with exponential backoff on 5xx and 429 (honouring
``Retry-After``), redirects followed (files.data.gouv.fr answers 302), a size cap on the
body as decoded (``Content-Encoding: gzip`` counts its decompressed bytes), and an overall
deadline per file. Every failure raises :class:`spse.core.errors.FetchError` naming feed and URL,
the URL with its credentials removed (:func:`redact_url`); the request itself uses them.

The deadline (``FetchPolicy.deadline_s``, default the register's ``fetch_deadline_s``)
covers the whole fetch of one file: every attempt's connection, headers and body, and the
waits between attempts. It is checked between the chunks of the body, each read bounded
by the read timeout, so a server that drips bytes is cut at most one read timeout after
the deadline; a wait that would end after the deadline is not started. The headers are
bounded only by the read timeout per received packet. ``file://`` and local paths have no
deadline (a local read cannot stall).
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

from spse.core.errors import FetchError
from spse.core.http import Fetched, FetchPolicy, Http
from spse.core.redaction import redact_url

RETRY_STATUSES = {429, 500, 502, 503, 504}
# Bytes asked of the socket per read; a read returns what has arrived, up to this.
CHUNK_BYTES = 1 << 16


def fetch(feed: str, url: str, policy: FetchPolicy | None = None, *,
          method: str = "GET", json_body: object | None = None) -> Fetched:
    """Return the bytes at ``url`` (http, https, file or a local path).

    ``method``/``json_body`` serve APIs that answer a POST (a login, a download request).
    """
    policy = policy or FetchPolicy()
    scheme = urlparse(url).scheme
    if scheme in ("http", "https"):
        return _fetch_http(feed, url, policy, method, json_body)
    path = Path(unquote(urlparse(url).path)) if scheme == "file" else Path(url)
    if not path.is_file():
        raise FetchError(feed, "file not found", url=url)
    size = path.stat().st_size
    if size > policy.max_bytes:
        raise FetchError(feed, f"file of {size} bytes exceeds the cap of {policy.max_bytes}", url=url)
    return Fetched(url=redact_url(url), content=path.read_bytes(), status=None, headers={})


def requester(feed: str) -> Http:
    """:func:`fetch` for ``feed``'s source: errors name ``feed``; what the ingest passes to ``fetch_files``."""
    return functools.partial(fetch, feed)


def _retry_after_s(value: str | None, default: float) -> float:
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return default


def _fetch_http(feed: str, url: str, policy: FetchPolicy, method: str = "GET",
                json_body: object | None = None) -> Fetched:
    import requests

    deadline = policy.deadline()
    clock = _Clock(deadline)
    attempt = 0
    while True:
        wait = min(policy.backoff_s * 2**attempt, policy.max_backoff_s)
        connect_s, read_s = policy.timeout_s
        timeout = (min(connect_s, clock.left()), min(read_s, clock.left()))
        try:
            response = requests.request(method, url, timeout=timeout, headers=policy.headers,
                                        json=json_body, stream=True, allow_redirects=True)
        except requests.TooManyRedirects:
            raise FetchError(feed, "too many redirects (a redirect loop?)", url=url) from None
        except requests.Timeout as exc:
            problem = f"timed out ({exc.__class__.__name__})"
        except requests.ConnectionError as exc:
            problem = f"connection failed ({exc.__class__.__name__})"
        except requests.RequestException as exc:  # its text may quote the URL with its credentials
            raise FetchError(feed, f"request refused before sending ({exc.__class__.__name__})", url=url) from None
        else:
            if response.status_code in RETRY_STATUSES:
                problem = f"HTTP {response.status_code}"
                wait = min(_retry_after_s(response.headers.get("Retry-After"), wait), policy.max_backoff_s)
                response.close()
            elif response.status_code >= 400:
                response.close()
                raise FetchError(feed, f"HTTP {response.status_code}", url=url, status=response.status_code)
            else:
                return _read_body(feed, url, response, policy, clock, timeout[1])
        attempt += 1
        if attempt > policy.retries:
            raise FetchError(feed, f"{problem} after {policy.retries + 1} attempts", url=url)
        if clock.left() <= wait:
            raise FetchError(feed, f"{problem} after {attempt} attempts; the deadline of {deadline:g} s leaves no "
                                   f"time for another", url=url)
        time.sleep(wait)


class _Clock:
    """Seconds left before the deadline of one file (monotonic clock)."""

    def __init__(self, deadline_s: float) -> None:
        self.deadline_s = deadline_s
        self.start = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def left(self) -> float:
        return max(0.001, self.deadline_s - self.elapsed())

    def passed(self) -> bool:
        return self.elapsed() > self.deadline_s


def _read_body(feed: str, url: str, response, policy: FetchPolicy, clock: _Clock, read_s: float) -> Fetched:
    """The body as decoded, read as it arrives, under the size cap and the deadline (``read_s``: read timeout)."""
    from urllib3.exceptions import DecodeError, HTTPError, ReadTimeoutError

    declared = response.headers.get("Content-Length")
    encoded = "Content-Encoding" in response.headers
    if declared and declared.isdigit() and int(declared) > policy.max_bytes:
        response.close()
        raise FetchError(feed, f"body of {declared} bytes exceeds the cap of {policy.max_bytes}", url=url)
    chunks, total = [], 0
    try:
        while chunk := response.raw.read1(CHUNK_BYTES, decode_content=True):
            total += len(chunk)
            if total > policy.max_bytes:
                what = "decoded body" if encoded else "body"
                raise FetchError(feed, f"{what} exceeds the cap of {policy.max_bytes} bytes", url=url)
            if clock.passed():
                raise FetchError(feed, f"deadline of {clock.deadline_s:g} s exceeded after {total} bytes", url=url)
            chunks.append(chunk)
    except DecodeError as exc:
        raise FetchError(feed, f"body does not decode as {response.headers.get('Content-Encoding')} "
                               f"({exc.__class__.__name__})", url=url) from None
    except HTTPError as exc:
        if clock.passed():
            raise FetchError(feed, f"deadline of {clock.deadline_s:g} s exceeded after {total} bytes",
                             url=url) from None
        if isinstance(exc, ReadTimeoutError):
            raise FetchError(feed, f"body stalled after {total} bytes (no data for the read timeout of "
                                   f"{read_s:g} s)", url=url) from None
        raise FetchError(feed, f"truncated body after {total} bytes ({_cause(exc)})", url=url) from None
    finally:
        response.close()
    body = b"".join(chunks)
    if declared and declared.isdigit() and int(declared) != len(body) and not encoded:
        raise FetchError(feed, f"truncated body: {len(body)} of {declared} bytes", url=url)
    return Fetched(url=redact_url(url), content=body, status=response.status_code, headers=dict(response.headers))


def _cause(exc: Exception) -> str:
    """Class name of the innermost cause of a urllib3 error (its text may quote the URL)."""
    inner = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], Exception) else exc
    return inner.__class__.__name__
