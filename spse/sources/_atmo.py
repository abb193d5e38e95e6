"""What the Atmo Data API sources share: login, Bearer token, query filters, CSV reading.

Atmo France's API (``https://admindata.atmo-france.org``, docs at ``/api/doc/v2``) needs a
free account: ``POST {base}/api/login`` with JSON ``{"username", "password"}`` answers
``{"token": ...}``, sent as ``Authorization: Bearer <token>`` on the data calls (feeds.md §b,
[R] from third-party code). The credentials come from :func:`spse.core.secrets.get` on the
connection ``atmo_data`` (``SPSE_ATMO_DATA_LOGIN``, ``SPSE_ATMO_DATA_PASSWORD`` or the
Airflow connection), only when the base URL is http(s): a recorded folder or the demo
bundle needs none. Neither the password nor the token is ever put in a message or a log.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import ClassVar
from urllib.parse import parse_qsl, urlencode

import pandas as pd

from spse.core import config, secrets
from spse.core.errors import FeedError, FetchError, SchemaError
from spse.core.http import Fetched, FetchPolicy, Http, join_url
from spse.sources._parsing import Delimited, decode_text, load_json, read_delimited, resolve_columns
from spse.sources.base import Source

CONN_ID = "atmo_data"
UPSTREAM_URL = "https://admindata.atmo-france.org"
LOGIN_PATH = "api/login"
_DAY_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")
_REFUSED_LOGIN = (400, 401, 403)


def is_http(base: str) -> bool:
    return base.startswith(("http://", "https://"))


def login_headers(feed: str, base: str, http: Http, policy: FetchPolicy | None = None) -> dict[str, str]:
    """Log in to the Atmo Data API at ``base`` through ``http`` and return the ``Authorization`` header.

    Raises :class:`spse.core.errors.FeedError` naming the feed when the credentials are missing,
    and :class:`spse.core.errors.FetchError` when the API refuses them; neither message holds
    the login, the password or the token.
    """
    try:
        username = secrets.get(CONN_ID, "login")
        password = secrets.get(CONN_ID, "password")
    except secrets.MissingSecret as exc:
        raise FeedError(feed, str(exc)) from None
    url = join_url(base, LOGIN_PATH)
    body = {"username": username.reveal(), "password": password.reveal()}
    try:
        got = http(url, policy or FetchPolicy(), method="POST", json_body=body)
    except FetchError as exc:
        if exc.status in _REFUSED_LOGIN:
            raise FetchError(feed, f"login refused (HTTP {exc.status}): check the login and password of the "
                                   f"connection {CONN_ID!r} (SPSE_ATMO_DATA_LOGIN, SPSE_ATMO_DATA_PASSWORD)",
                             url=url, status=exc.status) from None
        raise
    try:
        token = load_json(got.content, feed, LOGIN_PATH)["token"]
    except (SchemaError, KeyError, TypeError):
        token = None
    if not isinstance(token, str) or not token:
        raise SchemaError(feed, "the login answer holds no token", file=LOGIN_PATH)
    return {"Authorization": f"Bearer {token}"}


def filters(feed: str, default: str) -> dict[str, str]:
    """Query filters of a feed: ``$SPSE_<FEED>_FILTERS`` (a query string) or ``default``."""
    return dict(parse_qsl(config.source_setting(f"SPSE_{feed.upper()}_FILTERS", default)))


def day_of(filename: str) -> dt.date | None:
    """The ``YYYY-MM-DD`` day written in a relative file name, if any."""
    match = _DAY_IN_NAME.search(filename)
    return dt.date.fromisoformat(match.group(1)) if match else None


class AtmoDataSource(Source):
    """A CSV endpoint of the Atmo Data API; one file per requested day.

    Subclasses set ``endpoint`` (under ``/api/v2/data/``), ``folder`` (the relative folder
    of a recorded or demo copy), ``default_filters`` and whether the endpoint takes ``date``.
    """

    endpoint: ClassVar[str]
    folder: ClassVar[str]
    default_filters: ClassVar[str]
    sends_date: ClassVar[bool] = True
    optional = True

    def files(self, day: dt.date) -> list[str]:
        return [f"{self.folder}/{day.isoformat()}.csv"]

    def url_for(self, base: str, relative: str) -> str:
        if not is_http(base):
            return join_url(base, relative)
        params = {"format": "csv"}
        day = day_of(relative)
        if self.sends_date and day is not None:
            params["date"] = day.isoformat()
        params.update(filters(self.name, self.default_filters))
        return f"{join_url(base, 'api/v2/data/' + self.endpoint)}?{urlencode(params, safe=',')}"

    def fetch_files(self, base: str, day: dt.date, policy: FetchPolicy, previous: dict[str, dict],
                    http: Http) -> Iterator[tuple[str, Fetched]]:
        """Over HTTP(S), log in, then GET each file; on HTTP 401 (token expired) log in again once and retry."""
        if not is_http(base):
            yield from super().fetch_files(base, day, policy, previous, http)
            return
        policy = replace(policy, headers={**policy.headers, **login_headers(self.name, base, http)})
        for relative in self.files(day):
            url = self.url_for(base, relative)
            try:
                got = http(url, policy)
            except FetchError as exc:
                if exc.status != 401:
                    raise
                policy = replace(policy, headers={**policy.headers, **login_headers(self.name, base, http, policy)})
                try:
                    got = http(url, policy)
                except FetchError as again:
                    if again.status != 401:
                        raise
                    raise FetchError(self.name, "token refused (HTTP 401) even after a fresh login",
                                     url=url, status=401) from None
            yield relative, got


def read_atmo_csv(payload: bytes, feed: str, filename: str, wanted: tuple[str, ...]) -> tuple[Delimited, dict]:
    """Rows of an Atmo Data CSV export as text, and the file's label of each wanted column.

    The API writes ``;``; copies re-saved by other tools use ``,`` (the 2025-06-27 episode
    sample), so the delimiter is taken from the header line.
    """
    text = decode_text(payload, feed, filename, "CSV")
    header = text.split("\n", 1)[0]
    sep = ";" if header.count(";") >= header.count(",") else ","
    table = read_delimited(text, sep, feed, filename)
    found = resolve_columns(table.header, {c: (c,) for c in wanted}, wanted, feed, filename)
    return table, found


def local_dates(text: pd.Series) -> pd.Series:
    """Calendar dates written ``YYYY-MM-DD`` or ``YYYY/MM/DD`` (a time part is ignored); NaT if not."""
    head = text.astype(str).str.strip().str.slice(0, 10).str.replace("/", "-", regex=False)
    return pd.to_datetime(head, format="%Y-%m-%d", errors="coerce")


def updated_at_utc(text: pd.Series) -> pd.Series:
    """``date_maj`` (``2025/09/01 17:12:39.930+02``) as UTC instants; NaT when unreadable."""
    iso = (text.astype(str).str.strip()
           .str.replace(r"^(\d{4})/(\d{2})/(\d{2})[ T]", r"\1-\2-\3T", regex=True)
           .str.replace(r"([+-]\d{2})$", r"\1:00", regex=True))
    return pd.to_datetime(iso, format="ISO8601", utc=True, errors="coerce").astype("datetime64[ns, UTC]")


def pad_code(text: pd.Series, width: int) -> pd.Series:
    """INSEE codes re-padded with the leading zeros the API drops (``4070`` → ``04070``)."""
    text = text.astype(str).str.strip()
    return text.where(~text.str.fullmatch(r"\d+"), text.str.zfill(width))


def ascii_upper(text: pd.Series) -> pd.Series:
    """Upper case without accents and with single spaces, for tolerant wording matches."""
    folded = text.astype(str).str.normalize("NFKD").str.encode("ascii", "ignore").str.decode("ascii")
    return folded.str.upper().str.replace(r"\s+", " ", regex=True).str.strip()


def record_dates(f: pd.DataFrame, col: dict[str, str], checks) -> tuple[pd.Series, pd.Series, pd.Series]:
    """``date_ech``, ``date_dif`` (local days) and ``date_maj`` (UTC) of each row, unreadable ones failed."""
    date = local_dates(f[col["date_ech"]])
    published = local_dates(f[col["date_dif"]])
    updated = updated_at_utc(f[col["date_maj"]])
    checks.fail(date.isna(), "unreadable `date_ech`: " + f[col["date_ech"]])
    checks.fail(published.isna(), "unreadable `date_dif`: " + f[col["date_dif"]])
    checks.fail(updated.isna() & (f[col["date_maj"]] != ""), "unreadable `date_maj`: " + f[col["date_maj"]])
    return date, published, updated
