"""CAMS forecasts on the grid: bilinear regridding, nearest outside, daily statistics for J and J+1.

Expected values are computed by hand in the comments.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from spse.core import register
from spse.methods import forecast, stats
from spse.pipeline import forecast_step, lake

J = dt.date(2026, 1, 15)  # winter: the local day J is [J-1 23:00, J 23:00) UTC, 24 hours
BASE = pd.Timestamp("2026-01-15 00:00", tz="UTC")
TB = "Europe/Paris"
RULES = stats.CoverageRules.from_params(register.parameters())
# 2 × 2 grid points: (lat, lon) → value
CORNERS = {(48.8, 2.3): 10.0, (48.8, 2.4): 20.0, (48.9, 2.3): 30.0, (48.9, 2.4): 60.0}


def grid_rows(values_by_lead: dict[int, dict[tuple[float, float], float]], pollutant: str = "NO2",
              base: pd.Timestamp = BASE, model: str = "ENSEMBLE", level_m: float = 0.0) -> pd.DataFrame:
    """``forecast_cams`` rows from {lead: {(lat, lon): value}}."""
    records = [(base, lead, base + pd.Timedelta(hours=lead), lon, lat, pollutant, value, model, level_m)
               for lead, points in values_by_lead.items() for (lat, lon), value in points.items()]
    frame = pd.DataFrame(records, columns=["base_time_utc", "lead_hours", "ts_start_utc", "lon", "lat", "pollutant",
                                           "value", "model", "level_m"])
    frame["base_time_utc"] = frame["base_time_utc"].astype("datetime64[ns, UTC]")
    frame["ts_start_utc"] = frame["ts_start_utc"].astype("datetime64[ns, UTC]")
    frame["lead_hours"] = frame["lead_hours"].astype("int32")
    return frame


def uniform(leads, value_of_lead, pollutant="NO2", base=BASE) -> pd.DataFrame:
    """Every grid point of CORNERS at value_of_lead(lead)."""
    return grid_rows({lead: dict.fromkeys(CORNERS, value_of_lead(lead)) for lead in leads}, pollutant, base)


def cells(*points: tuple[str, float, float]) -> pd.DataFrame:
    return pd.DataFrame(points, columns=["cell_id", "lon", "lat"])


def test_bilinear_between_four_grid_points():
    # (lon 2.38, lat 48.83): tx = 0.08 / 0.1 = 0.8, ty = 0.03 / 0.1 = 0.3
    # south edge 10 + 0.8 × (20 − 10) = 18; north edge 30 + 0.8 × (60 − 30) = 54
    # value = 18 + 0.3 × (54 − 18) = 28.8 (not the mean 30, not the nearest point's 20)
    out = forecast.regrid_to_cells(grid_rows({0: CORNERS}), cells(("a", 2.38, 48.83)))
    assert list(out.columns) == ["cell_id", "pollutant", "ts_start_utc", "base_time_utc", "value"]
    assert out["value"].iloc[0] == pytest.approx(28.8)
    assert out["ts_start_utc"].iloc[0] == BASE and out["base_time_utc"].iloc[0] == BASE


def test_grid_points_and_edges_are_exact():
    out = forecast.regrid_to_cells(grid_rows({0: CORNERS}),
                                   cells(("corner", 2.4, 48.9), ("south_edge_middle", 2.35, 48.8)))
    # the corner keeps its value; halfway along the south edge: (10 + 20) / 2 = 15
    assert out.set_index("cell_id")["value"].to_dict() == pytest.approx({"corner": 60.0, "south_edge_middle": 15.0})


def test_cells_outside_the_hull_take_the_nearest_grid_point():
    out = forecast.regrid_to_cells(grid_rows({0: CORNERS}), cells(
        ("north_east", 2.50, 48.95),   # beyond both maxima → (48.9, 2.4) = 60
        ("west", 2.20, 48.82),         # lon clamps to 2.3, lat 48.82 nearest 48.8 → 10
        ("west_north", 2.20, 48.87),   # lat 48.87 nearest 48.9 → 30
    ))
    assert out.set_index("cell_id")["value"].to_dict() == pytest.approx(
        {"north_east": 60.0, "west": 10.0, "west_north": 30.0})


def test_a_missing_grid_point_leaves_its_squares_missing():
    partial = {k: v for k, v in CORNERS.items() if k != (48.9, 2.4)}
    out = forecast.regrid_to_cells(grid_rows({0: partial}), cells(("a", 2.325, 48.87)))
    assert np.isnan(out["value"].iloc[0])


def test_one_row_per_cell_and_field_vectorised():
    rows = pd.concat([grid_rows({0: CORNERS, 1: {k: v + 1 for k, v in CORNERS.items()}}),
                      grid_rows({0: {k: 2 * v for k, v in CORNERS.items()}}, pollutant="PM10")])
    out = forecast.regrid_to_cells(rows, cells(("a", 2.325, 48.87), ("b", 2.3, 48.8)))
    assert len(out) == 3 * 2
    got = out.set_index(["cell_id", "pollutant", out["ts_start_utc"].dt.hour]).sort_index()["value"]
    # bilinear is linear in the values: +1 everywhere → +1; ×2 → ×2
    assert got.loc[("a", "NO2", 0)] == pytest.approx(30.0)
    assert got.loc[("a", "NO2", 1)] == pytest.approx(31.0)
    assert got.loc[("a", "PM10", 0)] == pytest.approx(60.0)
    assert got.loc[("b", "PM10", 0)] == pytest.approx(20.0)


def test_two_models_at_once_are_refused():
    rows = pd.concat([grid_rows({0: CORNERS}), grid_rows({0: CORNERS}, model="CHIMERE")])
    with pytest.raises(ValueError, match="select one model and one level"):
        forecast.regrid_to_cells(rows, cells(("a", 2.325, 48.87)))


def _daily(frame: pd.DataFrame, pollutant: str, statistic: str, lead_day: int) -> pd.Series:
    row = frame[(frame["pollutant"] == pollutant) & (frame["statistic"] == statistic)
                & (frame["lead_day"] == lead_day) & (frame["cell_id"] == "a")]
    assert len(row) == 1
    return row.iloc[0]


def test_six_hourly_forecast_gives_an_invalid_day():
    # leads 0, 6, …, 48 h: J holds 00, 06, 12, 18 UTC → 4 valid hours of 24 < 18 → invalid, never interpolated
    rows = uniform(range(0, 49, 6), lambda lead: 30.0)
    out = forecast.forecast_daily(rows, cells(("a", 2.35, 48.85)), J, time_base=TB, rules=RULES)
    for lead_day in (0, 1):
        mean = _daily(out, "NO2", "day_mean", lead_day)
        assert not mean["is_valid"] and np.isnan(mean["value"])
        assert (mean["n_valid"], mean["n_expected"]) == (4, 24)
        assert mean["coverage"] == pytest.approx(4 / 24)


def test_hourly_forecast_gives_the_j_and_j_plus_1_daily_means():
    # NO2 = 10 + lead. J (local) = leads −1 … 22 (lead −1 missing): 23 valid hours, mean 10 + 11 = 21, max 32.
    # J+1 = leads 23 … 46: 24 hours, mean 10 + 34.5 = 44.5, max 56.
    rows = pd.concat([uniform(range(0, 49), lambda lead: 10.0 + lead),
                      uniform(range(0, 49), lambda lead: 50.0 + lead, pollutant="O3")])
    out = forecast.forecast_daily(rows, cells(("a", 2.35, 48.85), ("outside", 2.6, 49.1)), J, time_base=TB, rules=RULES)
    assert list(out.columns) == list(forecast.COLUMNS)
    j = _daily(out, "NO2", "day_mean", 0)
    assert j["date"] == J and j["is_valid"] and j["value"] == pytest.approx(21.0)
    assert (j["n_valid"], j["n_expected"], j["time_base"]) == (23, 24, TB)
    assert j["base_time_utc"] == BASE
    j1 = _daily(out, "NO2", "day_mean", 1)
    assert j1["date"] == J + dt.timedelta(days=1) and j1["value"] == pytest.approx(44.5) and j1["n_valid"] == 24
    assert _daily(out, "NO2", "day_max_1h", 0)["value"] == pytest.approx(32.0)
    assert _daily(out, "NO2", "day_max_1h", 1)["value"] == pytest.approx(56.0)
    # O3 = 50 + lead. The 8-h mean ending at local hour k of J covers leads k−8 … k−1: ≥ 6 valid from k = 6,
    # so 18 valid means (k = 6 … 23) → valid; the highest is leads 15 … 22 → 50 + 18.5 = 68.5.
    o3 = _daily(out, "O3", "day_max_8h_mean", 0)
    assert o3["is_valid"] and o3["n_valid"] == 18 and o3["value"] == pytest.approx(68.5)
    # J+1: every 8-h mean complete; the last covers leads 39 … 46 → 50 + 42.5 = 92.5
    assert _daily(out, "O3", "day_max_8h_mean", 1)["value"] == pytest.approx(92.5)
    outside = out[(out["cell_id"] == "outside") & (out["pollutant"] == "NO2") & (out["statistic"] == "day_mean")]
    assert outside.sort_values("lead_day")["value"].tolist() == pytest.approx([21.0, 44.5])
    assert set(out["statistic"]) == {"day_mean", "day_max_1h", "day_max_8h_mean"}
    assert set(out.loc[out["statistic"] == "day_max_8h_mean", "pollutant"]) == {"O3"}


def test_the_latest_run_on_or_before_j_is_used():
    older = uniform(range(0, 73), lambda lead: 100.0, base=BASE - pd.Timedelta(days=1))
    latest = uniform(range(0, 49), lambda lead: 10.0 + lead)
    future = uniform(range(0, 49), lambda lead: 999.0, base=BASE + pd.Timedelta(days=1))
    out = forecast.forecast_daily(pd.concat([older, latest, future]), cells(("a", 2.35, 48.85)), J, TB, RULES)
    mean = _daily(out, "NO2", "day_mean", 0)
    assert mean["value"] == pytest.approx(21.0) and mean["base_time_utc"] == BASE


def test_an_older_run_still_gives_j_and_j_plus_1():
    # run of J−1 00 UTC, NO2 constant 40: J = leads 23 … 46, J+1 = leads 47 … 70
    older = uniform(range(0, 97), lambda lead: 40.0, base=BASE - pd.Timedelta(days=1))
    out = forecast.forecast_daily(older, cells(("a", 2.35, 48.85)), J, time_base=TB, rules=RULES)
    assert _daily(out, "NO2", "day_mean", 1)["value"] == pytest.approx(40.0)
    assert _daily(out, "NO2", "day_mean", 0)["base_time_utc"] == BASE - pd.Timedelta(days=1)


def _grid_cells() -> pd.DataFrame:
    return pd.DataFrame({"cell_id": ["a"], "x_3035": [3760000], "y_3035": [2889000], "cx_3035": [3760100.0],
                         "cy_3035": [2889100.0], "lon": [2.35], "lat": [48.85], "population": [100.0]})


def test_build_forecast_reads_the_lake_and_writes_the_partition(spse_home):
    lake.write_partition("grid_cells", "vintage=current", _grid_cells())
    lake.write_partition("forecast_cams", lake.date_partition(J), uniform(range(0, 49), lambda lead: 10.0 + lead))
    tables = forecast_step.build_forecast(J, time_base=TB)
    written = lake.read_partition("forecast_cell_daily", lake.date_partition(J))
    assert len(written) == len(tables["forecast_cell_daily"]) == 2 * 2  # 2 days × (day_mean, day_max_1h)
    assert list(written.columns) == list(forecast.COLUMNS)
    mean = written[(written["statistic"] == "day_mean")].sort_values("lead_day")
    assert mean["value"].tolist() == pytest.approx([21.0, 44.5])
    assert mean["lead_day"].tolist() == [0, 1]


def test_build_forecast_without_a_run_writes_nothing(spse_home):
    lake.write_partition("grid_cells", "vintage=current", _grid_cells())
    tables = forecast_step.build_forecast(J, time_base=TB)
    assert tables["forecast_cell_daily"].empty
    assert not lake.has_partition("forecast_cell_daily", lake.date_partition(J))


def test_forecast_zone_mart(spse_home):
    """The SQL models: PWC and population above the FR_R221-1 NO2 information threshold (200 µg/m³, strictly)."""
    from spse.pipeline import warehouse

    lake.write_partition("grid_cells", "vintage=current", pd.DataFrame({
        "cell_id": ["c1", "c2"], "x_3035": [0.0, 200.0], "y_3035": [0.0, 0.0], "cx_3035": [100.0, 300.0],
        "cy_3035": [100.0, 100.0], "lon": [2.35, 2.36], "lat": [48.85, 48.85], "population": [100.0, 300.0],
        "pop_0_3": [5.0, 10.0], "pop_4_5": [5.0, 10.0], "pop_0_5": [10.0, 20.0], "pop_65_79": [10.0, 30.0],
        "pop_80p": [5.0, 10.0], "pop_65p": [15.0, 40.0], "households": [50.0, 150.0],
        "households_poor": [5.0, 15.0], "pop_poor_households": [10.0, 30.0]}))
    lake.write_partition("zones", "vintage=current", pd.DataFrame({
        "zone_id": ["75101"], "zone_name": ["Paris 1er"], "zone_label": ["1er"], "zone_level": ["arrondissement"],
        "area_m2": [80000.0], "geometry_wkt": ["POLYGON EMPTY"]}))
    lake.write_partition("zone_cells", "vintage=current", pd.DataFrame({
        "zone_id": ["75101", "75101"], "cell_id": ["c1", "c2"], "area_fraction": [1.0, 1.0]}))
    # NO2 day_max_1h: J c1 250, c2 150; J+1 c1 210, c2 190. PM2.5 day_mean J: c1 12, c2 invalid.
    rows = [("c1", 0, "NO2", "day_max_1h", 250.0, True), ("c2", 0, "NO2", "day_max_1h", 150.0, True),
            ("c1", 1, "NO2", "day_max_1h", 210.0, True), ("c2", 1, "NO2", "day_max_1h", 190.0, True),
            ("c1", 0, "PM2.5", "day_mean", 12.0, True), ("c2", 0, "PM2.5", "day_mean", None, False)]
    daily = pd.DataFrame(rows, columns=["cell_id", "lead_day", "pollutant", "statistic", "value", "is_valid"])
    daily.insert(1, "date", [J + dt.timedelta(days=d) for d in daily["lead_day"]])
    daily = daily.assign(n_valid=np.where(daily["is_valid"], 24, 4), n_expected=24, time_base=TB,
                         base_time_utc=BASE)
    daily["coverage"] = daily["n_valid"] / 24
    daily["lead_day"] = daily["lead_day"].astype("int64")
    lake.write_partition("forecast_cell_daily", lake.date_partition(J), daily[list(forecast.COLUMNS)])

    warehouse.publish(warehouse.build(J))
    mart = warehouse.query("select * from marts.forecast_zone_daily where zone_id = '75101' "
                           "order by pollutant, lead_day")
    no2 = mart[mart["pollutant"] == "NO2"].set_index("lead_day")
    # J: PWC (100 × 250 + 300 × 150) / 400 = 175; above 200: c1 → 100 persons, 10 aged 0-5, 15 aged 65+
    assert no2.loc[0, "pop_weighted_mean"] == pytest.approx(175.0)
    assert no2.loc[0, "information_threshold"] == pytest.approx(200.0)
    assert (no2.loc[0, "pop_above_information"], no2.loc[0, "pop_0_5_above_information"],
            no2.loc[0, "pop_65p_above_information"]) == (100.0, 10.0, 15.0)
    assert no2.loc[0, "share_above_information"] == pytest.approx(0.25)
    # J+1: (100 × 210 + 300 × 190) / 400 = 195; 190 is not above 200
    assert no2.loc[1, "pop_weighted_mean"] == pytest.approx(195.0)
    assert no2.loc[1, "pop_above_information"] == 100.0
    assert pd.Timestamp(no2.loc[0, "date"]).date() == J
    assert pd.Timestamp(no2.loc[1, "date"]).date() == J + dt.timedelta(days=1)
    assert pd.Timestamp(no2.loc[1, "run_date"]).date() == J
    pm = mart[mart["pollutant"] == "PM2.5"].iloc[0]
    # only c1 valid: PWC 12; no FR_R221-1 information threshold for PM2.5 → NULL counts
    assert pm["pop_weighted_mean"] == pytest.approx(12.0) and pm["population_valid"] == 100.0
    assert pd.isna(pm["information_threshold"]) and pd.isna(pm["pop_above_information"])
    paris = warehouse.query("select * from marts.forecast_zone_daily where zone_id = '75056' and pollutant = 'NO2' "
                            "and lead_day = 0")
    assert paris["pop_weighted_mean"].iloc[0] == pytest.approx(175.0)


def test_bilinear_inside_gives_xarray_interp_values_to_the_last_bit():
    import xarray as xr

    from spse.methods.forecast import bilinear_inside

    rng = np.random.default_rng(7)
    for trial in range(40):
        lats = 48.0 + 0.1 * np.arange(rng.integers(2, 9))
        lons = np.sort(rng.choice(np.round(np.arange(1.5, 3.5, 0.1), 2), rng.integers(2, 9), replace=False))
        grid = rng.normal(30.0, 10.0, (3, len(lats), len(lons)))
        grid[rng.random(grid.shape) < 0.05] = np.nan
        at_lat, at_lon = rng.uniform(lats[0], lats[-1], 300), rng.uniform(lons[0], lons[-1], 300)
        at_lat[:20], at_lon[20:40] = rng.choice(lats, 20), rng.choice(lons, 20)  # on grid lines too
        ds = xr.Dataset({"value": (("field", "lat", "lon"), grid)}, coords={"lat": lats, "lon": lons})
        expected = ds.interp(lat=xr.DataArray(at_lat, dims="cell"), lon=xr.DataArray(at_lon, dims="cell"),
                             method="linear")["value"].transpose("field", "cell").to_numpy()
        got = bilinear_inside(lats, lons, grid, at_lat, at_lon)
        np.testing.assert_array_equal(got, expected, err_msg=f"trial {trial}")
