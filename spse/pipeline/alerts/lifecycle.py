"""Alert lifecycle across days: opened, ongoing, closed.

An alert (same alert type, kind, pollutant, level and set) raised on ``day`` is ``opened`` when it was
not active on the day before and ``ongoing`` when it was, carrying the episode's start date.
An air-quality alert active on the day before (``opened`` or ``ongoing``) and not raised on
``day`` gets a ``closed`` row dated ``day``; data-quality alerts describe one day and are not
closed. Nothing depends on the wall clock, so a re-run gives the same
rows. Days are local days of the register's time base.

Forecast alerts (``kind = 'forecast'``) have no day-to-day lifecycle here: a run issues the
forecast of its J and J+1 in its own partition; ``spse.pipeline.alerts.versions`` compares it
with the previous run's forecast of the same day (versions: opened, updated, escalated,
de-escalated, closed). They never make an observed alert ``ongoing`` or ``closed``
(methods.md §1.2 "Constaté vs prévu": a forecast triggers a procedure, the observation is
evaluated on its own).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa

from spse.pipeline.alerts import kinds
from spse.pipeline.alerts.recommendations import recommendation_text
from spse.pipeline.alerts.schema import KEY, alert_id, frame_records, missing

ACTIVE = ("opened", "ongoing")
FORECAST = "forecast"
OBSERVED = "air_quality"
INPUT_RULE_PREFIX = "DQ_INPUT_"  # data-quality rules fed by the quality log (spse.pipeline.alerts.quality)
CARRIED = ("averaging", "threshold_value", "unit", "time_base")  # columns a closed row keeps from the day before


def active_on(previous_alerts: pd.DataFrame | pa.Table) -> pd.DataFrame:
    """Alerts of the previous day still active: ``KEY`` columns and ``episode_start_date``."""
    active = _active(_records(previous_alerts))
    return pd.DataFrame([dict(zip(KEY, key, strict=True)) | {"episode_start_date": start}
                         for key, start in active.items()], columns=[*KEY, "episode_start_date"])


def apply(day: dt.date, raised: pd.DataFrame, previous_alerts: pd.DataFrame,
          recommendations: pd.DataFrame) -> pd.DataFrame:
    """Set ``status`` and ``episode_start_date`` of ``raised`` and append the closed rows.

    A day has a handful of rows: they are matched with the day before's as records (key tuples), not merged as frames.
    """
    rows = apply_records(day, raised, previous_alerts, recommendations)
    if not rows:
        return pd.DataFrame(columns=[*raised.columns, "status", "episode_start_date"])
    return pd.DataFrame(rows)


def apply_records(day: dt.date, raised: pd.DataFrame, previous_alerts: pd.DataFrame,
                  recommendations: pd.DataFrame) -> list[dict]:
    """:func:`apply` as the rows' records (``raised``'s then the closed ones)."""
    if raised["kind"].eq(FORECAST).any():
        raise ValueError("lifecycle.apply: forecast rows have no lifecycle, use lifecycle.issue_forecast")
    previous = _records(previous_alerts)
    active = _active(previous)
    reported = _reported(previous)
    rows = []
    for row in _records(raised):
        key = _key(row)
        row["status"] = "ongoing" if key in active else "opened"
        row["episode_start_date"] = active.get(key, day)
        row["issued_on"] = _issued_on(row, reported.get(key))
        rows.append(row)
    still = {_key(row) for row in rows}
    first = {}
    for row in previous:
        first.setdefault(_key(row), row)
    closed = [_closed_row(day, key, start, first[key], recommendations) for key, start in active.items()
              if key not in still and key[KEY.index("kind")] == OBSERVED]
    return rows + closed


def _records(alerts: pd.DataFrame | pa.Table | None) -> list[dict]:
    """Rows of ``alerts`` as dicts with ``alert_type`` (:func:`with_type`) and their ``KEY`` values as text.

    ``alerts`` may be the Arrow table of a partition just written (read as records, not as a frame first).
    """
    if alerts is None:
        return []
    rows = alerts.to_pylist() if isinstance(alerts, pa.Table) else frame_records(alerts)
    for row in rows:
        if missing(row.get("alert_type")):
            row["alert_type"] = _derived_type(row["kind"])
        row.update({column: str(row[column]) for column in KEY if not missing(row[column])})
    return rows


def _key(row: dict) -> tuple[str, ...]:
    return tuple(row[column] for column in KEY)


def _active(previous: list[dict]) -> dict[tuple, dt.date]:
    """Key → episode start of the alerts of the day before still active (observed, data quality), first of each key."""
    active: dict[tuple, dt.date] = {}
    for row in previous:
        if row.get("status") in ACTIVE and row["kind"] != FORECAST:
            start = row.get("episode_start_date")
            active.setdefault(_key(row), _as_date(row["date"] if missing(start) else start))
    return active


def _reported(previous: list[dict]) -> dict[tuple, tuple[dt.date, object]]:
    """Key → (``issued_on``, ``triggered_by``) of the data-quality alerts of the day before, first row of each key."""
    reported: dict[tuple, tuple[dt.date, object]] = {}
    for row in previous:
        if "triggered_by" in row and row["kind"] == kinds.DATA_QUALITY:
            issued = row.get("issued_on")
            reported.setdefault(_key(row), (_as_date(row["date"] if missing(issued) else issued), row["triggered_by"]))
    return reported


def _issued_on(row: dict, reported: tuple[dt.date, object] | None) -> object:
    """An input-problem row about the very attempt the day before reported keeps its ``issued_on``: not notified again.

    ``DQ_INPUT_*`` rows with the key and ``triggered_by`` of the day before (the quality-log
    records, with their check time: the same attempt), e.g. a reference vintage whose
    quarantined rows stay until its next update. The row is still the day's (``marts.alerts``,
    the bulletin's "Ce qui manque"); only the outbox skips it. Other data-quality rules judge the
    day's own data and are notified every day.
    """
    issued_on = row.get("issued_on")
    if reported is None or row["kind"] != kinds.DATA_QUALITY or not row["set_id"].startswith(INPUT_RULE_PREFIX):
        return issued_on
    triggered = row.get("triggered_by")
    same = not missing(triggered) and not missing(reported[1]) and triggered == reported[1]
    return reported[0] if same else issued_on


def with_type(alerts: pd.DataFrame) -> pd.DataFrame:
    """``alerts`` with ``alert_type``; rows of partitions written before it were regulatory or data quality."""
    derived = alerts["kind"].map(_derived_type)
    if "alert_type" not in alerts.columns:
        return alerts.assign(alert_type=derived)
    return alerts.assign(alert_type=alerts["alert_type"].where(alerts["alert_type"].notna(), derived))


def issue_forecast(raised: pd.DataFrame) -> pd.DataFrame:
    """Forecast rows as issued by this run: ``opened``, the episode starting on the forecast day."""
    return raised.assign(status="opened", episode_start_date=raised["date"])


def _derived_type(kind: object) -> str:
    return kinds.DATA_QUALITY if kind == kinds.DATA_QUALITY else kinds.REGULATORY


def _closed_row(day: dt.date, key: tuple[str, ...], start: dt.date, last: dict, recommendations: pd.DataFrame) -> dict:
    """The row closing the observed alert ``key`` of the day before (``last``, its first row there) on ``day``."""
    row = dict(zip(KEY, key, strict=True))
    alert_type, pollutant = row["alert_type"], row["pollutant"]
    return row | {
        "episode_start_date": start, **{column: last.get(column, np.nan) for column in CARRIED}, "date": day,
        "alert_id": alert_id(day, pollutant, row["level"], row["set_id"], alert_type=alert_type),
        "label": f"Fin : {kinds.label(alert_type, False)}", "criteria": "[]", "cell_ids": "",
        "population_exposed": 0.0, "population_definition": kinds.POPULATION_DEFINITIONS[alert_type],
        "alert_version": 1, "issued_on": day, "status": "closed", "basis": None, "n_cells": 0, "area_km2": 0.0,
        "population_total": 0.0, "pop_0_5": 0.0, "pop_65p": 0.0, "pop_poor_households": 0.0, "facility_count": 0,
        "facilities_by_category": "{}", "meets_episode_criteria": False,
        "recommendation": recommendation_text(recommendations, "closed", pollutant),
        "triggered_by": '{"closed": true, "reason": "not raised on this day"}'}


def _as_date(value: object) -> dt.date:
    return pd.Timestamp(value).date()
