"""Background exposure surfaces on the 200 m grid by inverse-distance weighting (IDW).

ẑ(x₀) = Σ wᵢ zᵢ / Σ wᵢ with wᵢ = dᵢ⁻ᵖ over the stations valid at that hour; a target at
distance 0 from a valid station takes its value (methods.md §6.4, W11; p from the register's
``idw_power``). Only background stations are interpolated (``idw_background_only``): traffic
and industrial stations represent a few tens of metres around their road or plant (§6.4);
they stay in ``station_daily`` for the alert rules. The surface is validated by leave-one-out
cross-validation over the interpolated stations (DESIGN.md "Spatial frame").

With a CAMS run (``model_hourly``), :func:`build_surfaces` also validates the model-background
method of :mod:`spse.methods.residual` (CAMS at the point plus IDW of the station residuals, methods.md
§6.2) by leave-one-out, and the register's ``surface_method`` chooses which method the stored
surface uses (``idw`` by default).

Units µg/m³ (the pollutants here are NO2, PM10, PM2.5, O3, SO2); instants UTC; daily
statistics over the local day of the register's time base (:mod:`spse.methods.stats`).
"""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import pandas as pd

from spse.core import register
from spse.core.columns import Column
from spse.methods import residual, stats
from spse.methods.grid import CELL_SIZE_M, points_to_cells
from spse.methods.interpolation import CHUNK_TARGETS, errors, idw, loo_predictions, loo_validation  # noqa: F401 (re-exported)

log = logging.getLogger(__name__)

SURFACE_POLLUTANTS = ("NO2", "PM10", "PM2.5", "O3", "SO2")
BACKGROUND = "background"
IDW = "idw"
MODEL_RESIDUAL_IDW = "model_residual_idw"
SURFACE_METHODS = (IDW, MODEL_RESIDUAL_IDW)

_DAILY = {name: column for name, column in stats.COLUMNS.items() if name != "date"}
COLUMNS: dict[str, dict[str, Column]] = {
    "surface_hourly": {
        "cell_id": Column("VARCHAR", "", "200 m cell (spse.methods.grid)", nullable=False),
        "pollutant": Column("VARCHAR", "", "NO2, PM10, PM2.5, O3 or SO2", nullable=False),
        "ts_start_utc": Column("TIMESTAMPTZ", "UTC", "Start of the hour (hour-beginning)", nullable=False),
        "value": Column("DOUBLE", "µg/m³", "Estimate at the cell centre from the valid background stations, by the "
                                           "register's surface_method (IDW, or CAMS + IDW of the station residuals)"),
        "n_stations": Column("BIGINT", "stations", "Background stations valid in that hour and used"),
    },
    "surface_daily": {
        "cell_id": Column("VARCHAR", "", "200 m cell (spse.methods.grid)", nullable=False),
        "date": stats.COLUMNS["date"],
        "pollutant": Column("VARCHAR", "", "NO2, PM10, PM2.5, O3 or SO2", nullable=False),
        **_DAILY,
    },
    "station_daily": {
        "station_id": Column("VARCHAR", "", "Station id (E2 code)", nullable=False),
        "station_class": Column("VARCHAR", "", "background | traffic | industrial"),
        "date": stats.COLUMNS["date"],
        "pollutant": Column("VARCHAR", "", "NO2, PM10, PM2.5, O3 or SO2", nullable=False),
        **_DAILY,
    },
    "surface_validation": {
        "date": stats.COLUMNS["date"],
        "pollutant": Column("VARCHAR", "", "NO2, PM10, PM2.5, O3 or SO2", nullable=False),
        "statistic": Column("VARCHAR", "", "1h (every valid station-hour of the day), day_mean, day_max_1h, "
                                           "day_max_8h_mean"),
        "n_stations": Column("BIGINT", "stations", "Stations with at least one compared value"),
        "loo_rmse": Column("DOUBLE", "µg/m³", "Root-mean-square leave-one-out error (estimate − observation)"),
        "loo_bias": Column("DOUBLE", "µg/m³", "Mean leave-one-out error (estimate − observation)"),
        "method": Column("VARCHAR", "", "Interpolation and validation method: idw_p2_background_loo, and with a "
                                        "CAMS run model_residual_idw_p2_background_loo"),
    },
}


def _empty(dataset: str) -> pd.DataFrame:
    return pd.DataFrame(columns=list(COLUMNS[dataset]))


def station_hourly(air_hourly: pd.DataFrame) -> pd.DataFrame:
    """One hourly series per station and pollutant: ``[station_id, station_class, pollutant, ts_start_utc, value]``.

    Invalid hours become NaN; several series of a station for one pollutant (E2 discriminant
    or procedure) are averaged over their valid values, hour by hour.
    """
    air = air_hourly[air_hourly["pollutant"].isin(SURFACE_POLLUTANTS)]
    valid = air["is_valid"].fillna(False).astype(bool) & air["value"].notna()
    frame = pd.DataFrame({"station_id": air["station_id"], "pollutant": air["pollutant"],
                          "ts_start_utc": pd.to_datetime(air["ts_start_utc"], utc=True),
                          "value": air["value"].astype(float).where(valid)})
    hourly = frame.groupby(["station_id", "pollutant", "ts_start_utc"], sort=True)["value"].mean().reset_index()
    classes = (air[["station_id", "station_class"]].dropna().sort_values(["station_id", "station_class"])
               .drop_duplicates("station_id").set_index("station_id")["station_class"])
    hourly.insert(1, "station_class", hourly["station_id"].map(classes))
    return hourly


def _surface_tables(day: dt.date, pollutant: str, estimates: np.ndarray, n_used: np.ndarray, cells: pd.DataFrame,
                    window: pd.DatetimeIndex, n_day_hours: int, time_base: str,
                    rules: stats.CoverageRules) -> tuple[pd.DataFrame, pd.DataFrame]:
    day_estimates = estimates[stats.LEAD_HOURS:]
    n_cells = len(cells)
    hourly = pd.DataFrame({
        "cell_id": np.tile(cells["cell_id"].to_numpy(), n_day_hours),
        "pollutant": pollutant,
        "ts_start_utc": np.repeat(window[stats.LEAD_HOURS:], n_cells),
        "value": day_estimates.reshape(-1),
        "n_stations": np.repeat(n_used[stats.LEAD_HOURS:], n_cells).astype(np.int64),
    })
    hourly = hourly[hourly["value"].notna()].reset_index(drop=True)
    series = pd.DataFrame({"cell_id": cells["cell_id"].to_numpy(), "pollutant": pollutant})
    daily = stats.stats_frame(stats.stats_from_matrix(estimates.T, n_day_hours, pollutant == stats.O3, rules),
                              series, day, time_base)
    return hourly, daily[list(COLUMNS["surface_daily"])]


def _validation_rows(day: dt.date, pollutant: str, matrix: np.ndarray, predicted: np.ndarray, n_day_hours: int,
                     method: str, rules: stats.CoverageRules) -> list[dict]:
    """LOO error rows; ``matrix`` and ``predicted`` are (stations × window hours) [µg/m³]."""
    rows = []
    rmse, bias, _, n_st = errors(predicted[:, stats.LEAD_HOURS:].T, matrix[:, stats.LEAD_HOURS:].T)
    rows.append({"statistic": "1h", "n_stations": n_st, "loo_rmse": rmse, "loo_bias": bias})
    with_8h = pollutant == stats.O3
    observed_daily = stats.stats_from_matrix(matrix, n_day_hours, with_8h, rules)
    predicted_daily = stats.stats_from_matrix(predicted, n_day_hours, with_8h, rules)
    for statistic in stats.STATISTICS:
        if statistic in observed_daily:
            rmse, bias, _, n_st = errors(predicted_daily[statistic]["value"], observed_daily[statistic]["value"])
            rows.append({"statistic": statistic, "n_stations": n_st, "loo_rmse": rmse, "loo_bias": bias})
    for row in rows:
        row.update(date=day, pollutant=pollutant, method=method)
    return rows


def _model_run(model_hourly: pd.DataFrame | None, surface_method: str) -> pd.DataFrame | None:
    if surface_method not in SURFACE_METHODS:
        raise ValueError(f"register parameter surface_method = {surface_method!r}: expected one of "
                         f"{', '.join(SURFACE_METHODS)} (spse/registers/parameters.csv)")
    if model_hourly is None or model_hourly.empty:
        if surface_method == MODEL_RESIDUAL_IDW:
            log.warning("surface_method %s but no CAMS run given: the surfaces are plain IDW", MODEL_RESIDUAL_IDW)
        return None
    return model_hourly


def build_surfaces(day: dt.date, air_hourly: pd.DataFrame, stations: pd.DataFrame | None, cells: pd.DataFrame,
                   time_base: str | None = None, model_hourly: pd.DataFrame | None = None,
                   params: register.Parameters | None = None) -> dict[str, pd.DataFrame]:
    """Hourly and daily surfaces, station daily statistics and LOO validation for the local ``day``.

    Parameters
    ----------
    day : datetime.date
        Local day (register ``day_time_base`` unless ``time_base`` is given).
    air_hourly : DataFrame
        The ``air_hourly`` dataset, covering at least the local day and the 7 hours before it.
    stations : DataFrame or None
        The ``air_stations`` dataset (``station_id``, ``lon``, ``lat`` [° WGS84]); ``None``
        when no vintage exists. Stations of ``air_hourly`` without coordinates there are
        left out of the surfaces (the alert run reports them: ``DQ_STATIONS_UNLOCATED``).
    cells : DataFrame
        ``grid_cells`` (``cell_id`` and ``cx_3035``/``cy_3035`` centres, or ``x_3035``/``y_3035``
        south-west corners).
    time_base : str, optional
        Time zone of the day; default the register's ``day_time_base``.
    model_hourly : DataFrame, optional
        ``forecast_cams`` rows of one CAMS run, one model and one level
        (:func:`spse.methods.forecast.select_run`), µg/m³, covering (part of) the window. When given,
        it is regridded bilinearly to the cells and to the background stations, both methods
        are validated by leave-one-out (``method`` ``idw_p2_background_loo`` and
        ``model_residual_idw_p2_background_loo``), and the stored surface uses the register's
        ``surface_method``. Hours the run does not cover fall back to IDW (:mod:`spse.methods.residual`).
    params : register.Parameters, optional
        The parameter register: ``idw_power``, ``idw_background_only``, ``surface_method`` and,
        without ``time_base``, ``day_time_base``. The pipeline passes ``register.parameters()``;
        only when omitted (direct calls, tests) is the register in use read here.

    Returns
    -------
    dict with ``surface_hourly`` (the local day's hours; cell-hours without any valid
    background station are left out), ``surface_daily``, ``station_daily`` (all station
    classes) and ``surface_validation``, columns as in docs/architecture.md.
    """
    params = register.parameters() if params is None else params
    time_base = time_base or params.text("day_time_base")
    rules = stats.CoverageRules.from_params(params)
    power = params.float("idw_power")
    background_only = params.bool("idw_background_only")
    suffix = f"p{power:g}_{BACKGROUND if background_only else 'all_stations'}_loo"
    surface_method = params.text("surface_method").strip()
    model_run = _model_run(model_hourly, surface_method)
    window, n_day_hours = stats.window_hours_utc(day, time_base)
    cells = cells.copy()
    if "cx_3035" not in cells:
        cells["cx_3035"] = cells["x_3035"] + CELL_SIZE_M / 2
        cells["cy_3035"] = cells["y_3035"] + CELL_SIZE_M / 2

    hourly = station_hourly(air_hourly)
    station_daily = stats.daily_stats(hourly, ["station_id", "station_class", "pollutant"], day,
                                      time_base=time_base, rules=rules)
    station_daily = station_daily[list(COLUMNS["station_daily"])] if len(station_daily) else _empty("station_daily")

    if stations is None:
        stations = pd.DataFrame({"station_id": pd.Series(dtype=str), "lon": pd.Series(dtype=float),
                                 "lat": pd.Series(dtype=float)})
    located = points_to_cells(stations.drop_duplicates("station_id"), "station_id").set_index("station_id")
    used = hourly[hourly["station_class"].eq(BACKGROUND)] if background_only else hourly
    unlocated = sorted(set(used["station_id"]) - set(located.index))
    if unlocated:
        log.warning("%d background stations without coordinates left out of the surface (data_quality alert "
                    "DQ_STATIONS_UNLOCATED): %s", len(unlocated), ", ".join(unlocated))
    used = used[used["station_id"].isin(located.index)]

    target_xy = np.column_stack([cells["cx_3035"].to_numpy(float), cells["cy_3035"].to_numpy(float)])
    surface_hourly, surface_daily, validation = [], [], []
    for pollutant in [p for p in SURFACE_POLLUTANTS if p in set(used["pollutant"])]:
        matrix, series = stats.to_window_matrix(used[used["pollutant"] == pollutant], ["station_id"], window)
        keep = ~np.isnan(matrix).all(axis=1)
        if not keep.any():
            continue
        matrix = matrix[keep]
        station_ids = series["station_id"][keep]
        station_xy = located.loc[station_ids, ["x_3035", "y_3035"]].to_numpy(float)
        estimates, n_used = idw(station_xy, matrix.T, target_xy, power)
        validation.extend(_validation_rows(day, pollutant, matrix, loo_predictions(station_xy, matrix.T, power).T,
                                           n_day_hours, f"{IDW}_{suffix}", rules))
        if model_run is not None:
            model_estimates, model_rows = _model_residual(day, pollutant, matrix, station_ids, station_xy, stations,
                                                          cells, target_xy, model_run, window, n_day_hours, power,
                                                          f"{MODEL_RESIDUAL_IDW}_{suffix}", rules=rules,
                                                          with_surface=surface_method == MODEL_RESIDUAL_IDW)
            validation.extend(model_rows)
            if model_estimates is not None:
                estimates = model_estimates
        part_hourly, part_daily = _surface_tables(day, pollutant, estimates, n_used, cells, window, n_day_hours,
                                                  time_base, rules)
        surface_hourly.append(part_hourly)
        surface_daily.append(part_daily)

    return {
        "surface_hourly": pd.concat(surface_hourly, ignore_index=True) if surface_hourly else _empty("surface_hourly"),
        "surface_daily": pd.concat(surface_daily, ignore_index=True) if surface_daily else _empty("surface_daily"),
        "station_daily": station_daily,
        "surface_validation": (pd.DataFrame(validation, columns=list(COLUMNS["surface_validation"])) if validation
                               else _empty("surface_validation")),
    }


def _model_residual(day: dt.date, pollutant: str, matrix: np.ndarray, station_ids: pd.Series,
                    station_xy: np.ndarray, stations: pd.DataFrame, cells: pd.DataFrame, target_xy: np.ndarray,
                    model_run: pd.DataFrame, window: pd.DatetimeIndex, n_day_hours: int, power: float, method: str,
                    with_surface: bool, rules: stats.CoverageRules) -> tuple[np.ndarray | None, list[dict]]:
    """LOO rows and, if ``with_surface``, estimates (window hours × cells) of the CAMS + residual IDW method.

    ``(None, [])`` when the run has no value of ``pollutant`` at a valid station in the window.
    """
    points = (stations.drop_duplicates("station_id").set_index("station_id")
              .loc[station_ids, ["lon", "lat"]].rename_axis("station_id").reset_index())
    model_stations = residual.model_matrix(model_run, pollutant, window, points, "station_id")
    observed = matrix.T
    if not (~np.isnan(observed) & ~np.isnan(model_stations)).any():
        log.info("%s %s: the CAMS run has no %s value at a valid background station in the window: %s not "
                 "validated", day, pollutant, pollutant, residual.METHOD)
        return None, []
    predicted = residual.model_residual_loo_predictions(station_xy, observed, model_stations, power).T
    rows = _validation_rows(day, pollutant, matrix, predicted, n_day_hours, method, rules)
    if not with_surface:
        return None, rows
    model_cells = residual.model_matrix(model_run, pollutant, window, cells, "cell_id")
    estimates, _, fallback = residual.model_residual_idw(station_xy, observed, model_stations, target_xy,
                                                         model_cells, power)
    if fallback.any():
        log.info("%s %s: %d of %d cell-hours without a CAMS value (at the cell or at a valid station) are plain IDW",
                 day, pollutant, int(fallback.sum()), fallback.size)
    return estimates, rows
