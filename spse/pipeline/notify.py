"""Deliver the day's outbox notifications to a webhook and to subscribers; tell the operators of a failed or late run.

Each alert version is delivered once per destination. Subscribers (e-mail by SMTP or their own
webhook, filtered by zone, facility, pollutant and level) are served by
:mod:`spse.pipeline.dispatch`; ``docs/notifications.md`` describes the subscriptions file and
the SMTP settings.

The outbox (``spse.pipeline.alerts.outbox``) holds one JSON file per alert of the day. When
``SPSE_ALERT_WEBHOOK_URL`` is set (:func:`spse.core.config.alert_webhook_url`), each file is POSTed
as JSON to it (timeouts, retries on 5xx/429 as every fetch, header
``Idempotency-Key: <alert_id>:<sha256 prefix>``, and ``Authorization: Bearer`` from the secret
``alert_webhook``/``token`` when configured). ``<outbox>/deliveries/<day>.json`` records what
was delivered, so a re-run of the day sends nothing again unless an alert changed. A
delivery that fails stops there and raises, naming the alert; the warehouse and bulletin
are already published by then.

:func:`post_run_event` POSTs one operator message to the same webhook, with the
``Idempotency-Key`` ``<dag_id>:<run_id>:<event>``: the Airflow notifier of ``spse_daily`` calls
it when a run fails, and :func:`watch_day` (DAG ``spse_daily_watch``, 07:00) when the day's
alerts and bulletin are not published yet.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging

from spse.core import config
from spse.core.config import settings
from spse.core.errors import NotificationError, SubscriptionError
from spse.core.http import FetchPolicy
from spse.pipeline import lake
from spse.pipeline.fetch import fetch

log = logging.getLogger(__name__)

FEED = "alert_webhook"
URL_ENV = config.ALERT_WEBHOOK_URL_ENV
# French text of the operator message per run event (what users read is in French).
RUN_EVENTS = {
    "failed": "Échec du traitement quotidien {dag_id} (run {run_id}) : les alertes et le bulletin du jour "
              "n'ont pas été publiés. {detail}",
    "late": "Retard du traitement quotidien {dag_id} : à l'échéance {deadline}, {detail}",
}


def _headers() -> dict[str, str]:
    from spse.core import secrets

    headers = {"Content-Type": "application/json"}
    try:
        headers["Authorization"] = f"Bearer {secrets.get(FEED, 'token').reveal()}"
    except secrets.MissingSecret:
        pass
    return headers


def deliver(day: dt.date) -> dict:
    """Send the day's new or changed notifications to the webhook and the subscribers; return counts.

    The global webhook (``SPSE_ALERT_WEBHOOK_URL``) gets every alert: ``webhook``, ``sent``,
    ``already_delivered``. When the subscriptions file exists
    (:func:`spse.core.config.subscriptions_file`), ``subscriptions`` holds what
    :func:`spse.pipeline.dispatch.deliver_to_subscribers` did (sent, already sent, failed with
    reasons, rejected entries). Under the writer lock (:mod:`spse.pipeline.locking`): the delivery
    ledgers are read, sent from and rewritten by one run at a time, so two runs of a day never
    send the same alert twice.

    Raises
    ------
    spse.core.errors.FetchError
        The global webhook refused an alert (after the subscribers were served).
    NotificationError
        The SMTP server could not be used (unreachable, login refused); a re-run sends what is left.
    spse.pipeline.subscriptions.SubscriptionError
        The subscriptions file is not YAML or has no ``subscribers`` list (the webhook is served first).
    """
    from spse.pipeline import dispatch, locking

    url = config.alert_webhook_url()
    subscribed = config.subscriptions_file().is_file()
    result: dict = {"webhook": "not configured", "sent": 0, "already_delivered": 0}
    if not url and not subscribed:
        return result
    unreadable = None
    with locking.writer_lock(f"notify_alerts {day}"):
        if subscribed:
            try:
                result["subscriptions"] = dispatch.deliver_to_subscribers(day)
            except SubscriptionError as exc:  # the webhook is still served, then this is raised
                unreadable = exc
        if url:
            result.update(_deliver(day, url))
    if unreadable is not None:
        raise unreadable
    error = result.get("subscriptions", {}).get("error")
    if error:
        raise NotificationError(f"alert e-mails of {day} not all sent: {error}; "
                                f"see {dispatch.ledger_path(day)}")
    return result


def _deliver(day: dt.date, url: str) -> dict[str, int | str]:
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
        _post(url, json.loads(body), f"{path.stem}:{digest[:16]}", headers)
        ledger[path.stem] = digest
        lake.write_bytes_atomic(ledger_path, json.dumps(ledger, indent=2, sort_keys=True).encode())
        sent += 1
    log.info("alert webhook: %d sent, %d already delivered for %s", sent, skipped, day)
    return {"webhook": "configured", "sent": sent, "already_delivered": skipped}


def _post(url: str, body: dict, key: str, headers: dict[str, str] | None = None) -> None:
    policy = FetchPolicy(headers={**(headers or _headers()), "Idempotency-Key": key}, timeout_s=(10.0, 30.0))
    fetch(FEED, url, policy, method="POST", json_body=body)


def post_run_event(event: str, *, dag_id: str, run_id: str, logical_date: str | None = None,
                   deadline: str | None = None, detail: str = "") -> dict[str, str]:
    """Tell the operators that a daily run failed or is late, through the alert webhook.

    POST ``{"type": "spse_run_<event>", "dag_id", "run_id", "logical_date", "deadline",
    "message", "detail"}`` to the alert webhook; ``event`` is ``failed`` or ``late``
    (:data:`RUN_EVENTS`, French message). Without a webhook the message is only logged
    (ERROR). Raises :class:`spse.core.errors.FetchError` when the webhook refuses it.
    """
    message = RUN_EVENTS[event].format(dag_id=dag_id, run_id=run_id, deadline=deadline or "?", detail=detail).strip()
    body = {"type": f"spse_run_{event}", "dag_id": dag_id, "run_id": run_id, "logical_date": logical_date,
            "deadline": deadline, "message": message, "detail": detail}
    url = config.alert_webhook_url()
    log.error("%s", message)
    if not url:
        return {"webhook": "not configured", "event": event}
    _post(url, body, f"{dag_id}:{run_id}:{event}")
    return {"webhook": "configured", "event": event}


def missing_outputs(day: dt.date) -> list[str]:
    """What the operators still lack for the local day ``day``, in French; empty when nothing.

    Its bulletin (``<bulletin>/<day>.html``) and its alerts in the published warehouse
    (``alerts/date=<day>`` among ``meta.lake_partitions``).
    """
    from spse.pipeline.warehouse.reader import connect_readonly, fetch_frame

    missing = []
    if not (settings().bulletin / f"{day.isoformat()}.html").is_file():
        missing.append(f"pas de bulletin du {day.isoformat()}")
    if not settings().warehouse.is_file():
        missing.append("aucun entrepôt publié")
        return missing
    con = connect_readonly()
    try:
        found = fetch_frame(con, "select count(*) as n from meta.lake_partitions where dataset = 'alerts' "
                                 "and \"partition\" = ?", [f"date={day.isoformat()}"])["n"].iloc[0]
    finally:
        con.close()
    if not found:
        missing.append(f"les alertes du {day.isoformat()} ne sont pas dans l'entrepôt publié")
    return missing


def watch_day(day: dt.date, *, dag_id: str, run_id: str, deadline: str) -> list[str]:
    """At ``deadline``, post a ``late`` event for ``dag_id`` if outputs of ``day`` are missing.

    Returns :func:`missing_outputs` of ``day`` (empty: nothing posted).
    """
    missing = missing_outputs(day)
    if missing:
        post_run_event("late", dag_id=dag_id, run_id=run_id, deadline=deadline,
                       detail="; ".join(missing) + ".")
    else:
        log.info("%s: the alerts and bulletin of %s are published by %s", dag_id, day, deadline)
    return missing
