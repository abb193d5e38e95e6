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

from spse.pipeline import labels
from spse.pipeline.alerts.kinds import REGULATORY
from spse.pipeline.alerts.recommendations import AUDIENCES, messages_for
from spse.pipeline.subscriptions import DATA_QUALITY, Subscriber, followed_facilities

TEMPLATES = Path(__file__).parent / "templates"
# Words of the e-mails only; every other code is named by spse.pipeline.labels.
PUBLICS = {"fr": AUDIENCES, "en": {"vulnerable": "Vulnerable and sensitive people", "general": "General public",
                                   "facilities": "Sensitive facilities"}}
DATA_QUALITY_LEVEL = {"fr": "qualité des données", "en": "data quality"}
END_OF_EPISODE = {"fr": "fin d'épisode", "en": "end of episode"}



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
    level = str(alert.get("level") or "")
    # The procedure's words only where a procedure applies (rows without a type predate the three kinds).
    regulatory = not alert.get("alert_type") or (alert["alert_type"] == REGULATORY
                                                 and bool(alert.get("meets_episode_criteria")))
    threshold = alert.get("threshold") or {}
    population = alert.get("population") or {}
    zones = [z.get("zone_name") or z.get("zone_id") for z in alert.get("zones") or []]
    unit = alert.get("unit") or threshold.get("unit") or ""
    context = {
        "name": subscriber.name,
        "subscriber_id": subscriber.id,
        "data_quality": level == DATA_QUALITY,
        "pollutant": (alert.get("pollutant") if level == DATA_QUALITY
                      else labels.pollutant(alert.get("pollutant"), language)),
        "type": labels.alert_label(alert, language) if alert.get("alert_type") else "",
        "short_type": (labels.alert_type(alert, language).capitalize() + " — "
                       if alert.get("alert_type") not in (None, "", DATA_QUALITY) else ""),
        "level": (DATA_QUALITY_LEVEL[language] if level == DATA_QUALITY
                  else labels.level(level, language, procedure=regulatory, short=not regulatory)),
        "kind": labels.observed(alert.get("kind"), language),
        "status": labels.status(alert.get("status"), language),
        "closed": alert.get("status") == "closed",
        "day": _date(alert.get("date"), language),
        "episode_start": _date(alert.get("episode_start_date"), language),
        "value": _number(alert.get("value"), language, unit),
        "threshold": _number(threshold.get("value"), language, unit),
        "averaging": labels.statistic(threshold.get("averaging"), language),
        "reference": threshold.get("reference") or "",
        "zones": zones,
        "area": _number(alert.get("area_km2"), language, "km²", digits=2),
        "population": _number(population.get("total"), language, digits=0),
        "children": _number(population.get("age_0_5"), language, digits=0),
        "elderly": _number(population.get("age_65_plus"), language, digits=0),
        "public": PUBLICS[language][subscriber.public],
        "recommendation": recommendation_for(alert, subscriber.public, recommendations),
        "detail": (alert.get("recommendation") or "") if level == DATA_QUALITY else "",
        "facilities": [{"name": f.get("name") or f.get("facility_id"),
                        "category": labels.category(f.get("category"), language),
                        "address": f.get("address") or ""} for f in followed_facilities(subscriber, alert)],
        "episode_note": alert.get("episode_criteria_note") if alert.get("meets_episode_criteria") else "",
        "criteria": labels.criteria(alert.get("criteria"), language),
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
        head = f"[spse] {context['short_type']}{context['pollutant']} : {context['level']} le {context['day']}"
    else:
        head = f"[spse] {context['short_type']}{context['pollutant']}: {context['level']} on {context['day']}"
    if context["kind"] == labels.observed("forecast", language):
        head += f" ({context['kind']})"
    if context["closed"]:
        head += f" — {END_OF_EPISODE[language]}"
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
