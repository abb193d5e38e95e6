"""IDW surfaces, leave-one-out validation and the surface datasets (methods.md §6.4, W11)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from spse.core import register
from spse.methods import grid, surfaces

NAN = float("nan")


def test_w11_idw():
    stations = np.array([[0.0, 0.0], [1000.0, 0.0], [0.0, 2000.0]])
    estimate, n_used = surfaces.idw(stations, np.array([20.0, 30.0, 10.0]), np.array([[400.0, 300.0]]), power=2)
    assert estimate[0] == pytest.approx(22.892102, abs=1e-6)
    assert n_used == 3


def test_idw_hours_missing_stations_and_exact_hits():
    stations = np.array([[0.0, 0.0], [100.0, 0.0]])
    values = np.array([
        [10.0, 20.0],   # both valid
        [NAN, 20.0],    # the station under target 0 is missing: the other one is used
        [NAN, NAN],     # no station
    ])
    targets = np.array([[0.0, 0.0], [50.0, 0.0], [25.0, 0.0]])
    estimates, n_used = surfaces.idw(stations, values, targets, power=2)
    assert estimates[0].tolist() == [10.0, 15.0, pytest.approx((10 / 625 + 20 / 5625) / (1 / 625 + 1 / 5625))]
    assert estimates[1].tolist() == [20.0, 20.0, 20.0]
    assert np.isnan(estimates[2]).all()
    assert n_used.tolist() == [2, 1, 0]


def test_idw_chunking_does_not_change_the_result():
    rng = np.random.default_rng(7)
    stations = rng.uniform(0, 10_000, size=(6, 2))
    values = rng.uniform(5, 80, size=(5, 6))
    values[1, 2] = NAN
    targets = rng.uniform(0, 10_000, size=(37, 2))
    whole, _ = surfaces.idw(stations, values, targets, power=2, chunk_targets=1_000)
    blocks, _ = surfaces.idw(stations, values, targets, power=2, chunk_targets=4)
    np.testing.assert_allclose(blocks, whole, rtol=0, atol=1e-12)


def test_loo_validation_hand_computed():
    # Stations on a line at x = 0, 100, 300 with 10, 20, 40; each predicted from the other two (p = 2):
    # s0: (20/100² + 40/300²) / (1/100² + 1/300²) = 22;  s1: (10/100² + 40/200²) / (1/100² + 1/200²) = 16;
    # s2: (10/300² + 20/200²) / (1/300² + 1/200²) = 220/13.
    xy = np.array([[0.0, 0.0], [100.0, 0.0], [300.0, 0.0]])
    errors = [22 - 10, 16 - 20, 220 / 13 - 40]
    rmse, bias, n = surfaces.loo_validation(xy, np.array([[10.0, 20.0, 40.0]]), power=2)
    assert n == 3
    assert rmse == pytest.approx(math.sqrt(sum(e * e for e in errors) / 3))
    assert bias == pytest.approx(sum(errors) / 3)
    # A missing station is neither predicted nor used.
    rmse, bias, n = surfaces.loo_validation(xy, np.array([[10.0, NAN, 40.0]]), power=2)
    assert n == 2 and bias == pytest.approx(0.0) and rmse == pytest.approx(30.0)


# A small synthetic network around (X0, Y0) in EPSG:3035 metres.
X0, Y0 = 3_760_000, 2_885_000
DAY = dt.date(2026, 1, 15)


def _lonlat(x, y):
    # Stations go through WGS84 and back (air_stations has lon/lat): their positions move by < 1 mm,
    # hence the 1e-4 µg/m³ tolerances below.
    lon, lat = grid.xy3035_to_lonlat(x, y)
    return float(lon), float(lat)


def _air_rows(station_id, station_class, pollutant, values, start_local="2026-01-14 17:00", **extra):
    ts = pd.date_range(start_local, periods=len(values), freq="h", tz="Europe/Paris").tz_convert("UTC")
    values = np.asarray(values, dtype=float)
    return pd.DataFrame({
        "station_id": station_id, "station_class": station_class, "pollutant": pollutant,
        "discriminant": extra.get("discriminant", "A"), "procedure": "p",
        "ts_start_utc": ts, "ts_end_utc": ts + pd.Timedelta(hours=1),
        "value": values, "is_valid": extra.get("is_valid", np.ones(len(values), dtype=bool)),
    })


@pytest.fixture
def network():
    hours = 31  # 17:00 the day before → 23:00 on DAY, local
    a_valid = np.ones(hours, dtype=bool)
    a_valid[7 + 10:7 + 17] = False  # 7 invalid hours of DAY: A's day mean is not valid
    air = pd.concat([
        _air_rows("A", "background", "NO2", [20.0] * hours, is_valid=a_valid),
        _air_rows("B", "background", "NO2", [28.0] * hours, discriminant="A"),
        _air_rows("B", "background", "NO2", [32.0] * hours, discriminant="B"),
        _air_rows("T", "traffic", "NO2", [500.0] * hours),
        _air_rows("A", "background", "O3", [100.0] * hours),
        _air_rows("A", "background", "CO", [0.4] * hours),
    ], ignore_index=True)
    positions = {"A": (X0 + 100.0, Y0 + 100.0), "B": (X0 + 500.0, Y0 + 100.0), "T": (X0 + 300.0, Y0 + 100.0)}
    stations = pd.DataFrame([{"station_id": sid, "station_name": sid, "department": "75",
                              "lon": _lonlat(*xy)[0], "lat": _lonlat(*xy)[1]} for sid, xy in positions.items()])
    corners = [(X0, Y0), (X0 + 200, Y0), (X0, Y0 + 200)]
    cells = pd.DataFrame({"cell_id": [f"CRS3035RES200mN{y}E{x}" for x, y in corners],
                          "x_3035": [x for x, _ in corners], "y_3035": [y for _, y in corners],
                          "cx_3035": [x + 100.0 for x, _ in corners], "cy_3035": [y + 100.0 for _, y in corners]})
    return surfaces.build_surfaces(DAY, air, stations, cells, time_base="Europe/Paris",
                                  params=register.parameters()), cells


def test_build_surfaces_columns(network):
    out, _ = network
    assert list(out["surface_hourly"].columns) == ["cell_id", "pollutant", "ts_start_utc", "value", "n_stations"]
    assert list(out["surface_daily"].columns) == ["cell_id", "date", "pollutant", "statistic", "value", "n_valid",
                                                  "n_expected", "coverage", "is_valid", "time_base"]
    assert list(out["station_daily"].columns) == ["station_id", "station_class", "date", "pollutant", "statistic",
                                                  "value", "n_valid", "n_expected", "coverage", "is_valid",
                                                  "time_base"]
    assert list(out["surface_validation"].columns) == ["date", "pollutant", "statistic", "n_stations", "loo_rmse",
                                                       "loo_bias", "method"]
    assert set(out["surface_hourly"]["pollutant"]) == {"NO2", "O3"}  # CO is not interpolated


def test_surface_hourly_covers_the_local_day_from_background_stations(network):
    out, cells = network
    no2 = out["surface_hourly"][out["surface_hourly"]["pollutant"] == "NO2"]
    start, end = pd.Timestamp("2026-01-14 23:00", tz="UTC"), pd.Timestamp("2026-01-15 22:00", tz="UTC")
    assert no2["ts_start_utc"].min() == start and no2["ts_start_utc"].max() == end
    assert len(no2) == 24 * 3
    c1, c2, c3 = cells["cell_id"]
    first = no2[no2["ts_start_utc"] == start].set_index("cell_id")
    # c1's centre is on A (20); c2 is half-way between A and B (B = mean of its two series, 30);
    # c3 is 200 m from A and √(400² + 200²) m from B: weights 5:1. The traffic station (500) is ignored.
    assert first.loc[c1, "value"] == pytest.approx(20.0, abs=1e-4)
    assert first.loc[c2, "value"] == pytest.approx(25.0, abs=1e-4)
    assert first.loc[c3, "value"] == pytest.approx(130 / 6, abs=1e-4)
    assert (first["n_stations"] == 2).all()
    # While A is invalid (10:00-16:59 local = 09:00-15:59 UTC) the surface is B's value everywhere.
    gap = no2[no2["ts_start_utc"] == pd.Timestamp("2026-01-15 09:00", tz="UTC")]
    assert gap["value"].tolist() == pytest.approx([30.0] * 3)
    assert (gap["n_stations"] == 1).all()


def test_surface_daily_statistics(network):
    out, cells = network
    daily = out["surface_daily"].set_index(["cell_id", "pollutant", "statistic"])
    c1 = cells["cell_id"][0]
    assert daily.loc[(c1, "NO2", "day_mean"), "value"] == pytest.approx((17 * 20 + 7 * 30) / 24, abs=1e-4)
    assert daily.loc[(c1, "NO2", "day_max_1h"), "value"] == pytest.approx(30.0, abs=1e-4)
    assert daily.loc[(c1, "NO2", "day_mean"), "n_valid"] == 24
    assert daily.loc[(c1, "O3", "day_max_8h_mean"), "value"] == pytest.approx(100.0)
    assert (c1, "NO2", "day_max_8h_mean") not in daily.index
    assert (out["surface_daily"]["date"] == DAY).all()
    assert (out["surface_daily"]["time_base"] == "Europe/Paris").all()


def test_station_daily_keeps_every_class(network):
    out, _ = network
    daily = out["station_daily"].set_index(["station_id", "pollutant", "statistic"])
    assert daily.loc[("T", "NO2", "day_mean"), "value"] == 500.0
    assert daily.loc[("T", "NO2", "day_mean"), "station_class"] == "traffic"
    assert daily.loc[("B", "NO2", "day_mean"), "value"] == pytest.approx(30.0)
    a = daily.loc[("A", "NO2", "day_mean")]
    assert a["n_valid"] == 17 and not a["is_valid"] and np.isnan(a["value"])
    assert ("A", "CO", "day_mean") not in daily.index


def test_surface_validation(network):
    out, _ = network
    validation = out["surface_validation"].set_index(["pollutant", "statistic"])
    hourly = validation.loc[("NO2", "1h")]
    # A predicted from B (+10) and B from A (−10) over the 17 hours both are valid.
    assert hourly["loo_rmse"] == pytest.approx(10.0) and hourly["loo_bias"] == pytest.approx(0.0)
    assert hourly["n_stations"] == 2
    assert hourly["method"] == "idw_p2_background_loo"
    # Daily statistics are compared only where both are valid: A's observed day has 17 hours, and B's
    # prediction (from A alone) has 17 hours too, so nothing is compared.
    day_mean = validation.loc[("NO2", "day_mean")]
    assert day_mean["n_stations"] == 0 and np.isnan(day_mean["loo_rmse"])
    assert validation.loc[("O3", "1h"), "n_stations"] == 0


def test_the_alerts_read_of_a_surface_file_gives_its_values_hours_and_cells(spse_home):
    import xarray as xr

    from spse.pipeline import surfacestore

    day = dt.date(2025, 3, 30)  # 23 hours in Paris: 2025-03-29 23:00 to 2025-03-30 21:00 UTC
    hours = pd.date_range("2025-03-29 23:00", periods=23, freq="h").to_numpy()
    value = np.arange(2 * 23 * 3, dtype="float32").reshape(2, 23, 3)
    value[1, 5, 2] = np.nan
    surfacestore.write_day(day, xr.Dataset(
        {"value": (("pollutant", "time", "cell"), value),
         "n_stations": (("pollutant", "time"), np.full((2, 23), 4, dtype="int16"))},
        coords={"pollutant": ["NO2", "PM10"], "time": hours, "cell": np.arange(3, dtype="int32"),
                "cell_id": ("cell", ["CRS3035RES200mN1E1", "CRS3035RES200mN1E2", "CRS3035RES200mN2E1"])}))
    read = surfacestore.read_values(day)
    assert read["pollutant"].to_numpy().tolist() == ["NO2", "PM10"]
    assert read["time"].dtype == "datetime64[ns]"
    np.testing.assert_array_equal(read["time"].to_numpy(), hours.astype("datetime64[ns]"))
    assert read["cell_id"].to_numpy().tolist() == ["CRS3035RES200mN1E1", "CRS3035RES200mN1E2", "CRS3035RES200mN2E1"]
    np.testing.assert_array_equal(read["value"].to_numpy(), value)  # the NaN where it was
    assert surfacestore.read_values(day + dt.timedelta(days=1)) is None
