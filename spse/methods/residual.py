"""Model-background surfaces: CAMS forecast plus inverse-distance weighting of station residuals.

ẑ(x₀, h) = M(x₀, h) + Σ wᵢ rᵢ(h) / Σ wᵢ, with rᵢ(h) = zᵢ(h) − M(xᵢ, h) and wᵢ = dᵢ⁻ᵖ over the
stations valid at hour h (p from the register's ``idw_power``). M is the CAMS ensemble
forecast regridded bilinearly to the point (:func:`spse.methods.forecast.regrid_to_cells`).

This is an **additive bias correction** of the model by the IDW of its errors at the
stations: the regression slope is fixed to 1 and the residuals are interpolated by IDW.
The EEA method (methods.md §6.2, Horálek et al.) fits a linear regression on the model and
other covariates and interpolates the residuals by ordinary kriging (§6.4 "Residual
(universal) kriging"); replacing the IDW step by residual kriging, which also gives a
kriging variance, is the next step. With a constant model the estimate equals plain IDW
(normalised weights): the model only helps where its spatial pattern is right.

Missing model values are never guessed: an hour in which the model is missing at any valid
station, and a target whose model value is missing, take the plain IDW of the observations
(:func:`spse.methods.interpolation.idw`) instead; the returned mask counts those target-hours.

Units µg/m³; instants UTC; coordinates EPSG:3035 [m] for the interpolation, WGS84 [°] for
the regridding.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from spse.methods.forecast import regrid_to_cells
from spse.methods.grid import xy3035_to_lonlat
from spse.methods.interpolation import CHUNK_TARGETS, idw, loo_predictions

log = logging.getLogger(__name__)

METHOD = "model_residual_idw"


def model_hours(station_values: np.ndarray, model_at_stations: np.ndarray) -> np.ndarray:
    """Hours (t,) at which the model is known at every station with a valid observation.

    An hour without any valid station counts as a model hour (there is nothing to correct).
    """
    values = np.atleast_2d(np.asarray(station_values, dtype=float))
    model = np.atleast_2d(np.asarray(model_at_stations, dtype=float))
    return ~(~np.isnan(values) & np.isnan(model)).any(axis=1)


def model_residual_idw(station_xy: np.ndarray, station_values: np.ndarray, model_at_stations: np.ndarray,
                       target_xy: np.ndarray, model_at_targets: np.ndarray, power: float = 2.0,
                       chunk_targets: int = CHUNK_TARGETS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Model at the target plus the IDW of the station residuals (station − model at the station), hour by hour.

    Parameters
    ----------
    station_xy : ndarray (n, 2)
        Station coordinates [m, EPSG:3035].
    station_values : ndarray (t, n) or (n,)
        Observations [µg/m³]; NaN = not valid at that hour.
    model_at_stations : ndarray, same shape as ``station_values``
        Model value at each station [µg/m³]; NaN = missing.
    target_xy : ndarray (m, 2)
        Target coordinates [m, EPSG:3035].
    model_at_targets : ndarray (t, m) or (m,)
        Model value at each target [µg/m³]; NaN = missing.
    power : float
        Power p of the weights d⁻ᵖ (register ``idw_power``).
    chunk_targets : int
        Targets per block (see :func:`spse.methods.interpolation.idw`).

    Returns
    -------
    estimates : ndarray (t, m) [µg/m³], NaN where no station is valid.
    n_used : ndarray (t,) of int, stations valid at each hour (all are used at every target,
        through their residual or, on fallback, their value).
    fallback : ndarray (t, m) of bool, target-hours with a valid station estimated by plain
        IDW of the observations because the model is missing at the target or, that hour, at
        a valid station. ``fallback.sum()`` is the count to report.

    References
    ----------
    methods.md §6.2 (regression on CAMS + residual kriging, of which this is the additive,
    IDW variant) and §6.4 (IDW, W11).
    """
    values = np.asarray(station_values, dtype=float)
    one_hour = values.ndim == 1
    values = np.atleast_2d(values)
    model_s = np.atleast_2d(np.asarray(model_at_stations, dtype=float))
    model_t = np.atleast_2d(np.asarray(model_at_targets, dtype=float))
    if model_s.shape != values.shape:
        raise ValueError(f"model_at_stations has shape {model_s.shape}, station_values {values.shape}")
    if model_t.shape != (values.shape[0], len(np.asarray(target_xy).reshape(-1, 2))):
        raise ValueError(f"model_at_targets has shape {model_t.shape}, expected (hours, targets) = "
                         f"({values.shape[0]}, {len(np.asarray(target_xy).reshape(-1, 2))})")
    hours = model_hours(values, model_s)
    residuals = np.where(hours[:, None], values - model_s, np.nan)
    corrections, _ = idw(station_xy, residuals, target_xy, power, chunk_targets)
    plain, _ = idw(station_xy, values, target_xy, power, chunk_targets)
    use_model = hours[:, None] & ~np.isnan(model_t)
    estimates = np.where(use_model, model_t + corrections, plain)
    n_used = (~np.isnan(values)).sum(axis=1)
    fallback = ~use_model & (n_used > 0)[:, None]
    return (estimates[0], n_used[0], fallback[0]) if one_hour else (estimates, n_used, fallback)


def model_residual_loo_predictions(station_xy: np.ndarray, station_values: np.ndarray,
                                   model_at_stations: np.ndarray, power: float = 2.0) -> np.ndarray:
    """Leave-one-out estimate at each station, (t, n) [µg/m³]: its model value plus the IDW of the others' residuals.

    Hours in which the model is missing at a valid station take the plain IDW leave-one-out
    estimate (:func:`spse.methods.interpolation.loo_predictions`), as the surface does.
    """
    values = np.atleast_2d(np.asarray(station_values, dtype=float))
    model_s = np.atleast_2d(np.asarray(model_at_stations, dtype=float))
    hours = model_hours(values, model_s)
    residuals = np.where(hours[:, None], values - model_s, np.nan)
    corrected = model_s + loo_predictions(station_xy, residuals, power)
    return np.where(hours[:, None], corrected, loo_predictions(station_xy, values, power))


def _lonlat_points(frame: pd.DataFrame, id_col: str) -> pd.DataFrame:
    points = pd.DataFrame({"cell_id": frame[id_col].to_numpy(dtype=object)})
    if {"lon", "lat"} <= set(frame.columns):
        points["lon"] = frame["lon"].to_numpy(dtype=float)
        points["lat"] = frame["lat"].to_numpy(dtype=float)
    else:
        lon, lat = xy3035_to_lonlat(frame["cx_3035"].to_numpy(float), frame["cy_3035"].to_numpy(float))
        points["lon"], points["lat"] = lon, lat
    return points


def _to_matrix(regridded: pd.DataFrame, ids: np.ndarray, window: pd.DatetimeIndex) -> np.ndarray:
    matrix = np.full((len(window), len(ids)), np.nan)
    if regridded.empty:
        return matrix
    hour = window.get_indexer(pd.DatetimeIndex(pd.to_datetime(regridded["ts_start_utc"], utc=True)))
    point = pd.Index(ids).get_indexer(regridded["cell_id"])
    inside = (hour >= 0) & (point >= 0)
    matrix[hour[inside], point[inside]] = regridded["value"].to_numpy(dtype=float)[inside]
    return matrix


def model_matrix(run: pd.DataFrame, pollutant: str, window: pd.DatetimeIndex, points: pd.DataFrame,
                 id_col: str) -> np.ndarray:
    """The model of one pollutant on the window's hours at points, (hours × points) [µg/m³].

    Parameters
    ----------
    run : DataFrame
        ``forecast_cams`` rows of one run, one model and one level (:func:`spse.methods.forecast.select_run`).
    pollutant : str
        NO2, PM10, PM2.5, O3 or SO2.
    window : DatetimeIndex
        UTC hour-beginning instants (:func:`spse.methods.stats.window_hours_utc`).
    points : DataFrame
        ``id_col`` with ``lon``/``lat`` [° WGS84], or ``cx_3035``/``cy_3035`` [m EPSG:3035]:
        the cells of ``grid_cells`` (``id_col`` = ``cell_id``) or the stations (``station_id``),
        in the order of the matrix columns.

    Returns
    -------
    ndarray (hours, points): bilinear CAMS values (:func:`spse.methods.forecast.regrid_to_cells`); NaN for
    hours the run does not cover.
    """
    ts = pd.to_datetime(run["ts_start_utc"], utc=True)
    field = run[(run["pollutant"] == pollutant) & (ts >= window[0]) & (ts <= window[-1])]
    return _to_matrix(regrid_to_cells(field, _lonlat_points(points, id_col)),
                      points[id_col].to_numpy(dtype=object), window)
