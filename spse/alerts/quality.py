"""Data-quality alerts: the evaluation of the day is incomplete.

Two rules, so that "no alert" is never mistaken for "no exceedance":

* ``DQ_MISSING_PARTITION``: a running source is stale (``spse.freshness``: the day's
  partition of a daily source is missing, or its last fetch is older than it allows), or
  ``air_hourly`` has no row in the hours of the local day. ``pollutant`` names the dataset.
* ``DQ_BACKGROUND_STATIONS``: fewer than ``alert_min_background_stations`` background
  stations have a valid day (``day_mean`` meeting the coverage rule of ``station_daily``)
  for an alert pollutant that has stations; the background surface then rests on too few
  points. ``value_max`` is the number of such stations.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

import pandas as pd

from spse.alerts.recommendations import recommendation_text

LEVEL = "data_quality"
MISSING_PARTITION = "DQ_MISSING_PARTITION"
BACKGROUND_STATIONS = "DQ_BACKGROUND_STATIONS"
DAILY_SOURCES = ("air_hourly", "noise_hourly")


def missing_partition_alerts(day_label: str, missing: Iterable[str], recommendations: pd.DataFrame) -> pd.DataFrame:
    """One row per missing daily input dataset."""
    rows = []
    for dataset in sorted(set(missing)):
        problem = f"Partition {dataset}/date={day_label} absente ou vide : alertes non évaluées sur cette source."
        rows.append({"kind": "data_quality", "pollutant": dataset, "level": LEVEL, "set_id": MISSING_PARTITION,
                     "averaging": "1h", "unit": "",
                     "recommendation": f"{problem}\n{recommendation_text(recommendations, LEVEL, dataset)}",
                     "triggered_by": json.dumps({"rule": MISSING_PARTITION, "dataset": dataset,
                                                 "partition": f"date={day_label}"}, sort_keys=True)})
    return pd.DataFrame(rows)


def background_station_alerts(pollutants: Iterable[str], station_daily: pd.DataFrame, in_scope: set[str],
                              parameters: Mapping[str, str], recommendations: pd.DataFrame) -> pd.DataFrame:
    """One row per pollutant with stations but too few valid background stations."""
    minimum = int(parameters["alert_min_background_stations"])
    wanted = sorted(set(pollutants))
    if station_daily.empty:
        valid = pd.DataFrame(columns=["pollutant", "station_id"])
    else:
        valid = station_daily[(station_daily["station_class"] == "background")
                              & (station_daily["statistic"] == "day_mean")
                              & station_daily["is_valid"].astype(bool)
                              & station_daily["station_id"].isin(in_scope)][["pollutant", "station_id"]]
    stations = valid.drop_duplicates().groupby("pollutant")["station_id"].agg(lambda s: sorted(s))
    rows = []
    for pollutant in wanted:
        ids = stations.get(pollutant, [])
        if len(ids) >= minimum:
            continue
        problem = (f"{pollutant} : {len(ids)} station(s) de fond avec une journée valide, moins que {minimum} : "
                   "surface de fond peu fiable.")
        rows.append({"kind": "data_quality", "pollutant": pollutant, "level": LEVEL, "set_id": BACKGROUND_STATIONS,
                     "averaging": "day_mean", "threshold_value": float(minimum), "unit": "stations",
                     "value_max": float(len(ids)),
                     "recommendation": f"{problem}\n{recommendation_text(recommendations, LEVEL, pollutant)}",
                     "triggered_by": json.dumps({"rule": BACKGROUND_STATIONS, "valid_background_stations": ids,
                                                 "minimum": minimum}, sort_keys=True)})
    return pd.DataFrame(rows)
