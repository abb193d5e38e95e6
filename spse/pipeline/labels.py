"""Words the reader sees for the codes of the warehouse: the one place that turns codes into text.

The bulletin (:mod:`spse.pipeline.bulletin`), the end-of-run summary and ``spse alerts``
(:mod:`spse.pipeline.cli`) show pollutants, daily statistics, averaging periods, threshold
sets and levels, alert kinds, bases, statuses, facility categories and alert criteria through
these functions, in French (``lang="fr"``, the default) or English (``lang="en"``). A code
with no label (a new level, a new kind) is shown as it is, never dropped. Numbers follow the
language: French thousands with a narrow no-break space and a decimal comma. Thresholds and
their sets are those of the threshold register (methods.md §1.1, §3); the population of an
alert is the one of methods.md §6.1 (residents of the 200 m cells the alert covers).
"""

from __future__ import annotations

import json
import math

import pandas as pd

LANGS = ("fr", "en")

POLLUTANTS = {"PM2.5": ("PM2,5", "PM2.5"), "PM10": ("PM10", "PM10"), "NO2": ("NO2", "NO2"),
              "O3": ("O3", "O3"), "SO2": ("SO2", "SO2"), "CO": ("CO", "CO")}
STATISTICS = {
    "day_mean": ("moyenne journalière", "daily mean"),
    "day_max_1h": ("maximum horaire du jour", "daily maximum hourly value"),
    "day_max_8h_mean": ("maximum journalier de la moyenne sur 8 heures", "daily maximum 8-hour mean"),
    "year_mean": ("moyenne annuelle", "annual mean"),
    "1h": ("moyenne horaire", "hourly mean"),
    "1h_persistence": ("moyenne horaire, persistance", "hourly mean, persistence"),
    "day_mean_persistence": ("moyenne journalière, persistance", "daily mean, persistence"),
    "year": ("indicateur annuel", "annual indicator"),
}
SETS = {
    "FR_R221-1": ("Code de l'environnement, art. R221-1", "French environment code, art. R221-1"),
    "WHO_2021": ("OMS 2021", "WHO 2021"),
    "WHO_2018": ("OMS 2018 (bruit)", "WHO 2018 (noise)"),
    "EU_2008_50": ("directive 2008/50/CE", "directive 2008/50/EC"),
    "EU_2024_2881": ("directive (UE) 2024/2881", "directive (EU) 2024/2881"),
    "FR_NOISE_2006": ("arrêté du 4 avril 2006 (bruit)", "order of 4 April 2006 (noise)"),
    "DQ_MISSING_PARTITION": ("données du jour absentes", "day's data missing"),
    "DQ_BACKGROUND_STATIONS": ("trop peu de stations de fond", "too few background stations"),
    "DQ_STATIONS_UNLOCATED": ("stations sans coordonnées", "stations without coordinates"),
    "DQ_INPUT_REFUSED": ("source refusée par le contrôle qualité", "input refused by quality control"),
    "DQ_INPUT_PARTIAL": ("source incomplète", "input incomplete"),
    "DQ_INPUT_FAILED": ("source illisible ou non téléchargée", "input unreadable or not fetched"),
    "DQ_INPUT_QUARANTINE": ("lignes en quarantaine", "rows quarantined"),
}
LEVELS = {
    "information": ("seuil d'information et de recommandation", "information threshold"),
    "alerte": ("seuil d'alerte", "alert threshold"),
    "alerte_persistance": ("alerte sur persistance", "alert on persistence"),
    "alerte_mesures_1": ("seuil d'alerte, mesures de niveau 1", "alert threshold, level 1 measures"),
    "alerte_mesures_2": ("seuil d'alerte, mesures de niveau 2", "alert threshold, level 2 measures"),
    "alerte_mesures_3": ("seuil d'alerte, mesures de niveau 3", "alert threshold, level 3 measures"),
    "guideline": ("valeur guide", "guideline"),
    "guideline_short_term": ("valeur guide de court terme", "short-term guideline"),
    "limit": ("valeur limite", "limit value"),
    "target": ("valeur cible", "target value"),
    "data_quality": ("qualité des données", "data quality"),
}
# Levels as the prefectoral procedure names them: the subject of a regulatory episode's e-mail.
PROCEDURE_LEVELS = {
    "information": ("niveau d'information-recommandation", "information level"),
    "alerte": ("niveau d'alerte", "alert level"),
    "alerte_persistance": ("niveau d'alerte sur persistance", "alert level on persistence"),
    "alerte_mesures_1": ("niveau d'alerte (mesures, palier 1)", "alert level (measures, step 1)"),
    "alerte_mesures_2": ("niveau d'alerte (mesures, palier 2)", "alert level (measures, step 2)"),
    "alerte_mesures_3": ("niveau d'alerte (mesures, palier 3)", "alert level (measures, step 3)"),
}
# Short level names: alert titles and map legends.
SHORT_LEVELS = {
    "information": ("seuil d'information", "information threshold"),
    "alerte": ("seuil d'alerte", "alert threshold"),
    "alerte_persistance": ("alerte sur persistance", "alert on persistence"),
    "guideline": ("valeur guide", "guideline"),
    "guideline_short_term": ("valeur guide court terme", "short-term guideline"),
}
KINDS = {
    "air_quality": ("dépassement observé", "observed exceedance"),
    "forecast": ("prévision", "forecast"),
    "data_quality": ("qualité des données", "data quality"),
    "regulatory_episode": ("épisode de pollution réglementaire", "regulatory pollution episode"),
    "local_exceedance": ("dépassement local", "local exceedance"),
    "health_advisory": ("avis sanitaire", "health advisory"),
}
BASES = {
    "surface": ("surface de fond interpolée (carreaux de 200 m)", "interpolated background surface (200 m cells)"),
    "station": ("mesures aux stations", "station measurements"),
    "surface+station": ("surface de fond et mesures aux stations", "background surface and station measurements"),
    "forecast": ("prévision CAMS", "CAMS forecast"),
}
# What the cells of an alert are, by basis: the population of the alert counts their residents.
FOOTPRINTS = {
    "surface": ("carreaux dont la valeur de fond dépasse le seuil", "cells whose background value is above the "
                                                                     "threshold"),
    "station": ("carreaux voisins des stations en dépassement", "cells around the stations above the threshold"),
    "surface+station": ("carreaux au-dessus du seuil sur la surface de fond ou voisins d'une station en dépassement",
                        "cells above the threshold on the background surface or around a station above it"),
    "forecast": ("carreaux où la prévision CAMS dépasse le seuil", "cells where the CAMS forecast is above the "
                                                                   "threshold"),
}
STATUSES = {"opened": ("nouvelle", "new"), "ongoing": ("en cours", "ongoing"), "closed": ("levée", "closed"),
            "updated": ("mise à jour", "updated"), "escalated": ("aggravée", "escalated"),
            "de-escalated": ("revue à la baisse", "de-escalated")}
CATEGORIES = {
    "creche": ("crèche", "crèches", "day nursery", "day nurseries"),
    "ecole_maternelle": ("école maternelle", "écoles maternelles", "nursery school", "nursery schools"),
    "ecole_elementaire": ("école élémentaire", "écoles élémentaires", "primary school", "primary schools"),
    "college": ("collège", "collèges", "lower secondary school", "lower secondary schools"),
    "lycee": ("lycée", "lycées", "upper secondary school", "upper secondary schools"),
    "pmi": ("centre de PMI", "centres de PMI", "mother and child health centre", "mother and child health centres"),
    "ehpad": ("EHPAD", "EHPAD", "care home", "care homes"),
    "hospital": ("hôpital", "hôpitaux", "hospital", "hospitals"),
    "centre_sante": ("centre de santé", "centres de santé", "health centre", "health centres"),
}
CAPACITY_UNITS = {"places": ("places", "places"), "pupils": ("élèves", "pupils"), "beds": ("lits", "beds")}
# Keys of an alert's ``criteria`` JSON (alert kinds of spse.pipeline.alerts); others are shown as they are.
CRITERIA = {
    "area_km2": ("surface", "area"), "population_share": ("part de la population", "population share"),
    "population": ("population", "population"), "consecutive_hours": ("heures consécutives", "consecutive hours"),
    "consecutive_days": ("jours consécutifs", "consecutive days"), "stations": ("stations", "stations"),
    "n_stations": ("stations en dépassement", "stations above"), "threshold": ("seuil", "threshold"),
    "value_max": ("valeur maximale", "maximum value"), "met": ("critère rempli", "criterion met"),
    "rule": ("règle", "rule"),
}
YES_NO = {True: ("oui", "yes"), False: ("non", "no")}
# Combined air × noise classes of the register's multiexposure_labels (docs/health-impact.md).
EXPOSURE_CLASSES = {
    "tres_peu_expose": ("très peu exposé", "very low exposure"), "peu_expose": ("peu exposé", "low exposure"),
    "modere": ("modéré", "moderate"), "degrade": ("dégradé", "degraded"),
    "tres_degrade": ("très dégradé", "highly degraded"), "point_noir": ("point noir", "black spot"),
}
PERSONS = ("habitants", "residents")
# Units of criteria that count people: shown as whole persons.
PERSON_UNITS = ("habitants", "residents", "inhabitants", "persons", "personnes")


def _pick(table: dict, code: object, lang: str, index: int = 0) -> str:
    if lang not in LANGS:
        raise ValueError(f"language must be one of {LANGS}, got {lang!r}")
    entry = table.get(code) if isinstance(code, str) else None
    if entry is None:
        return "" if code is None or (isinstance(code, float) and math.isnan(code)) else str(code)
    return entry[index + (LANGS.index(lang) if len(entry) == 2 else 2 * LANGS.index(lang))]


def exposure_class(code: object, lang: str = "fr") -> str:
    """Name of a combined air × noise class code of the register (``point_noir`` → ``point noir``)."""
    return _pick(EXPOSURE_CLASSES, code, lang)


def pollutant(code: object, lang: str = "fr") -> str:
    """Pollutant as written in text (``PM2.5`` is ``PM2,5`` in French)."""
    return _pick(POLLUTANTS, code, lang)


def statistic(code: object, lang: str = "fr") -> str:
    """Daily statistic or averaging period of the register (``day_max_1h``, ``1h``, ...) in words."""
    return _pick(STATISTICS, code, lang)


def threshold_set(code: object, lang: str = "fr") -> str:
    """Threshold set (``FR_R221-1``, ``WHO_2021``, ...) or data-quality rule (``DQ_*``) in words."""
    return _pick(SETS, code, lang)


def level(code: object, lang: str = "fr", *, short: bool = False, procedure: bool = False) -> str:
    """Threshold level of the register (``information``, ``alerte_persistance``, ...) in words.

    ``short``: the titles' and legends' names; ``procedure``: the prefectoral procedure's
    names (``niveau d'information-recommandation``), for the levels that have one.
    """
    if procedure and isinstance(code, str) and code in PROCEDURE_LEVELS:
        return _pick(PROCEDURE_LEVELS, code, lang)
    if short and isinstance(code, str) and code in SHORT_LEVELS:
        return _pick(SHORT_LEVELS, code, lang)
    return _pick(LEVELS, code, lang)


def kind(code: object, lang: str = "fr") -> str:
    """Alert kind (``air_quality``, ``forecast``, ``data_quality``, ``regulatory_episode``, ...)."""
    return _pick(KINDS, code, lang)


def observed(kind_code: object, lang: str = "fr") -> str:
    """``prévision`` for a forecast alert, ``observé`` for any other (``forecast`` / ``observed``)."""
    return ("prévision", "forecast")[LANGS.index(lang)] if kind_code == "forecast" else (
        "observé", "observed")[LANGS.index(lang)]


def basis(code: object, lang: str = "fr") -> str:
    """What an alert rests on (``surface``, ``station``, ``surface+station``, ``forecast``)."""
    return _pick(BASES, code, lang)


def status(code: object, lang: str = "fr") -> str:
    """Alert status: ``opened``, ``ongoing``, ``closed``; forecasts: ``updated``, ``escalated``, ``de-escalated``."""
    return _pick(STATUSES, code, lang)


def alert_type(row: dict, lang: str = "fr") -> str:
    """The kind of an alert in a few words: ``épisode de pollution réglementaire``, ``dépassement local``, ...

    From ``alert_type`` (regulatory episode, local exceedance, health advisory, data quality);
    rows written before alert types existed fall back to their ``kind``.
    """
    code = row.get("alert_type")
    return kind(code if isinstance(code, str) and code else row.get("kind"), lang)


def alert_label(row: dict, lang: str = "fr") -> str:
    """The sentence that says what kind of alert this is and what it implies (its ``label``, French).

    In English, and for rows without a label, the kind in a few words (:func:`alert_type`).
    """
    text = row.get("label")
    if lang == "fr" and isinstance(text, str) and text:
        return text
    return alert_type(row, lang)



def category(code: object, lang: str = "fr", *, plural: bool = False) -> str:
    """Sensitive facility category (``creche``, ``ehpad``, ...), singular or plural."""
    return _pick(CATEGORIES, code, lang, 1 if plural else 0)


def capacity_unit(code: object, lang: str = "fr") -> str:
    """Unit of a facility's capacity (``places``, ``pupils``, ``beds``)."""
    return _pick(CAPACITY_UNITS, code, lang)


def source(code: object, lang: str = "fr") -> str:
    """An input (source or lake dataset) named in words, its code after: ``bruit (noise_hourly)``.

    The names are those of the data-quality lines (:data:`spse.pipeline.alerts.quality.INPUT_LABELS`);
    in English, and for an input without a name, the code alone.
    """
    from spse.pipeline.alerts.quality import INPUT_LABELS

    name = INPUT_LABELS.get(code) if isinstance(code, str) and lang == "fr" else None
    return f"{name} ({code})" if name else ("" if code is None else str(code))


def threshold(set_id: object, level_code: object, lang: str = "fr") -> str:
    """A threshold named by its level and set: ``seuil d'information (Code de l'environnement, art. R221-1)``."""
    return f"{level(level_code, lang, short=True)} ({threshold_set(set_id, lang)})"


def exceedance(row: dict, lang: str = "fr") -> str:
    """An alert's maximum against its threshold: ``maximum 212,0 µg/m³ pour un seuil de 200 µg/m³ (moyenne horaire)``.

    A closed alert says its threshold is no longer exceeded; a row without threshold gives its maximum alone.
    """
    unit = row.get("unit") or "µg/m³"
    peak, limit = number(row.get("value_max"), 1, lang), number(row.get("threshold_value"), 0, lang)
    stat = statistic(row.get("averaging"), lang)
    if row.get("status") == "closed" and limit:
        return (f"threshold of {limit} {unit} ({stat}) no longer exceeded" if lang == "en"
                else f"seuil de {limit} {unit} ({stat}) plus dépassé")
    if not limit:
        return f"max {peak} {unit}" if lang == "en" else f"maximum {peak} {unit}"
    return (f"max {peak} {unit} for a threshold of {limit} {unit} ({stat})" if lang == "en"
            else f"maximum {peak} {unit} pour un seuil de {limit} {unit} ({stat})")


def number(value: object, digits: int = 0, lang: str = "fr") -> str:
    """``value`` rounded to ``digits``; French: narrow no-break space thousands, decimal comma. Empty when missing."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "" if value is None or pd.isna(value) else str(value)
    if math.isnan(number):
        return ""
    text = f"{number:,.{digits}f}"
    if lang == "en":
        return text
    return text.replace(",", "\u202f").replace(".", ",")


def population(row: dict, lang: str = "fr") -> str:
    """The one population figure of an alert and what it counts (methods.md §6.1).

    ``population_total`` [persons] is the resident population (INSEE Filosofi 200 m grid) of the
    ``n_cells`` cells of the alert (``area_km2``, km²), which cells depend on its ``basis``
    (:data:`FOOTPRINTS`); the groups 0-5 years, 65 and over and poor households follow.
    """
    total, area = number(row.get("population_total"), 0, lang), number(row.get("area_km2"), 2, lang)
    young, old, poor = (number(row.get(c), 0, lang) for c in ("pop_0_5", "pop_65p", "pop_poor_households"))
    cells = row.get("n_cells")
    cells = number(cells if cells is not None else 0, 0, lang)
    which = _pick(FOOTPRINTS, row.get("basis"), lang) if row.get("basis") in FOOTPRINTS else (
        "carreaux concernés" if lang == "fr" else "cells concerned")
    if lang == "en":
        return (f"{total} residents of {cells} cells of 200 m ({area} km²): {which}; of whom {young} children "
                f"aged 0-5, {old} people aged 65 and over and {poor} people in poor households")
    return (f"{total} habitants de {cells} carreaux de 200 m ({area} km²) : {which} ; dont {young} enfants de "
            f"0 à 5 ans, {old} personnes de 65 ans et plus et {poor} personnes de ménages pauvres")


def categories(counts_json: object, order: list[str], lang: str = "fr") -> str:
    """Facility counts by category (a JSON object), most sensitive first (``order``): ``crèches : 1, ...``."""
    counts = json.loads(counts_json) if isinstance(counts_json, str) and counts_json else {}
    ranked = sorted(counts.items(), key=lambda kv: (order.index(kv[0]) if kv[0] in order else len(order), kv[0]))
    sep = " : " if lang == "fr" else ": "
    return ", ".join(f"{category(k, lang, plural=True)}{sep}{v}" for k, v in ranked) or (
        "aucun" if lang == "fr" else "none")


MET = {True: ("rempli", "met"), False: ("non rempli", "not met"), None: ("non évaluable", "not assessable")}


def criteria(criteria_json: object, lang: str = "fr") -> str:
    """An alert's ``criteria``, in words.

    A JSON list of criteria (``name``, ``label``, ``value``, ``threshold``, ``unit``, ``met``:
    ``spse.pipeline.alerts``) reads ``label : value / threshold unit, rempli | non rempli | non
    évaluable``; a JSON object reads ``label : value`` pairs; empty when absent.
    """
    try:
        found = json.loads(criteria_json) if isinstance(criteria_json, str) and criteria_json else criteria_json
    except ValueError:
        return str(criteria_json)
    sep = " : " if lang == "fr" else ": "
    join = " ; " if lang == "fr" else "; "
    if isinstance(found, list):
        return join.join(_criterion(c, lang) for c in found if isinstance(c, dict))
    if not isinstance(found, dict):
        return ""
    return join.join(f"{_pick(CRITERIA, key, lang)}{sep}{_value(value, lang)}" for key, value in found.items())


def _criterion(item: dict, lang: str) -> str:
    """One criterion of a list: its label, value against threshold (numbers only) and whether it is met."""
    label = item.get("label") or _pick(CRITERIA, item.get("name"), lang)
    value, threshold, unit = item.get("value"), item.get("threshold"), item.get("unit") or ""
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (value, threshold))
    if numbers and unit in PERSON_UNITS:  # whole persons; "at least 211 370.5" is "at least 211 371"
        value, threshold = math.floor(value + 0.5), math.ceil(threshold)
    measured = f" ({_value(value, lang)} / {_value(threshold, lang)} {unit})".replace(" )", ")") if numbers else ""
    return f"{label}{measured}, {MET.get(item.get('met'), MET[None])[LANGS.index(lang)]}"


def _value(value: object, lang: str) -> str:
    if isinstance(value, bool):
        return YES_NO[value][LANGS.index(lang)]
    if isinstance(value, int | float):
        return number(value, 0 if float(value).is_integer() else 2, lang)
    if isinstance(value, dict):
        return "(" + criteria(json.dumps(value), lang) + ")"
    if isinstance(value, list):
        return ", ".join(_value(v, lang) for v in value)
    return _pick({**LEVELS, **SETS, **STATISTICS, **BASES}, value, lang)
