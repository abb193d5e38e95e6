"""Who receives which alert: the subscriptions file, checked on load, and the matching rule.

The file (:func:`spse.core.config.subscriptions_file`, YAML, format in ``docs/notifications.md``)
holds ``subscribers:``, a list of entries. An entry that is wrong (unknown key or channel, an
address that is not an e-mail address or an ``http(s)`` URL, an unknown level or public, a
repeated id) is rejected with a message naming the file and the entry, and the others go on;
a file that is not YAML or has no ``subscribers`` list raises :class:`SubscriptionError`.

An alert goes to a subscriber when its level is one of the subscriber's ``levels`` (``alerte``
also covers ``alerte_persistance``, ``alerte_mesures_1``...; no ``levels``: every level but
``data_quality``), its pollutant one of ``pollutants`` (none: all) and, when the subscriber
follows ``zones`` (INSEE codes of arrondissements, e.g. ``75112``) or ``facilities`` (facility
ids), one of its zones or facilities is among them. A ``data_quality`` alert concerns the whole
territory and all pollutants: only its level decides.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from spse.core.errors import SubscriptionError
from spse.pipeline.alerts.recommendations import AUDIENCES

log = logging.getLogger(__name__)

CHANNELS = ("email", "webhook")
LANGUAGES = ("fr", "en")
DATA_QUALITY = "data_quality"
LEVELS = ("information", "alerte", "alerte_persistance", "alerte_mesures_1", "alerte_mesures_2",
          "alerte_mesures_3", "limit", "target", "guideline", "guideline_short_term", DATA_QUALITY)
KEYS = {"id", "name", "channel", "address", "zones", "facilities", "pollutants", "levels", "public", "language"}
# Deliberately plain: one @, no space, a dot in the domain; the server has the last word.
EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
URL = re.compile(r"^https?://[^\s/]+")


@dataclass(frozen=True)
class Subscriber:
    """One subscriber: where to send (``channel``, ``address``), what (filters), for whom, in which language.

    ``public`` is an audience of the recommendations register (``general``, ``vulnerable``,
    ``facilities``); ``language`` is ``fr`` or ``en``. Empty filters mean "all".
    """

    id: str
    name: str
    channel: str
    address: str
    zones: tuple[str, ...] = ()
    facilities: tuple[str, ...] = ()
    pollutants: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    public: str = "general"
    language: str = "fr"


@dataclass(frozen=True)
class Rejected:
    """An entry of the subscriptions file left out, and why (English, for the operators)."""

    entry: str
    reason: str


def load(path: Path) -> tuple[list[Subscriber], list[Rejected]]:
    """Read the subscriptions file ``path``: the valid subscribers and the rejected entries.

    A missing file gives no subscriber. Raises :class:`SubscriptionError` when the file is not
    YAML or has no ``subscribers`` list.
    """
    if not path.is_file():
        return [], []
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SubscriptionError(f"subscriptions file {path}: not valid YAML: {exc}") from exc
    entries = document.get("subscribers") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise SubscriptionError(f"subscriptions file {path}: expected a mapping with a 'subscribers' list")
    subscribers: list[Subscriber] = []
    rejected: list[Rejected] = []
    for number, entry in enumerate(entries, start=1):
        label = f"{path}, entry {number}"
        if isinstance(entry, dict) and entry.get("id") is not None:
            label += f" (id {str(entry['id'])!r})"
        try:
            subscriber = _subscriber(entry)
            if any(s.id == subscriber.id for s in subscribers):
                raise ValueError(f"id {subscriber.id!r} is already used by an earlier entry")
        except ValueError as exc:
            rejected.append(Rejected(label, str(exc)))
            log.error("subscriptions: %s rejected: %s", label, exc)
            continue
        subscribers.append(subscriber)
    return subscribers, rejected


def _subscriber(entry: object) -> Subscriber:
    if not isinstance(entry, dict):
        raise ValueError("an entry must be a mapping (id, channel, address, ...)")
    unknown = sorted(set(map(str, entry)) - KEYS)
    if unknown:
        raise ValueError(f"unknown keys {unknown}; allowed: {sorted(KEYS)}")
    for key in ("id", "channel", "address"):
        if not str(entry.get(key) or "").strip():
            raise ValueError(f"{key!r} is required")
    channel = str(entry["channel"]).strip()
    if channel not in CHANNELS:
        raise ValueError(f"channel {channel!r} is not one of {list(CHANNELS)}")
    address = str(entry["address"]).strip()
    if channel == "email" and not EMAIL.match(address):
        raise ValueError(f"address {address!r} is not an e-mail address")
    if channel == "webhook" and not URL.match(address):
        raise ValueError(f"address {address!r} is not an http(s) URL")
    name = str(entry.get("name") or entry["id"]).strip()
    if any(ord(c) < 32 for c in name + str(entry["id"])):
        raise ValueError("'id' and 'name' must be one line of text")
    levels = _list(entry, "levels")
    bad = [lv for lv in levels if lv not in LEVELS]
    if bad:
        raise ValueError(f"levels {bad} are not among {list(LEVELS)}")
    public = str(entry.get("public") or "general")
    if public not in AUDIENCES:
        raise ValueError(f"public {public!r} is not one of {list(AUDIENCES)}")
    language = str(entry.get("language") or "fr")
    if language not in LANGUAGES:
        raise ValueError(f"language {language!r} is not one of {list(LANGUAGES)}")
    return Subscriber(id=str(entry["id"]).strip(), name=name, channel=channel,
                      address=address, zones=_list(entry, "zones"), facilities=_list(entry, "facilities"),
                      pollutants=_list(entry, "pollutants"), levels=levels, public=public, language=language)


def _list(entry: dict, key: str) -> tuple[str, ...]:
    value = entry.get(key)
    if value is None:
        return ()
    if isinstance(value, str | int):
        value = [value]
    if not isinstance(value, list):
        raise ValueError(f"{key!r} must be a list")
    return tuple(str(v).strip() for v in value)


def matches(subscriber: Subscriber, alert: dict) -> bool:
    """Whether the outbox ``alert`` (:func:`spse.pipeline.alerts.outbox.notification`) goes to ``subscriber``."""
    level = str(alert.get("level") or "")
    if subscriber.levels:
        if not any(level == lv or level.startswith(f"{lv}_") for lv in subscriber.levels):
            return False
    elif level == DATA_QUALITY:
        return False
    if level == DATA_QUALITY:
        return True
    if subscriber.pollutants and alert.get("pollutant") not in subscriber.pollutants:
        return False
    if not subscriber.zones and not subscriber.facilities:
        return True
    zones = {str(z.get("zone_id")) for z in alert.get("zones") or []}
    return bool(zones & set(subscriber.zones)) or bool(followed_facilities(subscriber, alert))


def followed_facilities(subscriber: Subscriber, alert: dict) -> list[dict]:
    """The facilities of ``alert`` that ``subscriber`` follows, in the alert's order."""
    followed = set(subscriber.facilities)
    return [f for f in alert.get("facilities") or [] if str(f.get("facility_id")) in followed]
