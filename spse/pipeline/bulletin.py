"""The daily bulletin: one self-contained HTML page per local day, from the published warehouse.

``render(day)`` reads the published warehouse read-only (the queries it shares with the
summary through :mod:`spse.pipeline.warehouse.report`) and writes ``settings().bulletin /
f"{day}.html"`` atomically. An expert reads it top down in two minutes: the essentials (the
day's alerts in one line each, the forecast, what the figures lack), then each alert with its
one population figure and what it counts, its sensitive facilities named most sensitive first
(capped at :data:`FACILITIES_SHOWN` with "et N autres") and the crèche places concerned; a
200 m map of the day's main pollutant (:func:`main_pollutant`) with those facilities as points;
200 m maps of NO2, PM10, PM2.5 and O3 (:data:`MAPS`: the statistic of each key indicator,
colour ramp anchored at register thresholds); the yearly "Effets sur la santé" section
(:mod:`spse.pipeline.bulletin_health`); the last 7 days per arrondissement
(``marts.zone_key_indicators_daily``); key numbers per arrondissement; residents above daily
thresholds (``marts.population_above_threshold_daily``); station coverage
(``marts.station_daily``); method, sources and licences; "données provisoires" and, when a
source reads the demo bundle, "données synthétiques". Codes are shown through
:mod:`spse.pipeline.labels`. No network resource: CSS inline, no script, no font, figures as
inline SVG with embedded PNG (:mod:`spse.pipeline.bulletin_maps`); every text is escaped
(``html.escape``). Values in µg/m³; day: Europe/Paris unless the register says otherwise.
References: methods.md §1.1, §3, §6.1, §6.4, §8.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from spse.core import register
from spse.core.config import settings
from spse.pipeline import bulletin_health, canonical, labels, lake
from spse.pipeline import bulletin_maps as maps
from spse.pipeline.warehouse import report
from spse.pipeline.warehouse.reader import fetch_frame

log = logging.getLogger(__name__)

PARIS = "75056"
UNIT = "µg/m³"
# One map per key indicator: pollutant → (indicator column, daily statistic, register averaging,
# (set_id, level) of the register thresholds anchoring the colour ramp), in the order shown.
MAPS = {
    "NO2": ("no2_day_max_1h_ug_m3", "day_max_1h", "1h",
            (("EU_2024_2881", "information"), ("FR_R221-1", "information"), ("FR_R221-1", "alerte"))),
    "PM10": ("pm10_day_mean_ug_m3", "day_mean", "day_mean",
             (("WHO_2021", "guideline"), ("FR_R221-1", "information"), ("FR_R221-1", "alerte"))),
    "PM2.5": ("pm25_day_mean_ug_m3", "day_mean", "day_mean", (("WHO_2021", "guideline"), ("EU_2024_2881", "limit"))),
    "O3": ("o3_day_max_8h_mean_ug_m3", "day_max_8h_mean", "day_max_8h_mean",
           (("WHO_2021", "guideline"), ("EU_2008_50", "target"))),
}
TREND_DAYS = 7
# Further sections (e.g. a yearly summary from period marts): each called with the open read-only
# connection and the day, returning HTML placed before the method; append to extend the page.
EXTRA_SECTIONS: list[Callable[[duckdb.DuckDBPyConnection, dt.date], str]] = [bulletin_health.section]
MAIN_WIDTH = 760
SMALL_WIDTH = 380
DAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre"]
FACILITIES_SHOWN = 8  # named facilities per alert; the rest are counted ("et N autres")
OBSERVED = ("air_quality", "regulatory_episode", "local_exceedance", "health_advisory")
SOURCES = [
    ("Mesures horaires : flux E2 temps réel LCSQA / Geod'air (données des AASQA, dont Airparif)",
     "Licence Ouverte / Etalab 2.0"),
    ("Prévisions : Copernicus Atmosphere Monitoring Service (CAMS), ensemble européen",
     "licence Copernicus (attribution)"),
    ("Population : INSEE, Filosofi, carroyage 200 m", "Licence Ouverte / Etalab 2.0"),
    ("Arrondissements et établissements de la petite enfance : Ville de Paris (opendata.paris.fr)", "ODbL"),
    ("Écoles : Annuaire de l'éducation (ministère de l'Éducation nationale) ; établissements de santé : FINESS",
     "Licence Ouverte / Etalab 2.0"),
    ("Seuils : Code de l'environnement (R221-1), directives européennes, lignes directrices OMS 2021",
     "textes publics"),
]
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:72em;color:#222;
line-height:1.4;padding:0 1em}h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #ddd;
padding-bottom:.2em;margin-top:1.6em}table{border-collapse:collapse;margin:.6em 0;font-size:.92em}
th,td{border:1px solid #ccc;padding:.3em .5em;vertical-align:top;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}td.spark{padding:.1em .3em;white-space:nowrap}
.alert{border-left:6px solid #c8323c;padding:.4em 1em;margin:.8em 0;background:#fbf3f3}
.alert.information{border-color:#f08a3c;background:#fdf6ef}.alert.closed{border-color:#50b47a;background:#f1f8f3}
.essentials{background:#f4f6fa;border:1px solid #c9d3e3;padding:.6em 1.2em;margin:1em 0}
.essentials li{margin:.2em 0}.banner{display:inline-block;padding:.2em .7em;margin:.2em .4em .2em 0;
border-radius:3px;font-weight:600;background:#fff3cd;border:1px solid #e0c060}.banner.synthetic{
background:#e8e0f8;border-color:#9b86c9}.rec{white-space:pre-line}.muted{color:#666;font-size:.9em}
.maps{display:flex;flex-wrap:wrap;gap:1em}.maps figure{margin:0}figcaption{font-size:.9em;font-weight:600}
svg text{font-size:11px;fill:#222}svg.legend{display:block}.legend-names{margin:0 0 .5em}.maps figure{width:390px}
svg text.halo{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round;font-weight:600}
svg.spark{vertical-align:middle}
"""


def render(day: dt.date, warehouse_path: Path | None = None) -> Path:
    """Write the bulletin of local day ``day`` (Europe/Paris) and return its path.

    Reads the published warehouse (or ``warehouse_path``) read-only; the file is
    ``settings().bulletin / f"{day}.html"``, replaced atomically.
    """
    from spse.pipeline.warehouse import connect_readonly

    con = connect_readonly(warehouse_path)
    try:
        data = _read(con, day)
    finally:
        con.close()
    page = page_html(day, **data, synthetic=synthetic_sources())
    path = settings().bulletin / f"{day.isoformat()}.html"
    lake.write_bytes_atomic(path, page.encode("utf-8"))
    return path


def synthetic_sources() -> list[str]:
    """Names of the running sources that read the synthetic demo bundle (none in production)."""
    from spse import sources
    from spse.core import config

    return sorted(s.name for s in sources.active() if config.is_demo(s.name))


def _read(con: duckdb.DuckDBPyConnection, day: dt.date) -> dict:
    on_day = [day]
    alerts = _section(report.day_alerts, con, day)
    return {
        "alerts": alerts,
        "forecast": _section(report.forecast_alerts, con, day),
        "exposure": _section(report.key_indicators, con, day),
        "trend": _section(report.key_indicators_between, con, day - dt.timedelta(days=TREND_DAYS - 1), day),
        "cells": _section(report.cell_values, con, day),
        "points": _facility_points(con, alerts),
        "lacking": _section(report.lacking, con, day, empty=[]),
        "above": _query(con, "select * from marts.population_above_threshold_daily where date = ? and zone_id = ? "
                             "and pop_total_above > 0 order by pollutant, threshold_value, set_id, level",
                        [day, PARIS]),
        # the station of the maximum value, named by its id when the station list has no name for it
        "stations": _query(con, "select pollutant, statistic, count(distinct station_id) as n_stations, "
                                "count(distinct station_id) filter (where is_valid) as n_valid, max(value) as "
                                "value_max, arg_max(coalesce(station_name, station_id), value) as station_max "
                                "from marts.station_daily where date = ? group by pollutant, statistic "
                                "order by pollutant, statistic", on_day),
        "zones": _zones(con),
        "build": _query(con, "select * from meta.build_info", []),
        "partitions": _query(con, "select dataset, partition from meta.lake_partitions where partition = ? "
                                  "or partition like 'vintage=%' order by dataset, partition",
                             [lake.date_partition(day)]),
        "extra_sections": [_section(section, con, day, empty="") for section in EXTRA_SECTIONS],
    }


def _query(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> pd.DataFrame:
    return _section(fetch_frame, con, sql, params)


def _section(read, *args, empty=None):
    """``read(*args)``, or ``empty`` (an empty frame by default) when a table it reads is absent."""
    try:
        return read(*args)
    except duckdb.CatalogException as exc:
        log.warning("bulletin: %s; section left empty", str(exc).splitlines()[0])
        return pd.DataFrame() if empty is None else empty


def _zones(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Arrondissement polygons (EPSG:3035 WKT): the warehouse's lake view, else the lake partition."""
    frame = _query(con, "select zone_id, zone_name, zone_label, geometry_wkt from lake.zones", [])
    if frame.empty and lake.latest_partition("zones"):
        frame = canonical.read_latest("zones")
    return frame


def _facility_points(con: duckdb.DuckDBPyConnection, alerts: pd.DataFrame) -> pd.DataFrame:
    """The facilities of the day's observed alerts with their position (EPSG:3035 ``x``, ``y`` [m])."""
    ids = sorted({f["facility_id"] for f in _listed(alerts) if f.get("facility_id")})
    points = _section(report.facility_points, con, ids) if ids else pd.DataFrame()
    if points.empty:
        return points
    from pyproj import Transformer

    x, y = Transformer.from_crs(4326, 3035, always_xy=True).transform(points["lon"].to_numpy(float),
                                                                      points["lat"].to_numpy(float))
    return points.assign(x=x, y=y)


def _listed(alerts: pd.DataFrame) -> list[dict]:
    if alerts.empty or "facilities" not in alerts.columns:
        return []
    rows = alerts[alerts["kind"].isin(OBSERVED)]
    return [f for text in rows["facilities"] if isinstance(text, str) and text for f in json.loads(text)]


def page_html(day: dt.date, *, alerts: pd.DataFrame, exposure: pd.DataFrame, above: pd.DataFrame,
              stations: pd.DataFrame, zones: pd.DataFrame, build: pd.DataFrame, partitions: pd.DataFrame,
              forecast: pd.DataFrame | None = None, lacking: list[str] | None = None,
              trend: pd.DataFrame | None = None, cells: pd.DataFrame | None = None,
              points: pd.DataFrame | None = None, synthetic: list[str] | None = None,
              extra_sections: list[str] | None = None) -> str:
    """The bulletin page from the day's frames (pure; used by :func:`render`).

    ``exposure`` is :func:`spse.pipeline.warehouse.report.key_indicators` and ``trend`` the same
    over the last :data:`TREND_DAYS` days; ``forecast`` holds the forecast alerts the same run
    raised for the two days after ``day`` (CAMS); ``lacking`` the lines of
    :func:`spse.pipeline.warehouse.report.lacking`; ``cells`` the 200 m values of
    :func:`spse.pipeline.warehouse.report.cell_values`; ``points`` the alerts' facilities with
    EPSG:3035 ``x``, ``y`` [m]; ``synthetic`` the sources reading the demo bundle;
    ``extra_sections`` HTML sections (e.g. a yearly summary) placed before the method.
    """
    empty = pd.DataFrame()
    forecast, trend = (forecast if forecast is not None else empty), (trend if trend is not None else empty)
    cells, points = (cells if cells is not None else empty), (points if points is not None else empty)
    title = f"Qualité de l'air à Paris : bulletin du {french_date(day)}"
    banners = "<span class=\"banner\">Données provisoires</span>"
    if synthetic:
        banners += ("<span class=\"banner synthetic\">Données synthétiques (démonstration) : voir « Méthode et "
                    "provenance »</span>")
    main = main_pollutant(alerts, exposure)
    parts = [f"<!DOCTYPE html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\"><title>{_e(title)}</title>"
             f"<style>{CSS}</style></head><body>",
             f"<h1>{_e(title)}</h1><p>{banners}</p><p class=\"muted\">Journée civile du {_e(day.isoformat())}, "
             "heure de Paris (Europe/Paris). Mesures observées ; prévisions CAMS pour les deux jours suivants. "
             f"Concentrations en {UNIT}.</p>",
             _essentials(day, alerts, forecast, lacking or [], main),
             _alerts_section(alerts), _forecast_section(day, forecast), _lacking_section(lacking or []),
             _main_map_section(main, zones, cells, points),
             _maps_section(zones, cells),
             _trend_section(trend, day),
             _key_numbers_section(exposure),
             _above_section(above), _stations_section(stations), *(extra_sections or []),
             _method_section(build, partitions, synthetic or []),
             "</body></html>\n"]
    return "\n".join(parts)


def french_date(day: dt.date) -> str:
    """Local day ``day`` written in French, e.g. ``jeudi 1er janvier 2026``."""
    return f"{DAYS[day.weekday()]} {day.day}{'er' if day.day == 1 else ''} {MONTHS[day.month - 1]} {day.year}"


def main_pollutant(alerts: pd.DataFrame, exposure: pd.DataFrame) -> str:
    """The day's main pollutant, the one of the 200 m map with the facilities.

    The pollutant of the observed alert highest above its threshold (``value_max /
    threshold_value``), else the Paris key indicator highest relative to the first threshold of
    its map (:data:`MAPS`); PM10 without either.
    """
    if not alerts.empty:
        observed = alerts[alerts["kind"].isin(OBSERVED) & alerts["pollutant"].isin(list(MAPS))
                          & (alerts["status"] != "closed")]
        if len(observed):
            ratio = (observed["value_max"].astype(float) / observed["threshold_value"].astype(float)).dropna()
            if len(ratio):
                return str(observed.loc[ratio.idxmax(), "pollutant"])
    paris = exposure[exposure["zone_id"] == PARIS] if not exposure.empty else exposure
    if not paris.empty:
        ratios = {p: float(paris[column].iloc[0]) / scale_bounds(p)[0][0] for p, (column, *_) in MAPS.items()
                  if pd.notna(paris[column].iloc[0]) and scale_bounds(p)}
        if ratios:
            return max(ratios, key=ratios.get)
    return "PM10"


def scale_bounds(pollutant: str) -> list[tuple[float, str]]:
    """Thresholds [µg/m³] anchoring the map of ``pollutant`` (:data:`MAPS`) and their labels, from the register.

    An anchor the register lacks is left out (logged); the map is not drawn when none is left.
    """
    _, _, averaging, anchors = MAPS[pollutant]
    rows = register.thresholds()
    rows = rows[(rows["pollutant"] == pollutant) & (rows["averaging"] == averaging)]
    bounds = []
    for set_id, level in anchors:
        match = rows[(rows["set_id"] == set_id) & (rows["level"] == level)]
        if match.empty:
            log.warning("bulletin: threshold register has no %s %s row for %s %s (map scale)", pollutant, averaging,
                        set_id, level)
            continue
        name = labels.level(level, short=True)
        where = {"WHO_2021": "OMS", "FR_R221-1": "R221-1", "EU_2024_2881": "UE 2024", "EU_2008_50": "UE 2008"}
        bounds.append((float(match["value"].iloc[0]), f"{name} {where.get(set_id, labels.threshold_set(set_id))}"))
    return sorted(bounds)


def _essentials(day: dt.date, alerts: pd.DataFrame, forecast: pd.DataFrame, lacking: list[str], main: str) -> str:
    items = []
    observed = alerts[alerts["kind"].isin(OBSERVED)] if not alerts.empty else alerts
    for row in observed.to_dict("records"):
        items.append(f"<li><strong>{_e(_title(row))}</strong> : {_e(_value_text(row))} "
                     f"{_e(labels.number(row['population_total']))} habitants concernés, "
                     f"{int(row['facility_count'] or 0)} établissements sensibles.</li>")
    if observed.empty:
        items.append("<li>Aucun dépassement observé des seuils d'information ou d'alerte.</li>")
    for row in forecast.to_dict("records"):
        items.append(f"<li>Prévision pour le {_e(french_date(pd.Timestamp(row['date']).date()))} : "
                     f"{_e(_title(row))}.</li>")
    if forecast.empty:
        items.append("<li>Aucun dépassement prévu pour les deux jours suivants (ou pas de prévision).</li>")
    if lacking:
        items.append(f"<li>{len(lacking)} problème{'s' if len(lacking) > 1 else ''} de données : voir « Ce qui "
                     "manque aux chiffres du jour ».</li>")
    items.append(f"<li>Polluant principal du jour (carte 200 m) : {_e(labels.pollutant(main))}.</li>")
    return f"<div class=\"essentials\"><h2>L'essentiel</h2><ul>{''.join(items)}</ul></div>"


def _title(row: dict) -> str:
    return f"{labels.pollutant(row['pollutant'])} : {labels.threshold(row['set_id'], row['level'])}"


def _value_text(row: dict) -> str:
    return labels.exceedance(row) + (" ;" if row["status"] != "closed" else ".")


def _alerts_section(alerts: pd.DataFrame) -> str:
    if alerts.empty:
        return "<h2>Alertes</h2><p>Aucune alerte et aucun problème de données signalé pour cette journée.</p>"
    air = alerts[alerts["kind"].isin(OBSERVED)]
    quality = alerts[alerts["kind"] == "data_quality"]
    blocks = ["<h2>Alertes</h2>"]
    if air.empty:
        blocks.append("<p>Aucun dépassement des seuils d'information ou d'alerte (R221-1).</p>")
    blocks += [_alert_block(row) for row in air.to_dict("records")]
    if len(quality):
        items = "".join(f"<li><strong>{_e(labels.source(r['pollutant']))}</strong> "
                        f"({_e(labels.threshold_set(r['set_id']))}) : "
                        f"<span class=\"rec\">{_e(r['recommendation'])}</span></li>"
                        for r in quality.to_dict("records"))
        blocks.append(f"<h3>Qualité des données</h3><ul>{items}</ul>")
    return "\n".join(blocks)


def _lacking_section(lines: list[str]) -> str:
    """What the day's figures lack, in plain words (from its ``data_quality`` alerts)."""
    if not lines:
        return ""
    items = "".join(f"<li>{_e(line)}</li>" for line in lines)
    return (f"<h2>Ce qui manque aux chiffres du jour</h2><ul>{items}</ul><p class=\"muted\">Les chiffres de ce "
            "bulletin sont calculés avec les données valides disponibles ; le détail est dans la section "
            "« Qualité des données ».</p>")


def _forecast_section(day: dt.date, forecast: pd.DataFrame) -> str:
    days = f"{french_date(day + dt.timedelta(days=1))} et {french_date(day + dt.timedelta(days=2))}"
    if forecast.empty:
        return (f"<h2>Prévisions ({_e(days)})</h2><p>Aucun dépassement prévu des seuils d'information ou "
                "d'alerte, ou pas de prévision disponible (source CAMS).</p>")
    blocks = [f"<h2>Prévisions ({_e(days)})</h2>"]
    for row in forecast.to_dict("records"):
        blocks.append(f"<p class=\"muted\">Prévision pour le {_e(french_date(pd.Timestamp(row['date']).date()))}"
                      "</p>" + _alert_block(row))
    return "\n".join(blocks)


def _alert_block(row: dict) -> str:
    level = str(row["level"])
    css = "closed" if row["status"] == "closed" else level.split("_")[0]
    value = _upper_first(labels.exceedance(row))
    value += "." if row["status"] == "closed" else f", d'après : {labels.basis(row['basis'])}."
    facilities = labels.categories(row.get("facilities_by_category"),
                                   register.parameters().words("facility_sensitivity_order"))
    start = row.get("episode_start_date")
    status = f"{labels.status(row['status'])}, épisode commencé le {_date_text(start)}"
    criteria = labels.criteria(row.get("criteria"))
    criteria = f"<p>Critères : {_e(criteria)}.</p>" if criteria else ""
    return (f"<div class=\"alert {_e(css)}\"><h3>{_e(_title(row))}</h3>"
            f"<p class=\"type\"><strong>{_e(_upper_first(labels.alert_label(row)))}.</strong></p>"
            f"<p><em>{_e(_upper_first(labels.kind(row['kind'])))} ; statut : {_e(status)}.</em></p><p>{_e(value)}</p>"
            f"<p><strong>Population concernée : {_e(labels.population(row))}.</strong></p>{criteria}"
            f"<p>Zones : {_e(row.get('zone_names') or 'aucune')}.</p>"
            f"<p>Établissements sensibles ({int(row['facility_count'] or 0)}) : {_e(facilities)}.</p>"
            f"{facility_list(row)}"
            f"<p class=\"rec\"><strong>Recommandations.</strong>\n{_e(row.get('recommendation') or '')}</p></div>")


def facility_list(row: dict, shown: int = FACILITIES_SHOWN) -> str:
    """The alert's named facilities as an HTML list, most sensitive first, then the crèche places.

    Reads the row's ``facilities`` JSON (already in the register's sensitivity order):
    the first ``shown`` are named with category, capacity and address, the others counted
    ("et N autres"). ``children_in_creches`` [places] follows when the alert holds crèches.
    Empty when the row has no list (alerts written before it existed).
    """
    listed = json.loads(row["facilities"]) if isinstance(row.get("facilities"), str) and row["facilities"] else []
    if not listed:
        return ""
    items = "".join(f"<li>{_e(facility_text(f))}</li>" for f in listed[:shown])
    more = len(listed) - shown
    tail = f"<li>et {more} autre{'s' if more > 1 else ''}</li>" if more > 0 else ""
    return f"<ul class=\"facilities\">{items}{tail}</ul>{_creche_places(row, listed)}"


def facility_text(facility: dict) -> str:
    """``Crèche Tandou (crèche, 66 places) : 18 RUE TANDOU, 75019, 19e arrondissement``."""
    category = labels.category(facility.get("category")) or "catégorie inconnue"
    capacity = facility.get("capacity")
    unit = labels.capacity_unit(facility.get("capacity_unit"))
    about = f"{category}, {labels.number(capacity)} {unit}".rstrip() if capacity is not None else category
    where = ", ".join(str(v) for v in (facility.get("address"), facility.get("postcode"),
                                       facility.get("arrondissement")) if v)
    name = facility.get("name") or facility.get("facility_id")
    return f"{name} ({about})" + (f" : {where}" if where else "")


def _creche_places(row: dict, listed: list[dict]) -> str:
    creches = [f for f in listed if f.get("category") == "creche"]
    if not creches or row.get("children_in_creches") is None or pd.isna(row.get("children_in_creches")):
        return ""
    unknown = sum(1 for f in creches if f.get("capacity") is None)
    note = (f" ; {unknown} crèche{'s' if unknown > 1 else ''} de capacité inconnue, non comptée"
            f"{'s' if unknown > 1 else ''}" if unknown else "")
    basis = (f"somme des capacités des {len(creches)} crèches" if len(creches) > 1
             else "capacité de la crèche")
    return (f"<p>Enfants accueillis en crèche dans la zone concernée : {_e(labels.number(row['children_in_creches']))} "
            f"places ({basis}{_e(note)}).</p>")


def _map(pollutant: str, zones: pd.DataFrame, cells: pd.DataFrame, width: int,
         points: pd.DataFrame | None = None) -> tuple[str, str] | None:
    """The 200 m map of ``pollutant`` (SVG) and its legend, ``None`` without geometry or cells."""
    _, statistic, _, _ = MAPS[pollutant]
    mine = cells[(cells["pollutant"] == pollutant) & (cells["statistic"] == statistic)] if not cells.empty else cells
    frame = maps.frame_of(zones, mine, width)
    bounds = scale_bounds(pollutant)
    if frame is None or mine.empty or not bounds:
        return None
    body = maps.cell_image(frame, mine, [b for b, _ in bounds]) + maps.zone_outlines(frame, zones, _e)
    if points is not None and not points.empty:
        tips = [f"{r['name']} ({labels.category(r['category'])})" for r in points.to_dict("records")]
        body += maps.facility_points(frame, points["x"].to_numpy(float), points["y"].to_numpy(float), tips, _e)
    name = f"{labels.pollutant(pollutant)}, {labels.statistic(statistic)}"
    top = max(float(np.nanmax(mine["value_ug_m3"].to_numpy(float), initial=0.0)), bounds[-1][0]) * 1.05
    legend = maps.ramp_legend(bounds, UNIT, top, _e, lambda v: labels.number(v), width=min(width, 520))
    return maps.svg(frame, body, f"Carte 200 m : {name}", _e), legend


def _main_map_section(main: str, zones: pd.DataFrame, cells: pd.DataFrame, points: pd.DataFrame) -> str:
    _, statistic, _, _ = MAPS[main]
    head = (f"<h2>Carte du polluant principal : {_e(labels.pollutant(main))}, {_e(labels.statistic(statistic))} "
            "(carreaux de 200 m)</h2>")
    drawn = _map(main, zones, cells, MAIN_WIDTH, points)
    if drawn is None:
        return head + "<p>Pas de valeur par carreau ou pas de géométrie pour cette journée.</p>"
    shown = (f"<p class=\"muted\">○ : établissements sensibles concernés par une alerte du jour ({len(points)} ; "
             "survol : nom et catégorie).</p>" if not points.empty else "")
    return (head + "<figure>" + drawn[0] + drawn[1] + "</figure>" + shown +
            "<p class=\"muted\">Surface de fond interpolée (inverse de la distance des stations de fond) : elle "
            "sous-estime l'exposition au bord des grands axes. Gris : carreau sans valeur valide.</p>")


def _maps_section(zones: pd.DataFrame, cells: pd.DataFrame) -> str:
    figures = []
    for pollutant, (_, statistic, _, _) in MAPS.items():
        drawn = _map(pollutant, zones, cells, SMALL_WIDTH)
        caption = f"{labels.pollutant(pollutant)} : {labels.statistic(statistic)}"
        body = drawn[0] + drawn[1] if drawn else ("<p>Pas de valeur par carreau (ou pas de seuil au registre pour "
                                                  "l&#x27;échelle).</p>")
        figures.append(f"<figure><figcaption>{_e(caption)}</figcaption>{body}</figure>")
    return ("<h2>Cartes 200 m : NO2, PM10, PM2,5 et O3</h2><div class=\"maps\">" + "".join(figures) + "</div>"
            "<p class=\"muted\">Couleurs : dégradé ancré aux seuils du registre (jaune au premier seuil, rouge "
            "au-delà du dernier) ; une valeur égale à un seuil ne le dépasse pas.</p>")


def _trend_section(trend: pd.DataFrame, day: dt.date) -> str:
    head = f"<h2>Les {TREND_DAYS} derniers jours par arrondissement</h2>"
    if trend.empty:
        return head + "<p>Pas d'indicateur sur les jours précédents.</p>"
    days = pd.date_range(day - dt.timedelta(days=TREND_DAYS - 1), day).date
    trend = trend.assign(date=pd.to_datetime(trend["date"]).dt.date)
    header = "".join(f"<th>{_e(labels.pollutant(p))}<br><span class=\"muted\">{_e(labels.statistic(s))}</span></th>"
                     for p, (_, s, _, _) in MAPS.items())
    firsts = {p: (scale_bounds(p) or [(None, "")])[0][0] for p in MAPS}
    tops = {p: max(float(np.nanmax(trend[c].to_numpy(float), initial=0.0)), firsts[p] or 1.0) * 1.1
            for p, (c, *_) in MAPS.items()}
    rows = []
    zone_order = [z for z in trend["zone_id"].drop_duplicates() if z != PARIS] + [PARIS]
    for zone in zone_order:
        mine = trend[trend["zone_id"] == zone].set_index("date")
        if mine.empty:
            continue
        name = str(mine["zone_name"].iloc[0]) + (" (ensemble)" if zone == PARIS else "")
        cells = []
        for pollutant, (column, *_) in MAPS.items():
            values = mine[column].reindex(days).to_numpy(float)
            line = maps.sparkline(values, tops[pollutant], firsts[pollutant])
            cells.append(f"<td class=\"spark\">{line} {labels.number(values[-1], 0)}</td>")
        rows.append(f"<tr><td>{_e(name)}</td>{''.join(cells)}</tr>")
    first, last = french_date(days[0]), french_date(days[-1])
    return (head + f"<table><tr><th>Zone</th>{header}</tr>{''.join(rows)}</table>"
            f"<p class=\"muted\">Du {_e(first)} au {_e(last)} ; moyennes pondérées par la population ({UNIT}), "
            "valeur du jour à droite ; tirets rouges : premier seuil de la carte (ligne directrice OMS ou seuil "
            "européen) ; même échelle pour tous les arrondissements ; trou : jour sans donnée valide.</p>")


def _key_numbers_section(exposure: pd.DataFrame) -> str:
    head = "<h2>Chiffres clés par arrondissement</h2>"
    if exposure.empty:
        return head + "<p>Pas d'indicateur d'exposition pour cette journée.</p>"
    rows = pd.concat([exposure[exposure["zone_id"] != PARIS], exposure[exposure["zone_id"] == PARIS]])
    header = "".join(f"<th>{_e(labels.pollutant(p))} {_e(labels.statistic(s))} ({UNIT})</th>"
                     for p, (_, s, _, _) in _by_indicator())
    lines = []
    for r in rows.to_dict("records"):
        cells = "".join(f"<td class=\"n\">{labels.number(r[column], 1)}</td>" for column in report.KEY_INDICATORS)
        name = r["zone_name"] if r["zone_id"] != PARIS else f"{r['zone_name']} (ensemble)"
        lines.append(f"<tr><td>{_e(name)}</td>{cells}<td class=\"n\">{labels.number(r['population'])}</td></tr>")
    return (head + f"<table><tr><th>Zone</th>{header}<th>Population</th></tr>{''.join(lines)}</table>"
            "<p class=\"muted\">Moyennes pondérées par la population (Σ P·C / Σ P sur les carreaux de 200 m "
            "valides, population répartie par fraction de surface). Une case vide : donnée invalide.</p>")


def _by_indicator() -> list[tuple[str, tuple]]:
    """:data:`MAPS` in the order of ``report.KEY_INDICATORS``."""
    return sorted(MAPS.items(), key=lambda item: report.KEY_INDICATORS.index(item[1][0]))


def _above_section(above: pd.DataFrame) -> str:
    head = "<h2>Parisiens au-dessus d'un seuil journalier</h2>"
    if above.empty:
        return head + "<p>Aucun habitant au-dessus d'un seuil journalier du registre (surface de fond).</p>"
    lines = "".join(
        f"<tr><td>{_e(labels.pollutant(r['pollutant']))}</td><td>{_e(labels.threshold(r['set_id'], r['level']))}"
        f"</td><td>{_e(labels.statistic(r['statistic']))} &gt; {labels.number(r['threshold_value'])}</td>"
        f"<td class=\"n\">{labels.number(r['pop_total_above'])}</td>"
        f"<td class=\"n\">{labels.number(r['pop_0_5_above'])}</td><td class=\"n\">{labels.number(r['pop_65p_above'])}"
        f"</td><td class=\"n\">{labels.number(r['pop_poor_households_above'])}</td></tr>"
        for r in above.to_dict("records"))
    return (head + f"<table><tr><th>Polluant</th><th>Seuil</th><th>Statistique ({UNIT})</th><th>Habitants</th>"
            f"<th>0–5 ans</th><th>65 ans et plus</th><th>Ménages pauvres</th></tr>{lines}</table>"
            "<p class=\"muted\">Résidents des carreaux de 200 m dont la valeur de fond dépasse le seuil (surface "
            "seule ; le chiffre d'une alerte compte aussi les carreaux voisins des stations en dépassement).</p>")


def _stations_section(stations: pd.DataFrame) -> str:
    head = "<h2>Stations de mesure</h2>"
    if stations.empty:
        return head + "<p>Aucune statistique de station pour cette journée.</p>"
    lines = "".join(
        f"<tr><td>{_e(labels.pollutant(r['pollutant']))}</td><td>{_e(labels.statistic(r['statistic']))}</td>"
        f"<td class=\"n\">{int(r['n_valid'])} / {int(r['n_stations'])}</td>"
        f"<td class=\"n\">{labels.number(r['value_max'], 1)}</td>"
        f"<td>{_e(r['station_max'] if isinstance(r['station_max'], str) else '')}</td></tr>"
        for r in stations.to_dict("records"))
    return (head + "<table><tr><th>Polluant</th><th>Statistique</th><th>Stations valides</th>"
            f"<th>Maximum ({UNIT})</th><th>Station du maximum</th></tr>{lines}</table>")


def _method_section(build: pd.DataFrame, partitions: pd.DataFrame, synthetic: list[str]) -> str:
    params = register.parameters()
    hours = params.text("min_valid_hours_day")
    text = [
        "Données provisoires : les mesures temps réel (flux E2) ne sont pas encore validées par les AASQA et "
        "peuvent être corrigées ; les chiffres de ce bulletin peuvent donc changer.",
        f"Base de temps : instants stockés en UTC ; journée civile {params.text('day_time_base')}, de 23, "
        f"24 ou 25 heures. Règle de couverture : une statistique journalière exige au moins {hours} valeurs "
        "horaires valides (75 %) ; sinon elle est vide et signalée invalide.",
        "Surfaces : interpolation des seules stations de fond (inverse de la distance) sur les carreaux de 200 m. "
        "Alertes : dépassement strict, 3 heures consécutives quand la règle l'exige ; carreaux touchés = carreaux "
        "de surface au-dessus du seuil et voisinage des stations en dépassement. Le critère d'épisode (100 km² ou "
        "10 % de la population, arrêté du 7 avril 2016) est indicatif : le critère officiel repose sur la "
        "modélisation de fond régionale.",
        "Recommandations : arrêté du 20 août 2014 modifié le 13 mars 2018, messages relayés en Île-de-France, "
        "adaptés par le service (registre des recommandations).",
    ]
    if synthetic:
        text.insert(0, "Données synthétiques : ce bulletin de démonstration repose sur des données inventées pour "
                       f"les sources {', '.join(labels.source(s) for s in synthetic)} ; il ne décrit pas la "
                       "qualité de l'air réelle.")
    if not build.empty:
        info = build.iloc[0]
        text.append(f"Entrepôt construit le {info.get('built_at_utc')} (UTC) ; registre des seuils "
                    f"sha256 {str(info.get('thresholds_sha256', ''))[:12]}.")
    if not partitions.empty:
        text.append("Partitions du lac lues : " + ", ".join(f"{r.dataset}/{r.partition}"
                                                            for r in partitions.itertuples()) + ".")
    sources = "".join(f"<li>{_e(name)} ({_e(licence)})</li>" for name, licence in SOURCES)
    return ("<h2>Sources et licences</h2><ul class=\"muted\">" + sources + "</ul>"
            "<h2>Méthode et provenance</h2>" + "".join(f"<p class=\"muted\">{_e(t)}</p>" for t in text))


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _date_text(value: object) -> str:
    return "date inconnue" if value is None or pd.isna(value) else french_date(pd.Timestamp(value).date())
