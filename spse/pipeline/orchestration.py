"""Airflow 3 DAG factories: one ingest DAG per registered source, and the daily job.

This is the only module of ``spse`` that imports Airflow. It holds no science: every task
calls one function of :mod:`spse.pipeline.daily`, imported inside the task so that parsing the
DAG files stays light (no pandas, DuckDB or network at parse time; Airflow
*best-practices*, "Top level Python code"). ``spse_daily``'s tasks, their dependencies and
its documentation are written from the step list :data:`spse.pipeline.steps.DAILY_STEPS`.

Time: schedules are cron expressions in Europe/Paris (``CronTriggerTimetable``), so a run
keeps its local wall-clock time across daylight-saving changes. A run's reference instant
is its logical date, or its ``run_after`` when it has none (asset-triggered and some
manual runs in Airflow 3). The daily job reports on the local day before that instant
(:func:`spse.pipeline.daily.target_day`): the run of 2026-01-16 06:00 Europe/Paris reports on
2026-01-15. An ingest run fetches the local day of its reference instant.

Parsing: the DAG files do not import the source modules (each imports pandas and numpy
at top level, about 1.5 s per parse, repeated by the DAG processor every 30 s). The
sources and their scheduling attributes come from the one registry
``spse/sources/registry.toml`` (:mod:`spse.sources.registry`), which
:func:`spse.sources.discover` reads too; the ingest DAG's documentation is the source
module's docstring, read from its syntax tree. ``spse_daily``'s asset trigger waits on the
sources this deployment runs (:func:`spse.sources.registry.running`). A source added or
changed shows in ``airflow dags list`` once the DAG processor has parsed the folder again
(``airflow dags reserialize`` forces it).

Concurrency: one writer at a time. Ingest DAGs write only Parquet partitions of the lake (atomic
rename, one partition per source and day), never the warehouse. In ``spse_daily`` the writing
steps (:attr:`spse.pipeline.steps.Step.writer`: ``raise_alerts``: the alerts of the day before, the day's
partition and outbox; ``build_warehouse``; ``publish``) take the writer lock of
:mod:`spse.pipeline.locking`, which holds across processes and Celery workers, and run in the one-slot
pool ``spse_writer`` (:data:`WRITER_POOL`, created by docker-compose's ``airflow-init``,
``scripts/stack_check.sh`` and ``make demo``), so a backfill, whose runs start together whatever
``max_active_runs`` says, queues them instead of holding worker slots on the lock. ``publish``
never replaces a newer warehouse with an older build
(:func:`spse.pipeline.warehouse.publisher.publish_build`).

Failures: the daily tasks retry twice after :data:`DAILY_RETRY_DELAY` (a task whose worker died
is failed by the scheduler after ``[scheduler] task_instance_heartbeat_timeout``, 60 s in
docker-compose, then retried), each within its ``execution_timeout``
(:attr:`spse.pipeline.steps.Step.timeout`). A failed run is posted to the alert webhook by
:class:`RunEventNotifier` (:func:`spse.pipeline.notify.post_run_event`), and mailed by the SMTP
provider's ``SmtpNotifier`` when :func:`spse.core.config.alert_email_to` is set. Lateness is checked
by ``spse_daily_watch`` at :data:`WATCH_CRON` (07:00 Paris): when the day's bulletin and alerts
are not published by then, it posts a ``late`` event (:func:`spse.pipeline.notify.watch_day`) and fails.
Airflow's Deadline Alerts (``DeadlineAlert(reference=DeadlineReference.DAGRUN_QUEUED_AT, ...)``)
would be the built-in way, but ``airflow dags test`` of Airflow 3.3.2 fails every run of a DAG
that has one, at the end (``DagRun.update_state`` passes the serialized alert to
``DeadlineAlertModel.get_by_id``: "'dict' object has no attribute 'hex'"), and ``make demo``
runs that command; the watch also catches a 06:00 run that was never created.
"""

from __future__ import annotations

import ast
import datetime as dt
import functools
import inspect
import logging
import operator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from airflow.sdk import (
    Asset,
    AssetOrTimeSchedule,
    BaseNotifier,
    CronTriggerTimetable,
    Param,
    dag,
    get_current_context,
    task,
)

from spse.pipeline import steps
from spse.pipeline.steps import RunSummary, Step, last_steps
from spse.sources import registry

if TYPE_CHECKING:
    from airflow.sdk import DAG

log = logging.getLogger(__name__)

TIMEZONE = "Europe/Paris"
OWNER = "spse-data"
# First possible run; tz-aware. With catchup=False nothing before the latest slot runs.
START_DATE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
DAILY_DAG_ID = "spse_daily"
DAILY_CRON = "0 6 * * *"
LAKE_ASSET_SCHEME = "x-spse-lake"
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"

INGEST_DEFAULT_ARGS = {
    "owner": OWNER,
    "retries": 3,
    "retry_delay": dt.timedelta(minutes=5),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": dt.timedelta(hours=1),
}
# A day's alerts are due in the morning: retry soon (a dead worker's task, a webhook blip).
DAILY_RETRY_DELAY = dt.timedelta(minutes=1)
DAILY_DEFAULT_ARGS = {
    "owner": OWNER,
    "retries": 2,
    "retry_delay": DAILY_RETRY_DELAY,
}

# The steps that write alert state or the warehouse (spse.pipeline.steps.Step.writer): one at a time across runs.
WRITER_POOL = "spse_writer"
SUMMARY_TASK = "summary"
SUMMARY_TIMEOUT = dt.timedelta(minutes=5)
SUMMARY_DOC = "Log and return what the run produced (paths and counts only)."
WATCH_DAG_ID = "spse_daily_watch"
# The day's bulletin and alerts are late when not published at this time (Europe/Paris).
WATCH_CRON = "0 7 * * *"


SPEC_FIELDS = ("name", "dataset", "kind", "cadence", "schedule")
SOURCES_DIR = Path(__file__).resolve().parents[1] / "sources"


@dataclass(frozen=True)
class SourceSpec:
    """What a DAG needs to know about a source.

    The scheduling attributes of :class:`spse.sources.base.Source` (its registry entry), and
    ``doc``, its module docstring (the ingest DAG's ``doc_md``).
    """

    name: str
    dataset: str
    kind: str
    cadence: str
    schedule: str
    doc: str
    optional: bool = False
    replaces: tuple[str, ...] = ()

    @classmethod
    def of(cls, source: Any) -> SourceSpec:
        """Read the spec of an imported source object."""
        module = inspect.getmodule(type(source))
        doc = module.__doc__ if module is not None and module.__doc__ else ""
        return cls(*(getattr(source, f) for f in SPEC_FIELDS), doc=inspect.cleandoc(doc),
                   optional=bool(source.optional), replaces=tuple(source.replaces))

    @classmethod
    def of_entry(cls, entry: registry.Entry) -> SourceSpec:
        """Read the spec of a registry entry, the doc from its module's syntax tree (not imported)."""
        path = SOURCES_DIR / f"{entry.name}.py"
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))) or ""
        return cls(*(getattr(entry, f) for f in SPEC_FIELDS), doc=doc, optional=entry.optional,
                   replaces=entry.replaces)

    def entry(self) -> registry.Entry:
        """The registry entry this spec was read from."""
        return registry.Entry(*(getattr(self, f) for f in SPEC_FIELDS), optional=self.optional,
                              replaces=self.replaces)


def source_specs() -> list[SourceSpec]:
    """Read every registered source's spec from ``spse/sources/registry.toml``, sorted by name.

    Same sources and order as :func:`spse.sources.discover`, without importing them.
    """
    return [SourceSpec.of_entry(e) for e in registry.entries()]


def running_specs(specs: list[SourceSpec]) -> list[SourceSpec]:
    """The specs of the sources this deployment runs (:func:`spse.sources.registry.running`)."""
    names = {e.name for e in registry.running([s.entry() for s in specs])}
    return [s for s in specs if s.name in names]


def lake_asset(dataset: str) -> Asset:
    """Return the Airflow Asset of one lake dataset (``$SPSE_HOME/lake/<dataset>/``).

    Airflow 3 validates the URI schemes it or a provider knows; a project's own scheme
    takes the ``x-`` prefix so that Airflow keeps the URI as written.
    """
    return Asset(name=f"lake.{dataset}", uri=f"{LAKE_ASSET_SCHEME}://{dataset}", group="spse-lake")


def reference_instant(logical_date: dt.datetime | None, run_after: dt.datetime) -> dt.datetime:
    """Return the instant a run stands for: its logical date, else its ``run_after`` (both tz-aware)."""
    return logical_date if logical_date is not None else run_after


def local_day(instant: dt.datetime) -> dt.date:
    """Civil date of a tz-aware instant in Europe/Paris."""
    return instant.astimezone(ZoneInfo(TIMEZONE)).date()


def resolve_day(default: dt.date, target_date: str | None) -> dt.date:
    """``target_date`` (``YYYY-MM-DD``, the DAG param) when given, else ``default``."""
    if target_date:
        return dt.date.fromisoformat(target_date)
    return default


def _context_instant() -> dt.datetime:
    context = get_current_context()
    return reference_instant(context.get("logical_date"), context["dag_run"].run_after)


def _context_target_date() -> str | None:
    return get_current_context()["params"].get("target_date")


def _daily_day() -> dt.date:
    """Return the day the running ``spse_daily`` reports on (local day before its instant, or the param)."""
    from spse.pipeline.daily import target_day

    return resolve_day(target_day(_context_instant()), _context_target_date())


def _target_date_param(what: str) -> Param:
    return Param(None, type=["null", "string"], pattern=DATE_PATTERN, title="Target date",
                 description=f"Local day (Europe/Paris, YYYY-MM-DD) to {what}; empty = from the run's date.")


def build_ingest_dag(source: SourceSpec) -> DAG:
    """``ingest_<name>``: fetch, land, parse and write one lake partition of ``source``.

    Scheduled on the source's own cron in Europe/Paris. Daily sources ingest the local day
    of the run (plus their re-fetch window, :func:`spse.pipeline.daily.ingest_source`); reference
    sources ingest their current vintage. The task's outlet is the dataset's lake Asset,
    so ``spse_daily`` can be triggered by it.
    """
    name, dataset = source.name, source.dataset
    asset = lake_asset(dataset)

    @dag(
        dag_id=f"ingest_{name}",
        schedule=CronTriggerTimetable(source.schedule, timezone=TIMEZONE),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=INGEST_DEFAULT_ARGS,
        tags=["spse", "ingest", source.kind],
        doc_md=source.doc or f"Ingest of source {name} into lake dataset {dataset}.",
        params={"target_date": _target_date_param("ingest")},
    )
    def ingest_dag() -> None:
        @task(task_id="ingest", outlets=[asset], multiple_outputs=False)
        def ingest() -> dict[str, Any]:
            """Ingest the run's local day (or ``target_date``); return the partition and counts."""
            from spse.pipeline.daily import ingest_source

            day = resolve_day(local_day(_context_instant()), _context_target_date())
            report = ingest_source(name, day)
            small = {"source": name, "dataset": dataset, "day": day.isoformat(),
                     "partition": report["partition"], "rows": report["rows"],
                     "rejected": report["rejected"], "files": len(report["files"])}
            get_current_context()["outlet_events"][asset].extra = small
            return small

        ingest()

    return ingest_dag()


def _daily_schedule(specs: list[SourceSpec]) -> CronTriggerTimetable | AssetOrTimeSchedule:
    """Schedule ``spse_daily`` at 06:00 Europe/Paris, and when every daily input has been updated.

    The asset condition is the lake dataset of every daily source of ``specs`` that runs
    (:func:`running_specs`).

    All inputs (``&``), not any: ``lcsqa_e2`` lands every hour, and a run per hourly E2
    update would recompute the same day all day long. When the late rewrites of every
    daily feed have landed, the day is recomputed with them. Optional sources not
    configured, and sources replaced by a configured stand-in, are never updated, so they
    are left out: waiting on them would keep the asset trigger from ever firing.
    """
    timetable = CronTriggerTimetable(DAILY_CRON, timezone=TIMEZONE)
    datasets = dict.fromkeys(s.dataset for s in running_specs(specs) if s.cadence == "daily")
    assets = [lake_asset(d) for d in datasets]
    if not assets:
        return timetable
    return AssetOrTimeSchedule(timetable=timetable, assets=functools.reduce(operator.and_, assets))


class RunEventNotifier(BaseNotifier):
    """Post a run of ``spse_daily`` that ``failed`` or is ``late`` to the alert webhook.

    Through :func:`spse.pipeline.notify.post_run_event`.

    A DAG ``on_failure_callback``, run by the DAG processor with the run's context
    (``dag_run``, ``ti`` of the last task, ``reason``).
    """

    def __init__(self, event: str) -> None:
        super().__init__()
        self.event = event

    def notify(self, context: Any) -> None:
        """Post the event of the run in ``context`` (a DAG callback context)."""
        from spse.pipeline import notify

        notify.post_run_event(self.event, **run_facts(context))


def run_facts(context: Any) -> dict[str, str | None]:
    """Read the facts of a run from a DAG callback context.

    Returns
    -------
    dict
        ``dag_id``, ``run_id``, ``logical_date`` (ISO 8601, UTC offset) and a French
        ``detail`` (last task, reason).
    """
    run = context.get("dag_run")
    dag_object = context.get("dag")
    ti = context.get("ti")
    detail = []
    if ti is not None and getattr(ti, "task_id", None):
        detail.append(f"Dernière tâche : {ti.task_id}.")
    if context.get("reason"):
        detail.append(f"Motif : {context['reason']}.")
    logical = getattr(run, "logical_date", None)
    return {
        "dag_id": getattr(run, "dag_id", None) or getattr(dag_object, "dag_id", None) or DAILY_DAG_ID,
        "run_id": getattr(run, "run_id", None) or context.get("run_id") or "?",
        "logical_date": logical.isoformat() if isinstance(logical, dt.datetime) else logical,
        "detail": " ".join(detail),
    }


def _failure_callbacks() -> list[BaseNotifier]:
    return [RunEventNotifier("failed"), *_email_callbacks("failed")]


def _email_callbacks(event: str) -> list[BaseNotifier]:
    """Return an ``SmtpNotifier`` (Airflow connection ``smtp_default``) when e-mail is configured."""
    from spse.core import config

    to = config.alert_email_to()
    if not to:
        return []
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    subject = {"failed": "[spse] Échec du traitement quotidien, run {{ run_id }}",
               "late": "[spse] Retard du traitement quotidien, contrôle {{ run_id }}"}[event]
    return [SmtpNotifier(to=to, from_email=None, subject=subject,
                         html_content=subject.removeprefix("[spse] ") + " : voir l'interface Airflow.")]


DAILY_DOC_HEAD = """
### spse_daily: exposure indicators, alerts and bulletin for one local day

Runs at 06:00 Europe/Paris, and again once the lake dataset of every daily source this
deployment runs has been updated since its last run (Airflow asset-aware scheduling). It
reports on the **day before** the run (Europe/Paris): the run of 2026-01-16 06:00 covers
2026-01-15. Set the param `target_date` (YYYY-MM-DD) to recompute another day.

Steps (one task each, `spse.pipeline.steps.DAILY_STEPS`); a step starts when the steps it waits
for have succeeded, so steps that do not wait for each other run in parallel:

| task | waits for | what it does |
|---|---|---|
"""

DAILY_DOC_TAIL = """
Each step reads and writes the lake; `build_warehouse` builds a new DuckDB file and
`publish` swaps it in atomically, so a failed run leaves the published warehouse as it
was. XCom carries only paths and counts.
"""


def daily_doc(daily: tuple[Step, ...]) -> str:
    """Write the Markdown documentation (``doc_md``) of ``spse_daily``, its step table from ``daily``."""
    rows = [f"| `{s.name}` | {', '.join(f'`{a}`' for a in s.after)} | {s.doc} |" for s in daily]
    summary = (f"| `{SUMMARY_TASK}` | {', '.join(f'`{n}`' for n in last_steps(daily))} "
               f"| {SUMMARY_DOC} |")
    return DAILY_DOC_HEAD + "\n".join([*rows, summary]) + "\n" + DAILY_DOC_TAIL


def _step_task(step: Step):
    """Make the ``@task`` of one daily step: it calls the step's function for the run's day.

    The outputs of the steps it ``uses`` come as XComs; its ``execution_timeout`` is the
    step's, and a writing step runs in the one-slot pool :data:`WRITER_POOL`.
    """
    options: dict[str, Any] = {"pool": WRITER_POOL} if step.writer else {}

    def run_step(*inputs: Any) -> Any:
        return step.run(_daily_day(), *inputs)

    return task(task_id=step.name, execution_timeout=step.timeout, multiple_outputs=False, doc_md=step.doc,
                **options)(run_step)


def summary_record(summary: RunSummary) -> dict[str, Any]:
    """Return what the ``summary`` task returns (its XCom): the run's paths and counts.

    Keys ``day`` (ISO date, Europe/Paris), ``ingested``, ``rows`` (rows per lake dataset),
    ``alerts``, ``warehouse``, ``bulletin`` and ``notifications``.
    """
    return {"day": summary.day.isoformat(), "ingested": list(summary.ingested), "rows": dict(summary.counts),
            "alerts": summary.alerts, "warehouse": summary.warehouse, "bulletin": summary.bulletin,
            "notifications": summary.notifications}


def build_daily_dag() -> DAG:
    """Build ``spse_daily``: one task per step of :func:`spse.pipeline.steps.daily_steps`, then ``summary``.

    Each task waits for the steps of its ``after``; ``summary`` waits for the steps no
    other step waits for.
    """
    daily = steps.daily_steps()

    @dag(
        dag_id=DAILY_DAG_ID,
        schedule=_daily_schedule(source_specs()),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=DAILY_DEFAULT_ARGS,
        on_failure_callback=_failure_callbacks(),
        tags=["spse", "daily", "alerts"],
        doc_md=daily_doc(daily),
        params={"target_date": _target_date_param("report on")},
    )
    def spse_daily() -> None:
        tasks: dict[str, Any] = {}
        for step in daily:
            tasks[step.name] = _step_task(step)(*(tasks[name] for name in step.uses))
            for name in [name for name in step.after if name not in step.uses]:
                tasks[name] >> tasks[step.name]

        @task(task_id=SUMMARY_TASK, execution_timeout=SUMMARY_TIMEOUT, multiple_outputs=False, doc_md=SUMMARY_DOC)
        def summary() -> dict[str, Any]:
            ti = get_current_context()["ti"]
            outputs = {step.name: ti.xcom_pull(task_ids=step.name) for step in daily}
            result = summary_record(steps.run_summary(_daily_day(), outputs, daily))
            log.info("spse_daily %s: %d alerts, %d partitions ingested, warehouse %s, bulletin %s",
                     result["day"], result["alerts"] or 0, len(result["ingested"]),
                     result["warehouse"], result["bulletin"])
            return result

        [tasks[name] for name in last_steps(daily)] >> summary()

    return spse_daily()


WATCH_DOC = """
### spse_daily_watch: are the day's alerts and bulletin out by 07:00?

Runs at 07:00 Europe/Paris and checks the **day before** (as `spse_daily` of 06:00): the
bulletin `<SPSE_HOME>/bulletin/<day>.html` and the day's `alerts` partition in the published
warehouse. When either is missing it posts a `spse_run_late` message to the alert webhook
(`spse.pipeline.notify.watch_day`) and fails (and mails, when e-mail is configured).
"""


def build_watch_dag() -> DAG:
    """``spse_daily_watch``: the lateness check of ``spse_daily`` (module docstring, Failures)."""

    @dag(
        dag_id=WATCH_DAG_ID,
        schedule=CronTriggerTimetable(WATCH_CRON, timezone=TIMEZONE),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=DAILY_DEFAULT_ARGS,
        on_failure_callback=_email_callbacks("late"),
        tags=["spse", "daily", "watch"],
        doc_md=WATCH_DOC,
        params={"target_date": _target_date_param("check")},
    )
    def spse_daily_watch() -> None:
        @task(task_id="check_published", execution_timeout=dt.timedelta(minutes=5))
        def check_published() -> list[str]:
            """Post a ``late`` event and fail when the day's outputs are missing; else nothing."""
            from airflow.sdk.exceptions import AirflowFailException

            from spse.pipeline import notify

            instant = _context_instant()
            day = _daily_day()
            missing = notify.watch_day(
                day, dag_id=DAILY_DAG_ID, run_id=get_current_context()["run_id"],
                deadline=f"{instant.astimezone(ZoneInfo(TIMEZONE)):%Y-%m-%d %H:%M} {TIMEZONE}")
            if missing:
                raise AirflowFailException(f"{DAILY_DAG_ID} {day}: " + "; ".join(missing))
            return missing

        check_published()

    return spse_daily_watch()


BACKFILL_DAG_ID = "spse_backfill"
BACKFILL_TIMEOUT = dt.timedelta(hours=3)
BACKFILL_DOC = """
### spse_backfill: many past days in bulk

Triggered by hand with `first_date` and `last_date` (local days, Europe/Paris, both included)
and `force` (rebuild days already built). One task runs `spse.pipeline.backfill.backfill`: the
sources of every day, the surfaces of a month of hours in one interpolation, the alerts day
after day in order, then one warehouse build and one publish. It runs in the one-slot pool
`spse_writer` and takes the writer lock, so a `spse_daily` run waits for it rather than
interleaving with it. Days already built are skipped: a failed backfill is resumed by
triggering it again. `spse backfill --from D1 --to D2` does the same without Airflow.
"""


def build_backfill_dag() -> DAG:
    """``spse_backfill``: the bulk backfill of a range of days, triggered by hand (:data:`BACKFILL_DOC`)."""

    @dag(
        dag_id=BACKFILL_DAG_ID,
        schedule=None,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args={"owner": OWNER, "retries": 2, "retry_delay": dt.timedelta(minutes=5)},
        tags=["spse", "backfill"],
        doc_md=BACKFILL_DOC,
        params={"first_date": Param(None, type="string", pattern=DATE_PATTERN, title="First day",
                                    description="First local day (Europe/Paris, YYYY-MM-DD)"),
                "last_date": Param(None, type="string", pattern=DATE_PATTERN, title="Last day",
                                   description="Last local day, included"),
                "force": Param(False, type="boolean", title="Rebuild days already built")},
    )
    def spse_backfill() -> None:
        @task(task_id="backfill", pool=WRITER_POOL, execution_timeout=BACKFILL_TIMEOUT)
        def backfill() -> dict[str, Any]:
            from spse.pipeline import backfill as bulk

            params = get_current_context()["params"]
            report = bulk.backfill(dt.date.fromisoformat(params["first_date"]),
                                   dt.date.fromisoformat(params["last_date"]), force=bool(params["force"]),
                                   progress=False)
            if report.missing:
                log.warning("spse_backfill: days without air observations: %s",
                            ", ".join(f"{d}: {why}" for d, why in sorted(report.missing.items())))
            return {"built": len(report.built), "skipped": len(report.skipped),
                    "missing": [d.isoformat() for d in sorted(report.missing)], "alerts": report.alerts,
                    "warehouse": report.warehouse, "seconds": report.seconds}

        backfill()

    return spse_backfill()
