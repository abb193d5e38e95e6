import datetime as dt
import json
import logging

import pytest

from spse import notify
from spse.config import settings
from spse.errors import FetchError

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
