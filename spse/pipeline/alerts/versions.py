"""Versions of a forecast alert: one alert per (type, pollutant, level, set, forecast day), revised by later runs.

The run of J forecasts J and J+1; the run of J+1 forecasts J+1 again. Both rows of J+1 have
the same ``alert_id`` (``spse.pipeline.alerts.schema.alert_id``: the forecast day, not the
run); this module compares the run's rows with the previous run's rows of the same forecast
days (the ``alerts`` partition of the day before) and sets ``alert_version``, ``issued_on`` and
``status``:

* ``opened``: not forecast by the previous run (version 1, or the previous version + 1 when
  the previous run had withdrawn it);
* unchanged (same value to 0.1, cells, population, zones, facilities, criteria): the previous
  version, status and ``issued_on`` are kept, so the outbox does not notify it again;
* ``updated``: forecast again with another content (version + 1);
* ``escalated``: a level not forecast by the previous run while a lower level of the same
  pollutant, set and day was (version + 1 of that level's alert, or 1);
* ``de-escalated`` / ``closed``: a level the previous run forecast and this run does not,
  while a lower level remains / while none remains: a row without cells (version + 1).

``marts.alerts`` keeps the row of the latest run of each ``alert_id`` (its latest version),
``marts.alert_history`` every row. Days are local days of ``day_time_base``.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from spse.pipeline.alerts import kinds
from spse.pipeline.alerts.lifecycle import FORECAST, with_type
from spse.pipeline.alerts.recommendations import recommendation_text
from spse.pipeline.alerts.schema import COLUMNS, as_frame

ENDED = ("closed", "de-escalated")
# Content compared between versions; value_max to 0.1 µg/m³, population to the person.
FINGERPRINT = ("value_max", "n_cells", "population_total", "zone_ids", "facility_ids", "meets_episode_criteria")
GROUP = ["alert_type", "pollutant", "set_id", "date"]


def rank(level: str) -> int:
    """Order of a level within a pollutant: information 1, any alert level (alerte, alerte_*) 2."""
    return 2 if str(level).startswith("alerte") else 1


def revise(issued: pd.DataFrame, previous_alerts: pd.DataFrame | None, run_observed_day: dt.date,
           recommendations: pd.DataFrame, days: list[dt.date] | None = None) -> pd.DataFrame:
    """Return the run's forecast rows with their versions, plus the rows ending the previous run's withdrawn ones.

    ``issued`` holds this run's forecast rows (``status`` opened, ``alert_version`` 1,
    ``issued_on`` = ``run_observed_day``); ``previous_alerts`` the partition of the day before;
    ``days`` the forecast days of this run (default: the dates of ``issued``).
    """
    days = sorted(set(issued["date"])) if days is None else days
    previous = _previous(previous_alerts, days, run_observed_day)
    if previous.empty:
        return issued
    by_id = previous.set_index("alert_id")
    active = previous[~previous["status"].isin(ENDED)]
    out = issued.copy()
    for i, row in out.iterrows():
        before = by_id.loc[row["alert_id"]] if row["alert_id"] in by_id.index else None
        if before is not None and before["status"] not in ENDED:
            if _fingerprint(row) == _fingerprint(before):
                out.loc[i, ["alert_version", "status", "issued_on"]] = [before["alert_version"], before["status"],
                                                                  before["issued_on"]]
            else:
                out.loc[i, ["alert_version", "status"]] = [int(before["alert_version"]) + 1, "updated"]
            continue
        lower = _same_group(active, row)
        out.loc[i, "alert_version"] = 1 if before is None else int(before["alert_version"]) + 1
        out.loc[i, "status"] = "escalated" if (lower["level"].map(rank) < rank(row["level"])).any() else "opened"
    withdrawn = active[~active["alert_id"].isin(out["alert_id"])]
    ended = [_ended(row, out, run_observed_day, recommendations) for _, row in withdrawn.iterrows()]
    frames = [out, pd.DataFrame(ended)] if ended else [out]
    return pd.concat(frames, ignore_index=True).reindex(columns=COLUMNS)


def _previous(previous_alerts: pd.DataFrame | None, days: list[dt.date], run_observed_day: dt.date) -> pd.DataFrame:
    """The previous run's forecast rows of ``days``, with ``version`` and ``issued_on`` (older partitions lack them)."""
    previous_alerts = as_frame(previous_alerts)
    if previous_alerts is None or previous_alerts.empty:
        return pd.DataFrame(columns=COLUMNS)
    rows = with_type(previous_alerts)
    dates = pd.to_datetime(rows["date"]).dt.date
    rows = rows[rows["kind"].eq(FORECAST) & dates.isin(days)].reindex(columns=COLUMNS)
    issued_before = run_observed_day - dt.timedelta(days=1)
    return rows.assign(alert_version=rows["alert_version"].fillna(1).astype(int),
                       issued_on=rows["issued_on"].where(rows["issued_on"].notna(), issued_before),
                       date=pd.to_datetime(rows["date"]).dt.date)


def _fingerprint(row: pd.Series) -> tuple:
    def value(name: str) -> object:
        v = row.get(name)
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            return None
        if name == "value_max":
            return round(float(v), 1)
        if name in ("n_cells", "population_total"):
            return round(float(v))
        return bool(v) if name == "meets_episode_criteria" else str(v)
    return tuple(value(name) for name in FINGERPRINT)


def _same_group(frame: pd.DataFrame, row: pd.Series) -> pd.DataFrame:
    match = pd.Series(True, index=frame.index)
    for column in GROUP:
        match &= frame[column].astype(str) == str(row[column])
    return frame[match]


def _ended(before: pd.Series, issued: pd.DataFrame, run_observed_day: dt.date,
           recommendations: pd.DataFrame) -> dict:
    """The row ending a forecast the previous run issued and this run does not: de-escalated or closed."""
    remaining = _same_group(issued, before)
    lower = (remaining["level"].map(rank) < rank(before["level"])).any()
    status = "de-escalated" if lower else "closed"
    row = before.to_dict()
    row.update({"status": status, "alert_version": int(before["alert_version"]) + 1, "issued_on": run_observed_day,
                "n_cells": 0, "area_km2": 0.0, "population_total": 0.0, "pop_0_5": 0.0, "pop_65p": 0.0,
                "pop_poor_households": 0.0, "population_exposed": 0.0, "facility_count": 0, "facility_ids": "",
                "facilities_by_category": "{}", "facilities": "[]", "children_in_creches": 0,
                "creches_without_capacity": 0, "zone_ids": "", "zone_names": "", "cell_ids": "", "criteria": "[]",
                "meets_episode_criteria": False, "value_max": None,
                "label": ("Révision à la baisse : " if lower else "Fin : ") + kinds.label(before["alert_type"], False),
                "recommendation": recommendation_text(recommendations, "closed", before["pollutant"]),
                "triggered_by": '{"closed": true, "reason": "no longer forecast by the later run"}'})
    return row
