"""Fetching upstream files over HTTP(S), ``file://`` or a local path.

HTTP: a session with connect/read timeouts, retries with exponential backoff on 5xx and
429 (honouring ``Retry-After``), redirects followed (files.data.gouv.fr answers 302), and
a size cap. Every failure raises :class:`spse.errors.FetchError` naming feed and URL.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from spse.errors import FetchError

DEFAULT_TIMEOUT_S = (10.0, 60.0)
DEFAULT_MAX_BYTES = 200 * 1024 * 1024
RETRY_STATUSES = {429, 500, 502, 503, 504}


@dataclass(frozen=True)
class FetchPolicy:
    """How hard to try. Timeouts in seconds (connect, read); ``max_bytes`` caps a body."""

    timeout_s: tuple[float, float] = DEFAULT_TIMEOUT_S
    retries: int = 3
    backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    max_bytes: int = DEFAULT_MAX_BYTES
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Fetched:
    url: str
    content: bytes
    status: int | None
    headers: dict[str, str]


def join_url(base: str, relative: str) -> str:
    return f"{base.rstrip('/')}/{relative.lstrip('/')}"


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
    return Fetched(url=url, content=path.read_bytes(), status=None, headers={})


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

    attempt = 0
    while True:
        wait = min(policy.backoff_s * 2**attempt, policy.max_backoff_s)
        try:
            response = requests.request(method, url, timeout=policy.timeout_s, headers=policy.headers,
                                        json=json_body, stream=True, allow_redirects=True)
        except requests.Timeout as exc:
            problem = f"timed out ({exc.__class__.__name__})"
        except requests.ConnectionError as exc:
            problem = f"connection failed ({exc.__class__.__name__})"
        else:
            if response.status_code in RETRY_STATUSES:
                problem = f"HTTP {response.status_code}"
                wait = min(_retry_after_s(response.headers.get("Retry-After"), wait), policy.max_backoff_s)
                response.close()
            elif response.status_code >= 400:
                response.close()
                raise FetchError(feed, f"HTTP {response.status_code}", url=url, status=response.status_code)
            else:
                return _read_body(feed, url, response, policy)
        attempt += 1
        if attempt > policy.retries:
            raise FetchError(feed, f"{problem} after {policy.retries + 1} attempts", url=url)
        time.sleep(wait)


def _read_body(feed: str, url: str, response, policy: FetchPolicy) -> Fetched:
    import requests

    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > policy.max_bytes:
        response.close()
        raise FetchError(feed, f"body of {declared} bytes exceeds the cap of {policy.max_bytes}", url=url)
    chunks, total = [], 0
    try:
        for chunk in response.iter_content(chunk_size=1 << 16):
            total += len(chunk)
            if total > policy.max_bytes:
                raise FetchError(feed, f"body exceeds the cap of {policy.max_bytes} bytes", url=url)
            chunks.append(chunk)
    except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError) as exc:
        raise FetchError(feed, f"truncated body ({exc.__class__.__name__})", url=url) from exc
    finally:
        response.close()
    body = b"".join(chunks)
    if declared and declared.isdigit() and int(declared) != len(body) and "Content-Encoding" not in response.headers:
        raise FetchError(feed, f"truncated body: {len(body)} of {declared} bytes", url=url)
    return Fetched(url=url, content=body, status=response.status_code, headers=dict(response.headers))
