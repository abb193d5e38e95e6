"""The daily alert run: read the lake, evaluate the day, write the ``alerts`` partition and the outbox."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator

import pandas as pd
import pyarrow as pa

from spse.core import register
from spse.methods.forecast import DATASET as FORECAST_DATASET
from spse.pipeline import lake
from spse.pipeline.alerts.evaluate import RunConstants, raise_observed, with_lifecycle
from spse.pipeline.alerts.forecast import evaluate_forecast
from spse.pipeline.alerts.inputs import AlertInputs
from spse.pipeline.alerts.outbox import write_outbox
from spse.pipeline.alerts.recommendations import recommendations
from spse.pipeline.alerts.schema import DATASET, storage_table

log = logging.getLogger(__name__)


def run(day: dt.date, reference: dict[str, pd.DataFrame] | None = None, *, outbox: bool = True) -> pd.DataFrame:
    """Evaluate the local day ``day`` (Europe/Paris by default) and publish its alerts.

    Reads the inputs of the day and of the forecast run J = ``day + 1``
    (:meth:`spse.pipeline.alerts.inputs.AlertInputs.from_lake`) and the registers, evaluates the
    observed day (``spse.pipeline.alerts.evaluate``), then the forecast of J and J+1 and the
    persistence rules (``spse.pipeline.alerts.forecast``). Replaces the partition
    ``alerts/date=<day>`` (observed, data-quality and this run's forecast rows) and the
    day's outbox folder. ``reference`` is passed to :meth:`AlertInputs.from_lake` (a backfill
    reads the grid and crosswalks once); ``outbox`` false writes no notification (a backfill
    of past days notifies nobody).
    """
    inputs = AlertInputs.from_lake(day, reference)
    registers = _registers()
    return _publish(day, inputs, raise_observed(day, inputs, **registers), registers, outbox)[0]


def observed(day: dt.date, reference: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The observed and data-quality rows ``day`` raises, before their lifecycle (:func:`raise_observed`).

    Reads nothing of the day before: a backfill computes many days at once, then :func:`run_raised` each in order.
    """
    return ObservedDays(reference)(day)


class ObservedDays:
    """:func:`observed` for many days with one ``reference``: the registers and their rules are read once.

    Calling it with a day returns the rows that day raises; the rule table, the covered area and
    the station footprints are those of :class:`spse.pipeline.alerts.evaluate.RunConstants`,
    built from the registers and ``reference`` (:meth:`AlertInputs.read_reference`) at construction.
    """

    def __init__(self, reference: dict[str, pd.DataFrame]) -> None:
        self.reference = reference
        self.registers = _registers()
        shaped = AlertInputs(**reference)
        self.constants = RunConstants(self.registers["thresholds"], self.registers["parameters"], shaped.grid_cells,
                                      shaped.zone_cells, shaped.station_cells)
        self._files: dict = {}

    def __call__(self, day: dt.date) -> pd.DataFrame:
        """The observed and data-quality rows ``day`` raises (:func:`observed`).

        The lake files of the last day asked stay in memory (:func:`spse.pipeline.lake.cached_reads`),
        so that the next day reads its day before (``air_hourly``) from them.
        """
        with lake.cached_reads(self._files, keep=READS_KEPT):
            inputs = AlertInputs.from_lake(day, self.reference, follow_up=False)
        return raise_observed(day, inputs, **self.registers, constants=self.constants)


# Files one day's observed alerts read from the lake: air_hourly of the day before and of the day, station_daily
# and surface_daily of the day.
READS_KEPT = 4


def run_raised(day: dt.date, raised: pd.DataFrame, reference: dict[str, pd.DataFrame], *,
               outbox: bool = False) -> pd.DataFrame:
    """:func:`run` with the rows :func:`observed` raised for ``day``: lifecycle, forecast, partition, outbox."""
    inputs = AlertInputs.from_lake(day, reference, observations=False)
    return _publish(day, inputs, raised, _registers(), outbox)[0]


def run_raised_days(raised: Iterable[tuple[dt.date, pd.DataFrame]],
                    reference: dict[str, pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """:func:`run_raised` for each (day, rows) in day order, without outbox; yields each day's rows.

    A day that follows the one before reads the partition that day wrote from memory (its Arrow
    table), not from the lake.
    """
    registers = _registers()
    written = None
    for day, rows in raised:
        previous = written[1] if written is not None and written[0] == day - dt.timedelta(days=1) else None
        inputs = AlertInputs.from_lake(day, reference, observations=False, previous_alerts=previous)
        frame, stored = _publish(day, inputs, rows, registers, outbox=False)
        written = (day, stored)
        yield frame


def _registers() -> dict:
    return {"thresholds": register.thresholds(), "parameters": register.parameters(),
            "recommendations": recommendations()}


def _publish(day: dt.date, inputs: AlertInputs, raised: pd.DataFrame, registers: dict,
             outbox: bool) -> tuple[pd.DataFrame, pa.Table]:
    """Evaluate the lifecycle and forecast, write the partition and the outbox; the day's rows and the partition's.

    The partition is written from the Arrow table returned (:func:`spse.pipeline.alerts.schema.storage_table`).
    """
    frame = with_lifecycle(day, raised, inputs.previous_alerts, registers["recommendations"])
    run_day = day + dt.timedelta(days=1)
    forecast_rows = evaluate_forecast(run_day, inputs, observed=frame, **registers)
    if forecast_rows.empty:
        log.info("alerts %s: no forecast alert for %s and the day after (%s/date=%s)", day, run_day,
                 FORECAST_DATASET, run_day)
    elif frame.empty:
        frame = forecast_rows
    else:
        frame = pd.concat([frame, forecast_rows], ignore_index=True)
    stored = storage_table(frame)
    lake.write_partition(DATASET, lake.date_partition(day), stored)
    if outbox:
        write_outbox(frame, day, facilities=inputs.facilities, zones=inputs.zones)
    log.info("alerts %s: %d rows (%s)", day, len(frame), ", ".join(f"{k}={v}" for k, v in
                                                              frame["status"].value_counts().items()))
    return frame, stored
