"""The daily bulletin: one self-contained HTML page per local day, from the published warehouse.

``render(day)`` reads the published warehouse read-only (the queries it shares with the
summary through :mod:`spse.pipeline.warehouse.report`) and writes ``settings().bulletin /
f"{day}.html"`` atomically. The page holds the day's alerts (``marts.alerts``, each with its
sensitive facilities named most sensitive first, capped at :data:`FACILITIES_SHOWN` with "et
N autres", and the crèche places concerned), key numbers per arrondissement
(``marts.zone_key_indicators_daily``: population-weighted PM10 and PM2.5 daily means, NO2
daily maximum hourly value, O3 daily maximum 8-hour mean, µg/m³), residents above daily
thresholds (``marts.population_above_threshold_daily``), station coverage
(``marts.station_daily``), an inline SVG map of the arrondissements coloured by the PM10
population-weighted daily mean (class bounds from the threshold register: WHO 2021
guideline, R221-1 information and alert thresholds), and a note on method and provenance. No
network resource: CSS inline, no script, no font, no image file; every text is escaped
(``html.escape``). Day: Europe/Paris unless the register says otherwise. References:
methods.md §1.1, §3, §6.1, §8.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import shapely

from spse.core import lake, register
from spse.core.config import settings
from spse.pipeline.warehouse import report
from spse.pipeline.warehouse.reader import fetch_frame

log = logging.getLogger(__name__)

PARIS = "75056"
KEY_NUMBERS = dict(zip(report.KEY_INDICATORS, ("PM10 moyenne journalière", "PM2,5 moyenne journalière",
                                                "NO2 maximum horaire", "O3 maximum 8 h"), strict=True))
PM10 = "pm10_day_mean_ug_m3"  # the map's indicator, a column of report.key_indicators
# Legend bounds: (set_id, pollutant, averaging, level) rows of the threshold register, PM10 daily mean.
MAP_BOUNDS = [("WHO_2021", "guideline", "ligne directrice OMS 2021"),
              ("FR_R221-1", "information", "seuil d'information"), ("FR_R221-1", "alerte", "seuil d'alerte")]
MAP_COLOURS = ["#50b47a", "#f2d24b", "#f08a3c", "#c8323c"]
NO_DATA_COLOUR = "#d0d0d0"
SVG_WIDTH = 640
SIMPLIFY_M = 10.0
DAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre"]
LEVELS = {"information": "Information-recommandation", "alerte": "Alerte", "closed": "Fin d'épisode"}
CATEGORIES = {"creche": "crèches", "ecole_maternelle": "écoles maternelles", "ecole_elementaire": "écoles élémentaires",
              "college": "collèges", "lycee": "lycées", "pmi": "centres de PMI", "ehpad": "EHPAD",
              "hospital": "hôpitaux", "centre_sante": "centres de santé"}
CATEGORY = {"creche": "crèche", "ecole_maternelle": "école maternelle", "ecole_elementaire": "école élémentaire",
            "college": "collège", "lycee": "lycée", "pmi": "centre de PMI", "ehpad": "EHPAD", "hospital": "hôpital",
            "centre_sante": "centre de santé"}
CAPACITY_UNITS = {"places": "places", "pupils": "élèves", "beds": "lits"}
FACILITIES_SHOWN = 8  # named facilities per alert; the rest are counted ("et N autres")
STATUS = {"opened": "nouvelle", "ongoing": "en cours", "closed": "levée"}
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:70em;color:#222;
line-height:1.4;padding:0 1em}h1{font-size:1.6em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em}th,td{border:1px solid #ccc;padding:.3em .5em;
vertical-align:top;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
.alert{border-left:6px solid #c8323c;padding:.4em 1em;margin:.8em 0;background:#fbf3f3}
.alert.information{border-color:#f08a3c;background:#fdf6ef}.alert.closed{border-color:#50b47a;background:#f1f8f3}
.rec{white-space:pre-line}.muted{color:#666;font-size:.9em}.legend span{display:inline-block;width:1em;height:1em;
margin:0 .3em 0 1em;vertical-align:middle;border:1px solid #888}svg text{font-size:11px;fill:#222}
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
    page = page_html(day, **data)
    path = settings().bulletin / f"{day.isoformat()}.html"
    lake.write_bytes_atomic(path, page.encode("utf-8"))
    return path


def _read(con: duckdb.DuckDBPyConnection, day: dt.date) -> dict:
    on_day = [day]
    return {
        "alerts": _section(report.day_alerts, con, day),
        "forecast": _section(report.forecast_alerts, con, day),
        "exposure": _section(report.key_indicators, con, day),
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
        frame = lake.read_latest("zones")
    return frame


def page_html(day: dt.date, *, alerts: pd.DataFrame, exposure: pd.DataFrame, above: pd.DataFrame,
              stations: pd.DataFrame, zones: pd.DataFrame, build: pd.DataFrame, partitions: pd.DataFrame,
              forecast: pd.DataFrame | None = None, lacking: list[str] | None = None) -> str:
    """The bulletin page from the day's frames (pure; used by :func:`render`).

    ``exposure`` is :func:`spse.pipeline.warehouse.report.key_indicators`; ``forecast`` holds the
    forecast alerts the same run raised for J and J+1 (the two days after ``day``), from the
    CAMS forecast; ``lacking`` the lines of :func:`spse.pipeline.warehouse.report.lacking`.
    """
    forecast = forecast if forecast is not None else pd.DataFrame()
    title = f"Qualité de l'air à Paris : bulletin du {french_date(day)}"
    parts = [f"<!DOCTYPE html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\"><title>{_e(title)}</title>"
             f"<style>{CSS}</style></head><body>",
             f"<h1>{_e(title)}</h1><p class=\"muted\">Journée civile du {_e(day.isoformat())}, heure de Paris "
             "(Europe/Paris). Mesures observées ; prévisions CAMS pour les deux jours suivants.</p>",
             _lacking_section(lacking or []), _alerts_section(alerts), _forecast_section(day, forecast),
             _map_section(zones, exposure),
             _key_numbers_section(exposure),
             _above_section(above), _stations_section(stations), _method_section(build, partitions),
             "</body></html>\n"]
    return "\n".join(parts)


def french_date(day: dt.date) -> str:
    """Local day ``day`` written in French, e.g. ``jeudi 1er janvier 2026``."""
    return f"{DAYS[day.weekday()]} {day.day}{'er' if day.day == 1 else ''} {MONTHS[day.month - 1]} {day.year}"


def _alerts_section(alerts: pd.DataFrame) -> str:
    if alerts.empty:
        return "<h2>Alertes</h2><p>Aucune alerte et aucun problème de données signalé pour cette journée.</p>"
    air = alerts[alerts["kind"] == "air_quality"]
    quality = alerts[alerts["kind"] != "air_quality"]
    blocks = ["<h2>Alertes</h2>"]
    if air.empty:
        blocks.append("<p>Aucun dépassement des seuils d'information ou d'alerte (R221-1).</p>")
    blocks += [_alert_block(row) for row in air.to_dict("records")]
    if len(quality):
        items = "".join(f"<li><strong>{_e(r['pollutant'])}</strong> ({_e(r['set_id'])}) : "
                        f"<span class=\"rec\">{_e(r['recommendation'])}</span></li>"
                        for r in quality.to_dict("records"))
        blocks.append(f"<h3>Qualité des données</h3><ul>{items}</ul>")
    return "\n".join(blocks)


def _lacking_section(lines: list[str]) -> str:
    """What the day's figures lack, in plain words (from its ``data_quality`` alerts)."""
    if not lines:
        return ""
    items = "".join(f"<li>{_e(line)}</li>" for line in lines)
    return (f"<h2>Ce qui manque aux chiffres du jour</h2><ul>{items}</ul><p class=\"muted\">Les chiffres ci-dessous "
            "sont calculés avec les données valides disponibles ; le détail est dans la section « Qualité des "
            "données ».</p>")


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
    name = LEVELS.get(level.split("_")[0], level)
    label = f"{row['pollutant']} : {name} ({level}, {row['set_id']})"
    value = (f"Valeur maximale {_num(row['value_max'])} {row['unit']} pour un seuil de {_num(row['threshold_value'])} "
             f"{row['unit']} ({row['averaging']}), base : {row['basis']}.")
    if row["status"] == "closed":
        value = f"Seuil de {_num(row['threshold_value'])} {row['unit']} ({row['averaging']}) plus dépassé."
    people = (f"Population concernée : {_num(row['population_total'])} habitants, dont {_num(row['pop_0_5'])} "
              f"enfants de 0 à 5 ans, {_num(row['pop_65p'])} personnes de 65 ans et plus, "
              f"{_num(row['pop_poor_households'])} personnes de ménages pauvres ; {row['n_cells']} carreaux de "
              f"200 m ({_num(row['area_km2'], 2)} km²).")
    facilities = _categories(row.get("facilities_by_category"))
    named = facility_list(row)
    start = row.get("episode_start_date")
    status = f"{STATUS.get(row['status'], row['status'])}, épisode commencé le {_date_text(start)}"
    return (f"<div class=\"alert {_e(css)}\"><h3>{_e(label)}</h3>"
            f"<p><em>Statut : {_e(status)}.</em></p><p>{_e(value)}</p>"
            f"<p>Zones : {_e(row.get('zone_names') or 'aucune')}.</p><p>{_e(people)}</p>"
            f"<p>Établissements sensibles ({int(row['facility_count'])}) : {_e(facilities)}.</p>{named}"
            f"<p class=\"rec\"><strong>Recommandations.</strong>\n{_e(row.get('recommendation') or '')}</p></div>")


def _categories(text: object) -> str:
    counts = json.loads(text) if isinstance(text, str) and text else {}
    order = register.parameters().words("facility_sensitivity_order")
    ranked = sorted(counts.items(), key=lambda kv: (order.index(kv[0]) if kv[0] in order else len(order), kv[0]))
    return ", ".join(f"{CATEGORIES.get(k, k)} : {v}" for k, v in ranked) or "aucun"


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
    category = CATEGORY.get(facility.get("category"), facility.get("category") or "catégorie inconnue")
    capacity = facility.get("capacity")
    unit = CAPACITY_UNITS.get(facility.get("capacity_unit"), facility.get("capacity_unit") or "")
    about = f"{category}, {_num(capacity)} {unit}".rstrip() if capacity is not None else category
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
    return (f"<p>Enfants accueillis en crèche dans la zone concernée : {_e(_num(row['children_in_creches']))} "
            f"places ({basis}{_e(note)}).</p>")


def legend_classes() -> list[tuple[float, str]]:
    """PM10 daily-mean class bounds [µg/m³] and labels, from the threshold register."""
    rows = register.thresholds()
    rows = rows[(rows["pollutant"] == "PM10") & (rows["averaging"] == "day_mean")]
    bounds = []
    for set_id, level, label in MAP_BOUNDS:
        match = rows[(rows["set_id"] == set_id) & (rows["level"] == level)]
        if match.empty:
            raise KeyError(f"threshold register: no PM10 day_mean row for {set_id} {level} (bulletin legend)")
        bounds.append((float(match["value"].iloc[0]), label))
    return sorted(bounds)


def _map_section(zones: pd.DataFrame, exposure: pd.DataFrame) -> str:
    head = "<h2>Carte : PM10, moyenne journalière pondérée par la population</h2>"
    if zones.empty or "geometry_wkt" not in zones.columns:
        return head + "<p>Géométries des arrondissements indisponibles.</p>"
    bounds = legend_classes()
    values = zones[["zone_id"]].merge(exposure[["zone_id", PM10]], on="zone_id", how="left") \
        if not exposure.empty else zones[["zone_id"]].assign(**{PM10: np.nan})
    pm10 = values[PM10].to_numpy(float)
    cls = np.searchsorted([b for b, _ in bounds], pm10, side="left")  # value == bound stays below (strict >)
    fill = np.where(np.isnan(pm10), NO_DATA_COLOUR, np.array(MAP_COLOURS)[np.minimum(cls, len(MAP_COLOURS) - 1)])
    return head + svg_map(zones, fill, pm10) + _legend(bounds)


def svg_map(zones: pd.DataFrame, fill: np.ndarray, values: np.ndarray) -> str:
    """Inline SVG of the zone polygons (EPSG:3035, north up), one filled path per zone."""
    geoms = shapely.simplify(shapely.from_wkt(zones["geometry_wkt"].to_numpy()), SIMPLIFY_M)
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
    scale = SVG_WIDTH / max(xmax - xmin, 1.0)
    height = int(np.ceil((ymax - ymin) * scale))
    parts, part_zone = shapely.get_parts(geoms, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, point_ring = shapely.get_coordinates(rings, return_index=True)
    px = np.round((coords[:, 0] - xmin) * scale, 1)
    py = np.round((ymax - coords[:, 1]) * scale, 1)
    points = pd.DataFrame({"zone": part_zone[ring_part[point_ring]], "ring": point_ring,
                           "xy": pd.Series(px).astype(str) + "," + pd.Series(py).astype(str)})
    rings_d = points.groupby(["zone", "ring"], sort=True)["xy"].agg(lambda s: "M" + " L".join(s) + " Z")
    paths = rings_d.groupby(level="zone").agg(" ".join)
    labels = shapely.point_on_surface(geoms)
    lx, ly = (shapely.get_x(labels) - xmin) * scale, (ymax - shapely.get_y(labels)) * scale
    names = zones.get("zone_name", zones["zone_id"]).astype(str).to_numpy()
    short = zones.get("zone_label", zones["zone_id"]).astype(str).to_numpy()
    body = []
    for i in range(len(zones)):
        tip = f"{names[i]} : {_num(values[i], 1)} µg/m³" if not np.isnan(values[i]) else f"{names[i]} : pas de donnée"
        body.append(f"<path d=\"{paths.get(i, '')}\" fill=\"{fill[i]}\" stroke=\"#555\" stroke-width=\"0.8\" "
                    f"fill-rule=\"evenodd\"><title>{_e(tip)}</title></path>")
        body.append(f"<text x=\"{lx[i]:.1f}\" y=\"{ly[i]:.1f}\" text-anchor=\"middle\">{_e(short[i])}</text>")
    return (f"<svg role=\"img\" aria-label=\"Carte des arrondissements de Paris\" width=\"{SVG_WIDTH}\" "
            f"height=\"{height}\" viewBox=\"0 0 {SVG_WIDTH} {height}\">" + "".join(body) + "</svg>")


def _legend(bounds: list[tuple[float, str]]) -> str:
    labels = [f"≤ {_num(bounds[0][0])}"] + [f"> {_num(value)} ({label})" for value, label in bounds]
    items = "".join(f"<span style=\"background:{colour}\"></span>{_e(text)}"
                    for colour, text in zip(MAP_COLOURS, labels, strict=True))
    return (f"<p class=\"legend\">µg/m³ :{items}<span style=\"background:{NO_DATA_COLOUR}\"></span>pas de donnée</p>"
            "<p class=\"muted\">Bornes lues dans le registre des seuils (OMS 2021, R221-1) ; une valeur égale à une "
            "borne reste dans la classe inférieure (dépassement strict).</p>")


def _key_numbers_section(exposure: pd.DataFrame) -> str:
    head = "<h2>Chiffres clés par arrondissement</h2>"
    if exposure.empty:
        return head + "<p>Pas d'indicateur d'exposition pour cette journée.</p>"
    rows = pd.concat([exposure[exposure["zone_id"] != PARIS], exposure[exposure["zone_id"] == PARIS]])
    header = "".join(f"<th>{_e(label)} (µg/m³)</th>" for label in KEY_NUMBERS.values())
    lines = []
    for r in rows.to_dict("records"):
        cells = "".join(f"<td class=\"n\">{_num(r[column], 1)}</td>" for column in KEY_NUMBERS)
        name = r["zone_name"] if r["zone_id"] != PARIS else f"{r['zone_name']} (ensemble)"
        lines.append(f"<tr><td>{_e(name)}</td>{cells}<td class=\"n\">{_num(r['population'])}</td></tr>")
    return (head + f"<table><tr><th>Zone</th>{header}<th>Population</th></tr>{''.join(lines)}</table>"
            "<p class=\"muted\">Moyennes pondérées par la population (Σ P·C / Σ P sur les carreaux de 200 m "
            "valides, population répartie par fraction de surface). Une case vide : donnée invalide.</p>")


def _above_section(above: pd.DataFrame) -> str:
    head = "<h2>Parisiens au-dessus d'un seuil journalier</h2>"
    if above.empty:
        return head + "<p>Aucun habitant au-dessus d'un seuil journalier du registre (surface de fond).</p>"
    lines = "".join(
        f"<tr><td>{_e(r['pollutant'])}</td><td>{_e(r['set_id'])} {_e(r['level'])}</td><td>{_e(r['statistic'])} &gt; "
        f"{_num(r['threshold_value'])}</td><td class=\"n\">{_num(r['pop_total_above'])}</td>"
        f"<td class=\"n\">{_num(r['pop_0_5_above'])}</td><td class=\"n\">{_num(r['pop_65p_above'])}</td>"
        f"<td class=\"n\">{_num(r['pop_poor_households_above'])}</td></tr>" for r in above.to_dict("records"))
    return (head + "<table><tr><th>Polluant</th><th>Seuil</th><th>Statistique (µg/m³)</th><th>Habitants</th>"
            f"<th>0–5 ans</th><th>65 ans et plus</th><th>Ménages pauvres</th></tr>{lines}</table>")


def _stations_section(stations: pd.DataFrame) -> str:
    head = "<h2>Stations de mesure</h2>"
    if stations.empty:
        return head + "<p>Aucune statistique de station pour cette journée.</p>"
    lines = "".join(
        f"<tr><td>{_e(r['pollutant'])}</td><td>{_e(r['statistic'])}</td><td class=\"n\">{int(r['n_valid'])} / "
        f"{int(r['n_stations'])}</td><td class=\"n\">{_num(r['value_max'], 1)}</td>"
        f"<td>{_e(r['station_max'] if isinstance(r['station_max'], str) else '')}</td></tr>"
        for r in stations.to_dict("records"))
    return (head + "<table><tr><th>Polluant</th><th>Statistique</th><th>Stations valides</th>"
            f"<th>Maximum</th><th>Station du maximum</th></tr>{lines}</table>")


def _method_section(build: pd.DataFrame, partitions: pd.DataFrame) -> str:
    params = register.parameters()
    hours = params.text("min_valid_hours_day")
    text = [
        "Sources : mesures horaires du flux E2 LCSQA / Geod'air (Airparif), population INSEE Filosofi carroyée "
        "200 m, arrondissements et établissements sensibles (Ville de Paris, FINESS), seuils du registre "
        "(Code de l'environnement R221-1, OMS 2021, directives européennes).",
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
    if not build.empty:
        info = build.iloc[0]
        text.append(f"Entrepôt construit le {info.get('built_at_utc')} (UTC) ; registre des seuils "
                    f"sha256 {str(info.get('thresholds_sha256', ''))[:12]}.")
    if not partitions.empty:
        text.append("Partitions du lac lues : " + ", ".join(f"{r.dataset}/{r.partition}"
                                                            for r in partitions.itertuples()) + ".")
    return "<h2>Méthode et provenance</h2>" + "".join(f"<p class=\"muted\">{_e(t)}</p>" for t in text)


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _num(value: object, digits: int = 0) -> str:
    """French-formatted number (narrow no-break space thousands, comma decimals); empty when missing."""
    if value is None or pd.isna(value):
        return ""
    text = f"{float(value):,.{digits}f}"
    return text.replace(",", "\u202f").replace(".", ",")


def _date_text(value: object) -> str:
    return "" if value is None or pd.isna(value) else pd.Timestamp(value).date().isoformat()
