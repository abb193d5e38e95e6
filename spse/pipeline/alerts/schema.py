"""The ``alerts`` dataset: its columns (type, unit, definition), the alert id, an empty frame.

One row per (date, alert_type, kind, pollutant, level, set) in a partition; see docs/alerts.md
and docs/architecture.md "Alerts". The
partition ``alerts/date=<d>`` is the run that evaluated the observed day ``d`` (reported at
06:00 Europe/Paris on ``d + 1`` = J); it holds that day's observed and data-quality rows and
the run's forecast rows, whose ``date`` is the forecast day (J or J+1).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib

import numpy as np
import pandas as pd
import pyarrow as pa

from spse.core.columns import Column

DATASET = "alerts"

ALERT_COLUMNS: dict[str, Column] = {
    "alert_id": Column("VARCHAR", "", "Stable id: first 16 hex digits of SHA-256 of 'date|pollutant|level|set_id' "
                       "('...|set_id|forecast' for forecast rows); a re-run of the day gives the same id",
                       nullable=False),
    "date": Column("DATE", "", "Local day the alert is about (time_base): the observed day for air_quality and "
                   "data_quality rows, the forecast day (J or J+1) for forecast rows", nullable=False),
    "kind": Column("VARCHAR", "", "air_quality (a threshold exceeded on the observed day), forecast (exceeded in "
                   "the CAMS forecast of J or J+1, or a persistence rule) or data_quality (inputs missing or thin)",
                   nullable=False),
    "pollutant": Column("VARCHAR", "", "Pollutant (NO2, O3, PM10, SO2, ...); for a missing input, the lake dataset",
                        nullable=False),
    "level": Column("VARCHAR", "", "Threshold level of the register (information, alerte, alerte_mesures_1, "
                    "alerte_persistance, ...) or data_quality", nullable=False),
    "set_id": Column("VARCHAR", "", "Threshold set of the register (FR_R221-1, ...) or the data-quality rule "
                     "(DQ_MISSING_PARTITION, DQ_BACKGROUND_STATIONS)", nullable=False),
    "averaging": Column("VARCHAR", "", "Averaging of the threshold: 1h (hourly means, with consecutive_periods), "
                        "day_mean (calendar-day mean), or <averaging>_persistence (information threshold exceeded "
                        "on consecutive_periods consecutive days)"),
    "threshold_value": Column("DOUBLE", "µg/m³ (CO mg/m³); stations for DQ_BACKGROUND_STATIONS",
                              "Threshold exceeded strictly (>) by the observed statistic"),
    "unit": Column("VARCHAR", "", "Unit of threshold_value and value_max"),
    "value_max": Column("DOUBLE", "same as unit", "Highest observed (station) or interpolated (cell) value of the "
                        "statistic among the stations and cells that triggered the alert; forecast rows: the "
                        "highest forecast cell value (persistence: the highest, over the cells exceeding on every "
                        "forecast day, of the cell's lowest daily value); for DQ_BACKGROUND_STATIONS the number "
                        "of background stations with a valid day"),
    "basis": Column("VARCHAR", "", "surface (background surface cells only), station (station exceedances only), "
                    "surface+station, or forecast (CAMS forecast cells, forecast_cell_daily)"),
    "station_ids": Column("VARCHAR", "", "Comma-separated ids of the stations whose observed statistic exceeded"),
    "zone_ids": Column("VARCHAR", "", "Comma-separated INSEE codes of the arrondissements touching affected cells"),
    "zone_names": Column("VARCHAR", "", "Names of those arrondissements, same order, separated by ', '"),
    "n_cells": Column("BIGINT", "cells", "Affected 200 m cells: surface exceedance cells ∪ station footprint cells"),
    "area_km2": Column("DOUBLE", "km²", "Affected area = n_cells × 0.04 km²"),
    "population_total": Column("DOUBLE", "persons", "Residents of the affected cells (INSEE Filosofi 200 m)"),
    "pop_0_5": Column("DOUBLE", "persons", "Children aged 0-5 in the affected cells"),
    "pop_65p": Column("DOUBLE", "persons", "People aged 65 and over in the affected cells"),
    "pop_poor_households": Column("DOUBLE", "persons", "Persons in poor households in the affected cells "
                                  "(estimate: population × households_poor / households)"),
    "facility_count": Column("BIGINT", "facilities", "Sensitive facilities located in the affected cells"),
    "facility_ids": Column("VARCHAR", "", "Comma-separated ids of those facilities, sorted"),
    "facilities_by_category": Column("VARCHAR", "", "JSON object category → number of affected facilities"),
    "facilities": Column("VARCHAR", "", "JSON list of those facilities, most sensitive category first (register "
                         "facility_sensitivity_order), then by name: facility_id, name, category, address, "
                         "postcode, zone_id (INSEE arrondissement code), arrondissement (its label), capacity, "
                         "capacity_unit (places for crèches, pupils for schools, beds for EHPAD and hospitals)"),
    "children_in_creches": Column("BIGINT", "places", "Children in crèches above the threshold: sum of the "
                                  "capacities (places) of the crèches located in the affected cells; a crèche "
                                  "without a known capacity adds 0 (see creches_without_capacity)"),
    "creches_without_capacity": Column("BIGINT", "crèches", "Crèches in the affected cells whose capacity is "
                                       "unknown, so missing from children_in_creches"),
    "recommendation": Column("VARCHAR", "", "Health recommendations for the level, joined from "
                             "spse/registers/recommendations.csv (arrêté du 20 août 2014 modifié le 13 mars 2018); "
                             "for data_quality alerts, what is missing"),
    "status": Column("VARCHAR", "", "Observed and data-quality rows: opened (not active on the day before), "
                     "ongoing (active on the day before) or closed (active on the day before, not raised on this "
                     "day). Forecast rows: opened, updated, escalated, de-escalated or closed between the runs that "
                     "forecast the same day (spse.pipeline.alerts.versions)", nullable=False),
    "episode_start_date": Column("DATE", "", "First day of the episode this row belongs to (time_base)"),
    "meets_episode_criteria": Column("BOOLEAN", "", "Regulatory episodes: the arrêté du 7 avril 2016 criteria are met "
                                     "(background or modelled exceedance, and area ≥ episode_area_km2 in the region "
                                     "or population_exposed ≥ the département's population criterion, register "
                                     "episode_department_*); false for the other kinds. Details: criteria"),
    "triggered_by": Column("VARCHAR", "", "JSON: the station rows (id, class, cell, value, run length) and the "
                           "surface summary (cells, value) behind the alert, so it can be reproduced from the lake; "
                           "forecast rows: the CAMS run (base_time_utc), lead_day and forecast cells"),
    "time_base": Column("VARCHAR", "", "Time zone of the day (register parameter day_time_base)", nullable=False),
    "alert_type": Column("VARCHAR", "", "regulatory_episode (procedure threshold exceeded in background situation "
                         "or modelled), local_exceedance (at traffic or industrial stations only: no procedure), "
                         "health_advisory (WHO 2021 guideline on the background surface) or data_quality; "
                         "docs/alerts.md"),
    "label": Column("VARCHAR", "", "French label of the alert's kind and basis, for users"),
    "criteria": Column("VARCHAR", "", "JSON list of the arrêté du 7 avril 2016 criteria (name, label, value, "
                       "threshold, unit, met true/false/null, note), computed on the département with its INSEE "
                       "legal population (register episode_department_*); [] for advisories and data quality"),
    "population_exposed": Column("DOUBLE", "persons", "Residents of the cells above the threshold, as defined in "
                                 "population_definition (the same count as population_total)"),
    "population_definition": Column("VARCHAR", "", "French definition of population_exposed for this kind"),
    "cell_ids": Column("VARCHAR", "", "Comma-separated ids of the affected 200 m cells, sorted"),
    "alert_version": Column("BIGINT", "", "Version of the alert: 1 when issued, + 1 each time a later run revises it "
                      "(a forecast day forecast again with another content); the outbox notifies each version once"),
    "issued_on": Column("DATE", "", "Observed day of the run (partition) that issued this version; earlier than "
                        "the row's partition when a later run confirmed the forecast unchanged, or when a "
                        "data-quality alert says exactly what the day before said (not notified again)"),
}

COLUMNS = list(ALERT_COLUMNS)
# Columns of forecast_cell_daily that the forecast alert rules read (spse.pipeline.alerts.inputs shapes them).
FORECAST_COLUMNS = ["cell_id", "date", "pollutant", "statistic", "value", "is_valid", "base_time_utc", "lead_day"]

_ARROW = {"VARCHAR": pa.string(), "DOUBLE": pa.float64(), "BIGINT": pa.int64(), "BOOLEAN": pa.bool_(),
          "DATE": pa.date32()}
_DTYPES = {"VARCHAR": "object", "DOUBLE": "float64", "BIGINT": "int64", "BOOLEAN": "bool", "DATE": "object"}

KEY = ["alert_type", "kind", "pollutant", "level", "set_id"]
# Top-level key of a forecast row's triggered_by holding its date: the warehouse's lake view shows the hive
# partition (the run's observed day) in place of the file's ``date``, and sql/marts/alerts.sql restores it.
FORECAST_DATE = "forecast_date"
# Kinds whose id includes the kind; observed and data-quality ids keep their original text.
KINDS_IN_ID = ("forecast",)
# Alert types whose id includes the type; regulatory episodes and data-quality rows keep their original text.
TYPES_IN_ID = ("local_exceedance", "health_advisory")


def alert_id(day: dt.date, pollutant: str, level: str, set_id: str, kind: str | None = None,
             alert_type: str | None = None) -> str:
    """Stable id of one (date, pollutant, level, set[, kind][, type]): re-running a day replaces, never duplicates.

    A forecast alert's id also hashes its kind, so it never equals the id of the observed
    alert of the same day, pollutant, level and set; a local exceedance or health advisory
    also hashes its type. A forecast day forecast by two runs keeps one id (its versions).
    """
    text = (f"{day.isoformat()}|{pollutant}|{level}|{set_id}" + (f"|{kind}" if kind in KINDS_IN_ID else "")
            + (f"|{alert_type}" if alert_type in TYPES_IN_ID else ""))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def empty_alerts() -> pd.DataFrame:
    """Return an ``alerts`` frame without rows, with the contract's columns and dtypes."""
    return _empty_alerts().copy()


@functools.cache
def _empty_alerts() -> pd.DataFrame:
    return conform(pd.DataFrame({name: [] for name in COLUMNS}))


def conform(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns in contract order with their dtypes (text as object, so empty partitions keep their types)."""
    return conform_records(frame_records(frame))


def conform_records(rows: list[dict]) -> pd.DataFrame:
    """:func:`conform` of the rows as records (a day has a handful: the frame is made once, from them).

    Missing text is ``None``, a missing number NaN; a row without ``alert_version`` was written
    before versions existed and is its first.
    """
    columns = {}
    for name, col in ALERT_COLUMNS.items():
        values = [row.get(name, np.nan) for row in rows]
        if name == "alert_version":
            values = [1 if missing(value) else value for value in values]
        if name in _TEXT_NAMES:  # a Series keeps them objects: pandas would make an array of texts ``str``
            columns[name] = pd.Series([None if missing(value) else value for value in values], dtype=object)
            continue
        if col.type == "DOUBLE":
            values = [np.nan if missing(value) else value for value in values]
        columns[name] = np.array(values, dtype=object).astype(_DTYPES[col.type])  # not Series.astype: 10× slower
    return pd.DataFrame(columns, copy=False)


def frame_records(frame: pd.DataFrame) -> list[dict]:
    """``frame.to_dict("records")`` read column by column: the same values, a few times faster on hundreds of rows.

    As ``to_dict`` gives them: in an object or extension column, NA is None and a numpy number a Python one.
    """
    names = list(frame.columns)
    columns = [_boxed(frame[name]) for name in names]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)] if names else [
        {} for _ in range(len(frame))]


def _boxed(column: pd.Series) -> list:
    values = column.tolist()
    if column.dtype == object or isinstance(column.dtype, pd.api.extensions.ExtensionDtype):
        return [_native(value) for value in values]
    return values


def _native(value: object) -> object:
    if value is pd.NA:
        return None
    if isinstance(value, np.integer | np.floating | np.bool_):
        return value.item()
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value)
    if isinstance(value, np.timedelta64):
        return pd.Timedelta(value)
    return value


def missing(value: object) -> bool:
    """Whether one value is missing: ``None``, NaN, NaT or NA."""
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


_TEXT_NAMES = frozenset(name for name, col in ALERT_COLUMNS.items() if _DTYPES[col.type] == "object")


def storage_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Return the frame with Arrow types, so that even an empty partition has the contract's Parquet schema."""
    values = present_values(frame.reindex(columns=COLUMNS))
    return pd.DataFrame({name: pd.array(values[:, i], dtype=pd.ArrowDtype(_ARROW[col.type]))
                         for i, (name, col) in enumerate(ALERT_COLUMNS.items())})


def storage_table(frame: pd.DataFrame) -> pa.Table:
    """:func:`storage_frame` as the Arrow table ``DataFrame.to_parquet`` writes (its pandas metadata included).

    Made column by column from the values (a frame of Arrow-typed columns first costs twice as much).
    """
    schema, absent = _storage_schema(), [None] * len(frame)
    return pa.Table.from_arrays(
        [pa.array([None if missing(value) else value
                   for value in (frame[name].tolist() if name in frame.columns else absent)],
                  type=field.type, from_pandas=True) for name, field in zip(COLUMNS, schema, strict=True)],
        schema=schema)


@functools.cache
def _storage_schema() -> pa.Schema:
    """The Arrow schema of :func:`storage_frame` with its pandas metadata, which does not depend on the rows."""
    return pa.Table.from_pandas(storage_frame(_empty_alerts()), preserve_index=False).schema


def as_frame(alerts: pd.DataFrame | pa.Table | None) -> pd.DataFrame | None:
    """``alerts`` as a frame: an Arrow table (a partition just written) as :func:`as_read` gives it back."""
    return as_read(alerts) if isinstance(alerts, pa.Table) else alerts


def as_read(stored: pd.DataFrame | pa.Table) -> pd.DataFrame:
    """The frame :func:`spse.pipeline.lake.read_days` gives back for a partition written from ``stored``.

    Through Arrow, as ``pandas.read_parquet`` does (text as ``string[pyarrow]``, the other columns Arrow types);
    ``stored`` is a :func:`storage_frame` or a :func:`storage_table`.
    """
    table = stored if isinstance(stored, pa.Table) else pa.Table.from_pandas(stored, preserve_index=False)
    return table.to_pandas()


def present_values(frame: pd.DataFrame) -> np.ndarray:
    """The values of ``frame`` as a (rows × columns) array of Python objects, ``None`` where missing."""
    objects = frame.astype(object)
    values = objects.to_numpy(dtype=object, copy=True).reshape(frame.shape)
    values[objects.isna().to_numpy().reshape(frame.shape)] = None
    return values


def present(column: pd.Series) -> list:
    """The values of ``column`` as Python objects, ``None`` where missing (NaN, NaT, NA)."""
    return [None if value is None or (not isinstance(value, str) and pd.isna(value)) else value
            for value in column.astype(object)]
