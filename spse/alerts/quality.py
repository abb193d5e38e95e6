"""Data-quality alerts: the evaluation of the day is incomplete.

Two rules, so that "no alert" is never mistaken for "no exceedance":

* ``DQ_MISSING_PARTITION``: a running source is stale (``spse.freshness``: the day's
  partition of a daily source is missing, or its last fetch is older than it allows), or
  ``air_hourly`` has no row in the hours of the local day. ``pollutant`` names the dataset.
* ``DQ_BACKGROUND_STATIONS``: fewer than ``alert_min_background_stations`` background
  stations have a valid day (``day_mean`` meeting the coverage rule of ``station_daily``)
  for an alert pollutant that has stations; the background surface then rests on too few
  points. ``value_max`` is the number of such stations.
* ``DQ_INPUT_<OUTCOME>`` (``DQ_INPUT_REFUSED``, ``DQ_INPUT_PARTIAL``, ``DQ_INPUT_FAILED``,
  ``DQ_INPUT_QUARANTINE``): the quality log (:mod:`spse.qualitylog`) says the last attempt
  at an input refused it, found it incomplete or unreadable, or quarantined rows of it.
  ``pollutant`` names the source; the message names the feed, the file, the row and why.
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
INPUT_RULES = {"refused": "DQ_INPUT_REFUSED", "partial": "DQ_INPUT_PARTIAL", "failed": "DQ_INPUT_FAILED",
               "ok": "DQ_INPUT_QUARANTINE"}
_OUTCOME_FR = {"refused": "refusée par le contrôle qualité, la version précédente est conservée",
               "partial": "incomplète, les chiffres du jour reposent sur une partie des mesures",
               "failed": "illisible ou non téléchargée, la dernière version valide est conservée",
               "ok": "lignes mises en quarantaine, non utilisées"}
SHOWN_PROBLEMS = 5


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


def input_problem_alerts(records: Iterable[dict], recommendations: pd.DataFrame) -> pd.DataFrame:
    """One row per source whose last attempt was not clean (records of :func:`spse.qualitylog.concerning`).

    The French message names the feed, the partition, and the first ``SHOWN_PROBLEMS``
    problems with their file and row; ``triggered_by`` keeps every record in full.
    """
    by_source: dict[tuple[str, str], list[dict]] = {}
    for entry in records:
        by_source.setdefault((entry["source"], INPUT_RULES[entry["outcome"]]), []).append(entry)
    rows = []
    for (source, rule), entries in sorted(by_source.items()):
        lines = []
        for entry in entries:
            outcome = entry["outcome"]
            count = f" ({entry['quarantined']} ligne(s))" if outcome == "ok" else ""
            lines.append(f"Source {source}, {entry['partition']} : {_OUTCOME_FR[outcome]}{count}.")
            for problem in entry["problems"][:SHOWN_PROBLEMS]:
                where = ", ".join(part for part in (
                    f"fichier {problem['file']}" if problem.get("file") else "",
                    f"ligne {problem['row']}" if problem.get("row") is not None else "") if part)
                lines.append(f"- {problem['check']}{' (' + where + ')' if where else ''} : {problem['detail']}")
            if len(entry["problems"]) > SHOWN_PROBLEMS:
                lines.append(f"- et {len(entry['problems']) - SHOWN_PROBLEMS} autre(s) problème(s)")
        rows.append({"kind": "data_quality", "pollutant": source, "level": LEVEL, "set_id": rule,
                     "averaging": "", "unit": "",
                     "recommendation": "\n".join([*lines, recommendation_text(recommendations, LEVEL, source)]),
                     "triggered_by": json.dumps({"rule": rule, "records": entries}, sort_keys=True,
                                                ensure_ascii=False)})
    return pd.DataFrame(rows)
