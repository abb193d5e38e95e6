"""Alert rules, affected cells, population and facilities, lifecycle and outbox.

Expected values are worked out by hand in the comments (methods.md W3, W8) on a 3 × 3 block
of 200 m cells; the pinned parameters make the tests independent of [U] register values.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from spse.core import register
from spse.core.config import settings
from spse.core.timebase import day_bounds_utc
from spse.pipeline import alerts, lake
from spse.pipeline.alerts.inputs import AlertInputs
from spse.pipeline.alerts.schema import COLUMNS

DAY = dt.date(2025, 7, 2)  # summer: the local day starts at 22:00 UTC on 1 July
X0, Y0 = 3_760_000, 2_860_000  # SW corner of cell (0, 0), EPSG:3035 [m]


def cell(i: int, j: int) -> str:
    return f"CRS3035RES200mN{Y0 + 200 * j}E{X0 + 200 * i}"


# (i, j): population, 0-5, 65+, persons in poor households
POPULATION = {
    (0, 0): (1000, 50, 100, 100), (1, 0): (200, 10, 40, 30), (2, 0): (100, 5, 25, 10),
    (0, 1): (1000, 50, 100, 100), (1, 1): (500, 30, 80, 120), (2, 1): (300, 20, 50, 60),
    (0, 2): (1000, 50, 100, 100), (1, 2): (1000, 50, 100, 100), (2, 2): (1000, 50, 100, 100),
}
# Traffic station T in cell (1, 1), 150 m east and 60 m north of its SW corner. Within 100 m of
# it: its own cell, the east cell (50 m away), the south cell (60 m) and the south-east cell
# (hypot(50, 60) = 78.1 m); the west cell is 150 m away, the north one 140 m, the north-east
# one hypot(50, 140) = 148.7 m.
TRAFFIC_XY = (X0 + 200 + 150, Y0 + 200 + 60)
TRAFFIC_CELLS = {cell(1, 1), cell(2, 1), cell(1, 0), cell(2, 0)}


@pytest.fixture
def world() -> dict[str, pd.DataFrame]:
    keys = list(POPULATION)
    grid = pd.DataFrame({
        "cell_id": [cell(i, j) for i, j in keys], "x_3035": [X0 + 200 * i for i, _ in keys],
        "y_3035": [Y0 + 200 * j for _, j in keys],
        "population": [float(POPULATION[k][0]) for k in keys], "pop_0_5": [float(POPULATION[k][1]) for k in keys],
        "pop_65p": [float(POPULATION[k][2]) for k in keys],
        "pop_poor_households": [float(POPULATION[k][3]) for k in keys]})
    zone_cells = pd.DataFrame({
        "zone_id": ["75111" if i < 2 else "75112" for i, _ in keys] + ["75113"],
        "cell_id": [cell(i, j) for i, j in keys] + [cell(2, 0)],
        "area_fraction": [1.0] * len(keys) + [0.0]})
    zones = pd.DataFrame({"zone_id": ["75111", "75112", "75113"],
                          "zone_name": ["Paris 11e Arrondissement", "Paris 12e Arrondissement",
                                        "Paris 13e Arrondissement"]})
    facilities = pd.DataFrame({
        "facility_id": ["F1", "F2", "F3", "F4", "F5"],
        "category": ["creche", "ecole_maternelle", "ehpad", "creche", "hospital"],
        "name": ["Crèche Oberkampf", "École maternelle Voltaire", "EHPAD Belleville", "Crèche Nord", "Hôpital Nord"],
        "address": ["12 RUE OBERKAMPF", "6 CITE VOLTAIRE", "30 RUE DE CHARENTON", "2 RUE DU NORD", "1 RUE DU NORD"],
        "postcode": ["75011", "75011", "75012", "75011", "75011"],
        "zone_id": ["75111", "75111", "75112", "75111", "75111"],
        "arrondissement": ["11e arrondissement", "11e arrondissement", "12e arrondissement", "11e arrondissement",
                           "11e arrondissement"],
        "capacity": pd.array([60, None, 84, 40, None], dtype="Int64"),
        "capacity_unit": ["places", None, "beds", "places", None]})
    facility_cells = pd.DataFrame({"facility_id": ["F1", "F2", "F3", "F4", "F5"],
                                   "cell_id": [cell(1, 1), cell(2, 0), cell(2, 0), cell(0, 2), cell(1, 2)]})
    station_cells = pd.DataFrame({
        "station_id": ["FR04TRAF", "FR04BG1", "FR04BG2", "FR04BG3", "FR99FAR"],
        "cell_id": [cell(1, 1), cell(0, 2), cell(0, 0), cell(2, 2), "CRS3035RES200mN2960000E3860000"],
        "x_3035": [TRAFFIC_XY[0], X0 + 100, X0 + 100, X0 + 500, X0 + 100_000],
        "y_3035": [TRAFFIC_XY[1], Y0 + 500, Y0 + 100, Y0 + 500, Y0 + 100_000]})
    return {"grid_cells": grid, "zone_cells": zone_cells, "zones": zones, "facilities": facilities,
            "facility_cells": facility_cells, "station_cells": station_cells}


def params(**overrides: str) -> register.Parameters:
    pinned = {"day_time_base": "Europe/Paris", "round_before_compare": "false",
              "station_footprint_traffic_m": "100", "station_footprint_background_m": "1000",
              "episode_area_km2": "100", "episode_population_share": "0.10",
              "alert_threshold_sets": "FR_R221-1", "alert_min_background_stations": "3",
              # a toy département of the 9 cells (6 100 inhabitants, "large" over 1 000): criterion 10 % = 610
              "episode_department_population": "6100", "episode_large_department_population": "1000"}
    return register.Parameters({**register.parameters(), **pinned, **overrides})


def hourly(station: str, station_class: str, pollutant: str, values: list[float | None],
           first_local_hour: int = 0, day: dt.date = DAY) -> pd.DataFrame:
    """``air_hourly`` rows: consecutive hours from ``first_local_hour`` (local time); None = invalid."""
    start = day_bounds_utc(day)[0] + pd.Timedelta(hours=first_local_hour)
    ts = pd.date_range(start, periods=len(values), freq="h")
    value = pd.array([np.nan if v is None else float(v) for v in values], dtype="float64")
    return pd.DataFrame({"station_id": station, "station_class": station_class, "pollutant": pollutant,
                         "discriminant": "A", "procedure": "Auto", "ts_start_utc": ts,
                         "ts_end_utc": ts + pd.Timedelta(hours=1), "value": value,
                         "is_valid": [v is not None for v in values]})


def daily(rows: list[tuple[str, str, str, float, bool]], statistic: str = "day_mean") -> pd.DataFrame:
    return pd.DataFrame([{"station_id": s, "station_class": c, "date": DAY, "pollutant": p, "statistic": statistic,
                          "value": v, "n_valid": 24 if ok else 10, "n_expected": 24, "coverage": 1.0 if ok else 0.4,
                          "is_valid": ok, "time_base": "Europe/Paris"} for s, c, p, v, ok in rows])


EMPTY_SURFACE_HOURLY = pd.DataFrame(columns=["cell_id", "pollutant", "ts_start_utc", "value", "n_stations"])
EMPTY_SURFACE_DAILY = pd.DataFrame(columns=["cell_id", "date", "pollutant", "statistic", "value", "is_valid"])


def run_evaluate(world, *, station_hourly=None, station_daily=None, surface_hourly=None, surface_daily=None,
                 previous=None, day=DAY, parameters=None, missing=()) -> pd.DataFrame:
    inputs = AlertInputs(
        surface_hourly=EMPTY_SURFACE_HOURLY if surface_hourly is None else surface_hourly,
        surface_daily=EMPTY_SURFACE_DAILY if surface_daily is None else surface_daily,
        station_hourly=hourly("FR04BG1", "background", "NO2", [20.0]) if station_hourly is None else station_hourly,
        station_daily=daily([]) if station_daily is None else station_daily,
        previous_alerts=previous, missing_inputs=missing, **world)
    return alerts.evaluate(day, inputs, thresholds=register.thresholds(),
                           parameters=params() if parameters is None else parameters,
                           recommendations=alerts.recommendations())


def air(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["kind"] == "air_quality"]


def test_w8_ozone_raises_information_and_first_alert_levels_only(world):
    # methods.md W8: > 180 at least once; longest run > 240 is 3 (245, 250, 248); no 3 h > 300; nothing > 360.
    series = [170, 185, 230, 245, 250, 248, 239, 241, 242, 236]
    out = air(run_evaluate(world, station_hourly=hourly("FR04BG1", "background", "O3", series, 10)))
    assert set(out["level"]) == {"information", "alerte", "alerte_mesures_1"}
    assert (out["value_max"] == 250.0).all()
    assert set(out["basis"]) == {"station"}
    first = out.set_index("level").loc["alerte_mesures_1"]
    assert first["threshold_value"] == 240.0
    assert json.loads(first["triggered_by"])["stations"][0]["longest_run_h"] == 3
    info = json.loads(out.set_index("level").loc["information", "triggered_by"])
    assert info["stations"][0]["longest_run_h"] == 9  # 185 … 236


def test_w3_pm10_day_mean_of_50_does_not_alert_but_50_4167_does(world):
    at_50 = run_evaluate(world, station_daily=daily([("FR04BG1", "background", "PM10", 50.0, True)]))
    assert air(at_50).empty
    # W3 D4: 23 × 50 + 1 × 60 → 50.4167 > 50: information, not alerte (80)
    above = air(run_evaluate(world, station_daily=daily([("FR04BG1", "background", "PM10", 50.4167, True)])))
    assert list(above["level"]) == ["information"]
    assert above.iloc[0]["averaging"] == "day_mean"
    invalid = run_evaluate(world, station_daily=daily([("FR04BG1", "background", "PM10", 90.0, False)]))
    assert air(invalid).empty
    rounded = run_evaluate(world, station_daily=daily([("FR04BG1", "background", "PM10", 50.4167, True)]),
                           parameters=params(round_before_compare="true"))
    assert air(rounded).empty  # 50.4167 rounds to 50, not > 50


def test_no2_at_traffic_station_affects_its_cell_and_cells_within_100_m(world):
    frame = pd.concat([hourly("FR04TRAF", "traffic", "NO2", [150, 212, 180], 8),
                       hourly("FR99FAR", "traffic", "NO2", [500, 510, 520, 530], 8)])  # outside the zones
    out = air(run_evaluate(world, station_hourly=frame))
    assert len(out) == 1
    alert = out.iloc[0]
    assert (alert["pollutant"], alert["level"], alert["set_id"]) == ("NO2", "information", "FR_R221-1")
    assert alert["value_max"] == 212.0 and alert["basis"] == "station" and alert["station_ids"] == "FR04TRAF"
    assert alert["n_cells"] == len(TRAFFIC_CELLS) == 4
    assert alert["area_km2"] == pytest.approx(0.16)
    # cells (1,1), (2,1), (1,0), (2,0): 500 + 300 + 200 + 100; 30 + 20 + 10 + 5; 80 + 50 + 40 + 25; 120 + 60 + 30 + 10
    assert alert["population_total"] == pytest.approx(1100.0)
    assert alert["pop_0_5"] == pytest.approx(65.0)
    assert alert["pop_65p"] == pytest.approx(195.0)
    assert alert["pop_poor_households"] == pytest.approx(220.0)
    assert alert["zone_ids"] == "75111,75112"  # 75113 touches (2, 0) with area fraction 0
    assert alert["zone_names"] == "Paris 11e Arrondissement, Paris 12e Arrondissement"
    assert alert["facility_count"] == 3 and alert["facility_ids"] == "F1,F2,F3"
    assert json.loads(alert["facilities_by_category"]) == {"creche": 1, "ecole_maternelle": 1, "ehpad": 1}
    # F1 is the only crèche of the affected cells: its 60 places; F4 (40 places) is outside them
    assert (alert["children_in_creches"], alert["creches_without_capacity"]) == (60, 0)
    listed = json.loads(alert["facilities"])
    assert [(f["name"], f["capacity"]) for f in listed] == [
        ("Crèche Oberkampf", 60), ("École maternelle Voltaire", None), ("EHPAD Belleville", 84)]
    # a traffic station alone is a local exceedance: no procedure, whatever the people in its footprint
    assert alert["alert_type"] == "local_exceedance" and alert["label"].startswith("Dépassement local")
    assert not bool(alert["meets_episode_criteria"])
    met = {c["name"]: c["met"] for c in json.loads(alert["criteria"])}
    assert met["background_situation"] is False and met["population"] is False
    assert alert["population_exposed"] == pytest.approx(1100.0)
    assert "Population générale" not in alert["recommendation"]
    assert "Personnes vulnérables" not in alert["recommendation"]
    assert "aucune procédure préfectorale" in alert["recommendation"]
    stations = json.loads(alert["triggered_by"])["stations"]
    assert stations[0]["hours_local"] == ["2025-07-02T09:00+02:00"]  # 212 at the 2nd hour from 08:00 (CEST)
    assert alert["cell_ids"] == ",".join(sorted(TRAFFIC_CELLS))


def test_run_constants_keep_the_footprints_of_each_set_of_stations(world):
    # one RunConstants for two days with other stations: the second day's background station must
    # get its own footprint (a cache keyed on nothing would leave it out of scope and raise nothing)
    from spse.pipeline.alerts.evaluate import RunConstants, raise_observed

    parameters, thresholds = params(), register.thresholds()
    constants = RunConstants(thresholds, parameters, world["grid_cells"], world["zone_cells"],
                             world["station_cells"])
    traffic = hourly("FR04TRAF", "traffic", "NO2", [150, 212, 180], 8)
    background = hourly("FR04BG1", "background", "NO2", [150, 212, 180], 8)
    raised = {}
    for name, frame in (("traffic", traffic), ("background", background), ("traffic again", traffic)):
        inputs = AlertInputs(surface_hourly=EMPTY_SURFACE_HOURLY, surface_daily=EMPTY_SURFACE_DAILY,
                             station_hourly=frame, station_daily=daily([]), **world)
        kept = raise_observed(DAY, inputs, thresholds=thresholds, parameters=parameters,
                              recommendations=alerts.recommendations(), constants=constants)
        fresh = raise_observed(DAY, inputs, thresholds=thresholds, parameters=parameters,
                               recommendations=alerts.recommendations())
        pd.testing.assert_frame_equal(kept, fresh)
        raised[name] = air(kept).set_index("alert_type")
    assert raised["traffic"].loc["local_exceedance", "cell_ids"] == ",".join(sorted(TRAFFIC_CELLS))
    # FR04BG1 in cell (0, 2), 1 000 m footprint: every cell of the toy grid
    assert raised["background"].loc["regulatory_episode", "station_ids"] == "FR04BG1"
    assert raised["background"].loc["regulatory_episode", "n_cells"] == len(POPULATION)
    assert constants.covered_km2 == pytest.approx(len(POPULATION) * 0.04)


def test_three_hour_rule_needs_three_consecutive_valid_hours(world):
    two_and_two = hourly("FR04TRAF", "traffic", "NO2", [410, 420, 150, 430, 405], 12)
    out = air(run_evaluate(world, station_hourly=two_and_two))
    assert list(out["level"]) == ["information"]  # 400 × 3 h not met by runs of 2
    gap = hourly("FR04TRAF", "traffic", "NO2", [410, 420, None, 430], 12)
    assert list(air(run_evaluate(world, station_hourly=gap))["level"]) == ["information"]
    three = hourly("FR04TRAF", "traffic", "NO2", [150, 410, 420, 430], 12)
    assert set(air(run_evaluate(world, station_hourly=three))["level"]) == {"information", "alerte"}


def test_only_the_hours_of_the_local_day_count(world):
    # 22:00 UTC on 2 July is 00:00 on 3 July in Paris (CEST): not part of 2 July.
    start_next_day = day_bounds_utc(DAY)[1]
    frame = hourly("FR04TRAF", "traffic", "NO2", [20.0], 0)
    late = frame.assign(ts_start_utc=start_next_day, value=250.0)
    assert air(run_evaluate(world, station_hourly=pd.concat([frame, late]))).empty
    early = frame.assign(value=250.0)  # 22:00 UTC on 1 July = 00:00 local on 2 July
    assert len(air(run_evaluate(world, station_hourly=early))) == 1


def test_surface_cells_and_station_footprint_are_united(world):
    ts = day_bounds_utc(DAY)[0] + pd.Timedelta(hours=14)
    surface = pd.DataFrame({"cell_id": [cell(0, 2), cell(1, 2), cell(2, 2)], "pollutant": "O3",
                            "ts_start_utc": ts, "value": [190.0, 175.0, 179.0], "n_stations": 3})
    only_surface = air(run_evaluate(world, surface_hourly=surface))
    assert list(only_surface["level"]) == ["information"]
    row = only_surface.iloc[0]
    assert (row["basis"], row["n_cells"], row["value_max"], row["station_ids"]) == ("surface", 1, 190.0, "")
    assert row["population_total"] == 1000.0 and row["facility_ids"] == "F4"
    both = air(run_evaluate(world, surface_hourly=surface,
                            station_hourly=hourly("FR04TRAF", "traffic", "O3", [185.0], 14)))
    row = both.iloc[0]
    # the traffic station is a local exceedance of its own; the regulatory row keeps the surface cell
    kinds = both.set_index("alert_type")
    assert kinds.loc["regulatory_episode", "basis"] == "surface" and kinds.loc["regulatory_episode", "n_cells"] == 1
    local = kinds.loc["local_exceedance"]
    assert (local["basis"], local["n_cells"], local["value_max"]) == ("station", 4, 185.0)
    # 1 000 residents in (0, 2) ≥ 10 % of the toy département's 6 100 = 610: the population criterion is met
    assert bool(kinds.loc["regulatory_episode", "meets_episode_criteria"])
    assert kinds.loc["regulatory_episode", "label"].startswith("Épisode de pollution (procédure préfectorale)")
    daily_surface = pd.DataFrame({"cell_id": [cell(2, 2)], "date": DAY, "pollutant": "PM10",
                                  "statistic": "day_mean", "value": [81.0], "is_valid": True})
    pm = air(run_evaluate(world, surface_daily=daily_surface))
    # 81 > 50 and > 80 (procedure, regulatory) and > 45 (WHO 2021 PM10 day guideline: a health advisory)
    assert sorted(zip(pm["alert_type"], pm["level"], strict=True)) == [
        ("health_advisory", "guideline"), ("regulatory_episode", "alerte"), ("regulatory_episode", "information")]
    assert set(pm["basis"]) == {"surface"}
    advisory = pm.set_index("alert_type").loc["health_advisory"]
    assert (advisory["set_id"], advisory["threshold_value"], advisory["population_exposed"]) == ("WHO_2021", 45.0,
                                                                                              1000.0)
    assert "Population générale" not in advisory["recommendation"] and "OMS" in advisory["recommendation"]
    assert json.loads(advisory["criteria"]) == [] and not advisory["meets_episode_criteria"]
    pm = pm[pm["alert_type"] == "regulatory_episode"]
    assert "intérieur" in pm.set_index("level").loc["alerte", "recommendation"]  # particles, alert level


def test_hourly_surface_read_as_arrays_raises_what_the_long_frame_does(world):
    # the day's surface file as arrays (pollutant × time × cell) and as the long frame give the same rows
    import xarray as xr

    from spse.methods.surfaces import hourly_frame
    from spse.pipeline.alerts.evaluate import raise_observed

    hours = pd.date_range(day_bounds_utc(DAY)[0], periods=24, freq="h")
    cells = [cell(i, j) for i, j in POPULATION]
    values = np.full((2, 24, len(cells)), np.nan, dtype="float32")
    values[0, 14, 6] = 190.0  # O3 > 180 one hour in cell (0, 2)
    values[0, 10:13, 7] = [245.0, 250.0, 248.0]  # O3 > 240 three hours in (1, 2): the first alert level too
    values[0, 9, :] = 100.0
    values[1, 12, 3] = 230.0  # NO2 > 200 in (0, 1)
    grid = xr.Dataset({"value": (("pollutant", "time", "cell"), values),
                       "n_stations": (("pollutant", "time"), np.full((2, 24), 3, dtype="int16"))},
                      coords={"pollutant": ["O3", "NO2"], "time": hours.tz_localize(None).to_numpy(),
                              "cell": np.arange(len(cells), dtype="int32"), "cell_id": ("cell", cells)})
    parameters, thresholds = params(), register.thresholds()
    out = {}
    for name, surface in (("grid", {"surface_grid": grid}), ("frame", {"surface_hourly": hourly_frame(grid)})):
        inputs = AlertInputs(surface_daily=EMPTY_SURFACE_DAILY, station_hourly=hourly("FR04BG1", "background", "NO2",
                                                                                     [20.0]),
                             station_daily=daily([]), **surface, **world)
        out[name] = raise_observed(DAY, inputs, thresholds=thresholds, parameters=parameters,
                                   recommendations=alerts.recommendations())
    pd.testing.assert_frame_equal(out["grid"], out["frame"])
    regulatory = air(out["grid"])
    regulatory = regulatory[regulatory["alert_type"] == "regulatory_episode"].set_index(["pollutant", "level"])
    assert regulatory.loc[("O3", "information"), "cell_ids"] == ",".join(sorted([cell(0, 2), cell(1, 2)]))
    assert regulatory.loc[("O3", "information"), "value_max"] == 250.0
    assert regulatory.loc[("O3", "alerte_mesures_1"), "cell_ids"] == cell(1, 2)
    assert regulatory.loc[("NO2", "information"), "cell_ids"] == cell(0, 1)


def test_data_quality_alerts(world):
    two_valid = daily([("FR04BG1", "background", "PM10", 20.0, True), ("FR04BG2", "background", "PM10", 22.0, True),
                       ("FR04BG3", "background", "PM10", 25.0, False), ("FR04TRAF", "traffic", "PM10", 30.0, True)])
    out = run_evaluate(world, station_daily=two_valid, missing=["noise_hourly"])
    dq = out[out["kind"] == "data_quality"].set_index("set_id")
    assert (dq["level"] == "data_quality").all()
    stations = dq.loc["DQ_BACKGROUND_STATIONS"]
    stations = stations[stations["pollutant"] == "PM10"].iloc[0]
    assert (stations["value_max"], stations["threshold_value"]) == (2.0, 3.0)
    assert json.loads(stations["triggered_by"])["valid_background_stations"] == ["FR04BG1", "FR04BG2"]
    assert dq.loc["DQ_MISSING_PARTITION", "pollutant"] == "noise_hourly"
    three_valid = daily([("FR04BG1", "background", "PM10", 20.0, True), ("FR04BG2", "background", "PM10", 22.0, True),
                         ("FR04BG3", "background", "PM10", 25.0, True)])
    out = run_evaluate(world, station_daily=three_valid)
    assert not ((out["set_id"] == "DQ_BACKGROUND_STATIONS") & (out["pollutant"] == "PM10")).any()


def test_schema_ids_and_determinism(world):
    frame = hourly("FR04TRAF", "traffic", "NO2", [212.0], 8)
    first = run_evaluate(world, station_hourly=frame)
    assert list(first.columns) == COLUMNS
    assert first["alert_id"].is_unique
    pd.testing.assert_frame_equal(first, run_evaluate(world, station_hourly=frame))
    row = air(first).iloc[0]
    assert row["alert_id"] == alerts.alert_id(DAY, "NO2", "information", "FR_R221-1",
                                              alert_type="local_exceedance")
    assert row["alert_id"] != alerts.alert_id(DAY, "NO2", "information", "FR_R221-1")  # the regulatory one's
    assert row["date"] == DAY and row["time_base"] == "Europe/Paris"


def test_lifecycle_opened_ongoing_closed(world):
    d1, d2, d3 = DAY, DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=2)
    day1 = run_evaluate(world, day=d1, station_hourly=hourly("FR04TRAF", "traffic", "NO2", [212.0], 8, d1))
    day2 = run_evaluate(world, day=d2, previous=day1,
                        station_hourly=hourly("FR04TRAF", "traffic", "NO2", [230.0], 9, d2))
    enough = daily([(s, "background", "NO2", 30.0, True) for s in ("FR04BG1", "FR04BG2", "FR04BG3")])
    day3 = run_evaluate(world, day=d3, previous=day2, station_daily=enough,
                        station_hourly=hourly("FR04TRAF", "traffic", "NO2", [90.0], 9, d3))
    a1, a2, a3 = (air(d).set_index("level").loc["information"] for d in (day1, day2, day3))
    assert (a1["status"], a1["episode_start_date"]) == ("opened", d1)
    assert (a2["status"], a2["episode_start_date"], a2["date"]) == ("ongoing", d1, d2)
    assert (a3["status"], a3["episode_start_date"], a3["date"]) == ("closed", d1, d3)
    assert a3["population_total"] == 0.0 and a3["alert_id"] == alerts.alert_id(d3, "NO2", "information", "FR_R221-1",
                                                                             alert_type="local_exceedance")
    assert "Fin de l'épisode" in a3["recommendation"]
    # too few background stations on days 1 and 2 (a data-quality alert), enough on day 3: not "closed"
    assert list(day2.loc[day2["kind"] == "data_quality", "status"]) == ["ongoing"]
    assert (day3["kind"] == "air_quality").all()
    day4 = run_evaluate(world, day=d3 + dt.timedelta(days=1), previous=day3,
                        station_hourly=hourly("FR04TRAF", "traffic", "NO2", [90.0], 9, d3 + dt.timedelta(days=1)))
    assert air(day4).empty  # a closed alert is not closed again


def write_lake(world: dict[str, pd.DataFrame], day: dt.date, air_rows: pd.DataFrame) -> None:
    for name, frame in world.items():
        lake.write_partition(name, "vintage=current", frame)
    part = lake.date_partition(day)
    lake.write_partition("air_hourly", part, air_rows)
    lake.write_partition("noise_hourly", part, pd.DataFrame({"site_id": ["S1"], "laeq_dba": [60.0]}))
    lake.write_partition("station_daily", part, daily([(s, "background", "NO2", 30.0, True)
                                                       for s in ("FR04BG1", "FR04BG2", "FR04BG3")]))


def test_run_writes_partition_and_outbox_and_rerun_replaces(world, spse_home):
    write_lake(world, DAY, hourly("FR04TRAF", "traffic", "NO2", [212.0], 8))
    out = alerts.run(DAY)
    assert list(out["kind"]) == ["air_quality"]
    folder = settings().outbox / "alerts" / DAY.isoformat()
    stale = folder / "0000000000000000.json"
    stale.write_text("{}")
    again = alerts.run(DAY)
    assert list(again["alert_id"]) == list(out["alert_id"])
    stored = lake.read_partition("alerts", lake.date_partition(DAY))
    assert len(stored) == len(out) == 1
    files = sorted(folder.glob("*.json"))
    assert [f.stem for f in files] == [f"{i}-v1" for i in out["alert_id"]]  # one file per alert and version
    note = json.loads(files[0].read_text())
    assert (note["pollutant"], note["level"], note["value"], note["status"]) == ("NO2", "information", 212.0, "opened")
    assert note["threshold"]["value"] == 200.0 and "R221-1" in note["threshold"]["reference"]
    assert note["population"] == {"total": 1100.0, "age_0_5": 65.0, "age_65_plus": 195.0, "poor_households": 220.0}
    assert [f["facility_id"] for f in note["facilities"]] == ["F1", "F2", "F3"]
    assert note["facilities"][0] == {
        "facility_id": "F1", "name": "Crèche Oberkampf", "category": "creche", "address": "12 RUE OBERKAMPF",
        "postcode": "75011", "zone_id": "75111", "arrondissement": "11e arrondissement", "capacity": 60,
        "capacity_unit": "places"}
    assert (note["children_in_creches"]["places"], note["children_in_creches"]["creches_without_capacity"]) == (
        60, 0)
    assert [z["zone_name"] for z in note["zones"]] == ["Paris 11e Arrondissement", "Paris 12e Arrondissement"]
    assert note["recommendation"].startswith("Établissements sensibles")  # a local exceedance: no public message
    assert (note["alert_type"], note["version"]) == ("local_exceedance", 1)
    assert note["station_hours"][0]["hours_local"] == ["2025-07-02T08:00+02:00"]
    assert note["population_exposed"]["persons"] == 1100.0 and note["population_exposed"]["definition"]


def test_run_lifecycle_through_the_lake(world, spse_home):
    d2 = DAY + dt.timedelta(days=1)
    write_lake(world, DAY, hourly("FR04TRAF", "traffic", "NO2", [212.0], 8))
    write_lake(world, d2, hourly("FR04TRAF", "traffic", "NO2", [50.0], 8, d2))
    alerts.run(DAY)
    second = alerts.run(d2)
    assert list(second["status"]) == ["closed"]
    assert [p.stem for p in (settings().outbox / "alerts" / d2.isoformat()).glob("*.json")] == \
        [f"{i}-v1" for i in second["alert_id"]]


def test_recommendation_register_is_complete():
    recs = alerts.recommendations()
    assert set(recs["audience"]) == {"vulnerable", "general", "facilities"}
    assert set(recs["status"]) <= {"C", "C2", "U"}
    assert (recs["reference"].str.len() > 10).all()
    for level in ("information", "alerte", "closed", "data_quality"):
        assert (recs["level"] == level).any()


def test_alert_inputs_name_the_input_that_lacks_columns(world):
    with pytest.raises(ValueError, match=r"input station_hourly \(lake dataset air_hourly\) lacks columns "
                                         r"\['station_class', 'pollutant', 'ts_start_utc', 'value', 'is_valid'\]"):
        AlertInputs(station_hourly=pd.DataFrame({"station_id": ["FR04BG1"]}), **world)
    with pytest.raises(ValueError, match=r"input forecast_daily \(lake dataset forecast_cell_daily\) lacks columns "
                                         r"\['base_time_utc', 'lead_day'\]"):
        AlertInputs(forecast_daily=pd.DataFrame({c: [1] for c in ("cell_id", "date", "pollutant", "statistic",
                                                                  "value", "is_valid")}), **world)


def test_alert_inputs_without_a_partition_are_empty_with_their_columns(world):
    inputs = AlertInputs(**world, missing_inputs=["noise_hourly"])
    assert inputs.surface_daily.empty
    assert list(inputs.surface_daily.columns) == ["cell_id", "pollutant", "statistic", "value", "is_valid"]
    assert inputs.forecast_daily.empty and "lead_day" in inputs.forecast_daily.columns
    assert inputs.grid_cells is world["grid_cells"] and inputs.previous_alerts is None
    assert inputs.missing_inputs == ("noise_hourly",) and inputs.input_problems == ()
    with pytest.raises(AttributeError):
        inputs.zones = pd.DataFrame()  # type: ignore[misc]


def test_alert_inputs_from_lake(world, spse_home):
    write_lake(world, DAY, hourly("FR04TRAF", "traffic", "NO2", [212.0, 190.0], 8))
    inputs = AlertInputs.from_lake(DAY)
    # two hours of one station; the three background stations' day means; the 3 × 3 grid
    assert sorted(inputs.station_hourly["value"]) == [190.0, 212.0]
    assert sorted(inputs.station_daily["station_id"]) == ["FR04BG1", "FR04BG2", "FR04BG3"]
    assert len(inputs.grid_cells) == 9 and len(inputs.zones) == 3 and len(inputs.facilities) == 5
    assert inputs.surface_hourly.empty and inputs.forecast_daily.empty and inputs.previous_alerts.empty
    assert "air_hourly" not in inputs.missing_inputs


def test_alert_inputs_from_lake_need_the_grid(spse_home):
    with pytest.raises(FileNotFoundError, match="'grid_cells' has no partition"):
        AlertInputs.from_lake(DAY)


def test_facilities_most_sensitive_first_and_children_in_creches():
    from spse.pipeline.alerts import impact

    affected = pd.DataFrame({"rule": [0, 0, 1], "cell_id": ["A", "B", "C"]})
    facilities = pd.DataFrame({
        "facility_id": ["a-college", "b-ehpad", "c-creche", "d-creche", "e-maternelle", "f-creche", "g-pmi"],
        "category": ["college", "ehpad", "creche", "creche", "ecole_maternelle", "creche", "pmi"],
        "name": ["Collège Ravel", "EHPAD Didot", "Crèche Tandou", "Crèche Alésia", "Maternelle Lepic",
                 "Crèche sans places", "PMI Crimée"],
        "capacity": pd.array([600, 84, 66, 45, 120, None, None], dtype="Int64")})
    cells = pd.DataFrame({"facility_id": facilities["facility_id"], "cell_id": ["A", "A", "B", "A", "B", "B", "C"]})
    out = impact._facilities(affected, cells, facilities, ["creche", "pmi", "ecole_maternelle", "ehpad", "college"])
    rule0 = out.set_index("rule").loc[0]
    names = [f["name"] for f in json.loads(rule0["facilities"])]
    # crèches first (by name: Alésia, sans places, Tandou), then maternelle, EHPAD, collège
    assert names == ["Crèche Alésia", "Crèche sans places", "Crèche Tandou", "Maternelle Lepic", "EHPAD Didot",
                     "Collège Ravel"]
    # 45 + 66 places; the crèche without a capacity is counted apart
    assert (rule0["children_in_creches"], rule0["creches_without_capacity"]) == (111, 1)
    assert rule0["facility_ids"] == "a-college,b-ehpad,c-creche,d-creche,e-maternelle,f-creche"
    rule1 = out.set_index("rule").loc[1]
    assert (rule1["children_in_creches"], rule1["creches_without_capacity"]) == (0, 0)
    assert json.loads(rule1["facilities"])[0]["capacity"] is None
    # the register order ranks the PMI before the maternelle; an unknown id comes last with empty fields
    details = impact.facility_details("e-maternelle,zz,g-pmi", facilities)
    assert [d["facility_id"] for d in details] == ["g-pmi", "e-maternelle", "zz"]
    assert details[2] == dict.fromkeys(impact.FACILITY_FIELDS) | {"facility_id": "zz"}
    # a located facility missing from the list: category "unknown" (after the ranked ones), fields empty
    located = pd.concat([cells, pd.DataFrame({"facility_id": ["zz"], "cell_id": ["C"]})], ignore_index=True)
    rule1 = impact._facilities(affected, located, facilities, ["creche", "pmi"]).set_index("rule").loc[1]
    assert [f["facility_id"] for f in json.loads(rule1["facilities"])] == ["g-pmi", "zz"]
    assert json.loads(rule1["facilities"])[1] == dict.fromkeys(impact.FACILITY_FIELDS) | {"facility_id": "zz",
                                                                                          "category": "unknown"}
    assert json.loads(rule1["facilities_by_category"]) == {"pmi": 1, "unknown": 1}



def test_as_read_gives_what_the_lake_reads_back(spse_home):
    from spse.pipeline.alerts.evaluate import with_defaults
    from spse.pipeline.alerts.schema import as_read, conform, storage_frame

    row = {"alert_id": "x", "date": DAY, "kind": "air_quality", "pollutant": "O3", "level": "information",
           "set_id": "FR_R221-1", "status": "opened", "time_base": "Europe/Paris", "threshold_value": 180.0,
           "n_cells": 3, "meets_episode_criteria": True, "episode_start_date": DAY}
    for rows in ([row, {**row, "alert_id": "y", "threshold_value": None}], []):
        stored = storage_frame(conform(with_defaults(pd.DataFrame(rows))))
        lake.write_partition("alerts", lake.date_partition(DAY), stored)
        pd.testing.assert_frame_equal(as_read(stored), lake.read_days("alerts", [DAY]))


def test_present_values_match_present_column_by_column():
    from spse.pipeline.alerts.schema import present, present_values

    frame = pd.DataFrame({"text": pd.array(["a", None, "c"], dtype="str"),
                          "number": [1.5, np.nan, 3.0],
                          "count": pd.array([1, None, 3], dtype="Int64"),
                          "when": pd.to_datetime(["2025-07-02", None, "2025-07-03"]),
                          "day": [DAY, None, DAY],
                          "mixed": ["x", pd.NA, 2.0]})
    values = present_values(frame)
    assert values.shape == (3, 6)
    for i, name in enumerate(frame.columns):
        assert list(values[:, i]) == present(frame[name])
    assert [values[1, i] for i in range(6)] == [None] * 6
    assert present_values(frame.iloc[0:0]).shape == (0, 6)
