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

import dataclasses
import datetime as dt
import logging

import numpy as np
import pandas as pd
import xarray as xr

from spse.core import register
from spse.core.columns import Column
from spse.core.timebase import day_hours_utc
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
                   time_base: str | None = None, model_hourly: pd.DataFrame | None = None, *,
                   params: register.Parameters) -> dict[str, pd.DataFrame]:
    """Hourly and daily surfaces, station daily statistics and LOO validation for the local ``day``.

    One day of :func:`build_surfaces_days` in one time base, with ``surface_hourly`` as a long
    frame (:func:`hourly_frame`).

    Parameters
    ----------
    day : datetime.date
        Local day (register ``day_time_base`` unless ``time_base`` is given).
    air_hourly, stations, cells, model_hourly, params
        As in :func:`build_surfaces_days`.
    time_base : str, optional
        Time zone of the day; default the register's ``day_time_base``.

    Returns
    -------
    dict with ``surface_hourly`` (the local day's hours; cell-hours without any valid
    background station are left out), ``surface_daily``, ``station_daily`` (all station
    classes) and ``surface_validation``, columns as in docs/architecture.md.
    """
    time_base = time_base or params.text("day_time_base")
    tables = build_surfaces_days([day], air_hourly, stations, cells, params=params, time_bases=(time_base,),
                                 model_hourly=model_hourly)
    return {"surface_hourly": hourly_frame(tables.pop("surface_hourly")), **tables}


def build_surfaces_days(days: list[dt.date], air_hourly: pd.DataFrame, stations: pd.DataFrame | None,
                        cells: pd.DataFrame, *, params: register.Parameters, time_bases: tuple[str, ...] = (),
                        model_hourly: pd.DataFrame | None = None) -> dict[str, object]:
    """Surfaces of several local days in one pass: one IDW over all their hours, then each day's statistics.

    Parameters
    ----------
    days : list of datetime.date
        Local days, in the first of ``time_bases``; the hourly surfaces cover their hours.
    air_hourly : DataFrame
        The ``air_hourly`` dataset, covering at least the days (in every time base) and the
        7 hours before the first one.
    stations : DataFrame or None
        The ``air_stations`` dataset (``station_id``, ``lon``, ``lat`` [° WGS84]); ``None``
        when no vintage exists. Stations of ``air_hourly`` without coordinates there are
        left out of the surfaces (the alert run reports them: ``DQ_STATIONS_UNLOCATED``).
    cells : DataFrame
        ``grid_cells`` (``cell_id`` and ``cx_3035``/``cy_3035`` centres, or ``x_3035``/``y_3035``
        south-west corners).
    params : register.Parameters
        The parameter register: ``idw_power``, ``idw_background_only``, ``surface_method``,
        the coverage rules and ``day_time_base`` when ``time_bases`` is empty.
    time_bases : tuple of str
        Time zones of the daily statistics (e.g. the procedure's ``Europe/Paris`` and the EU
        statistics' ``UTC``, methods.md §1.1 "Time base"); every daily row carries its
        ``time_base``. Default: the register's ``day_time_base`` only.
    model_hourly : DataFrame, optional
        ``forecast_cams`` rows of one CAMS run (:func:`spse.methods.forecast.select_run`), µg/m³;
        only with a single day. It is regridded bilinearly to the cells and the background
        stations, both methods are validated by leave-one-out (``method``
        ``idw_p2_background_loo`` and ``model_residual_idw_p2_background_loo``), and the stored
        surface uses the register's ``surface_method``. Hours the run does not cover fall back
        to IDW (:mod:`spse.methods.residual`).

    Returns
    -------
    dict with ``surface_hourly``, an :class:`xarray.Dataset` on the days' hours (``value``
    float32 [µg/m³] and ``n_stations`` int16 over ``pollutant`` × ``time`` (UTC hour-beginning)
    × ``cell`` (int32 index into ``cells``, with the ``cell_id`` coordinate)); and the frames
    ``surface_daily``, ``station_daily`` (all station classes) and ``surface_validation``
    (one row set per day and time base), columns as in :data:`COLUMNS`.
    """
    days = sorted(set(days))
    if model_hourly is not None and len(days) > 1:
        raise ValueError("a CAMS run (model_hourly) backs the surfaces of one day only")
    time_bases = tuple(time_bases) or (params.text("day_time_base"),)
    rules = stats.CoverageRules.from_params(params)
    power = params.float("idw_power")
    background_only = params.bool("idw_background_only")
    suffix = f"p{power:g}_{BACKGROUND if background_only else 'all_stations'}_loo"
    surface_method = params.text("surface_method").strip()
    model_run = _model_run(model_hourly, surface_method)
    window, slices = _window(days, time_bases)
    surface_hours = _surface_hours(days, time_bases[0])
    cells = cells.reset_index(drop=True).copy()
    if "cx_3035" not in cells:
        cells["cx_3035"] = cells["x_3035"] + CELL_SIZE_M / 2
        cells["cy_3035"] = cells["y_3035"] + CELL_SIZE_M / 2

    hourly = station_hourly(air_hourly)
    station_matrix, station_series = stats.to_window_matrix(hourly, ["station_id", "station_class", "pollutant"],
                                                            window)
    station_daily = _daily_frames(station_matrix, station_series, (station_series["pollutant"] == stats.O3).to_numpy(),
                                  window, days, time_bases, rules, COLUMNS["station_daily"])

    if stations is None:
        stations = pd.DataFrame({"station_id": pd.Series(dtype=str), "lon": pd.Series(dtype=float),
                                 "lat": pd.Series(dtype=float)})
    located = points_to_cells(stations.drop_duplicates("station_id"), "station_id").set_index("station_id")
    used = hourly[hourly["station_class"].eq(BACKGROUND)] if background_only else hourly
    unlocated = sorted(set(used["station_id"].unique()) - set(located.index))
    if unlocated:
        log.warning("%d background stations without coordinates left out of the surface (data_quality alert "
                    "DQ_STATIONS_UNLOCATED): %s", len(unlocated), ", ".join(unlocated))
    used = used[used["station_id"].isin(located.index)]

    target_xy = np.column_stack([cells["cx_3035"].to_numpy(float), cells["cy_3035"].to_numpy(float)])
    in_surface = window.get_indexer(surface_hours)
    present = set(used["pollutant"].unique())
    pollutants = [p for p in SURFACE_POLLUTANTS if p in present]
    values = np.full((len(pollutants), len(surface_hours), len(cells)), np.nan, dtype=np.float32)
    n_stations = np.zeros((len(pollutants), len(surface_hours)), dtype=np.int16)
    surface_daily, validation = [], []
    series = pd.DataFrame({"cell_id": cells["cell_id"].to_numpy()})
    for k, pollutant in enumerate(pollutants):
        matrix, keys = stats.to_window_matrix(used[used["pollutant"] == pollutant], ["station_id"], window)
        keep = ~np.isnan(matrix).all(axis=1)
        if not keep.any():
            continue
        matrix = matrix[keep]
        station_ids = keys["station_id"][keep]
        station_xy = located.loc[station_ids, ["x_3035", "y_3035"]].to_numpy(float)
        estimates, n_used = idw(station_xy, matrix.T, target_xy, power)
        loo = loo_predictions(station_xy, matrix.T, power).T
        for day_slices in slices[:len(days)]:
            validation.extend(_validation_rows(day_slices.day, pollutant, matrix[:, day_slices.window],
                                               loo[:, day_slices.window], day_slices.n_hours, f"{IDW}_{suffix}", rules))
        if model_run is not None:
            day_slices = slices[0]
            model_estimates, model_rows = _model_residual(
                pollutant, matrix, station_ids, station_xy, stations, cells, target_xy, model_run, window,
                day_slices, power, f"{MODEL_RESIDUAL_IDW}_{suffix}", rules,
                with_surface=surface_method == MODEL_RESIDUAL_IDW)
            validation.extend(model_rows)
            if model_estimates is not None:
                estimates = model_estimates
        values[k] = estimates[in_surface]
        n_stations[k] = n_used[in_surface]
        daily = _daily_frames(estimates.T, series, np.full(len(cells), pollutant == stats.O3), window, days,
                              time_bases, rules, COLUMNS["surface_daily"])
        daily.insert(2, "pollutant", pollutant)
        surface_daily.append(daily[list(COLUMNS["surface_daily"])])

    surface_hourly = xr.Dataset(
        {"value": (("pollutant", "time", "cell"), values, {"units": "µg/m³"}),
         "n_stations": (("pollutant", "time"), n_stations, {"units": "stations"})},
        coords={"pollutant": np.array(pollutants, dtype=str),
                "time": surface_hours.tz_convert("UTC").tz_localize(None).to_numpy(),
                "cell": np.arange(len(cells), dtype=np.int32),
                "cell_id": ("cell", cells["cell_id"].to_numpy(dtype=str))},
    )
    return {
        "surface_hourly": surface_hourly,
        "surface_daily": pd.concat(surface_daily, ignore_index=True) if surface_daily else _empty("surface_daily"),
        "station_daily": station_daily if len(station_daily) else _empty("station_daily"),
        "surface_validation": (pd.DataFrame(validation, columns=list(COLUMNS["surface_validation"])) if validation
                               else _empty("surface_validation")),
    }


def hourly_frame(surface_hourly: xr.Dataset) -> pd.DataFrame:
    """The long ``surface_hourly`` frame of :data:`COLUMNS` (cell-hours without any station left out)."""
    if not surface_hourly.sizes.get("pollutant"):
        return _empty("surface_hourly")
    n_pollutants, n_hours, n_cells = surface_hourly["value"].shape
    values = surface_hourly["value"].to_numpy().astype(float).reshape(-1)
    frame = pd.DataFrame({
        # object, not the Arrow string type: 0.3 M strings a day would be copied into Arrow buffers
        "cell_id": pd.Series(np.tile(surface_hourly["cell_id"].to_numpy().astype(object), n_pollutants * n_hours),
                             dtype=object),
        "pollutant": _repeated_text(surface_hourly["pollutant"].to_numpy(), n_hours * n_cells),
        "ts_start_utc": pd.DatetimeIndex(np.tile(np.repeat(surface_hourly["time"].to_numpy(), n_cells),
                                                 n_pollutants)).tz_localize("UTC"),
        "value": values,
        "n_stations": np.repeat(surface_hourly["n_stations"].to_numpy().reshape(-1), n_cells).astype(np.int64),
    })
    return frame[frame["value"].notna()].reset_index(drop=True)


def _repeated_text(labels: np.ndarray, times: int) -> pd.Series:
    """``np.repeat(labels, times)`` as the default text dtype, built in Arrow (not from 10⁵ Python strings)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    taken = pc.take(pa.array(labels.astype(str).tolist(), type=pa.large_string()),
                    pa.array(np.repeat(np.arange(len(labels)), times)))
    return pd.Series(pd.array(taken, dtype=pd.StringDtype("pyarrow", na_value=np.nan)))


@dataclasses.dataclass(frozen=True)
class _DaySlices:
    """Where one local day sits on the shared hour axis: its window (7 lead hours + the day) and hour count."""

    day: dt.date
    time_base: str
    window: slice
    n_hours: int


def _window(days: list[dt.date], time_bases: tuple[str, ...]) -> tuple[pd.DatetimeIndex, list[_DaySlices]]:
    """The UTC hour axis covering every day in every time base with its lead hours, and each day's slice."""
    hours = {(day, base): day_hours_utc(day, base) for base in time_bases for day in days}
    start = min(h[0] for h in hours.values()) - stats.LEAD_HOURS * stats.HOUR
    end = max(h[-1] for h in hours.values())
    window = pd.date_range(start, end, freq="h")
    slices = []
    for base in time_bases:
        for day in days:
            first = int((hours[(day, base)][0] - start) / stats.HOUR)
            n = len(hours[(day, base)])
            slices.append(_DaySlices(day, base, slice(first - stats.LEAD_HOURS, first + n), n))
    return window, slices


def _surface_hours(days: list[dt.date], time_base: str) -> pd.DatetimeIndex:
    naive = [day_hours_utc(day, time_base).tz_convert(None).to_numpy() for day in days]
    return pd.DatetimeIndex(np.concatenate(naive) if naive else [], dtype="datetime64[ns]").tz_localize("UTC")


def _daily_frames(matrix: np.ndarray, series: pd.DataFrame, with_8h: np.ndarray, window: pd.DatetimeIndex,
                  days: list[dt.date], time_bases: tuple[str, ...], rules: stats.CoverageRules,
                  columns: dict[str, Column]) -> pd.DataFrame:
    """Daily statistics of each (series × ``window`` hour) ``matrix`` row, every day and time base, one long frame.

    Rows are ordered by time base, statistic, day and series (:func:`spse.methods.stats.stats_days`,
    :func:`spse.methods.stats.days_frame`), not computed day by day.
    """
    by_base = stats.stats_days_bases(matrix, window, days, time_bases, with_8h, rules)
    frames = [stats.days_frame(by_base[time_base], series, days, time_base) for time_base in time_bases]
    frame = pd.concat(frames, ignore_index=True)
    return frame[[c for c in columns if c in frame.columns]]


def _model_residual(pollutant: str, matrix: np.ndarray, station_ids: pd.Series, station_xy: np.ndarray,
                    stations: pd.DataFrame, cells: pd.DataFrame, target_xy: np.ndarray, model_run: pd.DataFrame,
                    window: pd.DatetimeIndex, day_slices: _DaySlices, power: float, method: str,
                    rules: stats.CoverageRules, with_surface: bool) -> tuple[np.ndarray | None, list[dict]]:
    """LOO rows and, if ``with_surface``, estimates (window hours × cells) of the CAMS + residual IDW method.

    ``(None, [])`` when the run has no value of ``pollutant`` at a valid station in the window.
    """
    day = day_slices.day
    points = (stations.drop_duplicates("station_id").set_index("station_id")
              .loc[station_ids, ["lon", "lat"]].rename_axis("station_id").reset_index())
    model_stations = residual.model_matrix(model_run, pollutant, window, points, "station_id")
    observed = matrix.T
    if not (~np.isnan(observed) & ~np.isnan(model_stations)).any():
        log.info("%s %s: the CAMS run has no %s value at a valid background station in the window: %s not "
                 "validated", day, pollutant, pollutant, residual.METHOD)
        return None, []
    predicted = residual.model_residual_loo_predictions(station_xy, observed, model_stations, power).T
    rows = _validation_rows(day, pollutant, matrix[:, day_slices.window], predicted[:, day_slices.window],
                            day_slices.n_hours, method, rules)
    if not with_surface:
        return None, rows
    model_cells = residual.model_matrix(model_run, pollutant, window, cells, "cell_id")
    estimates, _, fallback = residual.model_residual_idw(station_xy, observed, model_stations, target_xy,
                                                         model_cells, power)
    if fallback.any():
        log.info("%s %s: %d of %d cell-hours without a CAMS value (at the cell or at a valid station) are plain IDW",
                 day, pollutant, int(fallback.sum()), fallback.size)
    return estimates, rows
