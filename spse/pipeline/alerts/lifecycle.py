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

import pandas as pd

from spse.pipeline.alerts import kinds
from spse.pipeline.alerts.recommendations import recommendation_text
from spse.pipeline.alerts.schema import KEY, alert_id

ACTIVE = ("opened", "ongoing")
FORECAST = "forecast"
OBSERVED = "air_quality"
INPUT_RULE_PREFIX = "DQ_INPUT_"  # data-quality rules fed by the quality log (spse.pipeline.alerts.quality)


def active_on(previous_alerts: pd.DataFrame) -> pd.DataFrame:
    """Alerts of the previous day still active: ``KEY`` columns and ``episode_start_date``."""
    columns = [*KEY, "episode_start_date"]
    if previous_alerts is None or previous_alerts.empty:
        return pd.DataFrame(columns=columns)
    previous_alerts = with_type(previous_alerts)
    rows = previous_alerts[previous_alerts["status"].isin(ACTIVE) & previous_alerts["kind"].ne(FORECAST)]
    start = rows["episode_start_date"].where(rows["episode_start_date"].notna(), rows["date"])
    return rows.assign(episode_start_date=start.map(_as_date))[columns].drop_duplicates(KEY)


def apply(day: dt.date, raised: pd.DataFrame, previous_alerts: pd.DataFrame,
          recommendations: pd.DataFrame) -> pd.DataFrame:
    """Set ``status`` and ``episode_start_date`` of ``raised`` and append the closed rows."""
    before = _keyed(active_on(previous_alerts))
    raised = _keyed(with_type(raised))
    if raised["kind"].eq(FORECAST).any():
        raise ValueError("lifecycle.apply: forecast rows have no lifecycle, use lifecycle.issue_forecast")
    merged = raised.merge(before, on=KEY, how="left", suffixes=("", "_before"), indicator=True)
    was_active = merged["_merge"] == "both"
    merged["status"] = was_active.map({True: "ongoing", False: "opened"})
    merged["episode_start_date"] = merged["episode_start_date_before"].where(was_active, day)
    merged = _repeated_quality(merged.drop(columns=["episode_start_date_before", "_merge"]), previous_alerts)
    ended = before.merge(raised[KEY], on=KEY, how="left", indicator=True)
    ended = ended[(ended["_merge"] == "left_only") & (ended["kind"] == OBSERVED)].drop(columns="_merge")
    closed = _closed_rows(day, ended, previous_alerts, recommendations)
    frames = [frame for frame in (merged, closed) if not frame.empty]
    return pd.concat(frames, ignore_index=True) if frames else merged


def _repeated_quality(raised: pd.DataFrame, previous_alerts: pd.DataFrame | None) -> pd.DataFrame:
    """An input-problem row about the very attempt the day before reported keeps its ``issued_on``: not notified again.

    ``DQ_INPUT_*`` rows with the key and ``triggered_by`` of the day before (the quality-log
    records, with their check time: the same attempt), e.g. a reference vintage whose
    quarantined rows stay until its next update. The row is still the day's (``marts.alerts``,
    the bulletin's "Ce qui manque"); only the outbox skips it. Other data-quality rules judge the
    day's own data and are notified every day.
    """
    if previous_alerts is None or previous_alerts.empty or "triggered_by" not in previous_alerts.columns:
        return raised
    before = _keyed(with_type(previous_alerts))
    before = before[before["kind"].eq(kinds.DATA_QUALITY)]
    if before.empty:
        return raised
    issued = before["issued_on"] if "issued_on" in before.columns else pd.Series(None, index=before.index)
    before = before.assign(issued_before=issued.where(issued.notna(), before["date"]).map(_as_date),
                           triggered_before=before["triggered_by"])[[*KEY, "issued_before", "triggered_before"]]
    merged = raised.merge(before.drop_duplicates(KEY), on=KEY, how="left")
    same = (merged["kind"].eq(kinds.DATA_QUALITY) & merged["set_id"].astype(str).str.startswith(INPUT_RULE_PREFIX)
            & merged["triggered_by"].eq(merged["triggered_before"]))
    merged["issued_on"] = merged["issued_before"].where(same, merged["issued_on"])
    return merged.drop(columns=["issued_before", "triggered_before"])


def with_type(alerts: pd.DataFrame) -> pd.DataFrame:
    """``alerts`` with ``alert_type``; rows of partitions written before it were regulatory or data quality."""
    derived = alerts["kind"].map(lambda k: kinds.DATA_QUALITY if k == kinds.DATA_QUALITY else kinds.REGULATORY)
    if "alert_type" not in alerts.columns:
        return alerts.assign(alert_type=derived)
    return alerts.assign(alert_type=alerts["alert_type"].where(alerts["alert_type"].notna(), derived))


def issue_forecast(raised: pd.DataFrame) -> pd.DataFrame:
    """Forecast rows as issued by this run: ``opened``, the episode starting on the forecast day."""
    return raised.assign(status="opened", episode_start_date=raised["date"])


def _closed_rows(day: dt.date, ended: pd.DataFrame, previous_alerts: pd.DataFrame,
                 recommendations: pd.DataFrame) -> pd.DataFrame:
    if ended.empty:
        return pd.DataFrame()
    carried = ["averaging", "threshold_value", "unit", "time_base"]
    last = _keyed(with_type(previous_alerts)).drop_duplicates(KEY)[[*KEY, *carried]]
    rows = ended.merge(last, on=KEY, how="left")
    rows["date"] = day
    rows["alert_id"] = [alert_id(day, p, lv, s, alert_type=t) for p, lv, s, t in
                        zip(rows["pollutant"], rows["level"], rows["set_id"], rows["alert_type"], strict=True)]
    rows["label"] = [f"Fin : {kinds.label(t, False)}" for t in rows["alert_type"]]
    rows["criteria"] = "[]"
    rows["cell_ids"] = ""
    rows["population_exposed"] = 0.0
    rows["population_definition"] = [kinds.POPULATION_DEFINITIONS[t] for t in rows["alert_type"]]
    rows["alert_version"] = 1
    rows["issued_on"] = day
    rows["status"] = "closed"
    rows["basis"] = None
    rows["n_cells"] = 0
    rows["area_km2"] = 0.0
    for column in ("population_total", "pop_0_5", "pop_65p", "pop_poor_households"):
        rows[column] = 0.0
    rows["facility_count"] = 0
    rows["facilities_by_category"] = "{}"
    rows["meets_episode_criteria"] = False
    rows["recommendation"] = [recommendation_text(recommendations, "closed", p) for p in rows["pollutant"]]
    rows["triggered_by"] = '{"closed": true, "reason": "not raised on this day"}'
    return rows


def _keyed(frame: pd.DataFrame) -> pd.DataFrame:
    """Key columns as text, so that empty frames (dtype float64 or object) still merge."""
    return frame.astype({column: "str" for column in KEY})


def _as_date(value: object) -> dt.date:
    return pd.Timestamp(value).date()
