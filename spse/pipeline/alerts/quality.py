"""Data-quality alerts: the evaluation of the day is incomplete.

These rules exist so that "no alert" is never mistaken for "no exceedance":

* ``DQ_MISSING_PARTITION``: a running source is stale (``spse.pipeline.freshness``: the day's
  partition of a daily source is missing, or its last fetch is older than it allows), or
  ``air_hourly`` has no row in the hours of the local day. ``pollutant`` names the dataset.
* ``DQ_BACKGROUND_STATIONS``: fewer than ``alert_min_background_stations`` background
  stations have a valid day (``day_mean`` meeting the coverage rule of ``station_daily``)
  for an alert pollutant that has stations; the background surface then rests on too few
  points. ``value_max`` is the number of such stations.
* ``DQ_INPUT_<OUTCOME>`` (``DQ_INPUT_REFUSED``, ``DQ_INPUT_PARTIAL``, ``DQ_INPUT_FAILED``,
  ``DQ_INPUT_QUARANTINE``): the quality log (:mod:`spse.pipeline.qualitylog`) says the last attempt
  at an input refused it, found it incomplete or unreadable, or quarantined rows of it.
  ``pollutant`` names the source; the message names the feed, the file, the row and why.
* ``DQ_STATIONS_UNLOCATED``: stations that measured during the local day have no
  coordinates in the station list (``air_stations``): their measurements are used neither
  for the surfaces nor for the station rules. ``pollutant`` is ``air_stations``,
  ``value_max`` the number of such stations; the message lists their ids, names and
  pollutants.

:func:`lacking_lines` says in plain French, one line per problem, what the figures of the
day lack; the bulletin and ``spse summary`` print it from ``marts.alerts``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import pandas as pd

from spse.core.register import Parameters
from spse.pipeline.alerts.recommendations import recommendation_text

LEVEL = "data_quality"
MISSING_PARTITION = "DQ_MISSING_PARTITION"
BACKGROUND_STATIONS = "DQ_BACKGROUND_STATIONS"
STATIONS_UNLOCATED = "DQ_STATIONS_UNLOCATED"
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
                              parameters: Parameters, recommendations: pd.DataFrame) -> pd.DataFrame:
    """One row per pollutant with stations but too few valid background stations."""
    minimum = parameters.int("alert_min_background_stations")
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
    """One row per source whose last attempt was not clean (records of :func:`spse.pipeline.qualitylog.concerning`).

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


def unlocated_station_alerts(station_hourly: pd.DataFrame, station_cells: pd.DataFrame, hours: Iterable,
                             recommendations: pd.DataFrame) -> pd.DataFrame:
    """One row listing the stations with rows in ``hours`` (UTC) but no place on the grid.

    ``station_hourly`` is ``air_hourly`` (``station_id``, ``pollutant``, ``ts_start_utc`` and,
    when present, ``station_name``); ``station_cells`` the crosswalk built from the station
    list (``air_stations``): a station has a row there only when the list gives its
    coordinates, so the others are used neither by the surfaces nor by the station rules.
    """
    in_day = pd.to_datetime(station_hourly["ts_start_utc"], utc=True).isin(pd.DatetimeIndex(hours))
    located = set(station_cells["station_id"].astype(str))
    lost = station_hourly[in_day & ~station_hourly["station_id"].astype(str).isin(located)]
    if lost.empty:
        return pd.DataFrame()
    names = lost.get("station_name", pd.Series(index=lost.index, dtype=object))
    listed = []
    for station_id, group in lost.assign(station_name=names).groupby("station_id", sort=True):
        name = group["station_name"].dropna()
        listed.append({"station_id": str(station_id), "station_name": str(name.iloc[0]) if len(name) else None,
                       "pollutants": sorted(group["pollutant"].astype(str).unique())})
    lines = [f"{len(listed)} station(s) de mesure sans coordonnées dans la liste des stations (air_stations) : "
             "leurs mesures ne sont utilisées ni pour les surfaces d'exposition ni pour les alertes aux stations."]
    lines += [f"- {s['station_id']}{' ' + s['station_name'] if s['station_name'] else ''} : mesures "
              f"{', '.join(s['pollutants'])} non utilisées" for s in listed]
    row = {"kind": "data_quality", "pollutant": "air_stations", "level": LEVEL, "set_id": STATIONS_UNLOCATED,
           "averaging": "1h", "unit": "stations", "value_max": float(len(listed)),
           "station_ids": ",".join(s["station_id"] for s in listed),
           "recommendation": "\n".join([*lines, recommendation_text(recommendations, LEVEL, "air_stations")]),
           "triggered_by": json.dumps({"rule": STATIONS_UNLOCATED, "stations": listed}, sort_keys=True,
                                      ensure_ascii=False)}
    return pd.DataFrame([row])


# Plain French names of the inputs, by source and by dataset, for lacking_lines(). A dataset
# several sources feed (air_hourly, facilities) is named by the dataset; each producer by its own.
INPUT_LABELS = {
    "lcsqa_e2": "air, mesures horaires", "air_hourly": "air, mesures horaires",
    "bruitparif_rumeur": "bruit", "noise_hourly": "bruit",
    "cams_europe_forecast": "prévision CAMS", "forecast_cams": "prévision CAMS",
    "lcsqa_stations": "liste des stations de mesure", "air_stations": "liste des stations de mesure",
    "insee_filosofi_200m": "population", "insee_filosofi_zip": "population", "population": "population",
    "paris_arrondissements": "arrondissements", "zones": "arrondissements",
    "paris_facilities": "établissements sensibles", "facilities": "établissements sensibles",
    "noise_map_cbs": "carte de bruit", "noise_map_bands": "carte de bruit",
    "atmo_indices": "indice ATMO", "atmo_index_daily": "indice ATMO",
    "atmo_episodes": "épisodes de pollution", "episode_status": "épisodes de pollution",
    "airparif_indices": "prévision Airparif", "airparif_index_forecast": "prévision Airparif",
    "eea_aq": "air, mesures EEA",
    "finess": "établissements de santé (FINESS)",
    "annuaire_education": "établissements scolaires",
    "iris_contours": "contours IRIS", "zones_iris": "contours IRIS",
    "paris_quartiers": "quartiers", "zones_quartiers": "quartiers",
}
_PLAIN_DAILY = {"failed": "pas de données le {day} (fichier absent, illisible ou non téléchargé)",
                "refused": "données du {day} refusées par le contrôle qualité",
                "partial": "données incomplètes le {day}",
                "ok": "{n} ligne(s) du {day} écartée(s) par le contrôle qualité"}
_PLAIN_REFERENCE = {"failed": "mise à jour impossible, la dernière version valide est utilisée",
                    "refused": "nouvelle version refusée par le contrôle qualité, la version précédente est utilisée",
                    "partial": "version incomplète",
                    "ok": "{n} ligne(s) écartée(s) par le contrôle qualité"}


def lacking_lines(alerts: pd.DataFrame) -> list[str]:
    """Say what the figures of the day lack, in plain French, one line per problem (duplicates merged).

    ``alerts`` holds ``data_quality`` rows of ``marts.alerts`` (``pollutant``, ``set_id``,
    ``date``, ``value_max``, ``recommendation``, ``triggered_by``); other kinds are ignored.
    Rules without a plain wording here (such as the gate's) give the first line of their message.
    """
    if alerts.empty:
        return []
    rows = alerts[alerts["kind"] == "data_quality"].to_dict("records")
    # a dataset's missing partition already told by the failed attempt at its source
    told = {(entry.get("dataset"), entry.get("partition")) for row in rows if row["set_id"] in INPUT_RULES.values()
            for entry in _trigger(row).get("records", [])}
    lines = []
    for row in rows:
        if row["set_id"] == MISSING_PARTITION and (row["pollutant"], _trigger(row).get("partition")) in told:
            continue
        lines.extend(_plain(row))
    return list(dict.fromkeys(lines))


def _trigger(row: dict) -> dict:
    return json.loads(row["triggered_by"]) if isinstance(row.get("triggered_by"), str) else {}


def _label(name: str) -> str:
    label = INPUT_LABELS.get(name)
    return f"{label} ({name})" if label else name


def _plain(row: dict) -> list[str]:
    rule, name = row["set_id"], str(row["pollutant"])
    trigger = _trigger(row)
    day = pd.Timestamp(row["date"]).date().isoformat() if row.get("date") is not None else ""
    if rule == MISSING_PARTITION:
        if name in DAILY_SOURCES or str(trigger.get("partition", "")).startswith("date="):
            return [f"{_label(name)} : pas de données le {day}"]
        return [f"{_label(name)} : données périmées ou absentes pour le {day}"]
    if rule in INPUT_RULES.values():
        out = []
        for entry in trigger.get("records", []):
            partition = str(entry.get("partition", ""))
            words = _PLAIN_DAILY if partition.startswith("date=") else _PLAIN_REFERENCE
            text = words[entry["outcome"]].format(day=partition.removeprefix("date="), n=entry.get("quarantined", 0))
            out.append(f"{_label(str(entry.get('source', name)))} : {text}")
        return out
    if rule == BACKGROUND_STATIONS:
        return [f"{name} : {int(row['value_max'])} station(s) de fond valide(s) seulement, surface de fond peu fiable"]
    if rule == STATIONS_UNLOCATED:
        ids = [s["station_id"] for s in trigger.get("stations", [])]
        return [f"{_label(name)} : {len(ids)} station(s) sans coordonnées, leurs mesures ne sont pas utilisées "
                f"({', '.join(ids)})"]
    first = str(row.get("recommendation") or "").splitlines()
    return [f"{_label(name)} : {first[0] if first else rule}"]
