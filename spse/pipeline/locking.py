"""One writer at a time: a lock that holds across processes, hosts and Airflow workers.

The daily job's writing steps (alert state, warehouse build, publish; :mod:`spse.pipeline.daily`)
run inside :func:`writer_lock`. Where the lock lives depends on
:func:`spse.core.config.lock_database_url`:

- not set: an exclusive ``fcntl.flock`` on ``$SPSE_HOME/locks/<name>.lock``. It excludes every
  process that opens that file, on this host or on another one sharing SPSE_HOME through a
  file system that honours ``flock`` (a Docker volume, a local disk; NFS v4). The kernel
  drops it when its holder dies, ``kill -9`` included. The holder writes who it is into the
  file (JSON) for the error of the next one.
- a PostgreSQL URL: a session-level advisory lock (``pg_try_advisory_lock``) on that server,
  for workers on hosts that share no file system lock; the server drops it when the holder's
  connection ends. The holder is named by the ``application_name`` of its session.

A waiter polls until :func:`spse.core.config.lock_timeout_s` has passed, then raises
:class:`LockTimeout` naming the holder: process id, host, Airflow run and task (or the
``spse`` command), the step it runs and since when (UTC). The lock is re-entrant within one
thread (``publish`` takes it again inside the pipeline step that holds it).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import socket
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from spse.core import config
from spse.core.errors import LockTimeout  # re-exported: callers import it from here too

# The name it had before the layers: operators and tests read "spse.locking: lock writer acquired".
log = logging.getLogger("spse.locking")

WRITER = "writer"
POLL_S = 0.2
# First key of every spse advisory lock (pg_try_advisory_lock(int, int)), so the lock of a
# name cannot collide with another application's one-key locks on the same server.
_PG_NAMESPACE = zlib.crc32(b"spse") & 0x7FFFFFFF
_PG_APPLICATION_NAME_MAX = 63  # NAMEDATALEN - 1

_held = threading.local()


@dataclass(frozen=True)
class Holder:
    """Who holds a lock: process, host, Airflow run (or command line), step, since (UTC)."""

    pid: int
    host: str
    run: str
    what: str
    since_utc: str

    @classmethod
    def me(cls, what: str) -> Holder:
        """The holder record of this process doing step ``what``, from now (UTC, seconds)."""
        run = config.airflow_run() or " ".join(Path(sys.argv[0]).name.split() + sys.argv[1:])
        return cls(os.getpid(), socket.gethostname(), run, what,
                   dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))

    def describe(self) -> str:
        """One line for error messages: pid, host, run, step and since when (UTC)."""
        return f"pid {self.pid} on host {self.host}, run {self.run!r}, step {self.what!r}, since {self.since_utc}"


@contextlib.contextmanager
def writer_lock(what: str, *, name: str = WRITER, timeout_s: float | None = None) -> Iterator[Holder]:
    """Hold the lock ``name`` while the block runs.

    ``what`` (e.g. ``"publish 2026-01-15"``) is shown to whoever waits for it. Raises
    :class:`LockTimeout` after ``timeout_s`` seconds (default :func:`spse.core.config.lock_timeout_s`).
    """
    depth = getattr(_held, name, 0)
    me = Holder.me(what)
    if depth:
        setattr(_held, name, depth + 1)
        try:
            yield me
        finally:
            setattr(_held, name, depth)
        return
    timeout = config.lock_timeout_s() if timeout_s is None else timeout_s
    url = config.lock_database_url()
    backend = _postgres_lock(url, name, me, timeout) if url else _file_lock(name, me, timeout)
    with backend:
        setattr(_held, name, 1)
        log.info("lock %s acquired by %s", name, me.describe())
        try:
            yield me
        finally:
            setattr(_held, name, 0)
            log.info("lock %s released by pid %d (%s)", name, me.pid, what)


def lock_path(name: str = WRITER) -> Path:
    """The lock file of ``name`` under ``$SPSE_HOME/locks/`` (used without a lock database)."""
    return config.settings().home / "locks" / f"{name}.lock"


@contextlib.contextmanager
def _file_lock(name: str, me: Holder, timeout_s: float) -> Iterator[None]:
    path = lock_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(_timeout_message(name, f"file {path}", timeout_s, me,
                                                       _file_holder(path))) from None
                time.sleep(POLL_S)
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(asdict(me)).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the flock


def _file_holder(path: Path) -> str:
    try:
        return Holder(**json.loads(path.read_text(encoding="utf-8"))).describe()
    except (OSError, ValueError, TypeError):
        return "a process that has not written its name yet"


def pg_keys(name: str) -> tuple[int, int]:
    """The two ``int4`` keys of the advisory lock of ``name`` (both non-negative)."""
    return _PG_NAMESPACE, zlib.crc32(name.encode()) & 0x7FFFFFFF


@contextlib.contextmanager
def _postgres_lock(url: str, name: str, me: Holder, timeout_s: float) -> Iterator[None]:
    where = f"PostgreSQL advisory lock {pg_keys(name)} on {_redacted(url)}"
    con = _pg_connect(url, me, where)
    try:
        keys = pg_keys(name)
        deadline = time.monotonic() + timeout_s
        while not con.execute("select pg_try_advisory_lock(%s, %s)", keys).fetchone()[0]:
            if time.monotonic() >= deadline:
                raise LockTimeout(_timeout_message(name, where, timeout_s, me, _pg_holder(con, keys)))
            time.sleep(POLL_S)
        try:
            yield
        finally:
            con.execute("select pg_advisory_unlock(%s, %s)", keys)
    finally:
        con.close()  # ends the session: the server drops the lock even if the unlock failed


def _pg_connect(url: str, me: Holder, where: str):
    try:
        import psycopg
    except ImportError as exc:
        raise RuntimeError(f"{where}: the PostgreSQL driver psycopg is not installed "
                           "(uv sync --extra airflow), or unset SPSE_LOCK_DATABASE_URL for the file lock") from exc
    from spse.core import secrets

    options = {"autocommit": True, "connect_timeout": 10,
               "application_name": f"spse {me.pid}@{me.host} {me.run}"[:_PG_APPLICATION_NAME_MAX]}
    with contextlib.suppress(secrets.MissingSecret):
        options["password"] = secrets.get("lock_database", "password").reveal()
    try:
        return psycopg.connect(_libpq_url(url), **options)
    except psycopg.Error as exc:
        raise RuntimeError(f"{where}: cannot connect: {str(exc).strip()}") from None


def _pg_holder(con, keys: tuple[int, int]) -> str:
    row = con.execute(
        "select a.application_name, a.client_addr::text, a.pid, a.backend_start from pg_locks l "
        "join pg_stat_activity a on a.pid = l.pid where l.locktype = 'advisory' and l.granted "
        "and l.classid = %s and l.objid = %s and l.objsubid = 2", keys).fetchone()
    if row is None:
        return "a session that has just released it"
    app, client, backend, since = row
    return (f"session {app!r} (server pid {backend}, client {client or 'local socket'}, "
            f"connected {since:%Y-%m-%dT%H:%M:%S%z})")


def _timeout_message(name: str, where: str, timeout_s: float, me: Holder, holder: str) -> str:
    return (f"writer lock {name!r} ({where}) not acquired within {timeout_s:g} s for step {me.what!r} "
            f"(pid {me.pid} on {me.host}): held by {holder}")


def _libpq_url(url: str) -> str:
    """``postgresql+psycopg2://...`` (SQLAlchemy style) → ``postgresql://...``."""
    scheme, rest = url.split("://", 1)
    return f"{scheme.split('+', 1)[0]}://{rest}"


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
