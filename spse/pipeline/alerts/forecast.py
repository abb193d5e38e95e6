"""Forecast alerts: the CAMS forecast of J and J+1 against the French thresholds.

In France both the information procedure and the alert can be triggered on a forecast
alone ("sur constat ou prévision", methods.md §1.2 "Constaté vs prévu"). The run at 06:00
Europe/Paris on J, which reports on the observed day J-1, also reads
``forecast_cell_daily/date=J`` (``spse.methods.forecast``: the latest CAMS run on or before J,
regridded to the 200 m cells, daily statistics under the coverage rule, ``lead_day`` 0 = J
and 1 = J+1) and evaluates the rows of the alert threshold sets (parameter
``alert_threshold_sets``) that one daily forecast statistic decides:

* ``averaging = 'day_mean'`` (PM10): the cell's forecast ``day_mean``;
* ``averaging = '1h'`` with ``consecutive_periods = 1`` (NO2, O3, SO2): the forecast
  ``day_max_1h`` (one hour above the value ⇔ the day's highest hourly value above it).

Rules on consecutive hours are not decided by a daily statistic and are not evaluated. A
cell is affected when its valid statistic is strictly above the threshold
(``spse.methods.stats.exceeds``, with the register's ``round_before_compare``); only cells of the
zone crosswalk count, so a forecast over a station or facility cell outside Paris raises no
Paris alert. One row per (forecast day, pollutant, level, set): ``kind = 'forecast'``,
``basis = 'forecast'``, ``date`` the forecast day, the population, zones and facilities of
the affected cells (``spse.pipeline.alerts.impact``), ``value_max`` the highest forecast cell value,
``triggered_by`` naming the CAMS run (``base_time_utc``) and the lead day. The persistence
rules (``spse.pipeline.alerts.persistence``) add ``alerte_persistance`` rows.

Units: µg/m³ (CO mg/m³). Days are local days of the register's ``day_time_base``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from spse.core.register import Parameters
from spse.methods import alert_rules as rules
from spse.methods import forecast as cams
from spse.methods.stats import exceeds
from spse.pipeline.alerts import impact, kinds, lifecycle, persistence, versions
from spse.pipeline.alerts.evaluate import cell_lists, covered_area_km2, in_cells, with_defaults
from spse.pipeline.alerts.recommendations import recommendation_text
from spse.pipeline.alerts.schema import COLUMNS, FORECAST_COLUMNS, FORECAST_DATE, alert_id, conform, empty_alerts

if TYPE_CHECKING:
    from spse.pipeline.alerts.inputs import AlertInputs

log = logging.getLogger(__name__)

KIND = lifecycle.FORECAST
BASIS = "forecast"
SOURCE = "cams_europe_forecast"
IMPACT_COLUMNS = impact.SUMMARY_COLUMNS


def evaluate_forecast(run_day: dt.date, inputs: AlertInputs, *, observed: pd.DataFrame | None,
                      thresholds: pd.DataFrame, parameters: Parameters, recommendations: pd.DataFrame) -> pd.DataFrame:
    """Return the forecast ``alerts`` rows of the run of J = ``run_day`` (columns of ``ALERT_COLUMNS``).

    Parameters
    ----------
    run_day : datetime.date
        J, the local day of the run (Europe/Paris by default); the observed day is J-1.
    inputs : spse.pipeline.alerts.inputs.AlertInputs
        Its ``forecast_daily`` (the partition ``forecast_cell_daily/date=J``; empty: no
        forecast row), grid and crosswalks (docs/architecture.md).
    observed : DataFrame or None
        The observed alerts of J-1 (``spse.pipeline.alerts.evaluate``), for the NO2 persistence rule.
    thresholds : DataFrame
        The threshold register; filtered on ``alert_threshold_sets``. µg/m³ (CO mg/m³).
    parameters : spse.core.register.Parameters
        The parameter register (``spse.core.register.parameters()``).
    recommendations : DataFrame
        The recommendation register (``spse.pipeline.alerts.recommendations()``).

    References
    ----------
    Code de l'environnement R221-1; arrêté du 7 avril 2016 modifié; arrêté inter-préfectoral
    Île-de-France 2016-01383; methods.md §1.2, §1.3, §8, W8.
    """
    forecast = valid_forecast(inputs.forecast_daily, inputs.zone_cells)
    if forecast.empty:
        return empty_alerts()
    rounding = parameters.bool("round_before_compare")
    run = _run_facts(forecast, run_day)
    table = forecast_rules(thresholds, parameters)
    day_rows, day_cells = _day_alerts(table, cell_hits(table, forecast, rounding), run, recommendations)
    persist_rows, persist_cells = persistence.evaluate(run_day, thresholds=thresholds, parameters=parameters,
                                                       forecast=forecast, observed=observed, run=run,
                                                       rounding=rounding, recommendations=recommendations,
                                                       first_issue=len(day_rows))
    rows = day_rows + persist_rows
    days = list(run["days"].values())
    if not rows:  # the previous run's forecasts of these days, if any, are withdrawn
        return conform(versions.revise(empty_alerts(), inputs.previous_alerts, run_day - dt.timedelta(days=1),
                                       recommendations, days=days))
    affected = pd.concat([day_cells, persist_cells], ignore_index=True)
    summary = impact.summarise(affected, inputs.grid_cells, inputs.zone_cells, inputs.zones, inputs.facility_cells,
                               inputs.facilities)
    summary = summary.merge(cell_lists(affected), on="rule", how="left").set_index("rule")
    frame = pd.DataFrame(rows)
    for column in (*IMPACT_COLUMNS, "cell_ids"):
        frame[column] = frame["issue"].map(summary[column]) if column in summary.columns else np.nan
    frame["kind"] = KIND
    frame["alert_type"] = kinds.REGULATORY  # CAMS is a modelled background field (methods.md §1.2)
    frame["basis"] = BASIS
    frame["station_ids"] = ""
    frame["time_base"] = parameters.text("day_time_base")
    frame["alert_id"] = [alert_id(d, p, lv, s, KIND) for d, p, lv, s in
                         zip(frame["date"], frame["pollutant"], frame["level"], frame["set_id"], strict=True)]
    frame = with_defaults(frame.reindex(columns=COLUMNS))
    frame["issued_on"] = run_day - dt.timedelta(days=1)
    frame = kinds.describe(frame, covered_km2=covered_area_km2(inputs.zone_cells), parameters=parameters,
                           recommendations=recommendations)
    frame = versions.revise(lifecycle.issue_forecast(frame), inputs.previous_alerts,
                            run_day - dt.timedelta(days=1), recommendations, days=days)
    out = conform(frame)
    return out.sort_values(["date", "pollutant", "set_id", "threshold_value", "level"],
                           kind="stable").reset_index(drop=True)


def forecast_rules(thresholds: pd.DataFrame, parameters: Parameters) -> pd.DataFrame:
    """Rows of the alert sets that one daily forecast statistic decides, with that ``statistic``."""
    rows = rules.alert_set_rows(thresholds, parameters)
    one_day = rows["averaging"].ne(rules.HOURLY) | rows["consecutive_periods"].eq(1)
    decided = rows["averaging"].isin(list(rules.DAILY_STATISTIC_OF)) & one_day
    rows = rows[decided]
    return rows.assign(statistic=rows["averaging"].map(rules.DAILY_STATISTIC_OF)).reset_index(drop=True)


def valid_forecast(forecast_daily: pd.DataFrame, zone_cells: pd.DataFrame) -> pd.DataFrame:
    """Return the valid forecast statistics of the cells of the zone crosswalk (``FORECAST_COLUMNS``).

    ``forecast_daily`` is shaped by :class:`spse.pipeline.alerts.inputs.AlertInputs` (it has ``FORECAST_COLUMNS``).
    """
    if forecast_daily.empty:
        return pd.DataFrame(columns=FORECAST_COLUMNS)
    in_scope = zone_cells.loc[zone_cells["area_fraction"] > 0, "cell_id"].unique()
    rows = forecast_daily[forecast_daily["is_valid"].astype(bool) & forecast_daily["value"].notna()
                          & in_cells(forecast_daily["cell_id"], in_scope)]
    return rows[FORECAST_COLUMNS].reset_index(drop=True)


def cell_hits(table: pd.DataFrame, forecast: pd.DataFrame, rounding: bool) -> pd.DataFrame:
    """Forecast cells above each rule: ``rule`` (row of ``table``), ``lead_day``, ``date``, ``cell_id``, ``value``."""
    columns = ["rule", "lead_day", "date", "cell_id", "value"]
    if table.empty or forecast.empty:
        return pd.DataFrame(columns=columns)
    wanted = table.reset_index(names="rule")[["rule", "pollutant", "statistic", "value"]]
    long = wanted.rename(columns={"value": "threshold"}).merge(forecast, on=["pollutant", "statistic"])
    long = long[exceeds(long["value"].to_numpy(float), long["threshold"].to_numpy(float), rounding)]
    return long[columns].reset_index(drop=True)


def _run_facts(forecast: pd.DataFrame, run_day: dt.date) -> dict:
    """Describe the CAMS run behind the partition: its base time (UTC, ISO) and the forecast days by lead day."""
    base = pd.to_datetime(forecast["base_time_utc"], utc=True).max()
    days = {int(lead): run_day + dt.timedelta(days=int(lead)) for lead in cams.LEAD_DAYS}
    return {"base_time_utc": base.isoformat(), "days": days, "dataset": cams.DATASET,
            "partition": f"date={run_day.isoformat()}", "source": SOURCE}


def _day_alerts(table: pd.DataFrame, hits: pd.DataFrame, run: dict,
                recs: pd.DataFrame) -> tuple[list[dict], pd.DataFrame]:
    """One row per (rule, lead day) with affected cells, and the (issue, cell) pairs for the impact."""
    if hits.empty:
        return [], pd.DataFrame(columns=["rule", "cell_id"])
    issue = hits.groupby(["rule", "lead_day"], sort=True).ngroup()
    hits = hits.assign(issue=issue.to_numpy())
    per_issue = hits.groupby("issue").agg(rule=("rule", "first"), lead_day=("lead_day", "first"),
                                          n_cells=("cell_id", "nunique"), value_max=("value", "max"))
    rows = []
    for number, found in per_issue.iterrows():
        rule = table.loc[int(found["rule"])]
        lead_day = int(found["lead_day"])
        trigger = {"rule": rules.rule_json(rule, rule["statistic"]), FORECAST_DATE: run["days"][lead_day].isoformat(),
                   "forecast": {"source": run["source"], "dataset": run["dataset"], "partition": run["partition"],
                                "base_time_utc": run["base_time_utc"], "lead_day": lead_day,
                                "date": run["days"][lead_day].isoformat(), "statistic": rule["statistic"],
                                "n_cells": int(found["n_cells"]), "value_max": float(found["value_max"])}}
        rows.append({"issue": int(number), "date": run["days"][lead_day], "pollutant": rule["pollutant"],
                     "level": rule["level"], "set_id": rule["set_id"], "averaging": rule["averaging"],
                     "threshold_value": float(rule["value"]), "unit": rule["unit"],
                     "value_max": float(found["value_max"]),
                     "recommendation": recommendation_text(recs, rule["level"], rule["pollutant"]),
                     "triggered_by": json.dumps(trigger, sort_keys=True, ensure_ascii=False)})
    return rows, hits[["issue", "cell_id"]].rename(columns={"issue": "rule"}).drop_duplicates()

