"""CAMS background plus IDW of station residuals, and its leave-one-out comparison with IDW (methods.md §6.2, §6.4)."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spse.core import register
from spse.methods import grid, residual, surfaces

NAN = float("nan")
SPSE = Path(__file__).resolve().parents[1] / "spse"


def test_constant_model_plus_residuals():
    # Model 30 everywhere; stations read 35 and 40: residuals 5 and 10. A target equidistant from both
    # gets 30 + (5 + 10) / 2 = 37.5; a target on the first station gets 30 + 5 = 35.
    xy = np.array([[0.0, 0.0], [200.0, 0.0]])
    targets = np.array([[100.0, 50.0], [0.0, 0.0]])
    estimate, n_used, fallback = residual.model_residual_idw(xy, np.array([35.0, 40.0]), np.array([30.0, 30.0]),
                                                             targets, np.array([30.0, 30.0]), power=2)
    assert estimate.tolist() == pytest.approx([37.5, 35.0])
    assert n_used == 2 and not fallback.any()


def test_model_matching_the_stations_gives_the_model():
    # Model 20 + 0.01·x µg/m³ (x in m); stations at x = 0 and 1000 read 20 and 30: residuals 0.
    # At x = 250 the estimate is the model, 22.5. Plain IDW: weights 1/250², 1/750² = 9:1 → (9·20 + 30)/10 = 21.
    xy = np.array([[0.0, 0.0], [1000.0, 0.0]])
    target = np.array([[250.0, 0.0]])
    estimate, _, _ = residual.model_residual_idw(xy, np.array([20.0, 30.0]), np.array([20.0, 30.0]), target,
                                                 np.array([22.5]), power=2)
    plain, _ = surfaces.idw(xy, np.array([20.0, 30.0]), target, power=2)
    assert estimate[0] == pytest.approx(22.5)
    assert plain[0] == pytest.approx(21.0)


def test_loo_model_explains_the_field():
    # Stations at x = 0, 100, 300 read 10, 20, 40 = the model 10 + 0.1·x: every residual is 0, so the
    # leave-one-out estimate is the model at the left-out station and the error is 0. IDW from the other two
    # (test_surfaces.test_loo_validation_hand_computed): 22, 16, 220/13, errors 12, −4, −300/13.
    xy = np.array([[0.0, 0.0], [100.0, 0.0], [300.0, 0.0]])
    observed = np.array([[10.0, 20.0, 40.0]])
    model = np.array([[10.0, 20.0, 40.0]])
    predicted = residual.model_residual_loo_predictions(xy, observed, model, power=2)
    model_rmse = math.sqrt(np.mean((predicted - observed) ** 2))
    idw_rmse, _, _ = surfaces.loo_validation(xy, observed, power=2)
    assert predicted[0].tolist() == pytest.approx([10.0, 20.0, 40.0])
    assert model_rmse == pytest.approx(0.0, abs=1e-12)
    assert idw_rmse == pytest.approx(math.sqrt((12 ** 2 + 4 ** 2 + (300 / 13) ** 2) / 3))
    assert model_rmse < idw_rmse


def test_missing_model_falls_back_to_idw():
    xy = np.array([[0.0, 0.0], [1000.0, 0.0]])
    targets = np.array([[250.0, 0.0], [500.0, 0.0]])
    observed = np.array([[20.0, 30.0],     # hour 0: model everywhere except at target 1
                         [20.0, 30.0],     # hour 1: model missing at station 0, valid: the whole hour is IDW
                         [NAN, 30.0],      # hour 2: model missing at station 0, which is not valid: model used
                         [NAN, NAN]])      # hour 3: no station
    model_s = np.array([[20.0, 30.0], [NAN, 30.0], [NAN, 32.0], [20.0, 30.0]])
    model_t = np.array([[22.5, NAN], [22.5, 25.0], [26.0, 27.0], [22.5, 25.0]])
    estimates, n_used, fallback = residual.model_residual_idw(xy, observed, model_s, targets, model_t, power=2)
    # Hour 0: target 0 = model (22.5); target 1 = IDW, equidistant = 25.
    assert estimates[0].tolist() == pytest.approx([22.5, 25.0])
    # Hour 1: IDW 21 (9:1) and 25.
    assert estimates[1].tolist() == pytest.approx([21.0, 25.0])
    # Hour 2: residual of station 1 is 30 − 32 = −2 everywhere: 24 and 25.
    assert estimates[2].tolist() == pytest.approx([24.0, 25.0])
    assert np.isnan(estimates[3]).all()
    assert n_used.tolist() == [2, 2, 1, 0]
    assert fallback.tolist() == [[False, True], [True, True], [False, False], [False, False]]
    assert int(fallback.sum()) == 3
    # Leave-one-out: hour 0 uses the model (residuals 0: exact); hour 1 is IDW (each from the other: ±10).
    predicted = residual.model_residual_loo_predictions(xy, observed[:2], model_s[:2], power=2)
    assert predicted.tolist() == [pytest.approx([20.0, 30.0]), pytest.approx([30.0, 20.0])]


# --- build_surfaces with a CAMS run, on a two-station network -------------------------------------------------

X0, Y0 = 3_760_000, 2_885_000
DAY = dt.date(2026, 1, 15)
A_XY, B_XY = (X0 + 100.0, Y0 + 100.0), (X0 + 500.0, Y0 + 100.0)


def _lonlat(x, y):
    lon, lat = grid.xy3035_to_lonlat(x, y)
    return float(lon), float(lat)


def _air(station_id, value, hours=31):
    ts = pd.date_range("2026-01-14 17:00", periods=hours, freq="h", tz="Europe/Paris").tz_convert("UTC")
    return pd.DataFrame({"station_id": station_id, "station_class": "background", "pollutant": "NO2",
                         "discriminant": "A", "procedure": "p", "ts_start_utc": ts,
                         "ts_end_utc": ts + pd.Timedelta(hours=1), "value": value, "is_valid": True})


def _model_value(lon):
    """The designed model, linear in longitude: 20 at station A and 30 at station B (so residuals are 0)."""
    lon_a, lon_b = _lonlat(*A_XY)[0], _lonlat(*B_XY)[0]
    return 20.0 + 10.0 * (np.asarray(lon) - lon_a) / (lon_b - lon_a)


def _cams_run(base_time_utc: str) -> pd.DataFrame:
    lon_a, lat_a = _lonlat(*A_XY)
    lons = np.floor(lon_a * 10) / 10 + np.array([-0.1, 0.0, 0.1, 0.2])
    lats = np.floor(lat_a * 10) / 10 + np.array([-0.1, 0.0, 0.1, 0.2])
    base = pd.Timestamp(base_time_utc, tz="UTC")
    ts = pd.date_range(base, periods=48, freq="h")
    lon, lat, hour = np.meshgrid(lons, lats, ts, indexing="ij")
    return pd.DataFrame({"model": "ENSEMBLE", "level_m": 0.0, "pollutant": "NO2", "base_time_utc": base,
                         "ts_start_utc": hour.ravel(), "lon": lon.ravel(), "lat": lat.ravel(),
                         "value": _model_value(lon.ravel())})


@pytest.fixture
def inputs():
    air = pd.concat([_air("A", 20.0), _air("B", 30.0)], ignore_index=True)
    stations = pd.DataFrame([{"station_id": sid, "lon": _lonlat(*xy)[0], "lat": _lonlat(*xy)[1]}
                             for sid, xy in (("A", A_XY), ("B", B_XY))])
    corners = [(X0, Y0), (X0 + 200, Y0), (X0, Y0 + 200)]
    cells = pd.DataFrame({"cell_id": [f"CRS3035RES200mN{y}E{x}" for x, y in corners],
                          "cx_3035": [x + 100.0 for x, _ in corners], "cy_3035": [y + 100.0 for _, y in corners]})
    return air, stations, cells


def _use_register(tmp_path, monkeypatch, method):
    text = (SPSE / "registers" / "parameters.csv").read_text()
    text = text.replace("surface_method,idw,", f"surface_method,{method},")
    custom = tmp_path / "parameters.csv"
    custom.write_text(text)
    monkeypatch.setenv("SPSE_PARAMETERS_FILE", str(custom))


def test_build_surfaces_validates_both_methods(inputs):
    air, stations, cells = inputs
    out = surfaces.build_surfaces(DAY, air, stations, cells, time_base="Europe/Paris",
                                  model_hourly=_cams_run("2026-01-14 00:00"), params=register.parameters())
    validation = out["surface_validation"].set_index(["method", "statistic"])
    assert list(out["surface_validation"].columns) == ["date", "pollutant", "statistic", "n_stations", "loo_rmse",
                                                       "loo_bias", "method"]
    # IDW: A predicted from B (+10), B from A (−10). The model explains both stations: 0 (1e-4: the stations'
    # positions go through WGS84 and back).
    idw = validation.loc[("idw_p2_background_loo", "1h")]
    model = validation.loc[("model_residual_idw_p2_background_loo", "1h")]
    assert idw["loo_rmse"] == pytest.approx(10.0) and idw["n_stations"] == 2
    assert model["loo_rmse"] == pytest.approx(0.0, abs=1e-4) and model["n_stations"] == 2
    assert validation.loc[("model_residual_idw_p2_background_loo", "day_mean"), "loo_rmse"] == pytest.approx(
        0.0, abs=1e-4)
    assert validation.loc[("idw_p2_background_loo", "day_mean"), "loo_rmse"] == pytest.approx(10.0)
    # The default register keeps the IDW surface: c3 is 200 m from A and √(400² + 200²) m from B, weights 5:1.
    first = out["surface_hourly"][out["surface_hourly"]["ts_start_utc"] == pd.Timestamp("2026-01-14 23:00", tz="UTC")]
    assert first.set_index("cell_id").loc[cells["cell_id"][2], "value"] == pytest.approx(130 / 6, abs=1e-4)


def test_surface_method_model_residual_and_hours_before_the_run(inputs, tmp_path, monkeypatch):
    _use_register(tmp_path, monkeypatch, "model_residual_idw")
    air, stations, cells = inputs
    # A run from DAY 00 UTC: the day's first hour (2026-01-14 23:00 UTC) is before it and stays IDW.
    out = surfaces.build_surfaces(DAY, air, stations, cells, time_base="Europe/Paris",
                                  model_hourly=_cams_run("2026-01-15 00:00"), params=register.parameters())
    hourly = out["surface_hourly"].set_index(["ts_start_utc", "cell_id"])["value"]
    c3 = cells["cell_id"][2]
    c3_lon = _lonlat(X0 + 100.0, Y0 + 300.0)[0]
    assert hourly.loc[(pd.Timestamp("2026-01-14 23:00", tz="UTC"), c3)] == pytest.approx(130 / 6, abs=1e-4)
    # Residuals are 0: the surface is the (bilinear, here exact) model at the cell centre, not IDW's 130/6.
    assert hourly.loc[(pd.Timestamp("2026-01-15 00:00", tz="UTC"), c3)] == pytest.approx(
        float(_model_value(c3_lon)), abs=1e-4)
    assert abs(float(_model_value(c3_lon)) - 130 / 6) > 1
    assert (out["surface_hourly"]["n_stations"] == 2).all()
    # The day's 1h LOO: 24 hours × 2 stations, of which the first hour (IDW, ±10) has an error.
    model = out["surface_validation"].set_index(["method", "statistic"]).loc[
        ("model_residual_idw_p2_background_loo", "1h")]
    assert model["loo_rmse"] == pytest.approx(math.sqrt(2 * 100 / 48), abs=1e-4)


def test_no_run_keeps_plain_idw(inputs, tmp_path, monkeypatch):
    _use_register(tmp_path, monkeypatch, "model_residual_idw")
    air, stations, cells = inputs
    out = surfaces.build_surfaces(DAY, air, stations, cells, time_base="Europe/Paris",
                                  params=register.parameters())
    assert set(out["surface_validation"]["method"]) == {"idw_p2_background_loo"}


def test_unknown_surface_method_is_refused(inputs, tmp_path, monkeypatch):
    _use_register(tmp_path, monkeypatch, "kriging")
    air, stations, cells = inputs
    with pytest.raises(ValueError, match="surface_method"):
        surfaces.build_surfaces(DAY, air, stations, cells, time_base="Europe/Paris",
                                  params=register.parameters())


# --- the demo bundle ------------------------------------------------------------------------------------------

def test_demo_day_stores_both_methods_loo(spse_home):
    from spse.pipeline import daily as pipeline
    from spse.pipeline import demo, lake

    demo.ensure()
    pipeline.run_day(dt.date(2026, 1, 15))
    validation = lake.read_partition("surface_validation", lake.date_partition(dt.date(2026, 1, 15)))
    methods = validation.groupby("pollutant")["method"].agg(set)
    assert {"idw_p2_background_loo", "model_residual_idw_p2_background_loo"} <= methods["NO2"]
    assert {"idw_p2_background_loo", "model_residual_idw_p2_background_loo"} <= methods["PM10"]
    model_1h = validation[(validation["method"] == "model_residual_idw_p2_background_loo")
                          & (validation["statistic"] == "1h")]
    assert model_1h["loo_rmse"].notna().all() and (model_1h["n_stations"] > 0).all()
