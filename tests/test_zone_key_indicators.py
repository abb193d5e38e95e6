"""The mart zone_key_indicators_daily and the reports' reader, on hand-made exposure_zone_daily rows.

Expected values are written by hand from the rows below, never read from the mart.
"""

from __future__ import annotations

import datetime as dt
import math

import duckdb
import pandas as pd
import pytest

from spse.pipeline.warehouse import models, report

D, NEXT = dt.date(2025, 7, 2), dt.date(2025, 7, 3)
IRIS = "751010101"


def exposure_rows() -> pd.DataFrame:
    rows = [
        # zone, level, parent, day, pollutant, statistic, value (µg/m³), population
        ("75101", "arrondissement", "75056", D, "PM10", "day_mean", 31.5, 1500.0),
        ("75101", "arrondissement", "75056", D, "PM10", "day_max_1h", 70.0, 1500.0),  # not a key indicator
        ("75101", "arrondissement", "75056", D, "PM2.5", "day_mean", 18.25, 1500.0),
        ("75101", "arrondissement", "75056", D, "NO2", "day_max_1h", 95.0, 1500.0),
        ("75101", "arrondissement", "75056", D, "NO2", "day_mean", 40.0, 1500.0),  # not a key indicator
        ("75101", "arrondissement", "75056", D, "O3", "day_max_8h_mean", None, 1500.0),  # no valid cell
        ("75101", "arrondissement", "75056", NEXT, "PM10", "day_mean", 12.0, 1500.0),
        ("75056", "commune", None, D, "PM10", "day_mean", 29.0, 2500.0),  # only PM10 measured
        (IRIS, "iris", "75101", D, "PM10", "day_mean", 33.0, 600.0),
    ]
    frame = pd.DataFrame(rows, columns=["zone_id", "zone_level", "parent_zone_id", "date", "pollutant", "statistic",
                                        "pop_weighted_mean_ug_m3", "population"])
    names = {"75101": "Paris 1er", "75056": "Paris", IRIS: "Iris A"}
    return frame.assign(zone_name=frame["zone_id"].map(names), time_base="Europe/Paris")


@pytest.fixture
def con():
    con = duckdb.connect(":memory:")
    con.execute("create schema marts")
    con.register("rows", exposure_rows())
    con.execute("create table marts.exposure_zone_daily as select * from rows")
    con.unregister("rows")
    yield con
    con.close()


def mart(con) -> pd.DataFrame:
    model = models.Model("marts", "zone_key_indicators_daily",
                         models.sql_dir() / "marts" / "zone_key_indicators_daily.sql")
    return con.execute(f"select * from ({model.select()}) as m order by date, zone_level, zone_id").df()


def test_one_row_per_day_and_zone_with_the_four_key_indicators(con):
    rows = mart(con)
    keys = list(zip(rows["date"].dt.date, rows["zone_level"], rows["zone_id"], strict=True))
    assert keys == [(D, "arrondissement", "75101"), (D, "commune", "75056"), (D, "iris", IRIS),
                    (NEXT, "arrondissement", "75101")]
    first = rows.iloc[0]
    assert (first["pm10_day_mean_ug_m3"], first["pm25_day_mean_ug_m3"], first["no2_day_max_1h_ug_m3"]) == \
        (31.5, 18.25, 95.0)
    assert math.isnan(first["o3_day_max_8h_mean_ug_m3"])  # invalid stays empty, never 0
    assert (first["zone_name"], first["population"], first["time_base"]) == ("Paris 1er", 1500.0, "Europe/Paris")
    paris = rows.iloc[1]
    assert paris["pm10_day_mean_ug_m3"] == 29.0 and paris["population"] == 2500.0
    assert paris[["pm25_day_mean_ug_m3", "no2_day_max_1h_ug_m3", "o3_day_max_8h_mean_ug_m3"]].isna().all()
    assert rows.iloc[2]["pm10_day_mean_ug_m3"] == 33.0 and rows.iloc[2]["zone_name"] == "Iris A"
    assert rows.iloc[3]["pm10_day_mean_ug_m3"] == 12.0 and pd.isna(rows.iloc[3]["no2_day_max_1h_ug_m3"])


def test_reports_read_the_arrondissements_and_paris_of_the_day(con):
    key = report.key_indicators(con, D)
    assert list(key.columns) == ["zone_id", "zone_name", "zone_level", *report.KEY_INDICATORS, "population"]
    assert list(key["zone_id"]) == ["75056", "75101"]  # no IRIS, no other day
    assert list(key["pm10_day_mean_ug_m3"]) == [29.0, 31.5]
    assert list(key["no2_day_max_1h_ug_m3"].fillna(-1.0)) == [-1.0, 95.0]
    assert report.key_indicators(con, dt.date(2025, 7, 4)).empty
