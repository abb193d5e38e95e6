"""The file outbox: one self-contained JSON notification per alert version issued by the day's run.

``<outbox>/alerts/<day>/<alert_id>-v<version>.json`` (``spse.core.config.settings().outbox``),
written atomically, for the rows whose ``issued_on`` is ``day``: a forecast confirmed unchanged
by a later run keeps the version (and the file) of the run that issued it, so it is not
notified twice (``spse.pipeline.alerts.versions``). Files of that day that no longer match are
removed, so a re-run leaves exactly the day's notifications. A mailer or webhook relay
(``spse.pipeline.notify``) reads this folder; nothing here sends. Text for users is French.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import pandas as pd

from spse.core import register
from spse.core.config import settings
from spse.pipeline import canonical, lake
from spse.pipeline.alerts.impact import facility_details
from spse.pipeline.alerts.schema import frame_records

log = logging.getLogger(__name__)


def outbox_dir(day: dt.date) -> Path:
    """Return the outbox folder of the local day ``day``."""
    return settings().outbox / "alerts" / day.isoformat()


def write_outbox(alerts: pd.DataFrame, day: dt.date, *, facilities: pd.DataFrame | None = None,
                 zones: pd.DataFrame | None = None, thresholds: pd.DataFrame | None = None) -> list[Path]:
    """Write one JSON file per alert row and remove stale files of ``day``; return the paths written.

    ``facilities`` names the facilities of alerts written without a ``facilities`` list
    (rows of older partitions) and ``zones`` names the zones (default: the latest lake
    partitions); ``thresholds`` gives each threshold's reference (default: the register).
    """
    facilities = _latest("facilities") if facilities is None else facilities
    zones = _latest("zones") if zones is None else zones
    thresholds = register.thresholds() if thresholds is None else thresholds
    folder = outbox_dir(day)
    written = []
    for record in frame_records(alerts):
        if not _issued_by(record, day):
            continue
        message = notification(record, facilities, zones, thresholds)
        path = folder / file_name(record)
        lake.write_bytes_atomic(path, json.dumps(message, indent=2, ensure_ascii=False, sort_keys=True).encode())
        written.append(path)
    keep = {p.name for p in written}
    if folder.exists():
        for stale in folder.glob("*.json"):
            if stale.name not in keep:
                stale.unlink()
                log.info("outbox %s: removed %s, no longer an alert of the day", day, stale.name)
    return written


def file_name(alert: dict) -> str:
    """``<alert_id>-v<version>.json``: one file per alert and version."""
    return f"{alert['alert_id']}-v{_version(alert)}.json"


def _version(alert: dict) -> int:
    version = alert.get("alert_version")
    return 1 if version is None or pd.isna(version) else int(version)


def _issued_by(alert: dict, day: dt.date) -> bool:
    """Whether the run of ``day`` issued this version (rows without ``issued_on`` predate versions: yes)."""
    issued = alert.get("issued_on")
    return issued is None or pd.isna(issued) or pd.Timestamp(issued).date() == day


def notification(alert: dict, facilities: pd.DataFrame, zones: pd.DataFrame, thresholds: pd.DataFrame) -> dict:
    """Build the notification of one alert row: what, how much, where, who, what to do, status."""
    zone_ids = [z for z in (alert.get("zone_ids") or "").split(",") if z]
    names = dict(zip(zones["zone_id"].astype(str), zones["zone_name"], strict=True)) if not zones.empty else {}
    return {
        "alert_id": alert["alert_id"],
        "version": _version(alert),
        "alert_type": alert.get("alert_type"),
        "label": alert.get("label"),
        "date": _iso(alert["date"]),
        "time_base": alert["time_base"],
        "kind": alert["kind"],
        "status": alert["status"],
        "episode_start_date": _iso(alert.get("episode_start_date")),
        "pollutant": alert["pollutant"],
        "level": alert["level"],
        "value": _number(alert.get("value_max")),
        "unit": alert.get("unit"),
        "basis": alert.get("basis"),
        "stations": [s for s in (alert.get("station_ids") or "").split(",") if s],
        "station_hours": _station_hours(alert),
        "cells": [c for c in (alert.get("cell_ids") or "").split(",") if c],
        "threshold": {"set_id": alert["set_id"], "value": _number(alert.get("threshold_value")),
                      "unit": alert.get("unit"), "averaging": alert.get("averaging"),
                      "reference": _reference(alert, thresholds)},
        "zones": [{"zone_id": z, "zone_name": names.get(z)} for z in zone_ids],
        "area_km2": _number(alert.get("area_km2")),
        "population": {"total": _number(alert.get("population_total")), "age_0_5": _number(alert.get("pop_0_5")),
                       "age_65_plus": _number(alert.get("pop_65p")),
                       "poor_households": _number(alert.get("pop_poor_households"))},
        "population_exposed": {"persons": _number(alert.get("population_exposed", alert.get("population_total"))),
                               "definition": alert.get("population_definition")},
        "facilities": _facilities(alert, facilities),
        "facilities_by_category": json.loads(alert.get("facilities_by_category") or "{}"),
        "children_in_creches": {
            "places": _count(alert.get("children_in_creches")),
            "creches_without_capacity": _count(alert.get("creches_without_capacity")),
            "definition": "Enfants accueillis en crèche au-dessus du seuil : somme des capacités (places) des "
                          "crèches situées dans les carreaux concernés ; une crèche de capacité inconnue compte 0."},
        "meets_episode_criteria": bool(alert.get("meets_episode_criteria")),
        "criteria": json.loads(alert.get("criteria") or "[]"),
        "episode_criteria_note": "Critères de l'arrêté du 7 avril 2016 (dépassement en situation de fond ou "
                                 "modélisé ; 100 km² dans la région ou 10 % de la population légale INSEE du "
                                 "département), évalués par le pipeline ; seul le préfet déclenche la procédure.",
        "recommendation": alert.get("recommendation"),
        "triggered_by": json.loads(alert.get("triggered_by") or "null"),
    }


def _facilities(alert: dict, facilities: pd.DataFrame) -> list[dict]:
    """The alert's facilities, most sensitive first: its ``facilities`` list, else looked up by id."""
    listed = alert.get("facilities")
    if isinstance(listed, str) and listed:
        return json.loads(listed)
    ids = alert.get("facility_ids")
    if not isinstance(ids, str) or not ids or facilities.empty:
        return []
    return facility_details(ids, facilities)


def _station_hours(alert: dict) -> list[dict]:
    """Each exceeding station with its hours above the threshold (local time; None for a daily threshold)."""
    trigger = json.loads(alert.get("triggered_by") or "null")
    stations = trigger.get("stations", []) if isinstance(trigger, dict) else []
    return [{"station_id": s.get("station_id"), "station_class": s.get("station_class"),
             "value_max": s.get("value_max"), "hours_local": s.get("hours_local")} for s in stations]


def _count(value: object) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _reference(alert: dict, thresholds: pd.DataFrame) -> str | None:
    match = thresholds[(thresholds["set_id"] == alert["set_id"]) & (thresholds["pollutant"] == alert["pollutant"])
                       & (thresholds["level"] == alert["level"]) & (thresholds["averaging"] == alert.get("averaging"))]
    return str(match["reference"].iloc[0]) if len(match) else None


def _latest(dataset: str) -> pd.DataFrame:
    return canonical.read_latest(dataset) if lake.latest_partition(dataset) else pd.DataFrame()


def _iso(value: object) -> str | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date().isoformat()


def _number(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)
