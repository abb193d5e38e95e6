"""Send each alert of the day's outbox to its subscribers, once per alert version, and keep the ledger.

For every outbox notification of the local day (Europe/Paris) and every subscriber it matches
(:mod:`spse.pipeline.subscriptions`): an e-mail (:mod:`spse.pipeline.alert_email`,
:mod:`spse.pipeline.mailer`) or a POST of the notification JSON to the subscriber's webhook
(header ``Idempotency-Key: <alert_id>:<digest>:<subscriber>``). The ledger
``<outbox>/deliveries/<day>.subscribers.jsonl`` is a journal: one JSON line, appended and
fsynced right after each attempt, per ``key`` ``<alert_id>:<digest>:<subscriber>:<channel>``
(digest: the first 16 hex digits of the SHA-256 of the notification file, so a changed alert is a
new version and is sent again), with ``status`` ``sent`` or ``failed``, the ``reason`` of a
failure, whether it is ``permanent``, the ``address`` and the time ``at`` (UTC); the last line of
a key holds. A re-run sends nothing already sent; it tries again the failures that were
temporary, and the permanent ones (a refused address) only once the address has changed. A
line cut by a crash is ignored (that message may then be sent again: at least once, never
twice for a completed line). The caller holds the writer lock (:func:`spse.pipeline.notify.deliver`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import jinja2

from spse.core import config
from spse.core.config import settings
from spse.core.errors import FetchError
from spse.core.http import FetchPolicy
from spse.pipeline import mailer, subscriptions
from spse.pipeline.alert_email import compose
from spse.pipeline.alerts.outbox import outbox_dir
from spse.pipeline.alerts.recommendations import recommendations
from spse.pipeline.fetch import fetch

log = logging.getLogger(__name__)

FEED = "subscriber_webhook"


def ledger_path(day: dt.date) -> Path:
    """The subscribers' delivery journal of the local day ``day``."""
    return settings().outbox / "deliveries" / f"{day.isoformat()}.subscribers.jsonl"


def read_ledger(day: dt.date) -> dict[str, dict]:
    """The latest entry per key of the journal of ``day``; a line cut by a crash is skipped."""
    path = ledger_path(day)
    entries: dict[str, dict] = {}
    if not path.exists():
        return entries
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            log.warning("%s, line %d: not JSON (cut by a crash?), ignored", path, number)
            continue
        entries[entry.pop("key")] = entry
    return entries


def _append(path: Path, key: str, entry: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"key": key, **entry}, ensure_ascii=False, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def deliver_to_subscribers(day: dt.date, *, sleep: Callable[[float], None] = time.sleep) -> dict:
    """Send the day's new alert versions to the subscribers they match; return what happened.

    Returns ``file`` (the subscriptions file), ``subscribers`` (valid entries), ``email``
    (``configured`` or ``not configured``: no ``$SPSE_SMTP_HOST``), counts ``sent``,
    ``already_sent`` and ``not_sent`` (e-mails without SMTP settings), the lists ``failed``
    (subscriber, alert_id, channel, address, reason, permanent) and ``rejected`` (entries of the
    file left out, and why), and ``error``: the reason the SMTP server could not be used, or
    ``None``. ``sleep`` waits between SMTP attempts.
    """
    path = config.subscriptions_file()
    subscribers, rejected = subscriptions.load(path)
    smtp = config.smtp_settings()
    result: dict = {"file": str(path), "subscribers": len(subscribers),
                    "email": "configured" if smtp else "not configured", "sent": 0, "already_sent": 0,
                    "not_sent": 0, "failed": [], "rejected": [asdict(r) for r in rejected], "error": None}
    ledger_file = ledger_path(day)
    ledger = read_ledger(day)
    register = recommendations()
    with mailer.Mailer(smtp, sleep) if smtp else contextlib.nullcontext() as smtp_client:
        for alert_file in sorted(outbox_dir(day).glob("*.json")):
            body = alert_file.read_bytes()
            digest = hashlib.sha256(body).hexdigest()[:16]
            alert = json.loads(body)
            for subscriber in subscribers:
                if not subscriptions.matches(subscriber, alert):
                    continue
                key = f"{alert['alert_id']}:{digest}:{subscriber.id}:{subscriber.channel}"
                entry = _send_once(ledger.get(key), alert, digest, subscriber, register, smtp, smtp_client, result)
                if entry is not None:
                    ledger[key] = entry
                    _append(ledger_file, key, entry)
    log.info("subscribers of %s: %d sent, %d already sent, %d failed, %d entries rejected", day, result["sent"],
             result["already_sent"], len(result["failed"]), len(rejected))
    return result


def _send_once(done: dict | None, alert: dict, digest: str, subscriber: subscriptions.Subscriber, register,
               smtp: config.SmtpSettings | None, smtp_client: mailer.Mailer | None, result: dict) -> dict | None:
    """Send unless the ledger entry ``done`` says not to; the new ledger entry, or ``None``."""
    report = {"subscriber": subscriber.id, "alert_id": alert["alert_id"], "channel": subscriber.channel,
              "address": subscriber.address}
    if done and done["status"] == "sent":
        result["already_sent"] += 1
        return None
    if done and done.get("permanent") and done.get("address") == subscriber.address:
        result["failed"].append({**report, "reason": done["reason"], "permanent": True})
        return None
    if subscriber.channel == "email" and smtp_client is None:
        result["not_sent"] += 1
        return None
    try:
        if subscriber.channel == "email":
            message = _message(alert, subscriber, register, smtp.sender, digest)
            attempts = smtp_client.send(message)
        else:
            attempts = _post(subscriber, alert, digest)
    except (mailer.DeliveryFailure, FetchError) as exc:
        permanent = isinstance(exc, mailer.PermanentFailure)
        result["failed"].append({**report, "reason": str(exc), "permanent": permanent})
        if isinstance(exc, mailer.ServerFailure) and result["error"] is None:
            result["error"] = str(exc)
        log.error("alert %s to subscriber %s (%s) failed: %s", alert["alert_id"], subscriber.id,
                  subscriber.channel, exc)
        return {"status": "failed", "permanent": permanent, "reason": str(exc), "address": subscriber.address,
                "at": _now()}
    result["sent"] += 1
    return {"status": "sent", "attempts": attempts, "address": subscriber.address, "at": _now()}


def _message(alert: dict, subscriber: subscriptions.Subscriber, register, sender: str, digest: str):
    """The e-mail; an alert the templates cannot show fails for this message only (the others go on)."""
    try:
        return compose(alert, subscriber, register, sender=sender,
                       message_id=f"{alert['alert_id']}.{digest}.{_safe(subscriber.id)}@spse")
    except (KeyError, TypeError, ValueError, jinja2.TemplateError) as exc:
        raise mailer.TemporaryFailure(f"message not built: {type(exc).__name__}: {exc}") from exc


def _post(subscriber: subscriptions.Subscriber, alert: dict, digest: str) -> int:
    headers = {"Content-Type": "application/json", "Idempotency-Key": f"{alert['alert_id']}:{digest}:{subscriber.id}"}
    fetch(FEED, subscriber.address, FetchPolicy(headers=headers, timeout_s=(10.0, 30.0)), method="POST",
          json_body=alert)
    return 1


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
