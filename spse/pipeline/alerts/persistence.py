"""Alerte sur persistance: the information threshold exceeded on consecutive days, J+1 included.

Register rows (``spse/registers/thresholds.csv``, sets of ``alert_threshold_sets``) whose
``averaging`` is ``<base>_persistence``: ``value`` is the information threshold of the
``<base>`` averaging (``day_mean`` → forecast ``day_mean``, ``1h`` → forecast
``day_max_1h``) and ``consecutive_periods`` = k is a number of **days**, the k consecutive
days ending at J+1. Days J and J+1 come from the CAMS forecast (``forecast_cell_daily``),
J-1 from the observed alerts of the same run:

* PM10 and O3, k = 2 (arrêté du 7 avril 2016 modifié, "2 jours d'info-reco = alerte" of the
  Île-de-France arrêté 2016-01383, extended to O3; methods.md §1.3, W8): the threshold
  forecast exceeded on J and on J+1 over at least one common cell.
* NO2, k = 3 (R221-1, methods.md §1.1, W8): an observed information procedure on J-1 (a
  regulatory episode meeting its criteria, same set, averaging and value, ``opened`` or
  ``ongoing``) and the threshold forecast exceeded on J and J+1 over a common cell; the NO2
  alert threshold then becomes the information value (200 µg/m³, 1 h), which the row's
  recommendation and ``triggered_by`` state.

Affected cells are the cells exceeding on every forecast day of the rule. One
``alerte_persistance`` row per rule, dated J (the day the procedure is triggered);
``value_max`` is the highest, over those cells, of the cell's lowest forecast value of the
days (the level forecast to persist). Comparison strict (``>``), register rounding. Units
µg/m³; days are local days of ``day_time_base``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

import pandas as pd

from spse.core.register import Parameters
from spse.methods import alert_rules as rules
from spse.methods.stats import exceeds
from spse.pipeline.alerts.kinds import REGULATORY
from spse.pipeline.alerts.lifecycle import ACTIVE
from spse.pipeline.alerts.recommendations import recommendation_text
from spse.pipeline.alerts.schema import FORECAST_DATE

log = logging.getLogger(__name__)

OBSERVED_KIND = "air_quality"


def persistence_rules(thresholds: pd.DataFrame, parameters: Parameters) -> pd.DataFrame:
    """Select the persistence rows of the alert sets, with their ``base_averaging`` and forecast ``statistic``."""
    rows = rules.alert_set_rows(thresholds, parameters)
    rows = rows[rows["averaging"].str.endswith(rules.PERSISTENCE_SUFFIX)]
    base = rows["averaging"].str.slice(stop=-len(rules.PERSISTENCE_SUFFIX))
    rows = rows.assign(base_averaging=base, statistic=base.map(rules.DAILY_STATISTIC_OF))
    for row in rows[rows["statistic"].isna()].itertuples():
        log.warning("alert set %s: %s %s averaging %r has no daily statistic for persistence, skipped",
                    row.set_id, row.pollutant, row.level, row.averaging)
    return rows[rows["statistic"].notna()].reset_index(drop=True)


def evaluate(run_day: dt.date, *, thresholds: pd.DataFrame, parameters: Parameters, forecast: pd.DataFrame,
             observed: pd.DataFrame | None, run: dict, rounding: bool, recommendations: pd.DataFrame,
             first_issue: int = 0) -> tuple[list[dict], pd.DataFrame]:
    """Return the persistence alert rows for J = ``run_day`` and their affected cells.

    ``forecast`` holds the valid ``forecast_cell_daily`` rows in scope (``lead_day`` 0 = J,
    1 = J+1); ``observed`` the observed alerts of J-1; ``run`` the CAMS run facts
    (``spse.pipeline.alerts.forecast``). Returns the rows (without impact columns), each with an
    ``issue`` number from ``first_issue`` on, and the (``rule`` = issue, ``cell_id``) pairs.
    """
    rows, cells = [], []
    leads = sorted(run["days"])
    for rule in persistence_rules(thresholds, parameters).to_dict("records"):
        days = [run_day + dt.timedelta(days=leads[-1] - back) for back in range(int(rule["consecutive_periods"]))]
        observed_days = sorted(d for d in days if d < run_day)
        if observed_days and observed_days[0] < run_day - dt.timedelta(days=1):
            log.warning("persistence %s %s: %d days reach before the observed day %s, skipped", rule["set_id"],
                        rule["pollutant"], len(days), run_day - dt.timedelta(days=1))
            continue
        seen = _observed_alerts(observed, rule) if observed_days else []
        if observed_days and not seen:
            continue
        forecast_leads = [lead for lead in leads if run["days"][lead] in days]
        common, per_day = _common_cells(forecast, rule, forecast_leads, rounding)
        if common.empty:
            continue
        issue = first_issue + len(rows)
        trigger = {"rule": rules.rule_json(rule, rule["statistic"]), "reference": rule["reference"],
                   FORECAST_DATE: run_day.isoformat(),
                   "persistence": {"days": [d.isoformat() for d in sorted(days)],
                                   "forecast_days": per_day, "observed_alerts": seen,
                                   "common_cells": len(common), "alert_threshold_on_persistence": float(rule["value"])},
                   "forecast": {"source": run["source"], "dataset": run["dataset"], "partition": run["partition"],
                                "base_time_utc": run["base_time_utc"], "lead_days": forecast_leads}}
        rows.append({"issue": issue, "date": run_day, "pollutant": rule["pollutant"], "level": rule["level"],
                     "set_id": rule["set_id"], "averaging": rule["averaging"],
                     "threshold_value": float(rule["value"]), "unit": rule["unit"],
                     "value_max": float(common["lowest"].max()),
                     "recommendation": recommendation_text(recommendations, rule["level"], rule["pollutant"]),
                     "triggered_by": json.dumps(trigger, sort_keys=True, ensure_ascii=False)})
        cells.append(pd.DataFrame({"rule": issue, "cell_id": common.index.to_numpy()}))
    affected = pd.concat(cells, ignore_index=True) if cells else pd.DataFrame(columns=["rule", "cell_id"])
    return rows, affected


def _common_cells(forecast: pd.DataFrame, rule: dict, leads: list[int],
                  rounding: bool) -> tuple[pd.DataFrame, list[dict]]:
    """Cells above the rule on every lead day (index ``cell_id``, column ``lowest``) and a per-day summary."""
    rows = forecast[(forecast["pollutant"] == rule["pollutant"]) & (forecast["statistic"] == rule["statistic"])
                    & forecast["lead_day"].isin(leads)]
    rows = rows[exceeds(rows["value"].to_numpy(float), float(rule["value"]), rounding)]
    per_cell = rows.groupby("cell_id").agg(n_days=("lead_day", "nunique"), lowest=("value", "min"))
    common = per_cell[per_cell["n_days"] == len(leads)] if leads else per_cell.iloc[0:0]
    per_day = (rows.groupby("lead_day").agg(date=("date", "first"), n_cells=("cell_id", "nunique"),
                                            value_max=("value", "max")).reset_index())
    summary = [{"lead_day": int(r.lead_day), "date": pd.Timestamp(r.date).date().isoformat(),
                "n_cells": int(r.n_cells), "value_max": float(r.value_max)} for r in per_day.itertuples()]
    return common, summary


def _observed_alerts(observed: pd.DataFrame | None, rule: dict) -> list[dict]:
    """Active observed regulatory alerts of J-1 at the rule's information threshold (same set, pollutant, value).

    The information procedure of J-1 is a regulatory episode meeting the arrêté's criteria: a local
    exceedance at a traffic station, or a background exceedance below the criteria, does not count.
    """
    if observed is None or observed.empty:
        return []
    kind = observed["alert_type"] if "alert_type" in observed.columns else pd.Series(REGULATORY, observed.index)
    procedure = observed["meets_episode_criteria"].fillna(False).astype(bool) if "meets_episode_criteria" in \
        observed.columns else pd.Series(True, observed.index)
    match = observed[observed["kind"].eq(OBSERVED_KIND) & observed["status"].isin(ACTIVE) & kind.eq(REGULATORY)
                     & procedure
                     & observed["set_id"].eq(rule["set_id"]) & observed["pollutant"].eq(rule["pollutant"])
                     & observed["averaging"].eq(rule["base_averaging"])
                     & observed["threshold_value"].astype(float).eq(float(rule["value"]))]
    return [{"alert_id": r["alert_id"], "date": pd.Timestamp(r["date"]).date().isoformat(), "level": r["level"],
             "value_max": float(r["value_max"])} for r in match.to_dict("records")]
