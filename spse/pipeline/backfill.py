"""Backfill: build many past days in bulk, stage by stage, with one warehouse build and one publish.

``spse backfill --from D1 --to D2`` (local days, Europe/Paris) does what the daily job does for
each day, stage by stage over all the days instead of day by day:

1. ingest: every configured daily source for each day (and the day before the first), reference
   sources once; a partition already in the lake and not marked ``partial``/``failed`` in the
   quality log is not fetched again (:func:`spse.pipeline.freshness.needs_refetch`). Forecast
   runs (``Source.backfilled`` false) only for the last day: the run the next daily run revises;
2. the grid, once;
3. surfaces: one interpolation over all the hours of up to :data:`CHUNK_DAYS` days at a time
   (:func:`spse.pipeline.daily.build_surfaces_days`); a day with a CAMS run in the lake is built on
   its own, as the daily run does;
4. noise and forecast statistics, per day; once the surfaces are written, the period indicators
   (year, season, month) of every period the days touch, each once
   (:func:`spse.pipeline.periods.build_periods_range`); then the health impact of each calendar
   year touched (:mod:`spse.pipeline.health`);
5. alerts, day after day in order (persistence reads the day before), under the writer lock; what
   each day raises is computed ahead by the same pool;
6. one warehouse build and one publish, under the writer lock.

Stages 1 and 3 to 5 share one pool of :func:`spse.core.config.backfill_workers` processes, a
source's chunk of days, a chunk of surfaces, a period partition or a few days' alerts per task.

Resumable: a day whose alerts and surfaces are in the lake and newer than its air observations
is skipped unless ``force``. A day whose air observations cannot be had is reported and left out;
the other days go on. No notification is sent for past days.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, as_completed

from spse.core.errors import FeedError
from spse.pipeline import daily, lake, surfacestore

log = logging.getLogger(__name__)

CHUNK_DAYS = 31
ONE_DAY = dt.timedelta(days=1)


@dataclasses.dataclass
class BackfillReport:
    """What a backfill did: days built, skipped (already built), missing (no air observations), timings [s]."""

    first: dt.date
    last: dt.date
    built: list[dt.date] = dataclasses.field(default_factory=list)
    skipped: list[dt.date] = dataclasses.field(default_factory=list)
    missing: dict[dt.date, str] = dataclasses.field(default_factory=dict)
    ingested: int = 0
    alerts: int = 0
    warehouse: str | None = None
    seconds: dict[str, float] = dataclasses.field(default_factory=dict)


def days_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """Every local day from ``first`` to ``last``, both included."""
    if last < first:
        raise ValueError(f"backfill: --to {last} is before --from {first}")
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def is_built(day: dt.date) -> bool:
    """Whether ``day`` has its alerts, daily surfaces and hourly surface file, newer than its air observations."""
    partition = lake.date_partition(day)
    needed = [lake.partition_path("alerts", partition), lake.partition_path("surface_daily", partition),
              surfacestore.path(day)]
    if not all(p.exists() for p in needed):
        return False
    air = [p.path for d in (day - ONE_DAY, day)
           for p in lake.parts(daily.AIR_DATASET, partition=lake.date_partition(d))]
    newest_air = max((p.stat().st_mtime for p in air if p.exists()), default=0.0)
    return min(p.stat().st_mtime for p in needed) >= newest_air


def backfill(first: dt.date, last: dt.date, *, force: bool = False, progress: bool = True,
             publish: bool = True) -> BackfillReport:
    """Build the local days ``first`` … ``last`` (see the module docstring); return what was done.

    ``progress`` shows a progress bar per stage with the time left (rich); ``publish`` false
    stops after the alerts (the caller builds and publishes the warehouse).
    """
    report = BackfillReport(first, last)
    days = days_between(first, last)
    todo = days if force else [d for d in days if not is_built(d)]
    report.skipped = [d for d in days if d not in set(todo)]
    with _Progress(progress) as bar:
        with _stage_workers() as pool:  # ended before the warehouse build: the workers' memory is freed
            if todo:
                _timed(report, "ingest", lambda: _ingest(todo, report, bar, force, pool))
                todo = [d for d in todo if d not in report.missing]
            if todo:
                _timed(report, "grid", daily.build_grid)
                # queued behind the surfaces, the noise and forecast chunks keep the workers busy while
                # the last surface chunks end, then the periods (which read the surfaces) are queued
                surfaces, noise = _surfaces(todo, bar, pool), _noise_and_forecast(todo, bar, pool)
                _timed(report, "surfaces", lambda: _wait(surfaces))
                _timed(report, "noise_forecast_periods", lambda: (_periods(todo, pool), _wait(noise)))
                _timed(report, "health", lambda: _health(todo))
                _timed(report, "alerts", lambda: _alerts(todo, report, bar, pool))
                report.built = todo
        if publish and (todo or not _published()):
            _timed(report, "warehouse", lambda: _warehouse(last, report))
    log.info("backfill %s..%s: %d days built, %d skipped, %d missing (%s)", first, last, len(report.built),
             len(report.skipped), len(report.missing),
             ", ".join(f"{k} {v:.1f} s" for k, v in report.seconds.items()))
    return report


def _timed(report: BackfillReport, stage: str, work: Callable[[], object]) -> None:
    start = time.perf_counter()
    work()
    report.seconds[stage] = time.perf_counter() - start


def _ingest(days: list[dt.date], report: BackfillReport, bar: _Progress, force: bool, pool: Executor) -> None:
    """Reference sources once; each daily source over the days in order, chunk after chunk in ``pool``.

    A source's days are ingested in date order (the gate's completeness reads the day before);
    sources write disjoint files, so they run side by side in the stage pool (:func:`_stage_workers`).
    The files landed are fsynced once per chunk of days (:func:`spse.pipeline.lake.synced_at_end`).
    """
    from concurrent.futures import ThreadPoolExecutor

    from spse import sources
    from spse.pipeline import freshness
    from spse.pipeline.ingest import ingest

    now = dt.datetime.now(dt.UTC)
    active = sources.active()
    for source in [s for s in active if s.cadence != "daily"]:
        if freshness.needs_refetch(source, days[-1], now):
            _try_ingest(ingest, source, days[-1], report)
    daily_sources = [s for s in active if s.cadence == "daily" and s.backfilled]
    # A forecast source only for the last day: its run is the one the next daily run revises.
    for source in [s for s in active if s.cadence == "daily" and not s.backfilled]:
        if force or freshness.needs_refetch(source, days[-1], now):
            _try_ingest(ingest, source, days[-1], report)
    wanted = sorted({days[0] - ONE_DAY, *days})
    task = bar.add("ingestion", len(wanted) * len(daily_sources))

    counted = threading.Lock()

    def one_source(source) -> None:
        for chunk in _chunks(wanted, INGEST_CHUNK_DAYS):
            ingested, missing = pool.submit(_ingest_days, source.name, chunk, days, force, now).result()
            with counted:
                report.ingested += ingested
                report.missing.update(missing)
            bar.advance(task, len(chunk))

    with ThreadPoolExecutor(max_workers=max(1, len(daily_sources)), thread_name_prefix="backfill-ingest") as each:
        for done in [each.submit(one_source, source) for source in daily_sources]:
            done.result()


INGEST_CHUNK_DAYS = 16


def _ingest_days(name: str, chunk: list[dt.date], days: list[dt.date], force: bool,
                 now: dt.datetime) -> tuple[int, dict[dt.date, str]]:
    """Ingest source ``name`` for each day of ``chunk`` it lacks (all with ``force``); ingested, missing days.

    The days' files are parsed together (:func:`spse.pipeline.ingest.ingest_days`).
    """
    from spse import sources
    from spse.pipeline import freshness
    from spse.pipeline.ingest import ingest_days

    source = sources.get(name)
    wanted = [day for day in chunk if force or freshness.needs_refetch(source, day, now)]
    ingested, missing = 0, {}
    with lake.synced_at_end():
        for day, outcome in ingest_days(source, wanted).items():
            if not isinstance(outcome, FeedError):
                ingested += 1
                continue
            log.warning("backfill: %s %s unavailable: %s", source.name, day, outcome)
            if source.dataset == daily.AIR_DATASET and day in days and not lake.has_partition(
                    daily.AIR_DATASET, lake.date_partition(day)):
                missing[day] = str(outcome)
    return ingested, missing


def _try_ingest(ingest, source, day: dt.date, report: BackfillReport) -> str | None:
    try:
        ingest(source, day)
    except FeedError as exc:
        log.warning("backfill: %s %s unavailable: %s", source.name, day, exc)
        return str(exc)
    report.ingested += 1
    return None


def _chunks(days: list[dt.date], size: int) -> Iterator[list[dt.date]]:
    """Runs of consecutive days, at most ``size`` long."""
    run: list[dt.date] = []
    for day in days:
        if run and (day - run[-1] != ONE_DAY or len(run) == size):
            yield run
            run = []
        run.append(day)
    if run:
        yield run


def _with_cams(days: list[dt.date]) -> set[dt.date]:
    from spse.methods import forecast

    runs = {p.removeprefix("date=") for p in lake.partitions(forecast.SOURCE_DATASET)}
    return {d for d in days if any((d - dt.timedelta(days=back)).isoformat() in runs
                                   for back in range(forecast.LOOKBACK_DAYS + 1))}


def _surfaces(days: list[dt.date], bar: _Progress, pool: Executor) -> _Jobs:
    """Surfaces of each chunk of days, and of each day with a CAMS run on its own, submitted to ``pool``."""
    with_model = _with_cams(days)
    units = [*([day] for day in sorted(with_model)), *_chunks([d for d in days if d not in with_model], CHUNK_DAYS)]
    return _Jobs({pool.submit(daily.build_surfaces, unit[0]) if unit[0] in with_model
                  else pool.submit(daily.build_surfaces_days, unit): len(unit) for unit in units},
                 bar, bar.add("surfaces", len(days)))


def _noise_and_forecast(days: list[dt.date], bar: _Progress, pool: Executor) -> _Jobs:
    """Noise indicators of every day and forecast statistics of every day with a CAMS run, by chunks, submitted."""
    with_runs = {p.removeprefix("date=") for p in lake.partitions("forecast_cams")}
    return _Jobs({pool.submit(_noise_and_forecast_days, chunk, [d for d in chunk if d.isoformat() in with_runs]):
                  len(chunk) for chunk in _chunks(days, CHUNK_DAYS)}, bar, bar.add("bruit, prévision", len(days)))


def _noise_and_forecast_days(days: list[dt.date], with_runs: list[dt.date]) -> None:
    """Noise of ``days`` and forecast of ``with_runs``, day by day; each lake file read once (a day reads three)."""
    with lake.cached_reads():
        for day in days:
            daily.build_noise(day)
            if day in with_runs:
                daily.build_forecast(day)


def _periods(days: list[dt.date], pool: Executor) -> None:
    from spse.pipeline import periods

    periods.build_periods_range(days[0], days[-1], pool=pool)


@contextlib.contextmanager
def _stage_workers() -> Iterator[Executor]:
    """The pool every stage shares: units of work independent of each other.

    :func:`spse.core.config.backfill_workers` spawned processes, each holding one unit (a source's
    chunk of days to ingest, a chunk of up to :data:`CHUNK_DAYS` days of surfaces, a period, a few
    days' observed alerts); spawned once, so the workers' imports are paid once for all the stages;
    one thread of this process, so one unit at a time, when there is one worker or this process may
    not have children.
    """
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

    from spse.core.config import backfill_workers

    workers = backfill_workers()
    if workers < 2 or multiprocessing.current_process().daemon:
        with ThreadPoolExecutor(max_workers=1) as thread:
            yield thread
        return
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as processes:
        yield processes


@dataclasses.dataclass
class _Jobs:
    """Work submitted to the stage pool: each future with the days it covers, and the stage's progress bar."""

    futures: dict[Future, int]
    bar: _Progress
    task: object


def _wait(jobs: _Jobs) -> None:
    """Wait for ``jobs``, advancing their bar as each ends; an error cancels the rest and is raised."""
    try:
        for job in as_completed(jobs.futures):
            job.result()
            jobs.bar.advance(jobs.task, jobs.futures[job])
    except BaseException:
        for job in jobs.futures:
            job.cancel()
        raise


def _health(days: list[dt.date]) -> None:
    from spse.pipeline import health

    health.build_health_years(days[0].year, days[-1].year)


def _alerts(days: list[dt.date], report: BackfillReport, bar: _Progress, pool: Executor) -> None:
    """Raise every day's observed alerts, in the stage pool's worker processes when it has them.

    Then walk the days in order for their lifecycle, forecast rows and partition, under the writer lock
    (which also lets every process list each lake dataset once, :func:`spse.pipeline.lake.listings_cached`).
    """
    from spse.pipeline import alerts, lake, locking
    from spse.pipeline.alerts import job

    reference = alerts.AlertInputs.read_reference()
    with (locking.writer_lock(f"backfill alerts {days[0]}..{days[-1]}"), lake.listings_cached(),
          _observed_alerts(days, reference, pool) as raised):
        for frame in job.run_raised_days(zip(bar.track(days, "alertes"), raised, strict=True), reference):
            report.alerts += len(frame)


@contextlib.contextmanager
def _observed_alerts(days: list[dt.date], reference: dict, pool: Executor) -> Iterator[Iterator]:
    """The rows each day raises (:func:`spse.pipeline.alerts.job.observed`), in day order.

    Computed by the worker processes of ``pool`` (the stage pool: spawned, they inherit no lock and
    no thread) ahead of the caller, which walks them in order; in this process when ``pool`` has
    threads (one worker, or this process may not have children) or there are few days.
    """
    from concurrent.futures import ProcessPoolExecutor

    from spse.core.config import backfill_workers
    from spse.pipeline.alerts import job

    if not isinstance(pool, ProcessPoolExecutor) or len(days) < 2 * backfill_workers():
        observe = job.ObservedDays(reference)
        yield (observe(day) for day in days)
        return
    yield pool.map(_observed_in_worker, days, chunksize=4)


_WORKER_OBSERVE: list = []
_WORKER_CONTEXT = contextlib.ExitStack()


def _observed_in_worker(day: dt.date):
    """:func:`spse.pipeline.alerts.job.observed` in a stage worker, set up at its first day.

    The reference and registers are read once, and each lake dataset listed once, for the rest of
    the worker's life: the alerts are the pool's last stage, and the parent holds the writer lock.
    """
    if not _WORKER_OBSERVE:
        from spse.pipeline import lake
        from spse.pipeline.alerts import AlertInputs, job

        _WORKER_OBSERVE.append(job.ObservedDays(AlertInputs.read_reference()))
        _WORKER_CONTEXT.enter_context(lake.listings_cached())
    return _WORKER_OBSERVE[0](day)


def _published() -> bool:
    from spse.core.config import settings

    return settings().warehouse.exists()


def _warehouse(last: dt.date, report: BackfillReport) -> None:
    from spse.pipeline import locking, warehouse

    with locking.writer_lock(f"backfill warehouse {last}"):
        report.warehouse = str(warehouse.publish(warehouse.build(last)))


class _Progress:
    """A rich progress display (one bar per stage, with elapsed time and time left), or nothing."""

    def __init__(self, enabled: bool):
        self._bar = None
        if enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(TextColumn("{task.description:<16}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("reste"), TimeRemainingColumn())

    def __enter__(self) -> _Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()

    def add(self, description: str, total: int):
        """A new stage bar of ``total`` steps; its id."""
        return self._bar.add_task(description, total=total) if self._bar is not None else None

    def advance(self, task, steps: int = 1) -> None:
        """Advance a stage bar."""
        if self._bar is not None:
            self._bar.advance(task, steps)

    def track(self, items: list, description: str) -> Iterator:
        """Iterate ``items`` while advancing a new stage bar."""
        task = self.add(description, len(items))
        for item in items:
            yield item
            self.advance(task)
