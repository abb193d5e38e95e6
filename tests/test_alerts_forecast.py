"""Forecast alerts for J and J+1 and the persistence rules (methods.md §1.2, §1.3, W8).

Small hand-made ``forecast_cell_daily`` frames on three 200 m cells; expected values are the
worked example W8 and hand counts in the comments, never the code's own output.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pandas as pd
import pytest

from spse.core import register
from spse.core.config import settings
from spse.pipeline import alerts, lake
from spse.pipeline.alerts import lifecycle
from spse.pipeline.alerts.forecast import evaluate_forecast
from spse.pipeline.alerts.inputs import AlertInputs

J = dt.date(2026, 1, 16)  # run day: the run at 06:00 on J evaluates the observed day J-1
OBSERVED_DAY = J - dt.timedelta(days=1)
BASE = pd.Timestamp("2026-01-15 00:00", tz="UTC")
A, B, C, OUTSIDE = ("CRS3035RES200mN2880000E3760000", "CRS3035RES200mN2880000E3760200",
                    "CRS3035RES200mN2880200E3760000", "CRS3035RES200mN2990000E3990000")
POP = {A: (1000.0, 50.0, 100.0, 100.0), B: (500.0, 30.0, 80.0, 120.0), C: (200.0, 10.0, 40.0, 30.0),
       OUTSIDE: (0.0, 0.0, 0.0, 0.0)}


@pytest.fixture
def world() -> dict[str, pd.DataFrame]:
    cells = list(POP)
    return {
        "grid_cells": pd.DataFrame({"cell_id": cells, "x_3035": 0, "y_3035": 0,
                                    "population": [POP[c][0] for c in cells], "pop_0_5": [POP[c][1] for c in cells],
                                    "pop_65p": [POP[c][2] for c in cells],
                                    "pop_poor_households": [POP[c][3] for c in cells]}),
        # OUTSIDE is a station cell beyond the crosswalk (a forecast there raises no Paris alert)
        "zone_cells": pd.DataFrame({"zone_id": ["75119", "75119", "75120"], "cell_id": [A, B, C],
                                    "area_fraction": [1.0, 1.0, 1.0]}),
        "zones": pd.DataFrame({"zone_id": ["75119", "75120"],
                               "zone_name": ["Paris 19e Arrondissement", "Paris 20e Arrondissement"]}),
        "facilities": pd.DataFrame({"facility_id": ["F1", "F2"], "category": ["creche", "ehpad"],
                                    "name": ["Crèche Nord", "EHPAD Est"]}),
        "facility_cells": pd.DataFrame({"facility_id": ["F1", "F2"], "cell_id": [A, C]}),
        "station_cells": pd.DataFrame({"station_id": ["FR04BG1"], "cell_id": [A], "x_3035": [3_760_100],
                                       "y_3035": [2_880_100]}),
    }


def params(**overrides: str) -> register.Parameters:
    # a toy département of the three cells A, B, C: 1 700 inhabitants, over the pinned 1 000 of a "large" one,
    # so its population criterion is 10 % × 1 700 = 170 inhabitants (cell A alone, 1 000, meets it)
    pinned = {"day_time_base": "Europe/Paris", "round_before_compare": "false", "episode_area_km2": "100",
              "episode_population_share": "0.10", "alert_threshold_sets": "FR_R221-1",
              "episode_department_population": "1700", "episode_large_department_population": "1000"}
    return register.Parameters({**register.parameters(), **pinned, **overrides})


def forecast(values: dict[tuple[str, str, str, int], float], valid: bool = True) -> pd.DataFrame:
    """``forecast_cell_daily`` rows from {(cell, pollutant, statistic, lead_day): value}."""
    rows = [{"cell_id": cell, "date": J + dt.timedelta(days=lead), "pollutant": pollutant, "statistic": statistic,
             "value": value, "n_valid": 24, "n_expected": 24, "coverage": 1.0, "is_valid": valid,
             "time_base": "Europe/Paris", "base_time_utc": BASE, "lead_day": lead}
            for (cell, pollutant, statistic, lead), value in values.items()]
    return pd.DataFrame(rows)


def pm10(j: dict[str, float], j1: dict[str, float]) -> pd.DataFrame:
    values = {(cell, "PM10", "day_mean", 0): v for cell, v in j.items()}
    values.update({(cell, "PM10", "day_mean", 1): v for cell, v in j1.items()})
    return forecast(values)


def run(world, frame, observed=None, **overrides) -> pd.DataFrame:
    reference = {k: v for k, v in world.items() if k != "station_cells"}
    return evaluate_forecast(J, AlertInputs(forecast_daily=frame, **reference), observed=observed,
                             thresholds=register.thresholds(), parameters=params(**overrides),
                             recommendations=alerts.recommendations())


def keyed(out: pd.DataFrame) -> dict[tuple[dt.date, str, str], pd.Series]:
    return {(row["date"], row["pollutant"], row["level"]): row for _, row in out.iterrows()}


def test_w8_pm10_forecast_55_then_52_is_an_alert_on_persistence(world):
    out = run(world, pm10({A: 55.0, B: 40.0}, {A: 52.0, B: 40.0}))
    got = keyed(out)
    assert set(got) == {(J, "PM10", "information"), (J + dt.timedelta(days=1), "PM10", "information"),
                        (J, "PM10", "alerte_persistance")}
    assert (out["kind"] == "forecast").all() and (out["basis"] == "forecast").all()
    assert (out["status"] == "opened").all() and (out["station_ids"] == "").all()
    today, tomorrow = got[(J, "PM10", "information")], got[(J + dt.timedelta(days=1), "PM10", "information")]
    assert (today["value_max"], tomorrow["value_max"]) == (55.0, 52.0)
    assert today["threshold_value"] == 50.0 and today["averaging"] == "day_mean"
    # only cell A exceeds: 1 cell, 0.04 km², its 1000 residents (50 aged 0-5, 100 aged 65+), the crèche F1
    assert (today["n_cells"], today["area_km2"], today["population_total"]) == (1, pytest.approx(0.04), 1000.0)
    assert (today["pop_0_5"], today["pop_65p"], today["zone_ids"]) == (50.0, 100.0, "75119")
    assert today["facility_ids"] == "F1" and json.loads(today["facilities_by_category"]) == {"creche": 1}
    trigger = json.loads(tomorrow["triggered_by"])
    assert trigger["forecast"]["base_time_utc"] == "2026-01-15T00:00:00+00:00"
    assert trigger["forecast"]["lead_day"] == 1 and trigger["forecast"]["date"] == "2026-01-17"
    persist = got[(J, "PM10", "alerte_persistance")]
    assert persist["averaging"] == "day_mean_persistence" and persist["threshold_value"] == 50.0
    assert persist["value_max"] == 52.0  # the level forecast on both days: min(55, 52)
    assert persist["episode_start_date"] == J and persist["n_cells"] == 1
    assert "persistance" in persist["recommendation"]
    assert json.loads(persist["triggered_by"])["persistence"]["days"] == ["2026-01-16", "2026-01-17"]


def test_w8_pm10_tomorrow_48_is_information_only(world):
    out = run(world, pm10({A: 55.0}, {A: 48.0}))
    assert list(zip(out["date"], out["pollutant"], out["level"], strict=True)) == [(J, "PM10", "information")]


def test_forecast_of_exactly_the_threshold_raises_nothing(world):
    assert run(world, pm10({A: 50.0, B: 50.0}, {A: 50.0, B: 50.0})).empty


def test_persistence_needs_a_common_cell(world):
    # A above on J only, B above on J+1 only: each day has its information alert, no persistence
    out = run(world, pm10({A: 60.0, B: 45.0}, {A: 45.0, B: 60.0}))
    assert sorted(out["level"]) == ["information", "information"]
    # the persistence cells are those above on both days: A and C, not B
    out = run(world, pm10({A: 60.0, B: 70.0, C: 51.0}, {A: 58.0, B: 49.0, C: 53.0}))
    persist = keyed(out)[(J, "PM10", "alerte_persistance")]
    assert persist["n_cells"] == 2 and persist["population_total"] == 1200.0
    assert persist["value_max"] == 58.0  # A: min(60, 58) = 58, C: min(51, 53) = 51
    assert persist["zone_ids"] == "75119,75120"


def test_invalid_days_and_cells_outside_the_crosswalk_are_ignored(world):
    assert run(world, forecast({(A, "PM10", "day_mean", 0): 70.0}, valid=False)).empty
    assert run(world, pm10({OUTSIDE: 90.0}, {OUTSIDE: 90.0})).empty


def test_hourly_thresholds_use_the_forecast_daily_maximum(world):
    values = {(A, "O3", "day_max_1h", 0): 185.0, (A, "O3", "day_max_1h", 1): 190.0,
              (B, "O3", "day_max_1h", 0): 250.0, (B, "O3", "day_max_1h", 1): 170.0,
              (A, "O3", "day_mean", 0): 300.0,  # not the statistic of a 1 h rule
              (A, "SO2", "day_max_1h", 0): 300.0, (A, "NO2", "day_max_1h", 1): 200.5}
    got = keyed(run(world, forecast(values)))
    d1 = J + dt.timedelta(days=1)
    # O3 information 180 (J: A 185, B 250; J+1: A 190), O3 alerte 240 (1 h, J: B 250); the 3-hour rule
    # alerte_mesures_1 (240 for 3 h) is not decided by a daily maximum; SO2 300 not exceeded (strict);
    # NO2 200 exceeded on J+1; O3 persistence over A (185 and 190 both above 180)
    assert set(got) == {(J, "O3", "information"), (d1, "O3", "information"), (J, "O3", "alerte"),
                        (d1, "NO2", "information"), (J, "O3", "alerte_persistance")}
    assert got[(J, "O3", "information")]["value_max"] == 250.0
    assert got[(J, "O3", "alerte")]["n_cells"] == 1
    assert got[(J, "O3", "alerte_persistance")]["value_max"] == 185.0


def observed_no2_information(status: str = "opened", alert_type: str = "regulatory_episode",
                             meets: bool = True) -> pd.DataFrame:
    return pd.DataFrame([{"alert_id": alerts.alert_id(OBSERVED_DAY, "NO2", "information", "FR_R221-1"),
                          "date": OBSERVED_DAY, "kind": "air_quality", "pollutant": "NO2", "level": "information",
                          "set_id": "FR_R221-1", "averaging": "1h", "threshold_value": 200.0, "value_max": 212.0,
                          "status": status, "alert_type": alert_type, "meets_episode_criteria": meets}])


def test_w8_no2_persistence_lowers_the_alert_threshold_to_200(world):
    no2 = forecast({(A, "NO2", "day_max_1h", 0): 205.0, (A, "NO2", "day_max_1h", 1): 215.0})
    got = keyed(run(world, no2, observed=observed_no2_information()))
    persist = got[(J, "NO2", "alerte_persistance")]
    assert persist["threshold_value"] == 200.0 and persist["value_max"] == 205.0
    trigger = json.loads(persist["triggered_by"])
    assert trigger["persistence"]["alert_threshold_on_persistence"] == 200.0
    assert trigger["persistence"]["days"] == ["2026-01-15", "2026-01-16", "2026-01-17"]
    assert [a["date"] for a in trigger["persistence"]["observed_alerts"]] == ["2026-01-15"]
    assert "abaissé" in persist["recommendation"]


def test_no2_persistence_needs_the_observed_day_and_both_forecast_days(world):
    no2 = forecast({(A, "NO2", "day_max_1h", 0): 205.0, (A, "NO2", "day_max_1h", 1): 215.0})
    assert (J, "NO2", "alerte_persistance") not in keyed(run(world, no2))
    assert (J, "NO2", "alerte_persistance") not in keyed(run(world, no2, observed_no2_information("closed")))
    # the information procedure of J-1 is a regulatory episode meeting its criteria, not a traffic-station peak
    local = observed_no2_information(alert_type="local_exceedance", meets=False)
    assert (J, "NO2", "alerte_persistance") not in keyed(run(world, no2, local))
    assert (J, "NO2", "alerte_persistance") not in keyed(run(world, no2, observed_no2_information(meets=False)))
    not_tomorrow = forecast({(A, "NO2", "day_max_1h", 0): 205.0, (A, "NO2", "day_max_1h", 1): 190.0})
    assert (J, "NO2", "alerte_persistance") not in keyed(run(world, not_tomorrow, observed_no2_information()))


def test_rounding_parameter_applies_to_forecasts(world):
    frame = pm10({A: 50.4}, {A: 50.6})
    assert len(run(world, frame)) == 3  # unrounded: both above 50
    out = run(world, frame, round_before_compare="true")  # rounded: 50 and 51
    assert list(zip(out["date"], out["level"], strict=True)) == [(J + dt.timedelta(days=1), "information")]


def test_forecast_ids_never_collide_with_observed_ids():
    observed_text = f"{J.isoformat()}|PM10|information|FR_R221-1"
    # observed (and data-quality) ids keep their original text
    assert alerts.alert_id(J, "PM10", "information", "FR_R221-1") == \
        hashlib.sha256(observed_text.encode()).hexdigest()[:16]
    assert alerts.alert_id(J, "PM10", "information", "FR_R221-1", "air_quality") == \
        alerts.alert_id(J, "PM10", "information", "FR_R221-1")
    forecast_id = alerts.alert_id(J, "PM10", "information", "FR_R221-1", "forecast")
    assert forecast_id == hashlib.sha256(f"{observed_text}|forecast".encode()).hexdigest()[:16]
    assert forecast_id != alerts.alert_id(J, "PM10", "information", "FR_R221-1")


def test_forecast_rows_do_not_enter_the_observed_lifecycle():
    recs = alerts.recommendations()
    base = {"pollutant": "PM10", "level": "information", "set_id": "FR_R221-1", "averaging": "day_mean",
            "threshold_value": 50.0, "unit": "µg/m³", "time_base": "Europe/Paris"}
    previous = pd.DataFrame([{**base, "kind": "forecast", "date": OBSERVED_DAY, "status": "opened",
                              "episode_start_date": OBSERVED_DAY}])
    day = OBSERVED_DAY + dt.timedelta(days=1)
    # an observed alert the day after a forecast one opens a new episode: the forecast did not make it ongoing
    raised = pd.DataFrame([{**base, "kind": "air_quality", "date": day, "episode_start_date": None}])
    out = lifecycle.apply(day, raised, previous, recs)
    assert list(out["status"]) == ["opened"] and out["episode_start_date"].iloc[0] == day
    # and a forecast not re-issued is not closed
    assert lifecycle.apply(day, raised.iloc[0:0], previous, recs).empty
    with pytest.raises(ValueError, match="forecast"):
        lifecycle.apply(day, raised.assign(kind="forecast"), None, recs)


def test_run_stores_forecast_rows_in_the_observed_days_partition(world, spse_home):
    for name, frame in world.items():
        lake.write_partition(name, "vintage=current", frame)
    part = lake.date_partition(OBSERVED_DAY)
    lake.write_partition("air_hourly", part, pd.DataFrame({
        "station_id": ["FR04BG1"], "station_class": ["background"], "pollutant": ["NO2"], "discriminant": ["A"],
        "procedure": ["Auto"], "ts_start_utc": [pd.Timestamp("2026-01-15 09:00", tz="UTC")],
        "ts_end_utc": [pd.Timestamp("2026-01-15 10:00", tz="UTC")], "value": [20.0], "is_valid": [True]}))
    lake.write_partition("noise_hourly", part, pd.DataFrame({"site_id": ["S1"], "laeq_dba": [60.0]}))
    lake.write_partition("forecast_cell_daily", lake.date_partition(J), pm10({A: 55.0}, {A: 52.0}))
    out = alerts.run(OBSERVED_DAY)
    fc = out[out["kind"] == "forecast"]
    assert sorted(zip(fc["date"], fc["level"], strict=True)) == [
        (J, "alerte_persistance"), (J, "information"), (J + dt.timedelta(days=1), "information")]
    stored = lake.read_partition("alerts", part)
    assert sorted(stored.loc[stored["kind"] == "forecast", "alert_id"]) == sorted(fc["alert_id"])
    notes = [json.loads(p.read_text()) for p in (settings().outbox / "alerts" / OBSERVED_DAY.isoformat()).glob("*")]
    forecast_notes = {(n["date"], n["level"]) for n in notes if n["kind"] == "forecast"}
    assert forecast_notes == {("2026-01-16", "information"), ("2026-01-17", "information"),
                              ("2026-01-16", "alerte_persistance")}
    persist = next(n for n in notes if n["level"] == "alerte_persistance")
    assert "2016-01383" in persist["threshold"]["reference"]
    # the next run re-issues its own forecast; yesterday's forecast rows are neither carried nor closed
    lake.write_partition("air_hourly", lake.date_partition(J), pd.DataFrame({
        "station_id": ["FR04BG1"], "station_class": ["background"], "pollutant": ["NO2"], "discriminant": ["A"],
        "procedure": ["Auto"], "ts_start_utc": [pd.Timestamp("2026-01-16 09:00", tz="UTC")],
        "ts_end_utc": [pd.Timestamp("2026-01-16 10:00", tz="UTC")], "value": [20.0], "is_valid": [True]}))
    lake.write_partition("noise_hourly", lake.date_partition(J), pd.DataFrame({"site_id": ["S1"], "laeq_dba": [60.0]}))
    nxt = alerts.run(J)
    assert not (nxt["status"] == "closed").any() and not (nxt["kind"] == "forecast").any()
