import datetime as dt
import json
import logging

import pytest

from spse.core.config import settings
from spse.core.errors import FetchError
from spse.pipeline import notify

DAY = dt.date(2026, 1, 15)


@pytest.fixture
def outbox(spse_home):
    folder = settings().outbox / "alerts" / DAY.isoformat()
    folder.mkdir(parents=True)
    (folder / "aaa.json").write_text(json.dumps({"alert_id": "aaa", "pollutant": "PM10", "level": "information"}))
    (folder / "bbb.json").write_text(json.dumps({"alert_id": "bbb", "pollutant": "NO2", "level": "information"}))
    return folder


def test_nothing_is_sent_without_a_webhook(outbox, monkeypatch):
    monkeypatch.delenv(notify.URL_ENV, raising=False)
    assert notify.deliver(DAY)["sent"] == 0


def test_each_alert_is_posted_once_and_again_only_when_it_changes(outbox, httpserver, monkeypatch, caplog):
    monkeypatch.setenv(notify.URL_ENV, httpserver.url_for("/hook"))
    monkeypatch.setenv("SPSE_ALERT_WEBHOOK_TOKEN", "canary-7f3a9")
    received = []

    def handler(request):
        from werkzeug import Response

        received.append((request.headers.get("Authorization"), request.headers.get("Idempotency-Key"),
                         request.get_json()["alert_id"]))
        return Response("ok")

    httpserver.expect_request("/hook", method="POST").respond_with_handler(handler)
    caplog.set_level(logging.DEBUG)
    assert notify.deliver(DAY) == {"webhook": "configured", "sent": 2, "already_delivered": 0}
    assert [r[2] for r in received] == ["aaa", "bbb"]
    assert received[0][0] == "Bearer canary-7f3a9"
    assert received[0][1].startswith("aaa:")
    assert notify.deliver(DAY)["sent"] == 0  # a re-run of the day sends nothing again
    (outbox / "bbb.json").write_text(json.dumps({"alert_id": "bbb", "pollutant": "NO2", "level": "alerte"}))
    assert notify.deliver(DAY) == {"webhook": "configured", "sent": 1, "already_delivered": 1}
    assert "canary-7f3a9" not in caplog.text
    assert "canary-7f3a9" not in (settings().outbox / "deliveries" / f"{DAY}.json").read_text()


def test_a_failing_webhook_raises_naming_it_and_keeps_what_was_delivered(outbox, httpserver, monkeypatch):
    monkeypatch.setenv(notify.URL_ENV, httpserver.url_for("/hook"))
    httpserver.expect_request("/hook", method="POST").respond_with_data("down", status=404)
    with pytest.raises(FetchError, match=r"feed alert_webhook.*HTTP 404"):
        notify.deliver(DAY)
    assert not (settings().outbox / "deliveries" / f"{DAY}.json").exists()


def _published(partitions: list[tuple[str, str]]) -> None:
    """A published warehouse whose ``meta.lake_partitions`` lists ``(dataset, partition)``."""
    import duckdb

    settings().warehouse.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings().warehouse)) as con:
        con.execute('create schema meta; create table meta.lake_partitions (dataset varchar, "partition" varchar, '
                    'path varchar)')
        con.executemany("insert into meta.lake_partitions values (?, ?, '')", partitions)


def test_watch_posts_late_naming_what_is_missing(spse_home, httpserver, monkeypatch):
    monkeypatch.setenv(notify.URL_ENV, httpserver.url_for("/ops"))
    monkeypatch.delenv("SPSE_ALERT_WEBHOOK_TOKEN", raising=False)
    httpserver.expect_request("/ops", method="POST").respond_with_data("ok")
    missing = notify.watch_day(DAY, dag_id="spse_daily", run_id="scheduled__2026-01-16T06:00:00+00:00",
                               deadline="2026-01-16 07:00 Europe/Paris")
    assert missing == ["pas de bulletin du 2026-01-15", "aucun entrepôt publié"]
    (request, _), = httpserver.log
    body = request.get_json()
    assert body["type"] == "spse_run_late"
    assert request.headers["Idempotency-Key"] == "spse_daily:scheduled__2026-01-16T06:00:00+00:00:late"
    assert body["message"] == ("Retard du traitement quotidien spse_daily : à l'échéance 2026-01-16 07:00 "
                               "Europe/Paris, pas de bulletin du 2026-01-15; aucun entrepôt publié.")
    # The bulletin is out but the published warehouse holds only the day before's alerts.
    (settings().bulletin).mkdir(parents=True)
    (settings().bulletin / "2026-01-15.html").write_text("<html></html>")
    _published([("alerts", "date=2026-01-14"), ("air_hourly", "date=2026-01-15")])
    assert notify.missing_outputs(DAY) == ["les alertes du 2026-01-15 ne sont pas dans l'entrepôt publié"]


def test_watch_is_silent_when_the_day_is_published(spse_home, httpserver, monkeypatch):
    monkeypatch.setenv(notify.URL_ENV, httpserver.url_for("/ops"))
    (settings().bulletin).mkdir(parents=True)
    (settings().bulletin / "2026-01-15.html").write_text("<html></html>")
    _published([("alerts", "date=2026-01-15")])
    assert notify.watch_day(DAY, dag_id="spse_daily", run_id="r", deadline="d") == []
    assert httpserver.log == []


def test_a_run_event_without_webhook_is_logged(spse_home, monkeypatch, caplog):
    monkeypatch.delenv(notify.URL_ENV, raising=False)
    result = notify.post_run_event("failed", dag_id="spse_daily", run_id="manual__x", detail="Motif : test.")
    assert result == {"webhook": "not configured", "event": "failed"}
    assert "Échec du traitement quotidien spse_daily (run manual__x)" in caplog.text
