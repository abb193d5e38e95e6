"""The three kinds of alert, never confused, and the episode criteria of the regulatory one.

``alert_type`` of an ``alerts`` row (docs/alerts.md):

* ``regulatory_episode``: a French procedure threshold (R221-1, parameter ``alert_threshold_sets``)
  exceeded in background situation: the background surface, a background station, or the
  CAMS forecast (modelled). The arrêté du 7 avril 2016 criteria (methods.md §1.2) are computed
  on the département (register ``episode_department_*``, INSEE legal population), never on
  the grid's population: area ≥ ``episode_area_km2`` (regional; not assessable when the grid
  covers less), or population ≥ ``episode_population_share`` × the département's legal
  population (``episode_small_department_population`` inhabitants in a département of at most
  ``episode_large_department_population``). Île-de-France kept the national criteria
  (methods.md §1.2, [C2] meteo-paris.com 2014); the 25 km² per zone rule is
  Auvergne-Rhône-Alpes', not Paris's.
* ``local_exceedance``: the same thresholds exceeded at a traffic or industrial station only;
  the cells are the station's footprint (``spse.methods.footprint``), no procedure and
  no general-public recommendation (methods.md §6.4).
* ``health_advisory``: a WHO 2021 guideline level (parameter ``health_advisory_threshold_sets``)
  exceeded on the background surface: advice for sensitive publics (methods.md §3, §8).

``data_quality`` rows keep their own type. Units: km², persons.
"""

from __future__ import annotations

import json

import pandas as pd

from spse.core.register import Parameters
from spse.pipeline.alerts.recommendations import recommendation_text
from spse.pipeline.alerts.schema import frame_records

REGULATORY = "regulatory_episode"
LOCAL = "local_exceedance"
ADVISORY = "health_advisory"
DATA_QUALITY = "data_quality"
TYPES = (REGULATORY, LOCAL, ADVISORY, DATA_QUALITY)

# Recommendation register level of the non-regulatory kinds (spse/registers/recommendations.csv).
RECOMMENDATION_LEVEL = {LOCAL: "local_exceedance", ADVISORY: "guideline"}
# Audiences of a regulatory exceedance whose criteria are not met: no general-public message.
WITHOUT_GENERAL = ("vulnerable", "facilities")

LABELS = {
    (REGULATORY, True): "Épisode de pollution (procédure préfectorale) : critères de l'arrêté du 7 avril 2016 "
                        "atteints",
    (REGULATORY, False): "Dépassement de seuil en situation de fond (constaté ou prévu), critères d'épisode non "
                         "atteints : pas de procédure préfectorale attendue",
    (LOCAL, False): "Dépassement local : station de proximité (trafic ou industrielle), abords immédiats de la "
                    "voie ; pas de procédure préfectorale",
    (ADVISORY, False): "Avis sanitaire (recommandation OMS) : valeur guide de l'OMS 2021 dépassée, conseils aux "
                       "publics sensibles ; pas de procédure préfectorale",
    (DATA_QUALITY, False): "Qualité des données : entrées manquantes ou insuffisantes",
}

POPULATION_DEFINITIONS = {
    REGULATORY: "Habitants (INSEE Filosofi 200 m) des carreaux au-dessus du seuil en situation de fond : carreaux "
                "de la surface de fond (ou de la prévision CAMS) au-dessus du seuil, et carreaux à moins du rayon "
                "d'empreinte d'une station de fond au-dessus du seuil.",
    LOCAL: "Habitants (INSEE Filosofi 200 m) des carreaux de l'empreinte des stations de proximité au-dessus du "
           "seuil (carreaux à moins du rayon d'empreinte trafic de la station) ; ils ne sont pas tous exposés.",
    ADVISORY: "Habitants (INSEE Filosofi 200 m) des carreaux de la surface de fond au-dessus de la valeur guide.",
    DATA_QUALITY: "Sans objet.",
}


def label(alert_type: str, meets: bool) -> str:
    """Return the French label of an alert: its kind and, for a regulatory one, whether the criteria are met."""
    return LABELS[(alert_type, bool(meets) and alert_type == REGULATORY)]


def population_threshold(parameters: Parameters) -> float:
    """Inhabitants affected that characterise an episode in the département [persons] (methods.md §1.2, W8)."""
    population = parameters.float("episode_department_population")
    if population > parameters.float("episode_large_department_population"):
        return parameters.float("episode_population_share") * population
    return parameters.float("episode_small_department_population")


def criteria(alert_type: str, *, background: bool, area_km2: float, population: float, covered_km2: float,
             parameters: Parameters) -> list[dict]:
    """The episode criteria of one alert: ``name``, ``label``, ``value``, ``threshold``, ``unit``, ``met``.

    ``background`` is whether the exceedance is in background situation or modelled;
    ``area_km2`` and ``population`` [persons] those of the cells above the threshold;
    ``covered_km2`` the area the grid covers. ``met`` is ``None`` for the area criterion
    when the grid covers less than the criterion's area (it counts the whole region) and
    not found above it, and for the local situations, which are the prefect's judgement.
    A health advisory has the one criterion of its guideline (in ``triggered_by``); a
    data-quality row none.
    """
    if alert_type not in (REGULATORY, LOCAL):
        return []
    area_limit = parameters.float("episode_area_km2")
    people_limit = population_threshold(parameters)
    department = parameters.text("episode_department_code")
    year = parameters.text("episode_department_population_year")
    area_met: bool | None = area_km2 >= area_limit if background else False
    note = None
    if background and not area_met and covered_km2 < area_limit:
        area_met = None
        note = (f"Non évaluable ici : le critère compte toute la région, la grille n'en couvre que "
                f"{covered_km2:.1f} km² (département {department} : "
                f"{parameters.float('episode_department_area_km2'):.1f} km²).")
    return [
        {"name": "background_situation", "label": "Dépassement en situation de fond ou modélisé",
         "value": background, "threshold": True, "unit": None, "met": background,
         "note": None if background else "Station de proximité (trafic ou industrielle) : hors procédure."},
        {"name": "area_km2", "label": "Surface en dépassement d'au moins 100 km² dans la région",
         "value": round(float(area_km2), 4), "threshold": area_limit, "unit": "km²", "met": area_met, "note": note},
        {"name": "population", "label": f"Population en dépassement d'au moins 10 % de la population légale du "
                                        f"département {department} (INSEE, millésime {year})",
         "value": round(float(population), 1), "threshold": round(people_limit, 1), "unit": "habitants",
         "met": bool(background and population >= people_limit and population > 0),
         "note": f"Population légale {parameters.float('episode_department_population'):,.0f} habitants "
                 .replace(",", " ") + f"(INSEE, millésime {year})"},
        {"name": "local_situation", "label": "Situation locale particulière (vallée encaissée, axe à fort trafic, "
                                             "bassin industriel)",
         "value": None, "threshold": None, "unit": None, "met": None,
         "note": "Appréciation du préfet, non évaluée automatiquement."},
    ]


def meets(criteria_list: list[dict]) -> bool:
    """Whether the episode criteria are met: background situation and the area or the population criterion."""
    met = {c["name"]: c["met"] for c in criteria_list}
    return bool(met.get("background_situation")) and (met.get("area_km2") is True or met.get("population") is True)


def describe(frame: pd.DataFrame, *, covered_km2: float, parameters: Parameters,
             recommendations: pd.DataFrame) -> pd.DataFrame:
    """Fill the kind-dependent columns of raised rows (``alert_type`` set; data-quality rows keep their text).

    ``criteria`` (JSON), ``meets_episode_criteria``, ``label``, ``population_exposed`` (=
    ``population_total``, residents of the affected cells), ``population_definition`` and
    the ``recommendation``: a regulatory episode whose criteria are met gets every audience
    of its level, one whose criteria are not met no general-public message, a local
    exceedance and a health advisory their own messages (``RECOMMENDATION_LEVEL``).
    """
    out = frame.copy()
    lists, met, labels, texts = [], [], [], []
    used = [c for c in ("alert_type", "area_km2", "population_total", "recommendation", "level", "pollutant")
            if c in out.columns]
    for row in frame_records(out[used]):
        kind = row["alert_type"]
        listed = criteria(kind, background=kind == REGULATORY, area_km2=float(row["area_km2"] or 0.0),
                          population=float(row["population_total"] or 0.0), covered_km2=covered_km2,
                          parameters=parameters)
        ok = kind == REGULATORY and meets(listed)
        lists.append(json.dumps(listed, ensure_ascii=False))
        met.append(ok)
        labels.append(label(kind, ok))
        if kind == DATA_QUALITY:
            texts.append(row.get("recommendation"))
        elif kind == REGULATORY:
            texts.append(recommendation_text(recommendations, row["level"], row["pollutant"],
                                             audiences=None if ok else WITHOUT_GENERAL))
        else:
            texts.append(recommendation_text(recommendations, RECOMMENDATION_LEVEL[kind], row["pollutant"]))
    population = out["population_total"].astype(float).fillna(0.0) if len(out) else out["population_total"]
    return out.assign(criteria=lists, meets_episode_criteria=met, label=labels, recommendation=texts,
                      population_exposed=population,
                      population_definition=[POPULATION_DEFINITIONS[k] for k in out["alert_type"]])
