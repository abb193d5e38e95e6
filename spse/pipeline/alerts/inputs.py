"""The frames one alert run evaluates, read from the lake once and checked: ``AlertInputs``.

``evaluate`` (observed day) and ``evaluate_forecast`` (forecast of J and J+1, persistence)
are pure functions of an ``AlertInputs``; :meth:`AlertInputs.from_lake` is the only place
that reads them, for the daily job (``spse.pipeline.alerts.job``). A dataset without a partition is
an empty frame with the columns the evaluation uses; a frame that has rows but lacks one of
those columns is an error naming the input and its lake dataset. Instants are UTC; days are
local days of the register's ``day_time_base`` (Europe/Paris by default).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa

from spse.methods import forecast as cams
from spse.pipeline import canonical, lake, qualitylog
from spse.pipeline.alerts import impact
from spse.pipeline.alerts.quality import DAILY_SOURCES
from spse.pipeline.alerts.schema import DATASET, FORECAST_COLUMNS

if TYPE_CHECKING:
    import xarray as xr

log = logging.getLogger(__name__)

INPUT_COLUMNS = {
    "surface_hourly": ["cell_id", "pollutant", "ts_start_utc", "value"],
    "surface_daily": ["cell_id", "pollutant", "statistic", "value", "is_valid"],
    "station_hourly": ["station_id", "station_class", "pollutant", "ts_start_utc", "value", "is_valid"],
    "station_daily": ["station_id", "station_class", "pollutant", "statistic", "value", "is_valid"],
    "grid_cells": ["cell_id", "x_3035", "y_3035", *impact.POPULATION_COLUMNS],
    "zone_cells": ["zone_id", "cell_id", "area_fraction"],
    "facility_cells": ["facility_id", "cell_id"],
    "station_cells": ["station_id", "cell_id", "x_3035", "y_3035"],
    "zones": ["zone_id", "zone_name"],
    "facilities": ["facility_id", "category", "name"],
    "forecast_daily": FORECAST_COLUMNS,
}
LAKE_DATASETS = {"station_hourly": "air_hourly", "forecast_daily": cams.DATASET}
REQUIRED_REFERENCE = ("grid_cells", "zone_cells", "station_cells")
OPTIONAL_REFERENCE = ("facility_cells", "zones", "facilities")


@dataclasses.dataclass(frozen=True)
class AlertInputs:
    """Everything the alert evaluation of one observed day and its forecast run reads.

    Frames not given are empty (no partition). Construction checks each frame's columns
    (``INPUT_COLUMNS``) and raises ``ValueError`` naming the input and its lake dataset.

    Attributes
    ----------
    surface_hourly, surface_daily : DataFrame
        Background surfaces of the day (``surface_hourly`` UTC hours; ``surface_daily``
        statistics of the local day). µg/m³ (CO mg/m³).
    surface_grid : xarray.Dataset or None
        The hourly surface of the day as arrays (:func:`spse.pipeline.surfacestore.read_values`);
        when it has pollutants, the rules read it instead of ``surface_hourly`` (which
        :meth:`from_lake` leaves empty: the long frame would be 0.2 M rows a day).
    station_hourly : DataFrame
        ``air_hourly`` partitions of the day before and the day (UTC), which hold the local
        day's hours; only those hours are used.
    station_daily : DataFrame
        ``station_daily`` of the day.
    grid_cells, zone_cells, facility_cells, station_cells, zones, facilities : DataFrame
        Latest grid, crosswalks, zones and facilities (docs/architecture.md).
    forecast_daily : DataFrame
        ``forecast_cell_daily/date=J`` of the run day J = day + 1 (``spse.methods.forecast.COLUMNS``).
    previous_alerts : DataFrame, pyarrow.Table or None
        The ``alerts`` partition of the day before (lifecycle); a backfill passes the Arrow table
        it wrote the day before (:func:`spse.pipeline.alerts.schema.as_frame` makes it a frame).
    missing_inputs : tuple of str
        Datasets stale or without the day's partition (data-quality alerts).
    input_problems : tuple of dict
        Quality-log records of the inputs (:func:`spse.pipeline.qualitylog.concerning`).
    """

    surface_hourly: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    surface_daily: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    surface_grid: xr.Dataset | None = None
    station_hourly: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    station_daily: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    grid_cells: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    zone_cells: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    facility_cells: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    station_cells: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    zones: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    facilities: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    forecast_daily: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    previous_alerts: pd.DataFrame | pa.Table | None = None
    missing_inputs: tuple[str, ...] = ()
    input_problems: tuple[dict, ...] = ()

    def __post_init__(self) -> None:
        """Give every frame the columns the evaluation uses, or name the one that lacks them."""
        for name in INPUT_COLUMNS:
            object.__setattr__(self, name, _shaped(name, getattr(self, name)))
        object.__setattr__(self, "missing_inputs", tuple(self.missing_inputs))
        object.__setattr__(self, "input_problems", tuple(self.input_problems))

    @staticmethod
    def read_reference() -> dict[str, pd.DataFrame]:
        """The latest grid, crosswalks, zones and facilities, which a backfill reads once for all its days."""
        reference = {name: _latest(name, required=True) for name in REQUIRED_REFERENCE}
        reference.update({name: _latest(name, required=False) for name in OPTIONAL_REFERENCE})
        return reference

    @classmethod
    def from_lake(cls, day: dt.date, reference: dict[str, pd.DataFrame] | None = None, *, observations: bool = True,
                  follow_up: bool = True, previous_alerts: pd.DataFrame | pa.Table | None = None) -> AlertInputs:
        """Read the inputs of the local day ``day`` and of its forecast run J = ``day + 1``.

        Reads ``air_hourly`` (UTC partitions ``day - 1`` and ``day``), ``station_daily`` and
        ``surface_daily`` of ``day`` in the procedure's time base (register ``day_time_base``),
        the hourly surface file of ``day`` (:mod:`spse.pipeline.surfacestore`), the latest grid, crosswalks,
        zones and facilities, the ``alerts`` of ``day - 1``, ``forecast_cell_daily`` of J,
        the stale inputs (:func:`stale_inputs`) and the quality log of the day. ``reference``,
        when given, stands for the grid, crosswalks, zones and facilities (:meth:`read_reference`).
        ``observations`` false leaves out what the observed day raises from (observations,
        surfaces, stale inputs, quality log); ``follow_up`` false what its lifecycle and forecast
        read (the alerts of ``day - 1``, the forecast run): a backfill reads each part where it uses it.
        ``previous_alerts``, when given, stands for the alerts of ``day - 1`` (a backfill keeps the
        partition it wrote the day before).

        Raises
        ------
        FileNotFoundError
            When the grid, the zone crosswalk or the station cells have no partition.
        """
        from spse.core import register
        from spse.pipeline import surfacestore

        procedure_day = register.parameters().text("day_time_base")
        reference = cls.read_reference() if reference is None else reference
        previous = day - dt.timedelta(days=1)
        observed = {}
        if observations:
            running = active_sources()
            observed = {
                "surface_grid": surfacestore.read_values(day),
                "surface_daily": _in_time_base(lake.read_days("surface_daily", [day]), procedure_day),
                "station_hourly": canonical.read_days("air_hourly", [previous, day]),
                "station_daily": _in_time_base(lake.read_days("station_daily", [day]), procedure_day),
                "missing_inputs": stale_inputs(day, running),
                "input_problems": qualitylog.concerning(day, running),
            }
        later = {}
        if follow_up:
            later = {"forecast_daily": lake.read_days(cams.DATASET, [day + dt.timedelta(days=1)]),
                     "previous_alerts": (lake.read_days(DATASET, [previous]) if previous_alerts is None
                                         else previous_alerts)}
        return cls(**observed, **later, **reference)


def stale_inputs(day: dt.date, running: list | None = None) -> list[str]:
    """Return the datasets of the running sources that are stale for ``day`` (``spse.pipeline.freshness``).

    A daily source without the day's partition, or any source fetched longer ago than it
    allows. The air and noise inputs of the alerts always count. ``running``: the running
    sources when the caller has them (default :func:`active_sources`).
    """
    from spse.pipeline import freshness

    stale = freshness.stale_datasets(active_sources() if running is None else running, day)
    stale |= {name for name in DAILY_SOURCES if not lake.has_partition(name, lake.date_partition(day))}
    return sorted(stale)


def active_sources() -> list:
    """Return the running sources (``spse.sources.active``), whose quality log the alerts read."""
    from spse import sources

    return sources.active()


def _in_time_base(daily: pd.DataFrame, time_base: str) -> pd.DataFrame:
    """The rows of a daily table in the procedure's ``time_base`` (the lake also holds the EU statistics' day)."""
    if "time_base" not in daily.columns:
        return daily
    return daily[daily["time_base"] == time_base].reset_index(drop=True)


def _shaped(name: str, frame: pd.DataFrame | None) -> pd.DataFrame:
    """``frame``, or an empty frame with the columns used here when no partition was found."""
    required = INPUT_COLUMNS[name]
    if frame is None or (frame.empty and not set(required) <= set(frame.columns)):
        return _empty(name).copy()
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValueError(f"alerts: input {name} (lake dataset {LAKE_DATASETS.get(name, name)}) lacks columns "
                         f"{missing}; it has {list(frame.columns)}")
    return frame


@functools.cache
def _empty(name: str) -> pd.DataFrame:
    """An empty frame of input ``name``'s columns (made once: a copy costs 20 times less than a new frame)."""
    return pd.DataFrame(columns=INPUT_COLUMNS[name])


def _latest(dataset: str, *, required: bool) -> pd.DataFrame:
    if lake.latest_partition(dataset) is not None:
        return canonical.read_latest(dataset)
    if required:
        raise FileNotFoundError(f"alerts: lake dataset {dataset!r} has no partition; run the grid step first")
    log.warning("alerts: lake dataset %s is empty, facilities and zone names will be missing", dataset)
    return pd.DataFrame()
