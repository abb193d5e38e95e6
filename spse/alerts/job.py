"""The daily alert run: read the lake, evaluate the day, write the ``alerts`` partition and the outbox."""

from __future__ import annotations

import datetime as dt
import logging

import pandas as pd

from spse import lake, qualitylog, register
from spse.alerts.evaluate import evaluate
from spse.alerts.forecast import evaluate_forecast
from spse.alerts.outbox import write_outbox
from spse.alerts.quality import DAILY_SOURCES
from spse.alerts.schema import DATASET, storage_frame
from spse.forecast import DATASET as FORECAST_DATASET

log = logging.getLogger(__name__)

REQUIRED_REFERENCE = ("grid_cells", "zone_cells", "station_cells")
OPTIONAL_REFERENCE = ("facility_cells", "zones", "facilities")


def stale_inputs(day: dt.date) -> list[str]:
    """Datasets of the running sources that are stale for ``day`` (``spse.freshness``): a
    daily source without the day's partition, or any source fetched longer ago than it
    allows. The air and noise inputs of the alerts always count."""
    from spse import freshness, sources

    report = freshness.report(sources.active(), day=day)
    stale = set(report.loc[report["status"] == "stale", "dataset"])
    stale |= {name for name in DAILY_SOURCES if not lake.has_partition(name, lake.date_partition(day))}
    return sorted(stale)


def active_sources() -> list:
    from spse import sources

    return sources.active()


def run(day: dt.date) -> pd.DataFrame:
    """Evaluate the local day ``day`` (Europe/Paris by default) and publish its alerts.

    Reads ``air_hourly`` (UTC partitions ``day - 1`` and ``day``, which hold the local
    day's hours), ``station_daily``, ``surface_hourly`` and ``surface_daily`` of ``day``,
    the latest grid, crosswalks, zones and facilities, and the ``alerts`` of ``day - 1``;
    then the forecast of the run day J = ``day + 1`` (``forecast_cell_daily/date=J``, when the
    forecast step wrote it) for J and J+1 and the persistence rules
    (``spse.alerts.forecast``). Replaces the partition ``alerts/date=<day>`` (observed,
    data-quality and this run's forecast rows) and the day's outbox folder.
    """
    reference = {name: _latest(name, required=True) for name in REQUIRED_REFERENCE}
    reference.update({name: _latest(name, required=False) for name in OPTIONAL_REFERENCE})
    previous = day - dt.timedelta(days=1)
    missing = stale_inputs(day)
    problems = qualitylog.concerning(day, active_sources())
    frame = evaluate(
        day,
        thresholds=register.thresholds(),
        surface_hourly=lake.read_days("surface_hourly", [day]),
        surface_daily=lake.read_days("surface_daily", [day]),
        station_hourly=lake.read_days("air_hourly", [previous, day]),
        station_daily=lake.read_days("station_daily", [day]),
        previous_alerts=lake.read_days(DATASET, [previous]),
        parameters=register.parameters(),
        missing_inputs=missing,
        input_problems=problems,
        **reference,
    )
    run_day = day + dt.timedelta(days=1)
    forecast_rows = evaluate_forecast(
        run_day,
        thresholds=register.thresholds(),
        forecast_daily=lake.read_days(FORECAST_DATASET, [run_day]),
        observed=frame,
        parameters=register.parameters(),
        **{name: table for name, table in reference.items() if name != "station_cells"},
    )
    if forecast_rows.empty:
        log.info("alerts %s: no forecast alert for %s and the day after (%s/date=%s)", day, run_day,
                 FORECAST_DATASET, run_day)
    elif frame.empty:
        frame = forecast_rows
    else:
        frame = pd.concat([frame, forecast_rows], ignore_index=True)
    lake.write_partition(DATASET, lake.date_partition(day), storage_frame(frame))
    write_outbox(frame, day, facilities=reference["facilities"], zones=reference["zones"])
    log.info("alerts %s: %d rows (%s)", day, len(frame), ", ".join(f"{k}={v}" for k, v in
                                                              frame["status"].value_counts().items()))
    return frame


def _latest(dataset: str, *, required: bool) -> pd.DataFrame:
    if lake.latest_partition(dataset) is not None:
        return lake.read_latest(dataset)
    if required:
        raise FileNotFoundError(f"alerts: lake dataset {dataset!r} has no partition; run the grid step first")
    log.warning("alerts: lake dataset %s is empty, facilities and zone names will be missing", dataset)
    return pd.DataFrame()
