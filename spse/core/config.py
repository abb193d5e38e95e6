"""Runtime settings, read from ``SPSE_*`` environment variables at call time.

Nothing here is read at import time, so tests and Airflow tasks can set the environment
first. Secrets never pass through this module: they come from Airflow connections or
from environment variables read by the source that needs them.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    """Where spse keeps its files. ``home`` is ``$SPSE_HOME`` or ``./var``."""

    home: Path

    @property
    def demo(self) -> Path:
        """The demo bundle, served to the sources as ``file://`` URLs when no ``$SPSE_<NAME>_URL`` is set."""
        return self.home / "demo"

    @property
    def raw(self) -> Path:
        """Raw landing: the bytes of every fetched file as received (``raw/<source>/<partition>/``)."""
        return self.home / "raw"

    @property
    def lake(self) -> Path:
        """The lake: one Parquet file per dataset and partition (``lake/<dataset>/<partition>/data.parquet``)."""
        return self.home / "lake"

    @property
    def surfaces(self) -> Path:
        """Gridded hourly surfaces, one CF-NetCDF file per local day (:mod:`spse.pipeline.surfacestore`)."""
        return self.home / "surfaces"

    @property
    def quarantine(self) -> Path:
        """Rows refused by a parser or the gate, with their reason (``quarantine/<source>/<partition>/``)."""
        return self.home / "quarantine"

    @property
    def warehouse_dir(self) -> Path:
        """Folder of the published warehouse file and of its builds."""
        return self.home / "warehouse"

    @property
    def warehouse(self) -> Path:
        """The published warehouse file that experts query."""
        return self.warehouse_dir / "spse.duckdb"

    @property
    def outbox(self) -> Path:
        """Alert notifications written before they are sent (:mod:`spse.pipeline.alerts.outbox`)."""
        return self.home / "outbox"

    @property
    def bulletin(self) -> Path:
        """Daily bulletins, one self-contained ``<day>.html`` per local day (Europe/Paris)."""
        return self.home / "bulletin"


def settings() -> Settings:
    """The settings of this process: ``$SPSE_HOME`` (default ``./var``), made absolute.

    Read at every call; the absolute path is resolved once per value and working directory
    (a backfill asks thousands of times, and resolving walks the path's folders each time).
    """
    return _settings(os.environ.get("SPSE_HOME", "var"), os.getcwd())


@functools.lru_cache(maxsize=16)
def _settings(home: str, cwd: str) -> Settings:
    return Settings(home=(Path(cwd) / home).resolve())


def source_url_env(source_name: str) -> str:
    """Name of the environment variable that overrides a source's location."""
    return f"SPSE_{source_name.upper()}_URL"


def source_base_url(source_name: str) -> str:
    """Base location of a source: ``$SPSE_<NAME>_URL`` or its folder in the demo bundle.

    Accepts ``https://``, ``http://``, ``file://`` and plain local paths.
    """
    override = os.environ.get(source_url_env(source_name))
    if override:
        return override.rstrip("/")
    return (settings().demo / source_name).as_uri()


def is_demo(source_name: str) -> bool:
    """Whether ``source_name`` reads the demo bundle (no ``$SPSE_<NAME>_URL`` set)."""
    return not os.environ.get(source_url_env(source_name))


def source_setting(name: str, default: str = "") -> str:
    """Return a source's own setting ``$SPSE_<SOURCE>_<OPTION>`` as text, ``default`` when unset or empty.

    The source parses the text (a list, a query string, a box) and documents its default,
    e.g. ``SPSE_BRUITPARIF_SITES`` (:mod:`spse.sources.bruitparif_rumeur`).
    """
    if not name.startswith("SPSE_"):
        raise ValueError(f"{name!r} is not an spse setting (SPSE_*)")
    return os.environ.get(name) or default


def register_file(register: str) -> Path | None:
    """Return the file replacing a register, ``$SPSE_<REGISTER>_FILE``; ``None``: the packaged one.

    ``register`` is ``thresholds``, ``parameters``, ``plausibility``, ``reference_checks``
    (:mod:`spse.core.register`) or ``recommendations`` (:mod:`spse.pipeline.alerts.recommendations`).
    """
    value = os.environ.get(f"SPSE_{register.upper()}_FILE")
    return Path(value) if value else None


def sql_dir_override() -> Path | None:
    """Return the ``sql/`` folder to build the warehouse from (``$SPSE_SQL_DIR``, absolute); ``None``: packaged."""
    value = os.environ.get("SPSE_SQL_DIR")
    return Path(value).resolve() if value else None


@dataclass(frozen=True)
class SqlLimits:
    """Resource limits of every connection that reads the published warehouse.

    ``timeout_s`` (seconds, wall clock) bounds one expert query (``spse sql``, ``spse export``);
    ``memory`` and ``temp`` are DuckDB size strings (``memory_limit``, ``max_temp_directory_size``:
    what a query may hold in memory and spill to its own temporary folder); ``threads`` bounds
    DuckDB's worker threads. Operational settings, not method parameters, hence here and not
    in the register.
    """

    timeout_s: float
    memory: str
    temp: str
    threads: int


def sql_limits() -> SqlLimits:
    """Limits of the warehouse readers, from the environment or their defaults.

    ``$SPSE_SQL_TIMEOUT_S`` (60 s), ``$SPSE_SQL_MEMORY_LIMIT`` (1GB), ``$SPSE_SQL_TEMP_LIMIT``
    (2GB), ``$SPSE_SQL_THREADS`` (2).
    """
    return SqlLimits(timeout_s=float(os.environ.get("SPSE_SQL_TIMEOUT_S", "60")),
                     memory=os.environ.get("SPSE_SQL_MEMORY_LIMIT", "1GB"),
                     temp=os.environ.get("SPSE_SQL_TEMP_LIMIT", "2GB"),
                     threads=int(os.environ.get("SPSE_SQL_THREADS", "2")))


def build_memory_limit() -> str:
    """DuckDB memory limit of a warehouse build (``$SPSE_BUILD_MEMORY_LIMIT``, default 1GB); it spills beyond.

    The backfill's full build of the demo year peaks at 1.5 GB of process RSS with 1GB, in the
    same time as with 1.5GB, which peaked at 2.0 GB (``bench/bench_backfill.py``).
    """
    return os.environ.get("SPSE_BUILD_MEMORY_LIMIT", "1GB")


def backfill_workers() -> int:
    """Processes a backfill computes its surfaces, noise, periods and alerts with (``$SPSE_BACKFILL_WORKERS``).

    Default: the CPUs this process may use, at most 4 (each worker holds a chunk of 31 days of
    surfaces, up to about 0.9 GB, or a day's alert inputs, about 0.3 GB); 1 computes everything
    in the calling process.
    """
    value = os.environ.get("SPSE_BACKFILL_WORKERS")
    if value:
        return max(1, int(value))
    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


def lock_database_url() -> str | None:
    """PostgreSQL server whose advisory locks serialise the writers (``$SPSE_LOCK_DATABASE_URL``).

    E.g. ``postgresql://airflow@postgres:5432/airflow``, without password: the password is the
    secret ``lock_database``/``password``; ``None``: a file lock under SPSE_HOME (:mod:`spse.pipeline.locking`).
    """
    return os.environ.get("SPSE_LOCK_DATABASE_URL") or None


def lock_timeout_s() -> float:
    """Time [s] a writing step waits for the writer lock before failing (``$SPSE_LOCK_TIMEOUT_S``).

    Default 600 s: below the daily DAG's ``execution_timeout`` of the writing tasks, so the lock
    error is what fails.
    """
    return float(os.environ.get("SPSE_LOCK_TIMEOUT_S") or 600)


ALERT_WEBHOOK_URL_ENV = "SPSE_ALERT_WEBHOOK_URL"


def alert_webhook_url() -> str | None:
    """Where alert notifications and run failures are POSTed (``$SPSE_ALERT_WEBHOOK_URL``); ``None``: nowhere."""
    return os.environ.get(ALERT_WEBHOOK_URL_ENV) or None


def alert_email_to() -> str | None:
    """Operators' address(es), comma-separated, mailed when the daily run fails or is late.

    ``$SPSE_ALERT_EMAIL_TO``, sent through the Airflow connection ``smtp_default``; ``None``: no e-mail.
    """
    return os.environ.get("SPSE_ALERT_EMAIL_TO") or None


def airflow_run() -> str | None:
    """``<dag_id>/<run_id>/<task_id>`` of the Airflow task this process runs; ``None`` outside a task.

    Read from the ``AIRFLOW_CTX_*`` variables Airflow's task runner exports.
    """
    parts = [os.environ.get(f"AIRFLOW_CTX_{key}") for key in ("DAG_ID", "DAG_RUN_ID", "TASK_ID")]
    return "/".join(parts) if all(parts) else None


def subscriptions_file() -> Path:
    """The alert subscriptions file: ``$SPSE_SUBSCRIPTIONS_FILE``, default ``$SPSE_HOME/subscriptions.yml``.

    Format in ``docs/notifications.md``; a missing file means no subscriber
    (:mod:`spse.pipeline.subscriptions`).
    """
    value = os.environ.get("SPSE_SUBSCRIPTIONS_FILE")
    return Path(value).resolve() if value else settings().home / "subscriptions.yml"


SMTP_SECURITY = ("starttls", "ssl", "none")


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how the alert e-mails are sent; the login and password are secrets, not here.

    ``security`` is ``starttls`` (upgrade a plain connection), ``ssl`` (implicit TLS, usually
    port 465) or ``none`` (a local relay, the tests). ``retries`` is the number of new attempts
    after a temporary failure (SMTP 4xx reply, connection error), ``backoff_s`` [s] the wait
    before the first one, doubled at each next one, ``max_wait_s`` [s] the total of those waits
    in one run (past it a temporary failure is left to the next run, so a greylisting domain
    cannot hold the step); ``timeout_s`` [s] bounds each connection.
    ``connection`` names the secrets ``<connection>``/``login`` and ``password``
    (:mod:`spse.core.secrets`).
    """

    host: str
    port: int
    sender: str
    security: str
    timeout_s: float
    retries: int
    backoff_s: float
    max_wait_s: float
    connection: str


def smtp_settings() -> SmtpSettings | None:
    """The SMTP server of the alert e-mails; ``None`` when ``$SPSE_SMTP_HOST`` is not set (no e-mail).

    ``$SPSE_SMTP_HOST``, ``$SPSE_SMTP_PORT`` (587, or 465 with ``ssl``), ``$SPSE_SMTP_FROM``
    (``spse@<host>``), ``$SPSE_SMTP_SECURITY`` (``starttls``), ``$SPSE_SMTP_TIMEOUT_S`` (30 s),
    ``$SPSE_SMTP_RETRIES`` (3), ``$SPSE_SMTP_BACKOFF_S`` (5 s), ``$SPSE_SMTP_MAX_WAIT_S`` (120 s),
    ``$SPSE_SMTP_CONNECTION``
    (``smtp``; ``smtp_default`` to take the login and password of Airflow's SMTP connection).
    """
    host = os.environ.get("SPSE_SMTP_HOST")
    if not host:
        return None
    security = (os.environ.get("SPSE_SMTP_SECURITY") or "starttls").lower()
    if security not in SMTP_SECURITY:
        raise ValueError(f"SPSE_SMTP_SECURITY={security!r} is not one of {SMTP_SECURITY}")
    port = int(os.environ.get("SPSE_SMTP_PORT") or (465 if security == "ssl" else 587))
    return SmtpSettings(host=host, port=port, sender=os.environ.get("SPSE_SMTP_FROM") or f"spse@{host}",
                        security=security, timeout_s=float(os.environ.get("SPSE_SMTP_TIMEOUT_S") or 30),
                        retries=int(os.environ.get("SPSE_SMTP_RETRIES") or 3),
                        backoff_s=float(os.environ.get("SPSE_SMTP_BACKOFF_S") or 5),
                        max_wait_s=float(os.environ.get("SPSE_SMTP_MAX_WAIT_S") or 120),
                        connection=os.environ.get("SPSE_SMTP_CONNECTION") or "smtp")
