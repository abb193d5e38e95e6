"""CAMS forecasts on the 200 m grid: bilinear regridding and daily statistics for J and J+1.

The CAMS European ensemble forecast (lake ``forecast_cams``, source ``cams_europe_forecast``)
lives on a 0.1° latitude/longitude grid (~11 km × 7 km at Paris). Each 200 m cell gets the
value at its centroid by **bilinear interpolation** between the four surrounding grid points
(xarray ``Dataset.interp``, linear in longitude and latitude, DESIGN.md "Spatial frame":
model fields are regridded with xarray). A cell outside the hull of the grid points (the
rectangle they span) takes the **nearest grid point**: the model is not extrapolated. A grid
point missing at some hour (quarantined) leaves the cells of the four squares around it
missing at that hour.

Daily statistics use :func:`spse.methods.stats.daily_stats`, i.e. the same coverage rules as the
observed surfaces (18 valid hourly values for a day mean or maximum; O3 8-hour means).
The operational CAMS forecast is hourly. A file with 6-hourly lead times (as the real
sample in ``../shared/data/cams``) gives 4 values a day, and the day is **invalid**: the
missing hours are never interpolated in time.

Units: µg/m³, CO mg/m³ (as in ``forecast_cams``). Instants UTC; days are local days of the
time base the caller passes (the register's ``day_time_base``, Europe/Paris). ``lead_day``
counts from the run's day J. Pure functions: :mod:`spse.pipeline.forecast_step` reads the lake
and writes ``forecast_cell_daily``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging

import numpy as np
import pandas as pd

from spse.core.columns import Column
from spse.methods import stats

log = logging.getLogger(__name__)

SOURCE_DATASET = "forecast_cams"
DATASET = "forecast_cell_daily"
PREFERRED_MODEL = "ENSEMBLE"
# Run days searched back from J for the latest base time: a 96 h forecast from J-2 00 UTC still covers J+1.
LOOKBACK_DAYS = 2
LEAD_DAYS = (0, 1)
# Cells interpolated per block: bounds the (fields × cells) arrays whatever the size of the grid.
CHUNK_CELLS = 20_000
REGRID_COLUMNS = ["cell_id", "pollutant", "ts_start_utc", "base_time_utc", "value"]

_DAILY = {name: column for name, column in stats.COLUMNS.items() if name != "date"}
COLUMNS: dict[str, Column] = {
    "cell_id": Column("VARCHAR", "", "200 m cell (spse.methods.grid)", nullable=False),
    "date": Column("DATE", "", "Local calendar day forecast (J or J+1), in time_base", nullable=False),
    "pollutant": Column("VARCHAR", "", "NO2, O3, PM10, PM2.5, SO2 or CO", nullable=False),
    **_DAILY,
    "value": Column("DOUBLE", "µg/m³; CO mg/m³", "Daily statistic of the cell's regridded hourly forecast; NULL "
                                                  "when the coverage rule is not met (e.g. 6-hourly input)"),
    "base_time_utc": Column("TIMESTAMPTZ", "UTC", "Start of the CAMS run used: the latest on or before J",
                            nullable=False),
    "lead_day": Column("BIGINT", "days", "date − J: 0 for J (the run's day), 1 for J+1", nullable=False),
}


def bilinear_inside(lats: np.ndarray, lons: np.ndarray, grid: np.ndarray, at_lat: np.ndarray,
                    at_lon: np.ndarray) -> np.ndarray:
    """Bilinear interpolation of ``grid`` (field × lat × lon) at points inside the grid's hull.

    The arithmetic of xarray's ``interp(method="linear")`` (SciPy ``interpn``, whose
    ``RegularGridInterpolator._evaluate_linear`` sums the four corners' values times their
    weights in this order), so that the values are the same to the last bit, without importing
    SciPy (half a second). ``lats`` and ``lons`` ascending, at least two each; points outside
    the hull get a value of the nearest edge cell extrapolated (the caller replaces them).

    Returns
    -------
    ndarray (field × point) [the grid's unit]; NaN where a corner is NaN.
    """
    i = np.clip(np.searchsorted(lats, at_lat, side="right") - 1, 0, len(lats) - 2)
    j = np.clip(np.searchsorted(lons, at_lon, side="right") - 1, 0, len(lons) - 2)
    y0 = (at_lat - lats[i]) / (lats[i + 1] - lats[i])
    y1 = (at_lon - lons[j]) / (lons[j + 1] - lons[j])
    value = np.array([0.0])
    for (rows, w0), (columns, w1) in itertools.product(((i, 1 - y0), (i + 1, y0)), ((j, 1 - y1), (j + 1, y1))):
        value = value + grid[:, rows, columns] * (np.array([1.0]) * w0 * w1)
    return value


def regrid_to_cells(forecast: pd.DataFrame, cells: pd.DataFrame) -> pd.DataFrame:
    """Bilinear interpolation of forecast grid values to the cell centroids.

    Parameters
    ----------
    forecast : DataFrame
        Rows of ``forecast_cams`` for **one model and one level**: ``pollutant``,
        ``base_time_utc``, ``ts_start_utc`` [UTC], ``lon``, ``lat`` [° WGS84, grid points of a
        regular grid], ``value`` [µg/m³; CO mg/m³].
    cells : DataFrame
        ``cell_id``, ``lon``, ``lat`` [° WGS84] of the cell centroids (``grid_cells``).

    Returns
    -------
    DataFrame ``[cell_id, pollutant, ts_start_utc, base_time_utc, value]``, one row per cell
    and forecast field (pollutant × base time × valid time). Cells inside the hull of the grid
    points: bilinear in (lon, lat) between the four surrounding points, NaN when one of them
    is missing. Cells outside it (or every cell when the grid has a single row or column):
    the nearest grid point along each axis, i.e. the nearest point of the regular grid.

    Raises
    ------
    ValueError
        If a (pollutant, base time, valid time, lat, lon) appears twice (several models or
        levels: select one first).

    References
    ----------
    DESIGN.md "Spatial frame"; xarray ``Dataset.interp`` (linear, vectorised indexers), whose
    arithmetic :func:`bilinear_inside` follows.
    """
    import xarray as xr

    keys = ["pollutant", "base_time_utc", "ts_start_utc"]
    if forecast.empty or cells.empty:
        return pd.DataFrame({c: pd.Series(dtype=forecast[c].dtype if c in forecast else "object")
                             for c in REGRID_COLUMNS})
    duplicated = forecast.duplicated([*keys, "lat", "lon"])
    if duplicated.any():
        first = forecast.loc[duplicated, [*keys, "lat", "lon"]].iloc[0].to_dict()
        raise ValueError(f"forecast has several values for {first}: select one model and one level first")
    groups = forecast.groupby(keys, sort=True)
    codes = groups.ngroup().to_numpy()
    fields = groups.size().index.to_frame(index=False)
    lats = np.unique(forecast["lat"].to_numpy(dtype=float))
    lons = np.unique(forecast["lon"].to_numpy(dtype=float))
    grid = np.full((len(fields), len(lats), len(lons)), np.nan)
    grid[codes, np.searchsorted(lats, forecast["lat"].to_numpy(dtype=float)),
         np.searchsorted(lons, forecast["lon"].to_numpy(dtype=float))] = forecast["value"].to_numpy(dtype=float)
    ds = xr.Dataset({"value": (("field", "lat", "lon"), grid)}, coords={"lat": lats, "lon": lons})

    cell_lon = cells["lon"].to_numpy(dtype=float)
    cell_lat = cells["lat"].to_numpy(dtype=float)
    inside = ((len(lats) > 1) & (len(lons) > 1)
              & (cell_lat >= lats[0]) & (cell_lat <= lats[-1]) & (cell_lon >= lons[0]) & (cell_lon <= lons[-1]))
    if (~inside).any():
        log.info("%d of %d cells outside the forecast grid's hull take the nearest grid point",
                 int((~inside).sum()), len(cells))
    values = np.empty((len(fields), len(cells)))
    for start in range(0, len(cells), CHUNK_CELLS):
        block = slice(start, start + CHUNK_CELLS)
        at_lat = xr.DataArray(cell_lat[block], dims="cell")
        at_lon = xr.DataArray(cell_lon[block], dims="cell")
        nearest = ds["value"].sel(lat=at_lat, lon=at_lon, method="nearest").transpose("field", "cell").to_numpy()
        if inside[block].any():
            bilinear = bilinear_inside(lats, lons, grid, cell_lat[block], cell_lon[block])
            values[:, block] = np.where(inside[block][None, :], bilinear, nearest)
        else:
            values[:, block] = nearest
    n_cells = len(cells)
    out = fields.iloc[np.repeat(np.arange(len(fields)), n_cells)].reset_index(drop=True)
    out.insert(0, "cell_id", cells["cell_id"].astype("str").array.take(np.tile(np.arange(n_cells), len(fields))))
    out["value"] = values.ravel()
    return out[REGRID_COLUMNS]


def select_run(forecast: pd.DataFrame, day: dt.date) -> pd.DataFrame:
    """Rows of the latest base time on or before ``day`` (UTC date), lowest level, one model.

    The model is ``ENSEMBLE`` (the ensemble median) when present, else the first by name.
    """
    base = pd.to_datetime(forecast["base_time_utc"], utc=True)
    eligible = forecast[base < pd.Timestamp(day + dt.timedelta(days=1), tz="UTC")]
    if eligible.empty:
        return eligible
    base = pd.to_datetime(eligible["base_time_utc"], utc=True)
    run = eligible[base == base.max()]
    run = run[run["level_m"] == run["level_m"].min()]
    models = sorted(run["model"].unique())
    model = PREFERRED_MODEL if PREFERRED_MODEL in models else models[0]
    if len(models) > 1:
        log.info("forecast run %s holds models %s: using %s", base.max(), models, model)
    return run[run["model"] == model]


def forecast_daily(forecast: pd.DataFrame, cells: pd.DataFrame, day: dt.date, time_base: str,
                   rules: stats.CoverageRules) -> pd.DataFrame:
    """``forecast_cell_daily`` rows for J = ``day`` and J+1 from ``forecast_cams`` rows.

    Parameters
    ----------
    forecast : DataFrame
        ``forecast_cams`` rows (any runs); the run is chosen by :func:`select_run`.
    cells : DataFrame
        ``grid_cells`` (``cell_id``, ``lon``, ``lat`` of the centroids).
    day : datetime.date
        J, the local day of the run.
    time_base : str
        Time zone of the days (the register's ``day_time_base``).
    rules : spse.methods.stats.CoverageRules
        Coverage rules of the daily statistics (methods.md §4.1, W3, W12).

    Returns
    -------
    DataFrame with the columns of :data:`COLUMNS`: the daily statistics of
    :func:`spse.methods.stats.daily_stats` per cell, pollutant and day, with ``base_time_utc`` and
    ``lead_day``. Empty when no run is on or before ``day``.
    """
    run = select_run(forecast, day) if not forecast.empty else forecast
    if run.empty:
        return empty_frame()
    base_time = pd.to_datetime(run["base_time_utc"], utc=True).max()
    first, _ = stats.window_hours_utc(day, time_base)
    last, _ = stats.window_hours_utc(day + dt.timedelta(days=LEAD_DAYS[-1]), time_base)
    ts = pd.to_datetime(run["ts_start_utc"], utc=True)
    run = run[(ts >= first[0]) & (ts <= last[-1])]
    if run.empty:
        return empty_frame()
    hourly = regrid_to_cells(run, cells)[["cell_id", "pollutant", "ts_start_utc", "value"]]
    parts = []
    for lead_day in LEAD_DAYS:
        daily = stats.daily_stats(hourly, ["cell_id", "pollutant"], day + dt.timedelta(days=lead_day),
                                  time_base=time_base, rules=rules)
        daily["lead_day"] = np.int64(lead_day)
        parts.append(daily)
    frame = pd.concat(parts, ignore_index=True)
    # by pollutant, then lead day: each pollutant's rows in the order its statistics are laid out
    frame = frame.iloc[np.lexsort((frame["lead_day"].to_numpy(), frame["pollutant"].to_numpy(dtype=str)))]
    frame = frame.reset_index(drop=True).assign(base_time_utc=base_time)[list(COLUMNS)]
    frame["base_time_utc"] = frame["base_time_utc"].astype("datetime64[ns, UTC]")
    frame["lead_day"] = frame["lead_day"].astype(np.int64)
    return frame


def empty_frame() -> pd.DataFrame:
    """A forecast frame with no row and the columns and dtypes of ``COLUMNS``."""
    dtypes = {"VARCHAR": "object", "DOUBLE": "float64", "BIGINT": "int64", "BOOLEAN": "bool",
              "TIMESTAMPTZ": "datetime64[ns, UTC]", "DATE": "object"}
    return pd.DataFrame({name: pd.Series(dtype=dtypes[c.type]) for name, c in COLUMNS.items()})

