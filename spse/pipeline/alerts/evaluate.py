"""Evaluate one observed local day against the alert thresholds: a pure function of frames.

The thresholds are the rows of ``spse/registers/thresholds.csv`` whose ``set_id`` is listed
in the parameter ``alert_threshold_sets`` (by default the French information and alert
thresholds, Code de l'environnement R221-1, methods.md §1.1). Per threshold row, the alert
is raised when a station (``air_hourly`` hours of the day, or ``station_daily``) or a cell
of the background surface (``surface_hourly`` / ``surface_daily``) exceeds it (rules in
``spse.pipeline.alerts.rules``). Affected cells = surface exceedance cells ∪ footprint cells of the
exceeding stations (``spse.pipeline.alerts.footprint``). Stations are in scope when their footprint
touches the zone crosswalk (so a national feed does not raise Paris alerts).
``meets_episode_criteria`` applies the arrêté du 7 avril 2016 criteria (methods.md §1.2)
to the grid, indicatively: the official criterion uses modelled background fields over the
whole region. Persistence rows (``<averaging>_persistence``) span several days and are
evaluated with the forecast (``spse.pipeline.alerts.persistence``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from spse.core.register import Parameters
from spse.core.timebase import day_hours_utc
from spse.pipeline.alerts import impact, lifecycle, quality, rules
from spse.pipeline.alerts.footprint import footprint_cells
from spse.pipeline.alerts.recommendations import recommendation_text
from spse.pipeline.alerts.schema import COLUMNS, alert_id, conform

if TYPE_CHECKING:
    from spse.pipeline.alerts.inputs import AlertInputs

log = logging.getLogger(__name__)

DAILY_STATISTICS = ("day_mean", "day_max_1h", "day_max_8h_mean")

EMPTY_IMPACT = {"n_cells": 0, "area_km2": 0.0, "population_total": 0.0, "pop_0_5": 0.0, "pop_65p": 0.0,
                "pop_poor_households": 0.0, "facility_count": 0, "facilities_by_category": "{}",
                "meets_episode_criteria": False, **impact.EMPTY_FACILITIES}

# Kinds whose rows have affected cells (the episode criteria apply); data_quality rows have none.
CELL_KINDS = ("air_quality", "forecast")


def evaluate(day: dt.date, inputs: AlertInputs, *, thresholds: pd.DataFrame, parameters: Parameters,
             recommendations: pd.DataFrame) -> pd.DataFrame:
    """Return the ``alerts`` rows of ``day`` (columns of ``spse.pipeline.alerts.schema.ALERT_COLUMNS``).

    Parameters
    ----------
    day : datetime.date
        Observed local day (time zone: parameter ``day_time_base``, default Europe/Paris).
    inputs : spse.pipeline.alerts.inputs.AlertInputs
        Surfaces, station data, grid and crosswalks of the day, the alerts of ``day - 1``
        (lifecycle), the stale inputs and the quality-log records (one data-quality alert per
        source and outcome). Stations of ``station_hourly`` in the local day without a
        ``station_cells`` row (no coordinates in the station list) raise ``DQ_STATIONS_UNLOCATED``.
    thresholds : DataFrame
        The threshold register (``spse.core.register.thresholds()``); filtered here on
        ``alert_threshold_sets``. Values in µg/m³ (CO mg/m³).
    parameters : spse.core.register.Parameters
        The parameter register (``spse.core.register.parameters()``).
    recommendations : DataFrame
        The recommendation register (``spse.pipeline.alerts.recommendations()``).

    References
    ----------
    Code de l'environnement R221-1; arrêté du 7 avril 2016; arrêté du 20 août 2014 modifié
    le 13 mars 2018; methods.md §1, §8, W3, W8.
    """
    station_hourly, station_daily = inputs.station_hourly, inputs.station_daily
    station_cells, grid_cells, zone_cells = inputs.station_cells, inputs.grid_cells, inputs.zone_cells
    time_base = parameters.text("day_time_base")
    hours = day_hours_utc(day, time_base)
    rounding = parameters.bool("round_before_compare")
    table = alert_rules(thresholds, parameters)

    stations = _stations(station_hourly, station_daily)
    footprints = footprint_cells(stations, station_cells, grid_cells, parameters)
    in_scope = set(footprints.loc[footprints["cell_id"].isin(zone_cells["cell_id"]), "station_id"])
    hourly = station_hourly[station_hourly["station_id"].isin(in_scope)]
    daily = station_daily[station_daily["station_id"].isin(in_scope)]

    station_hits, cell_hits = _all_hits(table, hourly, daily, inputs.surface_hourly, inputs.surface_daily, hours,
                                       rounding)
    from_stations = station_hits[["rule", "station_id"]].merge(footprints, on="station_id")[["rule", "cell_id"]]
    affected = pd.concat([cell_hits[["rule", "cell_id"]], from_stations], ignore_index=True).drop_duplicates()
    summary = impact.summarise(affected, grid_cells, zone_cells, inputs.zones, inputs.facility_cells,
                              inputs.facilities)

    raised = _raised_rows(table, station_hits, cell_hits, summary, footprints, station_cells, recommendations, rounding)
    no_air = not station_hourly["ts_start_utc"].isin(hours).any()
    missing = set(inputs.missing_inputs) | ({"air_hourly"} if no_air else set())
    dq_pollutants = set(table["pollutant"]) & set(stations.loc[stations["station_id"].isin(in_scope), "pollutant"])
    dq = pd.concat([quality.missing_partition_alerts(day.isoformat(), missing, recommendations),
                    quality.background_station_alerts(dq_pollutants, station_daily, in_scope, parameters,
                                                      recommendations),
                    quality.input_problem_alerts(inputs.input_problems, recommendations),
                    quality.unlocated_station_alerts(station_hourly, station_cells, hours, recommendations)],
                   ignore_index=True)
    frames = [frame for frame in (raised, dq) if not frame.empty]
    raised = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    raised = with_defaults(raised.reindex(columns=COLUMNS))
    raised["alert_id"] = [alert_id(day, p, lv, s) for p, lv, s in
                          zip(raised["pollutant"], raised["level"], raised["set_id"], strict=True)]
    raised["date"] = day
    raised["time_base"] = time_base
    raised["meets_episode_criteria"] = episode_criteria(raised, grid_cells, parameters)
    out = conform(with_defaults(lifecycle.apply(day, raised, inputs.previous_alerts, recommendations)))
    return out.sort_values(["kind", "pollutant", "set_id", "threshold_value", "level", "status"],
                           na_position="last", kind="stable").reset_index(drop=True)


def alert_rules(thresholds: pd.DataFrame, parameters: Parameters) -> pd.DataFrame:
    """Threshold rows of the alert sets that can be evaluated on one day (hourly or daily)."""
    rows = rules.alert_set_rows(thresholds, parameters)
    usable = rows["averaging"].isin([rules.HOURLY, *DAILY_STATISTICS])
    # persistence rows span several days: spse.pipeline.alerts.persistence evaluates them with the forecast
    for row in rows[~usable & ~rows["averaging"].str.endswith(rules.PERSISTENCE_SUFFIX)].itertuples():
        log.warning("alert set %s: %s %s averaging %r is not a daily rule, skipped", row.set_id, row.pollutant,
                    row.level, row.averaging)
    return rows[usable].reset_index(drop=True)


def with_defaults(frame: pd.DataFrame) -> pd.DataFrame:
    """Zero impact where a row has none (data-quality and closed rows, unlocated stations)."""
    frame = frame.reindex(columns=list(dict.fromkeys([*frame.columns, *EMPTY_IMPACT])))
    filled = {name: frame[name].astype(object).where(frame[name].notna(), default)
              for name, default in EMPTY_IMPACT.items()}
    return frame.assign(**filled)


def _stations(station_hourly: pd.DataFrame, station_daily: pd.DataFrame) -> pd.DataFrame:
    """Stations seen on the day: ``station_id``, ``station_class``, ``pollutant``."""
    columns = ["station_id", "station_class", "pollutant"]
    frames = [f[columns] for f in (station_hourly, station_daily) if not f.empty]
    if not frames:
        return pd.DataFrame(columns=columns)
    both = pd.concat(frames, ignore_index=True)
    return both.assign(station_class=both["station_class"].fillna("")).drop_duplicates()


def _all_hits(table, hourly, daily, surface_hourly, surface_daily, hours, rounding) -> tuple[pd.DataFrame, ...]:
    """Exceeding stations and surface cells of every rule, as long frames keyed by ``rule``."""
    station_hits, cell_hits = [], []
    for rule in table.itertuples():
        s_hits, c_hits = _hits(rule, hourly, daily, surface_hourly, surface_daily, hours, rounding)
        station_hits.append(s_hits.assign(rule=rule.Index))
        cell_hits.append(c_hits.assign(rule=rule.Index))
    return (_concat(station_hits, ["rule", "station_id", "station_class", "value_max", "longest_run_h"]),
            _concat(cell_hits, ["rule", "cell_id", "value_max"]))


def _hits(rule, hourly, daily, surface_hourly, surface_daily, hours, rounding) -> tuple[pd.DataFrame, pd.DataFrame]:
    if rule.averaging == rules.HOURLY:
        return (rules.station_hourly_hits(hourly, rule.pollutant, hours, rule.value, rule.consecutive_periods,
                                          rounding),
                rules.surface_hourly_hits(surface_hourly, rule.pollutant, hours, rule.value,
                                          rule.consecutive_periods, rounding))
    return (rules.daily_hits(daily, ["station_id", "station_class"], rule.pollutant, rule.averaging, rule.value,
                             rounding),
            rules.daily_hits(surface_daily, ["cell_id"], rule.pollutant, rule.averaging, rule.value, rounding))


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True).reindex(columns=columns) if frames else pd.DataFrame(columns=columns)


def _raised_rows(table, station_hits, cell_hits, summary, footprints, station_cells, recs, rounding) -> pd.DataFrame:
    """One row per threshold rule with at least one exceeding station or cell."""
    own_cell = station_cells.drop_duplicates("station_id").set_index("station_id")["cell_id"]
    n_footprint = footprints.groupby("station_id").size()
    summary = summary.set_index("rule")
    rows = []
    for rule in table.itertuples():
        st = station_hits[station_hits["rule"] == rule.Index].sort_values("station_id")
        ce = cell_hits[cell_hits["rule"] == rule.Index]
        if st.empty and ce.empty:
            continue
        basis = "surface+station" if len(st) and len(ce) else ("station" if len(st) else "surface")
        stations = [{"station_id": r.station_id, "station_class": r.station_class,
                     "cell_id": own_cell.get(r.station_id), "value_max": float(r.value_max),
                     "longest_run_h": None if pd.isna(r.longest_run_h) else int(r.longest_run_h),
                     "footprint_cells": int(n_footprint.get(r.station_id, 0))} for r in st.itertuples()]
        trigger = {"rule": {"set_id": rule.set_id, "pollutant": rule.pollutant, "level": rule.level,
                            "averaging": rule.averaging, "threshold": float(rule.value),
                            "consecutive_periods": int(rule.consecutive_periods), "comparison": ">",
                            "rounded_before_compare": rounding},
                   "stations": stations,
                   "surface": {"dataset": "surface_hourly" if rule.averaging == rules.HOURLY else "surface_daily",
                               "averaging": rule.averaging, "n_cells": len(ce),
                               "value_max": float(ce["value_max"].max()) if len(ce) else None}}
        stats = summary.loc[rule.Index] if rule.Index in summary.index else None
        row = {"kind": "air_quality", "pollutant": rule.pollutant, "level": rule.level, "set_id": rule.set_id,
               "averaging": rule.averaging, "threshold_value": float(rule.value), "unit": rule.unit,
               "value_max": float(np.nanmax(np.r_[st["value_max"].to_numpy(float), ce["value_max"].to_numpy(float)])),
               "basis": basis, "station_ids": ",".join(st["station_id"].astype(str)),
               "recommendation": recommendation_text(recs, rule.level, rule.pollutant),
               "triggered_by": json.dumps(trigger, sort_keys=True, ensure_ascii=False)}
        if stats is not None:
            row.update({c: stats[c] for c in impact.SUMMARY_COLUMNS})
        rows.append(row)
    return pd.DataFrame(rows)


def episode_criteria(raised: pd.DataFrame, grid_cells: pd.DataFrame, params: Parameters) -> pd.Series:
    """Apply the indicative arrêté du 7 avril 2016 test: area ≥ episode_area_km2 or population ≥ share × grid total."""
    total = float(grid_cells["population"].sum()) if not grid_cells.empty else 0.0
    area = raised["area_km2"].astype(float).fillna(0.0)
    people = raised["population_total"].astype(float).fillna(0.0)
    met = (area >= params.float("episode_area_km2")) | (
        (people >= params.float("episode_population_share") * total) & (people > 0))
    return met & raised["kind"].isin(CELL_KINDS)
