"""The daily job's steps: the one list ``spse run`` and the Airflow DAG ``spse_daily`` follow.

:data:`DAILY_STEPS` names each step of the job for one local day (Europe/Paris), the
function it calls, what it does in one line, the steps it waits for, how long one try may
run and whether it writes alert state or the warehouse. :func:`spse.pipeline.daily.run_day`
walks the list in its order; :func:`spse.pipeline.orchestration.build_daily_dag` makes one task per
step with the same dependencies (steps that do not wait for each other run in parallel),
its ``execution_timeout`` and pool, and writes the DAG's documentation from the list.
Both gather the steps' outputs into a :class:`RunSummary` (:func:`run_summary`). Adding a
daily step is one entry here, pointing at its function.

The DAG files import this module at parse time, so it imports neither pandas nor DuckDB:
a step names its function as ``"module:function"``, imported when the step runs (and
looked up then, so a replaced module attribute is the one called).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any


@dataclass
class RunSummary:
    """What a daily run produced, for ``spse run`` and the ``summary`` task.

    Attributes
    ----------
    day : datetime.date
        Local day reported on (Europe/Paris).
    ingested : list of str
        ``<source>:<partition>`` ingested by the run.
    counts : dict of str to int
        Rows written per lake dataset.
    alerts : int
        Alert rows of the day.
    warehouse : str
        Path of the published DuckDB warehouse.
    bulletin : str
        Path of the day's HTML bulletin.
    notifications : dict
        Webhook and subscriber delivery counts (:func:`spse.pipeline.notify.deliver`).
    """

    day: dt.date
    ingested: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    alerts: int = 0
    warehouse: str = ""
    bulletin: str = ""
    notifications: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """One step of the daily job.

    Attributes
    ----------
    name : str
        Step name, also its Airflow task id.
    func : str
        ``"module:function"`` it calls: with the day (``datetime.date``, Europe/Paris) when
        ``takes_day``, then the outputs of ``uses`` in that order.
    doc : str
        One line: what it makes and what it returns.
    timeout : datetime.timedelta
        Longest one try may run (Airflow ``execution_timeout``); no default, every step says.
    after : tuple of str
        Earlier steps that must have succeeded first (the Airflow upstream tasks).
    writer : bool
        Writes alert state or the warehouse: takes the writer lock in its function, and in
        Airflow runs in the one-slot pool ``spse_writer``.
    uses : tuple of str
        Steps of ``after`` whose return values it is passed (an XCom in Airflow).
    takes_day : bool
        Whether its first argument is the day.
    report : str or None
        Field of :class:`RunSummary` its return value fills (a dict field is merged into),
        or None when it reports nothing.
    """

    name: str
    func: str
    doc: str
    _: KW_ONLY
    timeout: dt.timedelta
    after: tuple[str, ...] = ()
    writer: bool = False
    uses: tuple[str, ...] = ()
    takes_day: bool = True
    report: str | None = None

    def function(self) -> Callable[..., Any]:
        """Import and return the step's function, looked up at this call."""
        module, _, attribute = self.func.partition(":")
        return getattr(importlib.import_module(module), attribute)

    def run(self, day: dt.date, *inputs: Any) -> Any:
        """Call the step's function for ``day`` (Europe/Paris) with the outputs of ``uses``."""
        function = self.function()
        return function(day, *inputs) if self.takes_day else function(*inputs)


def _minutes(n: int) -> dt.timedelta:
    return dt.timedelta(minutes=n)


# Timeouts: the demo day takes seconds per step. The writing steps allow more than
# spse.core.config.lock_timeout_s (600 s), so that a lock wait fails with the lock's error.
DAILY_STEPS: tuple[Step, ...] = (
    Step("ensure_inputs", "spse.pipeline.daily:ensure_inputs",
         "Ingest the partitions the day needs and the lake lacks; return them.",
         timeout=_minutes(45), report="ingested"),
    Step("build_grid", "spse.pipeline.daily:build_grid",
         "200 m grid and crosswalks → lake; row counts.",
         after=("ensure_inputs",), timeout=_minutes(20), takes_day=False, report="counts"),
    Step("build_surfaces", "spse.pipeline.daily:build_surfaces",
         "Hourly and daily surfaces, station statistics, LOO validation; row counts.",
         after=("build_grid",), timeout=_minutes(30), report="counts"),
    Step("build_periods", "spse.pipeline.periods:build_periods",
         "Year, season and month indicators and compliance per cell and station → lake; row counts.",
         after=("build_surfaces",), timeout=_minutes(30), report="counts"),
    Step("build_health", "spse.pipeline.health:build_health",
         "Deaths attributable to PM2.5 and NO2 per arrondissement and year, noise effect per band → lake; row counts.",
         after=("build_periods",), timeout=_minutes(15), report="counts"),
    Step("build_noise", "spse.pipeline.daily:build_noise",
         "Ld, Le, Ln, Lden at the noise stations; row counts.",
         after=("ensure_inputs",), timeout=_minutes(10), report="counts"),
    Step("build_forecast", "spse.pipeline.daily:build_forecast",
         "CAMS forecast J/J+1 on the grid, when that source is configured; row counts.",
         after=("build_grid",), timeout=_minutes(20), report="counts"),
    Step("raise_alerts", "spse.pipeline.daily:raise_alerts",
         "Threshold rules → alerts partition and outbox; number of alerts.",
         after=("build_surfaces", "build_noise", "build_forecast"), timeout=_minutes(20), writer=True,
         report="alerts"),
    Step("build_warehouse", "spse.pipeline.daily:build_warehouse",
         "SQL models into a new DuckDB build file of this run; its path.",
         after=("raise_alerts", "build_periods", "build_health"), timeout=_minutes(30), writer=True),
    Step("publish", "spse.pipeline.daily:publish",
         "Swap the build file in as the published warehouse; its path.",
         after=("build_warehouse",), timeout=_minutes(15), writer=True, uses=("build_warehouse",),
         takes_day=False, report="warehouse"),
    Step("render_bulletin", "spse.pipeline.daily:render_bulletin",
         "The day's HTML bulletin; its path.",
         after=("publish",), timeout=_minutes(10), report="bulletin"),
    Step("notify_alerts", "spse.pipeline.daily:notify_alerts",
         "Send new or changed notifications to the webhook and the subscribers (e-mail), when configured; counts.",
         after=("render_bulletin",), timeout=_minutes(10), report="notifications"),
)

_REPORT_FIELDS = {f.name for f in dataclasses.fields(RunSummary)} - {"day"}


def daily_steps() -> tuple[Step, ...]:
    """:data:`DAILY_STEPS`, checked: a list whose order is one the steps can run in.

    Returns
    -------
    tuple of Step
        The steps in list order, every step after the steps it waits for.

    Raises
    ------
    ValueError
        Naming the step whose name repeats an earlier one, whose ``after`` names a step not
        listed before it, whose ``uses`` is not in its ``after``, whose ``report`` is not a
        field of :class:`RunSummary` or whose ``func`` is not ``"module:function"``.
    """
    seen: set[str] = set()
    for step in DAILY_STEPS:
        problems = [
            "its name is taken" if step.name in seen else "",
            f"after {sorted(set(step.after) - seen)}, not listed before it" if set(step.after) - seen else "",
            f"uses {sorted(set(step.uses) - set(step.after))}, not in its after" if set(step.uses) - set(step.after)
            else "",
            f"reports to {step.report!r}, not a RunSummary field"
            if step.report is not None and step.report not in _REPORT_FIELDS else "",
            f"func {step.func!r} is not 'module:function'" if not all(step.func.partition(":")[::2]) else "",
        ]
        if any(problems):
            raise ValueError(f"daily step {step.name!r}: " + "; ".join(p for p in problems if p))
        seen.add(step.name)
    return DAILY_STEPS


def last_steps(steps: tuple[Step, ...]) -> list[str]:
    """Names of the steps no other step waits for, in list order (the run ends with them)."""
    waited_for = {name for step in steps for name in step.after}
    return [step.name for step in steps if step.name not in waited_for]


def run_summary(day: dt.date, outputs: Mapping[str, Any], steps: tuple[Step, ...]) -> RunSummary:
    """Gather the steps' outputs into a :class:`RunSummary` of ``day`` (Europe/Paris).

    Parameters
    ----------
    day : datetime.date
        Local day reported on.
    outputs : mapping of str to object
        Return value of each step by name; a missing or None output leaves its field as is.
    steps : tuple of Step
        The steps run, in order; their ``report`` field says where each output goes.

    Returns
    -------
    RunSummary
        Dict fields merged in step order, the others set.
    """
    summary = RunSummary(day)
    for step in steps:
        value = outputs.get(step.name)
        if step.report is None or value is None:
            continue
        current = getattr(summary, step.report)
        if isinstance(current, dict):
            current.update(value)
        else:
            setattr(summary, step.report, value)
    return summary
