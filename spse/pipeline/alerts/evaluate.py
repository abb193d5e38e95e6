"""Evaluate one observed local day against the alert thresholds: a pure function of frames.

The thresholds are the rows of ``spse/registers/thresholds.csv`` whose ``set_id`` is listed
in the parameter ``alert_threshold_sets`` (by default the French information and alert
thresholds, Code de l'environnement R221-1, methods.md §1.1) and, for health advisories, in
``health_advisory_threshold_sets`` (WHO 2021, methods.md §3). Each procedure threshold row
is evaluated twice, once per kind of alert (``spse.pipeline.alerts.kinds``):

* ``regulatory_episode``: the background surface (``surface_hourly`` / ``surface_daily``) and
  the background stations; affected cells = surface exceedance cells ∪ footprint cells of the
  exceeding background stations;
* ``local_exceedance``: the traffic and industrial stations; affected cells = their footprint
  cells (``spse.methods.footprint``).

A guideline row raises a ``health_advisory`` from the background surface cells above it.
Rules are in ``spse.methods.alert_rules``. Stations are in scope when their footprint
touches the zone crosswalk (so a national feed does not raise Paris alerts). The arrêté du
7 avril 2016 criteria (methods.md §1.2) are computed on the département with its INSEE legal
population (``spse.pipeline.alerts.kinds.criteria``). Persistence rows
(``<averaging>_persistence``) span several days and are evaluated with the forecast
(``spse.pipeline.alerts.persistence``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from spse.core.register import Parameters
from spse.core.timebase import day_hours_utc
from spse.methods import alert_rules as rules
from spse.methods.footprint import CELL_AREA_KM2, footprint_cells
from spse.methods.stats import exceeds
from spse.pipeline.alerts import impact, kinds, lifecycle, quality
from spse.pipeline.alerts.hourly_surface import HourlySurface
from spse.pipeline.alerts.schema import COLUMNS, alert_id, conform_records, missing

if TYPE_CHECKING:
    from spse.pipeline.alerts.inputs import AlertInputs

log = logging.getLogger(__name__)

DAILY_STATISTICS = ("day_mean", "day_max_1h", "day_max_8h_mean")

EMPTY_IMPACT = {"n_cells": 0, "area_km2": 0.0, "population_total": 0.0, "pop_0_5": 0.0, "pop_65p": 0.0,
                "pop_poor_households": 0.0, "facility_count": 0, "facilities_by_category": "{}",
                "meets_episode_criteria": False, "cell_ids": "", "criteria": "[]", "alert_version": 1,
                **impact.EMPTY_FACILITIES}
# Station scope of each kind: which stations' observations raise it, and whether the background surface does.
BACKGROUND = "background"
SCOPE = {kinds.REGULATORY: ("background", True), kinds.LOCAL: ("local", False), kinds.ADVISORY: ("none", True)}


def evaluate(day: dt.date, inputs: AlertInputs, *, thresholds: pd.DataFrame, parameters: Parameters,
             recommendations: pd.DataFrame) -> pd.DataFrame:
    """Return the ``alerts`` rows of ``day`` (columns of ``spse.pipeline.alerts.schema.ALERT_COLUMNS``).

    :func:`raise_observed` then :func:`with_lifecycle`: what the day raises does not depend on
    the day before, its status does (a backfill raises many days at once, then walks them in order).

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
    raised = raise_observed(day, inputs, thresholds=thresholds, parameters=parameters,
                            recommendations=recommendations)
    return with_lifecycle(day, raised, inputs.previous_alerts, recommendations)


def raise_observed(day: dt.date, inputs: AlertInputs, *, thresholds: pd.DataFrame, parameters: Parameters,
                   recommendations: pd.DataFrame, constants: RunConstants | None = None) -> pd.DataFrame:
    """The observed and data-quality rows ``day`` raises, described, before their lifecycle.

    Reads every input of :func:`evaluate` but ``inputs.previous_alerts``; see :func:`evaluate`.
    ``constants``, when given, must be built from the same ``thresholds``, ``parameters`` and the
    grid and crosswalks of ``inputs`` (a run of many days builds it once, :class:`RunConstants`).
    """
    station_hourly, station_daily = inputs.station_hourly, inputs.station_daily
    station_cells, grid_cells, zone_cells = inputs.station_cells, inputs.grid_cells, inputs.zone_cells
    time_base = parameters.text("day_time_base")
    hours = day_hours_utc(day, time_base)
    rounding = parameters.bool("round_before_compare")
    if constants is None:
        constants = RunConstants(thresholds, parameters, grid_cells, zone_cells, station_cells)
    table = constants.table

    stations = _stations(station_hourly, station_daily)
    footprints, in_scope = constants.footprints(stations)
    hourly = station_hourly[station_hourly["station_id"].isin(in_scope)]
    daily = station_daily[station_daily["station_id"].isin(in_scope)]

    surface = HourlySurface(hours, inputs.surface_grid, inputs.surface_hourly)
    station_hits, cell_hits = _all_hits(table, hourly, daily, surface, inputs.surface_daily, hours, rounding)
    from_stations = station_hits[["rule", "station_id"]].merge(footprints, on="station_id")[["rule", "cell_id"]]
    affected = pd.concat([cell_hits[["rule", "cell_id"]], from_stations], ignore_index=True).drop_duplicates()
    summary = impact.summarise(affected, grid_cells, zone_cells, inputs.zones, inputs.facility_cells,
                              inputs.facilities)
    summary = summary.merge(cell_lists(affected), on="rule", how="left")

    raised = _raised_rows(table, station_hits, cell_hits, summary, footprints, station_cells, hourly, hours,
                          time_base, rounding)
    no_air = not station_hourly["ts_start_utc"].isin(hours).any()
    absent = set(inputs.missing_inputs) | ({"air_hourly"} if no_air else set())
    procedure = table[table["alert_type"] != kinds.ADVISORY]
    dq_pollutants = set(procedure["pollutant"]) & set(stations.loc[stations["station_id"].isin(in_scope),
                                                                   "pollutant"])
    dq = pd.concat([quality.missing_partition_alerts(day.isoformat(), absent, recommendations),
                    quality.background_station_alerts(dq_pollutants, station_daily, in_scope, parameters,
                                                      recommendations),
                    quality.input_problem_alerts(inputs.input_problems, recommendations),
                    quality.unlocated_station_alerts(station_hourly, station_cells, hours, recommendations)],
                   ignore_index=True)
    if not dq.empty:
        dq["alert_type"] = kinds.DATA_QUALITY
    frames = [frame for frame in (raised, dq) if not frame.empty]
    raised = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    raised = with_defaults(raised.reindex(columns=COLUMNS))
    raised["alert_id"] = [alert_id(day, p, lv, s, alert_type=t) for p, lv, s, t in
                          zip(raised["pollutant"], raised["level"], raised["set_id"], raised["alert_type"],
                              strict=True)]
    raised["date"] = day
    raised["time_base"] = time_base
    raised["issued_on"] = day
    return kinds.describe(raised, covered_km2=constants.covered_km2, parameters=parameters,
                          recommendations=recommendations)


class RunConstants:
    """What :func:`raise_observed` derives from the registers and the reference alone, the same every day.

    Built once for a run of days from the threshold and parameter registers and the grid,
    zone crosswalk and station cells (:meth:`spse.pipeline.alerts.inputs.AlertInputs.read_reference`):
    the rule table (:func:`alert_rules`), the area the grid covers [km²] (:func:`covered_area_km2`),
    and the station footprints with the stations in scope, kept for each set of stations seen
    (most days see the same stations).
    """

    def __init__(self, thresholds: pd.DataFrame, parameters: Parameters, grid_cells: pd.DataFrame,
                 zone_cells: pd.DataFrame, station_cells: pd.DataFrame) -> None:
        self.table = alert_rules(thresholds, parameters)
        self.covered_km2 = covered_area_km2(zone_cells)
        self._parameters = parameters
        self._grid_cells, self._zone_cells, self._station_cells = grid_cells, zone_cells, station_cells
        self._footprints: dict[tuple, tuple[pd.DataFrame, set]] = {}

    def footprints(self, stations: pd.DataFrame) -> tuple[pd.DataFrame, set]:
        """Footprint cells of ``stations`` (:func:`spse.methods.footprint.footprint_cells`) and the ids in scope.

        A station is in scope when its footprint touches the zone crosswalk. ``stations`` holds
        ``station_id`` and ``station_class`` (the first row of a station gives its class).
        """
        first = stations.drop_duplicates("station_id")
        key = tuple(sorted(zip(first["station_id"].astype(str), first["station_class"].astype(str), strict=True)))
        if key not in self._footprints:
            footprints = footprint_cells(first, self._station_cells, self._grid_cells, self._parameters)
            in_scope = set(footprints.loc[in_cells(footprints["cell_id"], self._zone_cells["cell_id"]),
                                          "station_id"])
            self._footprints[key] = (footprints, in_scope)
        return self._footprints[key]


def with_lifecycle(day: dt.date, raised: pd.DataFrame, previous_alerts: pd.DataFrame | None,
                   recommendations: pd.DataFrame) -> pd.DataFrame:
    """The ``alerts`` rows of ``day``: ``raised`` (:func:`raise_observed`) opened, ongoing or closed.

    The status follows the alerts of the day before, ``previous_alerts`` (``spse.pipeline.alerts.lifecycle``).
    """
    rows = [_defaults_filled(row) for row in lifecycle.apply_records(day, raised, previous_alerts, recommendations)]
    return conform_records(sorted(rows, key=_row_order))


# Order of a day's rows: by these columns, missing values last.
ROW_ORDER = ("kind", "alert_type", "pollutant", "set_id", "threshold_value", "level", "status")


def _row_order(row: dict) -> tuple:
    return tuple((1, 0) if missing(row.get(column)) else (0, row[column]) for column in ROW_ORDER)


def _defaults_filled(row: dict) -> dict:
    return row | {name: default for name, default in EMPTY_IMPACT.items() if missing(row.get(name))}


def alert_rules(thresholds: pd.DataFrame, parameters: Parameters) -> pd.DataFrame:
    """Threshold rows that can be evaluated on one day (hourly or daily), once per kind of alert (``alert_type``).

    Procedure rows (``alert_threshold_sets``) give a regulatory-episode and a local-exceedance
    rule each; guideline rows (``health_advisory_threshold_sets``) a health-advisory rule.
    """
    rows = rules.alert_set_rows(thresholds, parameters)
    usable = rows["averaging"].isin([rules.HOURLY, *DAILY_STATISTICS])
    # persistence rows span several days: spse.pipeline.alerts.persistence evaluates them with the forecast
    for row in rows[~usable & ~rows["averaging"].str.endswith(rules.PERSISTENCE_SUFFIX)].itertuples():
        log.warning("alert set %s: %s %s averaging %r is not a daily rule, skipped", row.set_id, row.pollutant,
                    row.level, row.averaging)
    procedure = rows[usable]
    advisory = rules.alert_set_rows(thresholds, parameters, "health_advisory_threshold_sets")
    advisory = advisory[advisory["averaging"].isin([rules.HOURLY, *DAILY_STATISTICS])]  # annual rows: not daily
    return pd.concat([procedure.assign(alert_type=kinds.REGULATORY), procedure.assign(alert_type=kinds.LOCAL),
                      advisory.assign(alert_type=kinds.ADVISORY)], ignore_index=True)


def covered_area_km2(zone_cells: pd.DataFrame) -> float:
    """Area the grid covers within the zones [km²]: cells of the crosswalk × 0.04 km²."""
    cells = zone_cells.loc[zone_cells["area_fraction"].astype(float) > 0, "cell_id"].nunique()
    return float(cells * CELL_AREA_KM2)


def cell_lists(affected: pd.DataFrame) -> pd.DataFrame:
    """``rule`` → ``cell_ids``: the sorted, comma-separated affected cells of each rule."""
    if affected.empty:
        return pd.DataFrame(columns=["rule", "cell_ids"])
    lists = affected.groupby("rule")["cell_id"].agg(lambda cells: ",".join(sorted(set(map(str, cells)))))
    return lists.rename("cell_ids").reset_index().astype({"rule": "int64"})


def in_cells(cells: pd.Series, cell_ids: pd.Series | pd.api.extensions.ExtensionArray | np.ndarray) -> pd.Series:
    """``cells.isin(cell_ids)``, by Arrow's hash set when both are text (pandas 3 walks ``cell_ids`` in Python)."""
    found, ids = pa.array(cells, from_pandas=True), pa.array(cell_ids, from_pandas=True)
    if not (_is_text(found.type) and _is_text(ids.type)):
        return cells.isin(cell_ids)
    found, ids = found.cast(pa.large_string()), ids.cast(pa.large_string())
    return pd.Series(pc.is_in(found, value_set=ids).to_numpy(zero_copy_only=False), index=cells.index, dtype=bool)


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def with_defaults(frame: pd.DataFrame) -> pd.DataFrame:
    """Zero impact where a row has none (data-quality and closed rows, unlocated stations)."""
    absent = [None] * len(frame)
    filled = {name: pd.Series([default if missing(value) else value
                               for value in (frame[name].tolist() if name in frame.columns else absent)],
                              index=frame.index, dtype=object)
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


def _all_hits(table, hourly, daily, surface_hourly: HourlySurface, surface_daily, hours,
              rounding) -> tuple[pd.DataFrame, ...]:
    """Exceeding stations and surface cells of every rule, as long frames keyed by ``rule``.

    The frames are split once per scope and pollutant (:class:`_RuleRows`), not once per rule, and
    a rule whose threshold no value of its pollutant exceeds is not evaluated further.
    """
    rows = _RuleRows(hourly, daily, surface_hourly, surface_daily)
    station_hits, cell_hits = [], []
    for rule in table.itertuples():
        for hits, found in zip((station_hits, cell_hits), _hits(rule, rows, hours, rounding), strict=True):
            if not found.empty:
                hits.append(found.assign(rule=rule.Index))
    return (_concat(station_hits, ["rule", "station_id", "station_class", "value_max", "longest_run_h"]),
            _concat(cell_hits, ["rule", "cell_id", "value_max"]))


class _RuleRows:
    """The rows one rule reads: stations of a scope and surface cells, for one pollutant.

    Each subset is cut once and shared by the rules asking for it (a day has about 30 rules over
    five pollutants); rows keep their order, so the hits are those of the whole frames. The
    highest value of each frame and pollutant (and, in a daily frame, statistic, over its valid
    rows) tells which rules cannot be exceeded at all (:func:`spse.methods.stats.exceeds` is
    monotonic in the value, rounded or not).
    """

    HOURLY_COLUMNS = ("station_id", "station_class", *rules.SERIES_KEYS, "pollutant", "ts_start_utc", "value",
                      "is_valid")

    def __init__(self, hourly, daily, surface_hourly: HourlySurface, surface_daily):
        self._frames = {"station_hourly": hourly[[c for c in self.HOURLY_COLUMNS if c in hourly.columns]],
                        "station_daily": daily, "surface_daily": surface_daily}
        self.surface_hourly = surface_hourly
        self._cache: dict[tuple, pd.DataFrame] = {}
        self._highest = {"station_hourly": _highest(self._frames["station_hourly"], "pollutant"),
                         "surface_hourly": surface_hourly.highest,
                         **{name: _highest(self._frames[name], ["pollutant", "statistic"])
                            for name in ("station_daily", "surface_daily")}}

    def may_exceed(self, name: str, key: str | tuple[str, str], threshold: float, rounding: bool) -> bool:
        """Whether any value of frame ``name`` under ``key`` exceeds ``threshold``.

        ``key`` is the pollutant in an hourly frame, (pollutant, statistic) in a daily one (valid rows).
        """
        highest = self._highest[name].get(key)
        return highest is not None and not pd.isna(highest) and exceeds(float(highest), threshold, rounding)

    def _cut(self, key: tuple, make) -> pd.DataFrame:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def stations(self, name: str, scope: str, pollutant: str) -> pd.DataFrame:
        """Rows of frame ``name`` (``station_hourly`` or ``station_daily``) of the stations of ``scope``."""
        return self._cut((name, scope, pollutant), lambda: _of_pollutant(
            self._cut((name, scope), lambda: _in_scope(self._frames[name], scope)), pollutant))

    def surface(self, name: str, pollutant: str) -> pd.DataFrame:
        """Rows of frame ``name`` (``surface_daily``) of ``pollutant``."""
        return self._cut((name, pollutant), lambda: _of_pollutant(self._frames[name], pollutant))


def _highest(frame: pd.DataFrame, keys: str | list[str]) -> dict:
    """Highest ``value`` of each group of ``keys``; of the valid rows only when grouped by ``statistic``."""
    if frame.empty:
        return {}
    if "statistic" in keys:
        frame = frame[frame["is_valid"].astype(bool) & frame["value"].notna()]
    return frame.groupby(keys, sort=False)["value"].max().to_dict()


def _of_pollutant(frame: pd.DataFrame, pollutant: str) -> pd.DataFrame:
    return frame if frame.empty else frame[frame["pollutant"] == pollutant]


def _in_scope(stations: pd.DataFrame, scope: str) -> pd.DataFrame:
    """Rows of the stations a kind of alert reads: background ones, local (traffic, industrial) ones, or none."""
    if scope == "none" or stations.empty:
        return stations.iloc[0:0]
    background = stations["station_class"].fillna("").eq(BACKGROUND)
    return stations[background if scope == BACKGROUND else ~background]


def _hits(rule, rows: _RuleRows, hours, rounding) -> tuple[pd.DataFrame, pd.DataFrame]:
    scope, with_surface = SCOPE[rule.alert_type]
    hourly = rule.averaging == rules.HOURLY
    station_frame, surface_frame = ("station_hourly", "surface_hourly") if hourly else ("station_daily",
                                                                                        "surface_daily")
    key = rule.pollutant if hourly else (rule.pollutant, rule.averaging)
    station_hits, cell_hits = _NO_HITS, _NO_HITS
    if scope != "none" and rows.may_exceed(station_frame, key, rule.value, rounding):
        stations = rows.stations(station_frame, scope, rule.pollutant)
        station_hits = (rules.station_hourly_hits(stations, rule.pollutant, hours, rule.value,
                                                  rule.consecutive_periods, rounding) if hourly
                        else rules.daily_hits(stations, ["station_id", "station_class"], rule.pollutant,
                                              rule.averaging, rule.value, rounding))
    if with_surface and rows.may_exceed(surface_frame, key, rule.value, rounding):
        cell_hits = (rules.hourly_hits(rows.surface_hourly.matrix(rule.pollutant), rule.value,
                                       rule.consecutive_periods, rounding) if hourly
                     else rules.daily_hits(rows.surface(surface_frame, rule.pollutant), ["cell_id"], rule.pollutant,
                                           rule.averaging, rule.value, rounding))
    return station_hits, cell_hits


_NO_HITS = pd.DataFrame()


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True).reindex(columns=columns) if frames else pd.DataFrame(columns=columns)


def hours_above(hourly: pd.DataFrame, station_id: str, pollutant: str, hours: pd.DatetimeIndex, threshold: float,
                rounding: bool, time_base: str) -> list[str]:
    """Hour-beginning instants (local time of ``time_base``, ISO 8601) when the station was above ``threshold``."""
    rows = hourly[(hourly["station_id"] == station_id) & (hourly["pollutant"] == pollutant)]
    if rows.empty:
        return []
    keys = ["station_id", *[k for k in rules.SERIES_KEYS if k in rows.columns]]
    matrix = rules.hourly_matrix(rows.assign(**{k: rows[k].fillna("") for k in keys}), keys, hours)
    above = exceeds(np.nan_to_num(matrix.to_numpy(float), nan=-np.inf), threshold, rounding).any(axis=0)
    return [ts.tz_convert(time_base).isoformat(timespec="minutes") for ts in matrix.columns[above]]


def _raised_rows(table, station_hits, cell_hits, summary, footprints, station_cells, hourly, hours, time_base,
                 rounding) -> pd.DataFrame:
    """One row per threshold rule with at least one exceeding station or cell."""
    own_cell = station_cells.drop_duplicates("station_id").set_index("station_id")["cell_id"]
    n_footprint = footprints.groupby("station_id").size()
    summary = summary.set_index("rule")
    rows = []
    hit = set(station_hits["rule"]) | set(cell_hits["rule"])
    for rule in table.itertuples():
        if rule.Index not in hit:
            continue
        st = station_hits[station_hits["rule"] == rule.Index].sort_values("station_id")
        ce = cell_hits[cell_hits["rule"] == rule.Index]
        basis = "surface+station" if len(st) and len(ce) else ("station" if len(st) else "surface")
        stations = [{"station_id": r.station_id, "station_class": r.station_class,
                     "cell_id": own_cell.get(r.station_id), "value_max": float(r.value_max),
                     "longest_run_h": None if pd.isna(r.longest_run_h) else int(r.longest_run_h),
                     "footprint_cells": int(n_footprint.get(r.station_id, 0)),
                     "hours_local": (hours_above(hourly, r.station_id, rule.pollutant, hours, rule.value, rounding,
                                                 time_base) if rule.averaging == rules.HOURLY else None)}
                    for r in st.itertuples()]
        trigger = {"rule": {"set_id": rule.set_id, "pollutant": rule.pollutant, "level": rule.level,
                            "averaging": rule.averaging, "threshold": float(rule.value),
                            "consecutive_periods": int(rule.consecutive_periods), "comparison": ">",
                            "rounded_before_compare": rounding},
                   "alert_type": rule.alert_type,
                   "stations": stations,
                   "surface": {"dataset": "surface_hourly" if rule.averaging == rules.HOURLY else "surface_daily",
                               "averaging": rule.averaging, "n_cells": len(ce),
                               "value_max": float(ce["value_max"].max()) if len(ce) else None}}
        stats = summary.loc[rule.Index] if rule.Index in summary.index else None
        row = {"kind": "air_quality", "alert_type": rule.alert_type, "pollutant": rule.pollutant,
               "level": rule.level, "set_id": rule.set_id,
               "averaging": rule.averaging, "threshold_value": float(rule.value), "unit": rule.unit,
               "value_max": float(np.nanmax(np.r_[st["value_max"].to_numpy(float), ce["value_max"].to_numpy(float)])),
               "basis": basis, "station_ids": ",".join(st["station_id"].astype(str)),
               "triggered_by": json.dumps(trigger, sort_keys=True, ensure_ascii=False)}
        if stats is not None:
            row.update({c: stats[c] for c in (*impact.SUMMARY_COLUMNS, "cell_ids")})
        rows.append(row)
    return pd.DataFrame(rows)
