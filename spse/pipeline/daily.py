"""The daily job, step by step. Airflow tasks and ``spse run`` call these same functions.

The steps, their order and what each waits for are listed once, in
:data:`spse.pipeline.steps.DAILY_STEPS`; :func:`run_day` walks that list for one local day
(Europe/Paris).

Each step reads and writes the lake only, so a failed step leaves the published warehouse
as it was.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from pathlib import Path

from spse.core.errors import FeedError, MissingObservations
from spse.pipeline import canonical, lake, steps
from spse.pipeline.steps import RunSummary

log = logging.getLogger(__name__)

GRID_PARTITION = "vintage=current"
# The one input whose absence stops the daily run: the day's hourly air observations.
AIR_DATASET = "air_hourly"


def target_day(logical_date: dt.datetime) -> dt.date:
    """Return the observed day a run at ``logical_date`` reports on: the day before, Europe/Paris."""
    from zoneinfo import ZoneInfo

    return (logical_date.astimezone(ZoneInfo("Europe/Paris")).date()) - dt.timedelta(days=1)


def ingest_source(name: str, day: dt.date) -> dict:
    """Ingest one source for ``day`` (and its re-fetch window for daily sources).

    A failed re-fetch of an earlier day keeps that day's last good partition; ``ingest``
    has recorded it in the quality log.
    """
    from dataclasses import asdict

    from spse import sources
    from spse.pipeline.ingest import ingest

    source = sources.get(name)
    report = ingest(source, day)
    for back in range(1, source.refetch_days + 1):
        try:
            ingest(source, day - dt.timedelta(days=back))
        except FeedError as exc:
            log.warning("re-fetch of %s for %s skipped: %s", name, day - dt.timedelta(days=back), exc)
    return asdict(report)


def ensure_inputs(day: dt.date) -> list[str]:
    """Ingest what the day needs and the lake lacks or holds stale; return what was ingested.

    Daily sources need the partitions of ``day`` and the day before (a local day starts
    in the previous UTC day, and O3 8-hour means reach back 7 hours); reference sources
    their current vintage, re-fetched on their cadence (:func:`spse.pipeline.freshness.needs_refetch`).

    Only the air observations of ``day`` are indispensable: when they cannot be fetched
    or read (and the lake has no earlier good copy of that partition),
    :class:`MissingObservations` stops the run. Any other input that is missing, fails,
    is refused or is stale leaves the run going on with what is valid: ``ingest`` has
    recorded the attempt in the quality log (a ``data_quality`` alert of the day), the
    last good partition or vintage is kept, and the steps after this one work without it.
    The CAMS forecast's runs of ``day - 1`` and ``day`` (00 UTC) are what the run at 06:00
    on J = ``day + 1`` has; ``build_forecast`` takes the latest on or before J.
    """
    from spse import sources
    from spse.pipeline import freshness
    from spse.pipeline.ingest import ingest

    now = dt.datetime.now(dt.UTC)
    done, air_failures = [], []
    for source in sources.active():
        wanted = [day - dt.timedelta(days=1), day] if source.cadence == "daily" else [day]
        for when in wanted:
            partition = source.partition_for(when)
            if not freshness.needs_refetch(source, when, now):
                continue
            try:
                ingest(source, when)
            except FeedError as exc:
                if source.dataset == AIR_DATASET and when == day:
                    air_failures.append(exc)
                own = lake.has_partition(source.dataset, partition, source.name)
                log.warning("%s %s unavailable (%s): %s", source.name, partition,
                            "last good copy kept" if own else "run goes on without", exc)
                continue
            done.append(f"{source.name}:{partition}")
    if air_failures and not lake.has_partition(AIR_DATASET, lake.date_partition(day)):
        # no producer of the air observations has the day: nothing to compute surfaces and alerts from
        raise MissingObservations(
            f"the air observations of {day} are missing, the run stops: {air_failures[0]}") from air_failures[0]
    return done


def build_grid() -> dict[str, int]:
    """Grid cells and crosswalks (zones, facilities, stations, noise bands) → lake.

    Reads the latest vintage of each reference dataset (a refused or failed update keeps
    the previous one). ``zone_cells`` holds the arrondissements (``zones``) and, when their
    optional sources have landed them, the IRIS (``zones_iris``) and quartiers
    (``zones_quartiers``), each row with its ``zone_level`` (methods.md §6.5). Without any
    vintage of the facilities or the station list, the grid is built without them (the
    stations then raise the ``DQ_STATIONS_UNLOCATED`` alert); the population and the zones
    are the grid itself and must have been ingested once. When none of these partitions, the grid
    code and the grid's own partitions changed since the last build (``built_from.json`` beside
    ``grid_cells``), the grid is kept as it is.
    """
    import pandas as pd

    from spse.methods import grid

    def optional(dataset: str):
        return canonical.read_latest(dataset) if lake.latest_partition(dataset) else None

    def points(dataset: str, id_col: str) -> pd.DataFrame:
        frame = optional(dataset)
        if frame is None:
            log.warning("grid: no vintage of %s in the lake, built without it", dataset)
            return pd.DataFrame({id_col: pd.Series(dtype=str), "lon": pd.Series(dtype=float),
                                 "lat": pd.Series(dtype=float)})
        return frame

    stamp = _grid_stamp()
    if stamp is not None and stamp == _recorded_grid_stamp():
        log.info("grid: reference datasets unchanged since the grid was built, kept")
        return {name: lake.count_rows(name, GRID_PARTITION) for name in GRID_OUTPUTS}
    tables = grid.build_grid(
        population=_required_reference("population"),
        zones=_required_reference("zones"),
        facilities=points("facilities", "facility_id"),
        stations=points("air_stations", "station_id"),
        noise_bands=optional("noise_map_bands"),
        zones_iris=optional("zones_iris"),
        zones_quartiers=optional("zones_quartiers"),
    )
    for name, frame in tables.items():
        if not lake.write_partition_if_changed(name, GRID_PARTITION, frame):
            log.info("grid: %s unchanged, its partition kept", name)
    built = _grid_stamp() if set(tables) == set(GRID_OUTPUTS) else None
    if built is not None:
        lake.write_bytes_atomic(_grid_stamp_path(), json.dumps(built, indent=1).encode())
    return {name: len(frame) for name, frame in tables.items()}


GRID_INPUTS = ("population", "zones", "facilities", "air_stations", "noise_map_bands", "zones_iris", "zones_quartiers")
GRID_OUTPUTS = ("grid_cells", "zone_cells", "facility_cells", "station_cells", "noise_band_cells")


def _grid_stamp() -> dict | None:
    """What the grid is built from, and the grid's own partitions; ``None`` when the grid has never been built.

    Every partition file of each reference dataset, of every producer, and of each grid dataset
    (source, partition, size, modification time [ns]), the SHA-256 of the grid code and of the
    source registry (its overlap rules choose between producers).
    """
    from spse.methods import grid
    from spse.sources.registry import REGISTRY

    def files(datasets, partition=None):
        out = {}
        for dataset in datasets:
            found = [[part.source, part.partition, part.path.stat().st_size, part.path.stat().st_mtime_ns]
                     for part in lake.parts(dataset, partition=partition)]
            out[dataset] = found or None
        return out

    outputs = files(GRID_OUTPUTS, GRID_PARTITION)
    if None in outputs.values():
        return None
    code = hashlib.sha256(Path(grid.__file__).read_bytes()).hexdigest()
    registry = hashlib.sha256(REGISTRY.read_bytes()).hexdigest()
    return {"inputs": files(GRID_INPUTS), "outputs": outputs, "code_sha256": code, "registry_sha256": registry}


def _grid_stamp_path() -> Path:
    return lake.partition_path("grid_cells", GRID_PARTITION).with_name("built_from.json")


def _recorded_grid_stamp() -> dict | None:
    path = _grid_stamp_path()
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _required_reference(dataset: str):
    if lake.latest_partition(dataset) is None:
        from spse import sources

        feeds = [s.name for s in sources.active() if s.dataset == dataset]
        raise FileNotFoundError(f"the grid needs lake dataset {dataset!r}, never ingested (source "
                                f"{', '.join(feeds) or '?'}): see the quality log and `spse sources`")
    return canonical.read_latest(dataset)


def build_surfaces(day: dt.date) -> dict[str, int]:
    """Hourly and daily surfaces, station statistics and LOO validation for ``day``.

    When a CAMS run on or before ``day`` is in the lake (``forecast_cams`` partitions of
    ``day`` and the ``forecast.LOOKBACK_DAYS`` days before; :func:`spse.methods.forecast.select_run`),
    it is passed as the model background: ``surface_validation`` then holds the LOO errors of
    both IDW and CAMS + residual IDW, and the register's ``surface_method`` picks the stored
    surface. Without a run (logged) the surfaces are IDW only.
    """
    from spse.methods import forecast

    runs = lake.read_days(forecast.SOURCE_DATASET, [day - dt.timedelta(days=back)
                                                    for back in range(forecast.LOOKBACK_DAYS + 1)])
    model_hourly = forecast.select_run(runs, day) if not runs.empty else None
    if model_hourly is None or model_hourly.empty:
        log.info("no CAMS run on or before %s in the lake (%s): surfaces validated by IDW only",
                 day, forecast.SOURCE_DATASET)
        model_hourly = None
    return build_surfaces_days([day], model_hourly=model_hourly)


def build_surfaces_days(days: list[dt.date], model_hourly=None) -> dict[str, int]:
    """Surfaces of consecutive local ``days`` in one pass (the backfill's unit); row counts.

    Daily statistics are computed in the procedure's time base (register ``day_time_base``)
    and in the EU statistics' (``eu_day_time_base``, UTC as Geod'air, methods.md §1.1), each
    row carrying its ``time_base``. Writes, per day, the ``surface_daily``, ``station_daily``
    and ``surface_validation`` lake partitions and the hourly surface file
    (:mod:`spse.pipeline.surfacestore`).
    """
    from spse.core import register
    from spse.methods import surfaces
    from spse.pipeline import surfacestore

    days = sorted(days)
    air = canonical.read_days(AIR_DATASET, [days[0] - dt.timedelta(days=1), *days, days[-1] + dt.timedelta(days=1)])
    if air.empty:
        raise MissingObservations(f"no {AIR_DATASET} partition for {days[0]}..{days[-1]} or the day before: "
                                  "ingest lcsqa_e2 first")
    params = register.parameters()
    procedure, eu = params.text("day_time_base"), params.text("eu_day_time_base")
    stations = canonical.read_latest("air_stations") if lake.latest_partition("air_stations") else None
    tables = surfaces.build_surfaces_days(days, air, stations, lake.read_latest("grid_cells"), params=params,
                                          time_bases=tuple(dict.fromkeys((procedure, eu))),
                                          model_hourly=model_hourly)
    hourly = surfacestore.split_days(tables.pop("surface_hourly"), days, procedure)
    counts = {name: sum(lake.write_day_partitions(name, frame, days).values()) for name, frame in tables.items()}
    counts["surface_hourly_cells_hours"] = 0
    for day in days:
        surfacestore.write_day(day, hourly[day])
        counts["surface_hourly_cells_hours"] += int(hourly[day]["value"].notnull().sum())
    return counts


def build_noise(day: dt.date) -> dict[str, int]:
    """Daily Ld, Le, Ln, Lden at the noise stations for ``day``."""
    from spse.core import register
    from spse.methods import noise

    hourly = canonical.read_days("noise_hourly", [day - dt.timedelta(days=1), day, day + dt.timedelta(days=1)])
    if hourly.empty:
        log.warning("no noise_hourly data around %s", day)
        return {"noise_station_daily": 0}
    frame = noise.noise_daily(hourly, day, noise.NoiseRules.from_params(register.parameters()))
    lake.write_partition("noise_station_daily", lake.date_partition(day), frame)
    return {"noise_station_daily": len(frame)}


def build_forecast(day: dt.date) -> dict[str, int]:
    """CAMS forecast daily statistics per cell for the run day (``day`` + 1 = J) and J+1.

    Reads the ``cams_europe_forecast`` runs that ``ensure_inputs`` landed (base times
    ``day - 1`` and ``day``, 00 UTC); without any run in the lake nothing is written.
    """
    from spse.pipeline import forecast_step

    if not lake.partitions("forecast_cams"):
        log.info("no CAMS forecast run in the lake (source cams_europe_forecast): skipped")
        return {}
    tables = forecast_step.build_forecast(day + dt.timedelta(days=1))
    return {name: len(frame) for name, frame in tables.items()}


def raise_alerts(day: dt.date) -> int:
    """Alerts of ``day`` under the writer lock: they read the alerts of the day before."""
    from spse.pipeline import alerts, locking

    with locking.writer_lock(f"raise_alerts {day}"):
        return len(alerts.run(day))


def build_warehouse(day: dt.date) -> str:
    """Build the SQL models for ``day`` into a new DuckDB file, under the writer lock; its path."""
    from spse.pipeline import locking, warehouse

    with locking.writer_lock(f"build_warehouse {day}"):
        return str(warehouse.build(day))


def publish(build_path: str) -> str:
    """Publish the build under the writer lock, unless the published warehouse is newer.

    See :func:`spse.pipeline.warehouse.publisher.publish_build`. Returns the published path either way.
    """
    from spse.pipeline import warehouse

    return str(warehouse.publish(Path(build_path)))


def render_bulletin(day: dt.date) -> str:
    """Render the HTML bulletin of ``day`` (Europe/Paris) from the published warehouse; its path."""
    from spse.pipeline import bulletin

    return str(bulletin.render(day))


def notify_alerts(day: dt.date) -> dict:
    """Send the day's new or changed notifications to the webhook and the subscribers, when configured."""
    from spse.pipeline import notify

    return notify.deliver(day)


def run_day(day: dt.date) -> RunSummary:
    """Run the whole daily job for ``day`` (Europe/Paris) without Airflow (``spse run``).

    Runs each step of :func:`spse.pipeline.steps.daily_steps` in list order, passing a step the
    outputs of the steps it ``uses``, and gathers their outputs
    (:func:`spse.pipeline.steps.run_summary`).
    """
    daily = steps.daily_steps()
    outputs: dict[str, object] = {}
    for step in daily:
        outputs[step.name] = step.run(day, *(outputs[name] for name in step.uses))
    return steps.run_summary(day, outputs, daily)
