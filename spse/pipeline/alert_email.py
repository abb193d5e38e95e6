"""One alert e-mail for one subscriber: subject, plain text and HTML, in French (English on request).

The body says what (pollutant, level, maximum value [µg/m³] and threshold), where (arrondissements,
area [km²]), when (the alert's local day, Europe/Paris; observed or forecast; episode start),
who (population [persons], children 0-5, people 65+), the recommendation of the recommendations
register for the subscriber's public (methods.md §8) and the facilities the subscriber follows
that the alert concerns (name, category, address when the alert gives one). Templates:
``spse/pipeline/templates/alert_<language>.txt`` and ``.html`` (jinja2).
"""

from __future__ import annotations

import datetime as dt
import re
from email.message import EmailMessage
from email.utils import formataddr
from functools import lru_cache
from pathlib import Path

import jinja2
import pandas as pd

from spse.pipeline.alerts.recommendations import AUDIENCES, messages_for
from spse.pipeline.subscriptions import DATA_QUALITY, Subscriber, followed_facilities

TEMPLATES = Path(__file__).parent / "templates"
LABELS = {
    "fr": {
        "levels": {"information": "niveau d'information-recommandation", "alerte": "niveau d'alerte",
                   "alerte_persistance": "niveau d'alerte sur persistance",
                   "alerte_mesures_1": "niveau d'alerte (mesures, palier 1)",
                   "alerte_mesures_2": "niveau d'alerte (mesures, palier 2)",
                   "alerte_mesures_3": "niveau d'alerte (mesures, palier 3)",
                   "limit": "valeur limite", "target": "valeur cible", "guideline": "valeur guide OMS",
                   "guideline_short_term": "valeur guide OMS (court terme)", DATA_QUALITY: "qualité des données"},
        "averaging": {"1h": "moyenne horaire", "1h_persistence": "moyenne horaire, persistance",
                      "day_mean": "moyenne journalière", "day_mean_persistence": "moyenne journalière, persistance",
                      "day_max_8h_mean": "maximum journalier de la moyenne sur 8 heures",
                      "year": "moyenne annuelle", "year_mean": "moyenne annuelle"},
        "kinds": {"air_quality": "observé", "forecast": "prévision", "noise": "observé"},
        "statuses": {"opened": "nouvelle alerte", "ongoing": "alerte en cours", "closed": "fin d'épisode"},
        "publics": AUDIENCES,
        "categories": {"creche": "crèche", "pmi": "centre de PMI", "ecole_maternelle": "école maternelle",
                       "ecole_elementaire": "école élémentaire", "college": "collège", "lycee": "lycée",
                       "ehpad": "EHPAD", "hospital": "hôpital", "centre_sante": "centre de santé"},
    },
    "en": {
        "levels": {"information": "information level", "alerte": "alert level",
                   "alerte_persistance": "alert level on persistence",
                   "alerte_mesures_1": "alert level (measures, step 1)",
                   "alerte_mesures_2": "alert level (measures, step 2)",
                   "alerte_mesures_3": "alert level (measures, step 3)",
                   "limit": "limit value", "target": "target value", "guideline": "WHO guideline",
                   "guideline_short_term": "WHO short-term guideline", DATA_QUALITY: "data quality"},
        "averaging": {"1h": "hourly mean", "1h_persistence": "hourly mean, persistence", "day_mean": "daily mean",
                      "day_mean_persistence": "daily mean, persistence",
                      "day_max_8h_mean": "daily maximum 8-hour mean", "year": "annual mean",
                      "year_mean": "annual mean"},
        "kinds": {"air_quality": "observed", "forecast": "forecast", "noise": "observed"},
        "statuses": {"opened": "new alert", "ongoing": "ongoing alert", "closed": "end of episode"},
        "publics": {"vulnerable": "Vulnerable and sensitive people", "general": "General public",
                    "facilities": "Sensitive facilities"},
        "categories": {"creche": "day nursery", "pmi": "maternal and child health centre",
                       "ecole_maternelle": "nursery school", "ecole_elementaire": "primary school",
                       "college": "lower secondary school", "lycee": "upper secondary school",
                       "ehpad": "care home", "hospital": "hospital", "centre_sante": "health centre"},
    },
}


def compose(alert: dict, subscriber: Subscriber, recommendations: pd.DataFrame, *, sender: str,
            message_id: str) -> EmailMessage:
    """The e-mail of ``alert`` (an outbox notification) for ``subscriber``: plain text with an HTML alternative.

    ``recommendations`` is the recommendations register
    (:func:`spse.pipeline.alerts.recommendations.recommendations`); ``message_id`` is the
    ``Message-ID`` (without angle brackets), the same for a re-send of the same alert version.
    """
    context = email_context(alert, subscriber, recommendations)
    message = EmailMessage()
    message["Subject"] = context["subject"]
    message["From"] = sender
    message["To"] = formataddr((subscriber.name, subscriber.address))
    message["Message-ID"] = f"<{message_id}>"
    message["Content-Language"] = subscriber.language
    message.set_content(_environment().get_template(f"alert_{subscriber.language}.txt").render(context))
    message.add_alternative(_environment().get_template(f"alert_{subscriber.language}.html").render(context),
                            subtype="html")
    # Bodies are encoded by now (lines of 76); headers up to 998 are not folded, since folding before
    # an encoded word doubles a space in the subject the reader sees (Python's email generator).
    message.policy = message.policy.clone(max_line_length=998)
    return message


def email_context(alert: dict, subscriber: Subscriber, recommendations: pd.DataFrame) -> dict:
    """The values the templates show, formatted in the subscriber's language (numbers, dates, labels)."""
    language = subscriber.language
    labels = LABELS[language]
    level = str(alert.get("level") or "")
    threshold = alert.get("threshold") or {}
    population = alert.get("population") or {}
    zones = [z.get("zone_name") or z.get("zone_id") for z in alert.get("zones") or []]
    unit = alert.get("unit") or threshold.get("unit") or ""
    context = {
        "name": subscriber.name,
        "subscriber_id": subscriber.id,
        "data_quality": level == DATA_QUALITY,
        "pollutant": alert.get("pollutant"),
        "level": labels["levels"].get(level, level),
        "kind": labels["kinds"].get(str(alert.get("kind")), ""),
        "status": labels["statuses"].get(str(alert.get("status")), str(alert.get("status") or "")),
        "closed": alert.get("status") == "closed",
        "day": _date(alert.get("date"), language),
        "episode_start": _date(alert.get("episode_start_date"), language),
        "value": _number(alert.get("value"), language, unit),
        "threshold": _number(threshold.get("value"), language, unit),
        "averaging": labels["averaging"].get(str(threshold.get("averaging")), threshold.get("averaging") or ""),
        "reference": threshold.get("reference") or "",
        "zones": zones,
        "area": _number(alert.get("area_km2"), language, "km²", digits=2),
        "population": _number(population.get("total"), language, digits=0),
        "children": _number(population.get("age_0_5"), language, digits=0),
        "elderly": _number(population.get("age_65_plus"), language, digits=0),
        "public": labels["publics"][subscriber.public],
        "recommendation": recommendation_for(alert, subscriber.public, recommendations),
        "detail": (alert.get("recommendation") or "") if level == DATA_QUALITY else "",
        "facilities": [{"name": f.get("name") or f.get("facility_id"),
                        "category": labels["categories"].get(str(f.get("category")), f.get("category") or ""),
                        "address": f.get("address") or ""} for f in followed_facilities(subscriber, alert)],
        "episode_note": alert.get("episode_criteria_note") if alert.get("meets_episode_criteria") else "",
    }
    context["subject"] = _subject(context, language)
    return context


def recommendation_for(alert: dict, public: str, recommendations: pd.DataFrame) -> list[str]:
    """The register's messages for ``public`` at the alert's level (``closed`` once the episode ended), in French."""
    level = "closed" if alert.get("status") == "closed" else str(alert.get("level") or "")
    rows = messages_for(recommendations, level, str(alert.get("pollutant") or ""))
    return list(rows.loc[rows["audience"] == public, "message"])


def _subject(context: dict, language: str) -> str:
    if context["data_quality"]:
        head = (f"[spse] Qualité des données : {context['pollutant']} le {context['day']}" if language == "fr"
                else f"[spse] Data quality: {context['pollutant']} on {context['day']}")
    elif language == "fr":
        head = f"[spse] {context['pollutant']} : {context['level']} le {context['day']}"
    else:
        head = f"[spse] {context['pollutant']}: {context['level']} on {context['day']}"
    if context["kind"] == LABELS[language]["kinds"]["forecast"]:
        head += f" ({context['kind']})"
    if context["closed"]:
        head += f" — {context['status']}"
    return head


def _date(value: object, language: str) -> str:
    if not value:
        return ""
    day = dt.date.fromisoformat(str(value))
    return day.strftime("%d/%m/%Y") if language == "fr" else day.isoformat()


def _number(value: object, language: str, unit: str = "", digits: int = 1) -> str:
    """``value`` rounded to ``digits`` decimals, trailing zeros dropped; French: decimal comma, space thousands."""
    if value is None:
        return ""
    text = f"{round(float(value), digits):,.{digits}f}"
    if digits:
        text = re.sub(r"\.?0+$", "", text)
    if language == "fr":
        text = text.replace(",", " ").replace(".", ",")
    return f"{text} {unit}".strip()


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined,
                              autoescape=jinja2.select_autoescape(["html"]), keep_trailing_newline=True,
                              trim_blocks=True, lstrip_blocks=True)
