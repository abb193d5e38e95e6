"""The three kinds of alert, the episode criteria on the département, and forecast versions.

Expected values are worked by hand in the comments: methods.md §1.2 and W8 (10 % × 2 113 705
= 211 370.5 inhabitants; 2 600 cells × 0.04 km² = 104 km²), and small hand-made forecasts.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from spse.core import register
from spse.pipeline import alerts, lake, warehouse
from spse.pipeline.alerts import kinds, versions
from spse.pipeline.alerts.forecast import evaluate_forecast
from spse.pipeline.alerts.inputs import AlertInputs
from spse.pipeline.alerts.schema import storage_frame

J = dt.date(2026, 1, 16)
BASE = pd.Timestamp("2026-01-15 00:00", tz="UTC")
A, B = "CRS3035RES200mN2880000E3760000", "CRS3035RES200mN2880000E3760200"


def paris(**overrides: str) -> register.Parameters:
    """The register, with the département pinned to Paris, millésime 2022 (W8 pins the vintage)."""
    pinned = {"episode_area_km2": "100", "episode_population_share": "0.10", "episode_department_code": "75",
              "episode_department_population": "2113705", "episode_department_population_year": "2022",
              "episode_department_area_km2": "105.4", "episode_large_department_population": "500000",
              "episode_small_department_population": "50000", "alert_threshold_sets": "FR_R221-1",
              "day_time_base": "Europe/Paris", "round_before_compare": "false"}
    return register.Parameters({**register.parameters(), **pinned, **overrides})


def by_name(listed: list[dict]) -> dict[str, dict]:
    return {c["name"]: c for c in listed}


def test_register_holds_the_departement_not_the_grid():
    params = register.parameters()
    assert params.text("episode_department_code") == "75"
    assert params.float("episode_department_population") == 2_113_705  # INSEE millésime 2022, methods.md §1.2
    assert params.float("episode_department_area_km2") == 105.4
    # W8: 10 % × 2 113 705 = 211 370.5
    assert kinds.population_threshold(params) == pytest.approx(211_370.5)


def test_w8_population_criterion_pins_the_2022_vintage():
    params = paris()
    met = by_name(kinds.criteria(kinds.REGULATORY, background=True, area_km2=10.0, population=212_000.0,
                                 covered_km2=88.6, parameters=params))
    assert met["population"]["threshold"] == pytest.approx(211_370.5) and met["population"]["met"] is True
    # with the 2021 vintage (2 133 111) the criterion is 213 311.1: 212 000 does not meet it
    old = by_name(kinds.criteria(kinds.REGULATORY, background=True, area_km2=10.0, population=212_000.0,
                                 covered_km2=88.6, parameters=paris(episode_department_population="2133111")))
    assert old["population"]["threshold"] == pytest.approx(213_311.1) and old["population"]["met"] is False
    assert "2022" in met["population"]["label"]


def test_w8_area_criterion_and_a_grid_smaller_than_the_criterion():
    params = paris()
    # 2 600 cells × 0.04 km² = 104 km² ≥ 100: met (on a grid covering the region)
    wide = by_name(kinds.criteria(kinds.REGULATORY, background=True, area_km2=2600 * 0.04, population=0.0,
                                  covered_km2=12_000.0, parameters=params))
    assert wide["area_km2"]["met"] is True
    assert kinds.meets(list(wide.values()))
    # Paris-only grid: 88.6 km² < 100 km², the regional criterion cannot be assessed here
    paris_only = by_name(kinds.criteria(kinds.REGULATORY, background=True, area_km2=40.0, population=100_000.0,
                                        covered_km2=88.6, parameters=params))
    assert paris_only["area_km2"]["met"] is None and "88.6" in paris_only["area_km2"]["note"]
    assert not kinds.meets(list(paris_only.values()))


def test_small_departement_needs_50_000_inhabitants():
    params = paris(episode_department_population="400000")
    assert kinds.population_threshold(params) == 50_000.0


def test_a_local_exceedance_never_meets_the_criteria():
    listed = by_name(kinds.criteria(kinds.LOCAL, background=False, area_km2=500.0, population=1e6, covered_km2=88.6,
                                    parameters=paris()))
    assert listed["background_situation"]["met"] is False
    assert listed["area_km2"]["met"] is False and listed["population"]["met"] is False
    assert not kinds.meets(list(listed.values()))
    assert kinds.label(kinds.LOCAL, True).startswith("Dépassement local")
    assert kinds.label(kinds.ADVISORY, False).startswith("Avis sanitaire (recommandation OMS)")


# --- forecast versions -------------------------------------------------------------------------

def world() -> dict[str, pd.DataFrame]:
    return {"grid_cells": pd.DataFrame({"cell_id": [A, B], "x_3035": 0, "y_3035": 0, "population": [1000.0, 500.0],
                                        "pop_0_5": [50.0, 30.0], "pop_65p": [100.0, 80.0],
                                        "pop_poor_households": [100.0, 120.0]}),
            "zone_cells": pd.DataFrame({"zone_id": ["75119", "75119"], "cell_id": [A, B], "area_fraction": 1.0}),
            "zones": pd.DataFrame({"zone_id": ["75119"], "zone_name": ["Paris 19e Arrondissement"]})}


def pm10(run_day: dt.date, by_lead: dict[int, dict[str, float]]) -> pd.DataFrame:
    return pd.DataFrame([{"cell_id": c, "date": run_day + dt.timedelta(days=lead), "pollutant": "PM10",
                          "statistic": "day_mean", "value": v, "n_valid": 24, "n_expected": 24, "coverage": 1.0,
                          "is_valid": True, "time_base": "Europe/Paris", "base_time_utc": BASE, "lead_day": lead}
                         for lead, cells in by_lead.items() for c, v in cells.items()])


def issue(run_day: dt.date, by_lead: dict[int, dict[str, float]], previous: pd.DataFrame | None) -> pd.DataFrame:
    inputs = AlertInputs(forecast_daily=pm10(run_day, by_lead), previous_alerts=previous, **world())
    return evaluate_forecast(run_day, inputs, observed=None, thresholds=register.thresholds(), parameters=paris(),
                             recommendations=alerts.recommendations())


def rows_of(frame: pd.DataFrame, day: dt.date) -> dict[str, pd.Series]:
    return {r["level"]: r for _, r in frame[frame["date"] == day].iterrows()}


def test_a_forecast_confirmed_unchanged_keeps_its_version_and_is_not_notified_again(spse_home):
    first = issue(J - dt.timedelta(days=1), {0: {A: 30.0}, 1: {A: 55.0}}, None)  # run of J-1: J at 55 on A
    v1 = rows_of(first, J)["information"]
    assert (v1["alert_version"], v1["status"], v1["issued_on"]) == (1, "opened", J - dt.timedelta(days=2))
    again = issue(J, {0: {A: 55.0}, 1: {A: 20.0}}, first)  # run of J: J still 55 on A only
    same = rows_of(again, J)["information"]
    assert same["alert_id"] == v1["alert_id"]
    assert (same["alert_version"], same["status"], same["issued_on"]) == (1, "opened", J - dt.timedelta(days=2))
    written = alerts.write_outbox(again, J - dt.timedelta(days=1), facilities=pd.DataFrame(),
                                  zones=pd.DataFrame())
    assert written == []  # the run of J issued nothing new: version 1 was notified by the run of J-1


def test_a_revised_forecast_is_a_new_version_of_the_same_alert(spse_home):
    first = issue(J - dt.timedelta(days=1), {1: {A: 55.0}}, None)
    revised = issue(J, {0: {A: 58.0, B: 52.0}}, first)  # 2 cells now, 1 500 residents
    row = rows_of(revised, J)["information"]
    assert (row["alert_version"], row["status"], row["n_cells"], row["population_exposed"]) == (2, "updated", 2,
                                                                                                 1500.0)
    written = alerts.write_outbox(revised, J - dt.timedelta(days=1), facilities=pd.DataFrame(),
                                  zones=pd.DataFrame())
    assert f"{row['alert_id']}-v2.json" in [p.name for p in written]


def test_escalated_de_escalated_and_closed():
    first = issue(J - dt.timedelta(days=1), {1: {A: 55.0}}, None)  # J: information only
    up = issue(J, {0: {A: 85.0}}, first)  # J: > 80 too
    assert rows_of(up, J)["alerte"]["status"] == "escalated"
    assert rows_of(up, J)["information"]["status"] == "updated"  # 55 → 85
    high = issue(J - dt.timedelta(days=1), {1: {A: 85.0}}, None)
    down = rows_of(issue(J, {0: {A: 60.0}}, high), J)
    assert down["alerte"]["status"] == "de-escalated" and down["alerte"]["alert_version"] == 2
    assert down["alerte"]["n_cells"] == 0 and down["information"]["status"] == "updated"
    gone = rows_of(issue(J, {0: {A: 30.0}}, high), J)
    assert {lv: r["status"] for lv, r in gone.items()} == {"information": "closed", "alerte": "closed"}


def test_marts_alerts_keep_one_row_per_alert_and_history_every_version(spse_home):
    first = issue(J - dt.timedelta(days=1), {1: {A: 55.0}}, None)
    second = issue(J, {0: {A: 58.0, B: 52.0}}, first)
    lake.write_partition("alerts", lake.date_partition(J - dt.timedelta(days=2)), storage_frame(first))
    lake.write_partition("alerts", lake.date_partition(J - dt.timedelta(days=1)), storage_frame(second))
    warehouse.publish(warehouse.build(J - dt.timedelta(days=1)))
    marts = warehouse.query(f"select alert_id, alert_version, status, n_cells from marts.alerts "
                            f"where date = date '{J}' and level = 'information'")
    assert len(marts) == 1 and (marts["alert_version"].iloc[0], marts["n_cells"].iloc[0]) == (2, 2)
    history = warehouse.query(f"select alert_version, run_date from marts.alert_history "
                              f"where date = date '{J}' and level = 'information' order by alert_version")
    assert history["alert_version"].tolist() == [1, 2]
    assert [d.date() for d in pd.to_datetime(history["run_date"])] == [J - dt.timedelta(days=2),
                                                                       J - dt.timedelta(days=1)]
    assert json.loads(warehouse.query("select criteria from marts.alerts limit 1")["criteria"].iloc[0])


def test_revise_without_a_previous_run_changes_nothing():
    frame = issue(J, {0: {A: 55.0}}, None)
    pd.testing.assert_frame_equal(versions.revise(frame, None, J - dt.timedelta(days=1),
                                                  alerts.recommendations()), frame)


def test_a_background_exceedance_below_the_criteria_gets_no_general_public_message():
    def described(population: float) -> pd.Series:
        row = pd.DataFrame([{"alert_type": kinds.REGULATORY, "pollutant": "PM10", "level": "information",
                             "area_km2": 0.4, "population_total": population, "recommendation": None}])
        return kinds.describe(row, covered_km2=88.6, parameters=paris(),
                              recommendations=alerts.recommendations()).iloc[0]

    below = described(5_000.0)  # < 211 370.5
    assert not below["meets_episode_criteria"]
    assert below["label"].startswith("Dépassement de seuil en situation de fond")
    assert "Personnes vulnérables" in below["recommendation"]
    assert "Population générale" not in below["recommendation"]
    above = described(250_000.0)  # ≥ 211 370.5 (W8: 240 000 would do too)
    assert above["meets_episode_criteria"] and above["label"].startswith("Épisode de pollution")
    assert "Population générale" in above["recommendation"]
    assert above["population_exposed"] == 250_000.0 and "Filosofi" in above["population_definition"]
