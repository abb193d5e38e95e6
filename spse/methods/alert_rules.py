"""Which stations and which surface cells exceed each alert threshold on one local day.

Rules (methods.md §1.1, Code de l'environnement R221-1):

* ``averaging = '1h'`` with ``consecutive_periods = k``: exceeded when the longest run of
  consecutive valid hourly means strictly above the threshold, within the local day, is at
  least ``k`` hours. A missing or invalid hour breaks the run.
* any daily ``averaging`` (``day_mean``, also ``day_max_1h`` / ``day_max_8h_mean`` if a set
  uses them): the valid daily statistic of that name is strictly above the threshold.

Comparison is strict (``>``, "dépassé"). When the register parameter ``round_before_compare``
is true, values are rounded to an integer, halves up, first (methods.md §1.1 "Rounding",
[U]); the comparison and the run length are ``spse.methods.stats.exceeds`` and
``spse.methods.stats.longest_run_above``, shared with the daily statistics. Values are µg/m³
(CO mg/m³); hours are UTC hour-beginning instants of the local day of the register's time
base (``spse.core.timebase.day_hours_utc``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from spse.core.register import Parameters
from spse.methods.stats import exceeds, longest_run_above

HOURLY = "1h"
# ``<averaging>_persistence``: the threshold exceeded on ``consecutive_periods`` consecutive days (methods.md §1.3).
PERSISTENCE_SUFFIX = "_persistence"
# Threshold averaging → the daily statistic that decides it on one day (forecast_cell_daily): one hour above
# the value ⇔ the day's highest hourly value above it.
DAILY_STATISTIC_OF = {"day_mean": "day_mean", HOURLY: "day_max_1h"}
SERIES_KEYS = ("discriminant", "procedure")


def alert_set_rows(thresholds: pd.DataFrame, parameters: Parameters,
                   sets_parameter: str = "alert_threshold_sets") -> pd.DataFrame:
    """Select the air-quality rows (no ``noise_source``) of the sets listed in ``sets_parameter``.

    ``alert_threshold_sets`` holds the procedure thresholds (regulatory episodes and local
    exceedances), ``health_advisory_threshold_sets`` the WHO guideline levels (health advisories).
    """
    rows = thresholds[thresholds["set_id"].isin(parameters.words(sets_parameter))]
    if "noise_source" in rows.columns:
        rows = rows[rows["noise_source"].fillna("").astype(str).eq("")]
    return rows


def hourly_matrix(frame: pd.DataFrame, keys: list[str], hours: pd.DatetimeIndex) -> pd.DataFrame:
    """Pivot the valid hourly values to (series × hours of the day); absent hours are NaN."""
    valid = frame[frame["value"].notna() & frame["ts_start_utc"].isin(hours)]
    if "is_valid" in valid.columns:
        valid = valid[valid["is_valid"].astype(bool)]
    if valid.empty:
        return pd.DataFrame(np.empty((0, len(hours))), columns=hours,
                            index=pd.MultiIndex.from_arrays([[] for _ in keys], names=keys))
    valid = valid.drop_duplicates([*keys, "ts_start_utc"], keep="last")
    matrix = valid.pivot_table(index=keys, columns="ts_start_utc", values="value", aggfunc="last")
    return matrix.reindex(columns=hours).astype(float)


def hourly_hits(matrix: pd.DataFrame, threshold: float, periods: int, rounding: bool) -> pd.DataFrame:
    """Series of ``matrix`` meeting the hourly rule, with their run length and day maximum."""
    values = matrix.to_numpy(dtype=float)
    runs = np.atleast_1d(longest_run_above(values, threshold, rounding))
    day_max = np.nanmax(np.where(np.isnan(values), -np.inf, values), axis=1) if values.size else np.array([])
    out = matrix.index.to_frame(index=False)
    out["value_max"] = day_max
    out["longest_run_h"] = runs.astype(int)
    return out[out["longest_run_h"] >= periods].reset_index(drop=True)


def daily_hits(frame: pd.DataFrame, keys: list[str], pollutant: str, statistic: str, threshold: float,
               rounding: bool) -> pd.DataFrame:
    """Rows of a daily table whose valid ``statistic`` for ``pollutant`` is above ``threshold``."""
    if frame.empty:
        return pd.DataFrame(columns=[*keys, "value_max"])
    rows = frame[(frame["pollutant"] == pollutant) & (frame["statistic"] == statistic)
                 & frame["is_valid"].astype(bool) & frame["value"].notna()]
    rows = rows[exceeds(rows["value"].to_numpy(float), threshold, rounding)]
    return rows[keys].assign(value_max=rows["value"].astype(float)).reset_index(drop=True)


def station_hourly_hits(station_hourly: pd.DataFrame, pollutant: str, hours: pd.DatetimeIndex, threshold: float,
                        periods: int, rounding: bool) -> pd.DataFrame:
    """Stations meeting the hourly rule: each measurement series (discriminant, procedure) on its own.

    Several series can exist for one site and pollutant (feeds.md §a); a station exceeds when
    one of its series does. Returns ``station_id``, ``station_class``, ``value_max`` [µg/m³],
    ``longest_run_h`` [h].
    """
    columns = ["station_id", "station_class", "value_max", "longest_run_h"]
    if station_hourly.empty:
        return pd.DataFrame(columns=columns)
    rows = station_hourly[station_hourly["pollutant"] == pollutant]
    if not _any_above(rows, threshold, rounding):
        return pd.DataFrame(columns=columns)
    keys = ["station_id", "station_class", *[k for k in SERIES_KEYS if k in rows.columns]]
    rows = rows.assign(**{k: rows[k].fillna("") for k in keys})
    hits = hourly_hits(hourly_matrix(rows, keys, hours), threshold, periods, rounding)
    if hits.empty:
        return pd.DataFrame(columns=columns)
    return (hits.groupby(["station_id", "station_class"], as_index=False)
            .agg(value_max=("value_max", "max"), longest_run_h=("longest_run_h", "max")))[columns]


def _any_above(rows: pd.DataFrame, threshold: float, rounding: bool) -> bool:
    """Whether any hourly value of ``rows`` exceeds ``threshold`` (a day without one has no hit, skip the pivot)."""
    return bool(len(rows)) and bool(np.any(exceeds(rows["value"].to_numpy(float), threshold, rounding)))


def rule_json(rule, statistic: str) -> dict:
    """Describe the threshold row behind an alert, for its ``triggered_by`` JSON."""
    return {"set_id": rule["set_id"], "pollutant": rule["pollutant"], "level": rule["level"],
            "averaging": rule["averaging"], "threshold": float(rule["value"]),
            "consecutive_periods": int(rule["consecutive_periods"]), "comparison": ">", "statistic": statistic}
