"""Deliver the day's outbox notifications to a webhook, once per alert version.

The outbox (``spse.alerts.outbox``) holds one JSON file per alert of the day. When
``SPSE_ALERT_WEBHOOK_URL`` is set, each file is POSTed as JSON to it (timeouts, retries on
5xx/429 as every fetch, header ``Idempotency-Key: <alert_id>:<sha256 prefix>``, and
``Authorization: Bearer`` from the secret ``alert_webhook``/``token`` when configured).
``<outbox>/deliveries/<day>.json`` records what was delivered, so a re-run of the day
sends nothing again unless an alert changed. A delivery that fails stops there and
raises, naming the alert; the warehouse and bulletin are already published by then.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os

from spse import lake
from spse.config import settings
from spse.fetch import FetchPolicy, fetch

log = logging.getLogger(__name__)

FEED = "alert_webhook"
URL_ENV = "SPSE_ALERT_WEBHOOK_URL"


def _headers() -> dict[str, str]:
    from spse import secrets

    headers = {"Content-Type": "application/json"}
    try:
        headers["Authorization"] = f"Bearer {secrets.get(FEED, 'token').reveal()}"
    except secrets.MissingSecret:
        pass
    return headers


def deliver(day: dt.date) -> dict[str, int | str]:
    """POST the day's new or changed notifications; return counts (sent, already delivered)."""
    url = os.environ.get(URL_ENV)
    if not url:
        return {"webhook": "not configured", "sent": 0, "already_delivered": 0}
    folder = settings().outbox / "alerts" / day.isoformat()
    ledger_path = settings().outbox / "deliveries" / f"{day.isoformat()}.json"
    ledger = json.loads(ledger_path.read_text()) if ledger_path.exists() else {}
    headers = _headers()
    sent = skipped = 0
    for path in sorted(folder.glob("*.json")):
        body = path.read_bytes()
        digest = hashlib.sha256(body).hexdigest()
        if ledger.get(path.stem) == digest:
            skipped += 1
            continue
        policy = FetchPolicy(headers={**headers, "Idempotency-Key": f"{path.stem}:{digest[:16]}"},
                             timeout_s=(10.0, 30.0))
        fetch(FEED, url, policy, method="POST", json_body=json.loads(body))
        ledger[path.stem] = digest
        lake.write_bytes_atomic(ledger_path, json.dumps(ledger, indent=2, sort_keys=True).encode())
        sent += 1
    log.info("alert webhook: %d sent, %d already delivered for %s", sent, skipped, day)
    return {"webhook": "configured", "sent": sent, "already_delivered": skipped}
