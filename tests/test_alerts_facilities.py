"""Named facilities in the warehouse: staging columns, marts alerts and alert_facilities, exposure mart."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from spse.pipeline import lake, warehouse
from spse.pipeline.alerts.schema import conform, frame_records, storage_frame
from spse.pipeline.warehouse import EMPTY_SCHEMAS

DAY = dt.date(2026, 1, 15)
_DTYPES = {"VARCHAR": "object", "DOUBLE": "float64", "BIGINT": "Int64", "BOOLEAN": "boolean", "DATE": "object"}


def reference(dataset: str, **values) -> None:
    """Write ``values`` (plus the contract's other columns, null) as the current vintage of ``dataset``."""
    n = len(next(iter(values.values())))
    columns = {name: pd.Series([None] * n, dtype=_DTYPES[type_])
               for name, type_ in EMPTY_SCHEMAS[dataset].columns.items()}
    columns.update({name: pd.Series(v) for name, v in values.items()})
    lake.write_partition(dataset, "vintage=current", pd.DataFrame(columns))


def write_alert(facility_ids: str, **extra) -> str:
    row = {"alert_id": "a1", "date": DAY, "kind": "air_quality", "pollutant": "NO2", "level": "information",
           "set_id": "FR_R221-1", "averaging": "1h", "threshold_value": 200.0, "unit": "µg/m³", "value_max": 212.0,
           "basis": "station", "station_ids": "FR04329", "zone_ids": "75112", "zone_names": "Paris 12e",
           "n_cells": 2, "area_km2": 0.08, "population_total": 10.0, "pop_0_5": 1.0, "pop_65p": 1.0,
           "pop_poor_households": 1.0, "facility_count": len(facility_ids.split(",")), "facility_ids": facility_ids,
           "facilities_by_category": "{}", "recommendation": "", "status": "opened", "episode_start_date": DAY,
           "meets_episode_criteria": False, "triggered_by": "{}", "time_base": "Europe/Paris", "facilities": None,
           "children_in_creches": 0, "creches_without_capacity": 0, **extra}
    lake.write_partition("alerts", lake.date_partition(DAY), storage_frame(conform(pd.DataFrame([row]))))
    return row["alert_id"]


def write_facilities() -> None:
    # three crèches (66 places, 45 places, unknown), an EHPAD of 84 beds, a collège; all in cells c1/c2
    reference("facilities", facility_id=["K1", "E1", "C1", "C2", "C3"],
              category=["college", "ehpad", "creche", "creche", "creche"],
              name=["Collège Ravel", "EHPAD Didot", "Crèche Tandou", "Crèche Alésia", "crèche Bercy"],
              address=["1 RUE A", "12 RUE DIDOT", "18 RUE TANDOU", "3 RUE D'ALESIA", "5 RUE DE BERCY"],
              zone_id=["75112", "75114", "75119", "75114", "75112"])
    frame = lake.read_latest("facilities")
    frame["postcode"] = ["75012", "75014", "75019", "75014", "75012"]
    frame["arrondissement"] = ["12e arrondissement", "14e arrondissement", "19e arrondissement",
                               "14e arrondissement", "12e arrondissement"]
    frame["capacity"] = pd.array([600, 84, 66, 45, None], dtype="Int64")
    frame["capacity_unit"] = ["pupils", "beds", "places", "places", None]
    frame["source"] = "paris_facilities"
    lake.write_partition("facilities", "vintage=current", frame)
    reference("facility_cells", facility_id=["K1", "E1", "C1", "C2", "C3"], cell_id=["c1", "c1", "c2", "c2", "c1"])


def test_alert_facilities_mart_ranks_most_sensitive_first(spse_home):
    write_facilities()
    write_alert("C1,C2,C3,E1,K1")
    warehouse.publish(warehouse.build(DAY))
    rows = warehouse.query("select * from marts.alert_facilities order by facility_order")
    # register order: creche < ... < ehpad < ... < college; crèches by name ignoring case and accents
    assert rows["name"].tolist() == ["Crèche Alésia", "crèche Bercy", "Crèche Tandou", "EHPAD Didot",
                                     "Collège Ravel"]
    assert rows["facility_order"].tolist() == [1, 2, 3, 4, 5]
    tandou = rows.set_index("facility_id").loc["C1"]
    assert (tandou["address"], tandou["postcode"], tandou["arrondissement"], tandou["capacity"],
            tandou["capacity_unit"]) == ("18 RUE TANDOU", "75019", "19e arrondissement", 66, "places")
    # children in crèches above the threshold: 66 + 45 places, Bercy unknown
    creches = warehouse.query("select sum(capacity) as places, count(*) filter (where capacity is null) as unknown "
                              "from marts.alert_facilities where alert_id = 'a1' and category = 'creche'")
    assert (creches["places"].iloc[0], creches["unknown"].iloc[0]) == (111, 1)
    assert set(warehouse.query("select source from staging.stg_facilities")["source"]) == {"paris_facilities"}


def test_alerts_mart_carries_the_facility_list_and_old_partitions_read_null(spse_home):
    write_facilities()
    listed = [{"facility_id": "C1", "name": "Crèche Tandou", "capacity": 66}]
    write_alert("C1", facilities=json.dumps(listed, ensure_ascii=False), children_in_creches=66,
                creches_without_capacity=0)
    warehouse.publish(warehouse.build(DAY))
    alert = warehouse.query("select facilities, children_in_creches from marts.alerts").iloc[0]
    assert json.loads(alert["facilities"]) == listed and alert["children_in_creches"] == 66
    # an alerts partition written before the column existed
    old = lake.read_partition("alerts", lake.date_partition(DAY)).drop(
        columns=["facilities", "children_in_creches", "creches_without_capacity"])
    lake.write_partition("alerts", lake.date_partition(DAY), old)
    warehouse.publish(warehouse.build(DAY))
    alert = warehouse.query("select facilities, children_in_creches, facility_ids from marts.alerts").iloc[0]
    assert alert["facilities"] is None and pd.isna(alert["children_in_creches"]) and alert["facility_ids"] == "C1"


@pytest.mark.parametrize("with_capacity", [True, False])
def test_facility_exposure_has_address_and_capacity(spse_home, with_capacity):
    if with_capacity:
        write_facilities()
    else:  # a vintage written before the capacity columns
        reference("facilities", facility_id=["C1"], category=["creche"], name=["Crèche Tandou"],
                  address=["18 RUE TANDOU"], zone_id=["75119"])
        reference("facility_cells", facility_id=["C1"], cell_id=["c2"])
    reference("grid_cells", cell_id=["c1", "c2"], population=[10.0, 10.0])
    lake.write_partition("surface_daily", lake.date_partition(DAY), pd.DataFrame({
        "cell_id": ["c1", "c2"], "date": [DAY, DAY], "pollutant": ["PM10", "PM10"],
        "statistic": ["day_mean", "day_mean"], "value": [20.0, 30.0], "n_valid": [24, 24], "n_expected": [24, 24],
        "coverage": [1.0, 1.0], "is_valid": [True, True], "time_base": ["Europe/Paris"] * 2}))
    warehouse.publish(warehouse.build(DAY))
    row = warehouse.query("select * from marts.facility_exposure_daily where facility_id = 'C1'").iloc[0]
    assert row["address"] == "18 RUE TANDOU" and row["value_ug_m3"] == 30.0
    if with_capacity:
        assert (row["postcode"], row["arrondissement"], row["capacity"], row["capacity_unit"]) == (
            "75019", "19e arrondissement", 66, "places")
    else:
        assert pd.isna(row["capacity"]) and row["postcode"] is None


def test_frame_records_are_what_pandas_to_dict_gives():
    """The rows read column by column equal ``DataFrame.to_dict("records")``, value and type, on every dtype."""
    frame = pd.DataFrame({
        "rule": np.array([3, 4, 5], dtype=np.int64),
        "value": [1.5, np.nan, -2.0],
        "name": pd.Series(["Crèche A", None, "École"], dtype="str"),
        "capacity": pd.Series([60, None, 12], dtype="Int64"),
        "open": pd.Series([True, None, False], dtype="boolean"),
        "flag": [True, False, True],
        "at": pd.to_datetime(["2026-01-15 10:00", None, "2026-01-16 00:00"], utc=True),
        "mixed": pd.Series([np.int64(7), None, pd.NA], dtype=object),
        "more": pd.Series([np.float32(0.5), np.datetime64("2026-01-15"), "x"], dtype=object),
    })
    expected = frame.to_dict("records")
    got = frame_records(frame)
    assert len(got) == len(expected) == 3
    for mine, theirs in zip(got, expected, strict=True):
        assert list(mine) == list(theirs)
        for name in theirs:
            a, b = mine[name], theirs[name]
            assert type(a) is type(b), (name, a, b)
            assert a == b or (a is b) or (pd.isna(a) and pd.isna(b)), (name, a, b)
    assert frame_records(frame.iloc[:, :0]) == [{}, {}, {}]
