"""Inverse-distance weighting (IDW) and its leave-one-out cross-validation, on plain arrays.

ẑ(x₀) = Σ wᵢ zᵢ / Σ wᵢ with wᵢ = dᵢ⁻ᵖ over the stations valid at that hour; a target at
distance 0 from a valid station takes its value (methods.md §6.4, W11). The power p is
passed by the caller (register ``idw_power``): this module reads neither the register nor
the lake, so both :mod:`spse.methods.surfaces` and :mod:`spse.methods.residual` build on it.

Units those of the values (µg/m³ for the surfaces); coordinates EPSG:3035 [m].
"""

from __future__ import annotations

import numpy as np

__all__ = ["CHUNK_TARGETS", "errors", "idw", "loo_predictions", "loo_validation"]

# Targets per block in idw(): bounds the weight matrix to CHUNK_TARGETS × n_stations doubles.
CHUNK_TARGETS = 20_000


def _idw_block(values: np.ndarray, valid: np.ndarray, distances: np.ndarray, power: float) -> np.ndarray:
    """E = (V⊙M)·Wᵀ / (M·Wᵀ) for one block of targets; exact hits take the station's value."""
    hit = distances == 0
    with np.errstate(divide="ignore"):
        weights = np.where(hit, 0.0, distances ** -power)
    filled = np.where(valid, values, 0.0)
    numerator = filled @ weights.T
    denominator = valid.astype(float) @ weights.T
    with np.errstate(invalid="ignore", divide="ignore"):
        estimate = np.where(denominator > 0, numerator / denominator, np.nan)
    target, station = np.nonzero(hit)
    if target.size:
        estimate[:, target] = np.where(valid[:, station], values[:, station], estimate[:, target])
    return estimate


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.hypot(a[:, None, 0] - b[None, :, 0], a[:, None, 1] - b[None, :, 1])


def idw(station_xy: np.ndarray, values: np.ndarray, target_xy: np.ndarray, power: float = 2.0,
        chunk_targets: int = CHUNK_TARGETS) -> tuple[np.ndarray, np.ndarray]:
    """Inverse-distance-weighted estimates at targets, hour by hour.

    Parameters
    ----------
    station_xy : ndarray (n, 2)
        Station coordinates [m, EPSG:3035].
    values : ndarray (t, n) or (n,)
        Station values [µg/m³]; NaN = not valid at that hour.
    target_xy : ndarray (m, 2)
        Target coordinates [m, EPSG:3035].
    power : float
        Power p of the weights d⁻ᵖ (register ``idw_power``).
    chunk_targets : int
        Targets per block.

    Returns
    -------
    estimates : ndarray (t, m) [µg/m³], NaN where no station is valid.
    n_used : ndarray (t,) of int, stations valid at each hour (all are used at every target).

    Notes
    -----
    Memory: the output (8·t·m bytes) plus, per block, about 8·c·(3n + 2t) bytes for
    c = ``chunk_targets`` targets (distances, weights, estimates). Île-de-France, 300 000
    cells × 31 hours: 74 MB of output, ~20 MB per block.
    """
    station_xy = np.asarray(station_xy, dtype=float).reshape(-1, 2)
    target_xy = np.asarray(target_xy, dtype=float).reshape(-1, 2)
    values = np.asarray(values, dtype=float)
    one_hour = values.ndim == 1
    values = np.atleast_2d(values)
    if values.shape[1] != len(station_xy):
        raise ValueError(f"values have {values.shape[1]} stations, station_xy {len(station_xy)}")
    valid = ~np.isnan(values)
    estimates = np.full((values.shape[0], len(target_xy)), np.nan)
    for start in range(0, len(target_xy), max(int(chunk_targets), 1)):
        block = target_xy[start:start + chunk_targets]
        estimates[:, start:start + len(block)] = _idw_block(values, valid, _distances(block, station_xy), power)
    n_used = valid.sum(axis=1)
    return (estimates[0], n_used[0]) if one_hour else (estimates, n_used)


def loo_predictions(station_xy: np.ndarray, values: np.ndarray, power: float = 2.0) -> np.ndarray:
    """Leave-one-out IDW estimate at each station from the other stations, (t, n) [µg/m³].

    One matrix product: the self-weight is removed; a co-located other station counts as an
    exact hit.
    """
    station_xy = np.asarray(station_xy, dtype=float).reshape(-1, 2)
    values = np.atleast_2d(np.asarray(values, dtype=float))
    distances = _distances(station_xy, station_xy)
    np.fill_diagonal(distances, np.inf)
    return _idw_block(values, ~np.isnan(values), distances, power)


def errors(predicted: np.ndarray, observed: np.ndarray) -> tuple[float, float, int, int]:
    """RMSE, bias, compared values and stations with one, for (t, n) or (n,) arrays."""
    both = ~np.isnan(predicted) & ~np.isnan(observed)
    n = int(both.sum())
    if n == 0:
        return float("nan"), float("nan"), 0, 0
    error = (predicted - observed)[both]
    n_stations = int(np.atleast_2d(both).any(axis=0).sum())
    return float(np.sqrt(np.mean(error ** 2))), float(np.mean(error)), n, n_stations


def loo_validation(station_xy: np.ndarray, values: np.ndarray, power: float = 2.0) -> tuple[float, float, int]:
    """Leave-one-out cross-validation of IDW over the stations.

    Parameters
    ----------
    station_xy : ndarray (n, 2) [m]; values : ndarray (t, n) [µg/m³], NaN = not valid.

    Returns
    -------
    rmse [µg/m³], bias (mean of estimate − observation) [µg/m³], n (station-hours compared:
    valid observations with at least one other valid station).
    """
    values = np.atleast_2d(np.asarray(values, dtype=float))
    rmse, bias, n, _ = errors(loo_predictions(station_xy, values, power), values)
    return rmse, bias, n
