"""Alert e-mails to subscribers, sent to a real SMTP server (aiosmtpd on 127.0.0.1)."""

import datetime as dt

import pandas as pd
import pytest
from aiosmtpd.controller import Controller
from smtp_recorder import Recorder, free_port

from spse.core.config import settings
from spse.pipeline import dispatch, notify
from spse.pipeline.alerts.outbox import write_outbox

DAY = dt.date(2026, 1, 15)
FACILITIES = pd.DataFrame({"facility_id": ["CRE-1", "EHP-7"], "name": ["Crèche Les Lilas", "EHPAD Les Tilleuls"],
                           "category": ["creche", "ehpad"], "address": ["12 rue des Lilas", None]})
ZONES = pd.DataFrame({"zone_id": ["75112", "75113", "75120"], "zone_name": ["12ème Ardt", "13ème Ardt", "20ème Ardt"]})
THRESHOLDS = pd.DataFrame({"set_id": ["FR_R221-1"], "pollutant": ["PM10"], "level": ["information"],
                           "averaging": ["day_mean"], "reference": ["Code de l'environnement R221-1"]})
RECOMMENDATIONS = """level,pollutant,audience,message,status,reference
information,*,vulnerable,"Message pour les personnes vulnérables.",U,test
information,*,general,"Message pour la population générale.",U,test
information,*,facilities,"Message pour les établissements.",U,test
closed,*,facilities,"Fin d'épisode : les activités habituelles peuvent reprendre.",U,test
"""


@pytest.fixture
def smtp_server(smtp_recorder, monkeypatch, tmp_path):
    for name in ("SPSE_SMTP_LOGIN", "SPSE_SMTP_PASSWORD", "SPSE_ALERT_WEBHOOK_URL", "SPSE_SUBSCRIPTIONS_FILE"):
        monkeypatch.delenv(name, raising=False)
    register = tmp_path / "recommendations.csv"
    register.write_text(RECOMMENDATIONS, encoding="utf-8")
    monkeypatch.setenv("SPSE_RECOMMENDATIONS_FILE", str(register))
    return smtp_recorder


def _alert(alert_id: str, pollutant: str, zone_ids: str, facility_ids: str, value: float, **extra) -> dict:
    row = {"alert_id": alert_id, "date": "2026-01-15", "time_base": "Europe/Paris", "kind": "air_quality",
           "status": "opened", "episode_start_date": "2026-01-15", "pollutant": pollutant, "level": "information",
           "value_max": value, "unit": "µg/m³", "basis": "station", "station_ids": "FR04329", "set_id": "FR_R221-1",
           "threshold_value": 50.0, "averaging": "day_mean", "zone_ids": zone_ids, "area_km2": 12.5,
           "population_total": 1234567.6, "pop_0_5": 80000.2, "pop_65p": 200000.7, "pop_poor_households": 1.0,
           "facility_ids": facility_ids, "facilities_by_category": "{}", "meets_episode_criteria": False,
           "recommendation": "texte global", "triggered_by": "null"}
    return {**row, **extra}


def _outbox(*alerts: dict) -> None:
    write_outbox(pd.DataFrame(list(alerts)), DAY, facilities=FACILITIES, zones=ZONES, thresholds=THRESHOLDS)


def _subscriptions(text: str) -> None:
    settings().home.mkdir(parents=True, exist_ok=True)
    (settings().home / "subscriptions.yml").write_text(text, encoding="utf-8")


SUBSCRIBERS = """
subscribers:
  - id: mairie-12
    name: Mairie du 12e
    channel: email
    address: sante@mairie12.test
    zones: ["75112"]
    public: vulnerable
  - id: lilas
    name: Directrice des Lilas
    channel: email
    address: direction@lilas.test
    facilities: [CRE-1]
    public: facilities
  - id: ozone-only
    channel: email
    address: o3@spse.test
    pollutants: [O3]
  - id: typo
    channel: email
    address: pas-une-adresse
"""


def _text(message) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def test_each_subscriber_gets_one_french_email_once(smtp_server):
    _outbox(_alert("a1", "PM10", "75112,75113", "CRE-1", 62.4), _alert("a2", "PM10", "75120", "EHP-7", 55.0))
    _subscriptions(SUBSCRIBERS)
    result = notify.deliver(DAY)["subscriptions"]
    assert (result["sent"], result["already_sent"], result["failed"]) == (2, 0, [])
    assert sorted(to for to, _ in smtp_server.messages) == ["direction@lilas.test", "sante@mairie12.test"]
    (rejected,) = result["rejected"]
    assert "subscriptions.yml, entry 4 (id 'typo')" in rejected["entry"]
    assert "'pas-une-adresse' is not an e-mail address" in rejected["reason"]

    mails = {to: message for to, message in smtp_server.messages}
    mairie = mails["sante@mairie12.test"]
    assert mairie["Subject"] == "[spse] PM10 : niveau d'information-recommandation le 15/01/2026"
    assert mairie["From"] == "alertes@spse.test"
    text = _text(mairie)
    assert text.startswith("Bonjour Mairie du 12e,")
    # 62.4 µg/m³ against 50 (daily mean); 12.5 km²; persons: 1 234 567.6 → 1 234 568,
    # 80 000.2 → 80 000, 200 000.7 → 200 001 (rounded to whole persons, French digit grouping)
    assert "Valeur maximale : 62,4 µg/m³ pour un seuil de 50 µg/m³ (moyenne journalière)." in text
    assert "Où : 12ème Ardt, 13ème Ardt ; surface concernée : 12,5 km²." in text
    assert "Quand : le 15/01/2026." in text
    assert ("Population concernée : 1 234 568 personnes, dont 80 000 enfants de 0 à 5 ans et 200 001 personnes "
            "de 65 ans et plus.") in text
    assert "Recommandations (Personnes vulnérables et sensibles) :\n- Message pour les personnes vulnérables." in text
    assert "population générale" not in text
    assert "Établissements que vous suivez" not in text
    assert "Message pour les personnes vulnérables." in mairie.get_body(("html",)).get_content()

    lilas = _text(mails["direction@lilas.test"])
    assert "- Message pour les établissements." in lilas
    assert "Établissements que vous suivez concernés :\n- Crèche Les Lilas (crèche), 12 rue des Lilas\n" in lilas
    assert "EHPAD" not in lilas

    again = notify.deliver(DAY)["subscriptions"]
    assert (again["sent"], again["already_sent"]) == (0, 2)
    assert len(smtp_server.messages) == 2

    with dispatch.ledger_path(DAY).open("a") as journal:  # a line cut by a crash during a later run
        journal.write('{"key": "a1:')
    assert notify.deliver(DAY)["subscriptions"]["already_sent"] == 2
    assert len(smtp_server.messages) == 2


def test_a_changed_alert_is_sent_again_and_only_it(smtp_server):
    _outbox(_alert("a1", "PM10", "75112", "", 62.4), _alert("a2", "PM10", "75113", "", 55.0))
    _subscriptions("subscribers:\n  - {id: all, channel: email, address: all@spse.test}\n")
    assert notify.deliver(DAY)["subscriptions"]["sent"] == 2
    _outbox(_alert("a1", "PM10", "75112", "", 81.0), _alert("a2", "PM10", "75113", "", 55.0))
    result = notify.deliver(DAY)["subscriptions"]
    assert (result["sent"], result["already_sent"]) == (1, 1)
    assert len(smtp_server.messages) == 3
    assert "Valeur maximale : 81 µg/m³" in _text(smtp_server.messages[-1][1])


def test_a_refused_address_is_reported_and_does_not_block_the_others(smtp_server):
    smtp_server.refuse.add("parti@spse.test")
    _outbox(_alert("a1", "PM10", "75112", "", 62.4))
    _subscriptions("subscribers:\n"
                   "  - {id: gone, channel: email, address: parti@spse.test}\n"
                   "  - {id: here, channel: email, address: la@spse.test}\n")
    result = notify.deliver(DAY)["subscriptions"]
    assert result["sent"] == 1
    assert [to for to, _ in smtp_server.messages] == ["la@spse.test"]
    (failed,) = result["failed"]
    assert (failed["subscriber"], failed["permanent"]) == ("gone", True)
    assert "550" in failed["reason"]
    assert smtp_server.rcpt.count("parti@spse.test") == 1  # a 5xx is not retried
    again = notify.deliver(DAY)["subscriptions"]
    assert (again["sent"], again["already_sent"], len(again["failed"])) == (0, 1, 1)
    assert smtp_server.rcpt.count("parti@spse.test") == 1  # nor re-sent by a re-run to the same address
    ledger = dispatch.read_ledger(DAY)
    assert sorted(entry["status"] for entry in ledger.values()) == ["failed", "sent"]


def test_a_temporary_refusal_is_retried_after_a_wait(smtp_server, monkeypatch):
    monkeypatch.setenv("SPSE_SMTP_BACKOFF_S", "2")
    smtp_server.defer_once.add("greylist@spse.test")
    _outbox(_alert("a1", "PM10", "75112", "", 62.4))
    _subscriptions("subscribers:\n  - {id: g, channel: email, address: greylist@spse.test}\n")
    waits = []
    result = dispatch.deliver_to_subscribers(DAY, sleep=waits.append)
    assert (result["sent"], result["failed"]) == (1, [])
    assert smtp_server.rcpt == ["greylist@spse.test", "greylist@spse.test"]
    assert waits == [2.0]
    assert len(smtp_server.messages) == 1


def test_the_waits_of_a_run_are_bounded_and_what_still_defers_is_left_to_the_next_run(smtp_server, monkeypatch):
    monkeypatch.setenv("SPSE_SMTP_BACKOFF_S", "2")
    monkeypatch.setenv("SPSE_SMTP_RETRIES", "3")
    monkeypatch.setenv("SPSE_SMTP_MAX_WAIT_S", "5")
    smtp_server.defer_always.update({"x@grey.test", "y@grey.test"})
    _outbox(_alert("a1", "PM10", "75112", "", 62.4))
    _subscriptions("subscribers:\n"
                   "  - {id: x, channel: email, address: x@grey.test}\n"
                   "  - {id: y, channel: email, address: y@grey.test}\n"
                   "  - {id: z, channel: email, address: z@spse.test}\n")
    waits = []
    result = dispatch.deliver_to_subscribers(DAY, sleep=waits.append)
    # x: waits 2 s (total 2), the next wait of 4 s would make 6 > 5: stops; y: 2 s (total 4), then 4 s would make 8
    assert waits == [2.0, 2.0]
    assert [(f["subscriber"], f["permanent"]) for f in result["failed"]] == [("x", False), ("y", False)]
    assert "451" in result["failed"][0]["reason"]
    assert [to for to, _ in smtp_server.messages] == ["z@spse.test"]
    assert result["error"] is None  # a deferring recipient is not a server failure: the step does not fail
    smtp_server.defer_always.clear()
    again = dispatch.deliver_to_subscribers(DAY, sleep=waits.append)
    assert (again["sent"], again["already_sent"]) == (2, 1)


def test_an_unreachable_server_raises_and_a_later_run_sends(smtp_server, monkeypatch):
    port = free_port()
    monkeypatch.setenv("SPSE_SMTP_PORT", str(port))  # nobody listens there
    monkeypatch.setenv("SPSE_SMTP_RETRIES", "1")
    _outbox(_alert("a1", "PM10", "75112", "", 62.4), _alert("a2", "PM10", "75113", "", 55.0))
    _subscriptions("subscribers:\n  - {id: all, channel: email, address: all@spse.test}\n")
    with pytest.raises(notify.NotificationError, match="unavailable"):
        notify.deliver(DAY)
    ledger = dispatch.read_ledger(DAY)
    assert [(e["status"], e["permanent"]) for e in ledger.values()] == [("failed", False)] * 2
    monkeypatch.setenv("SPSE_SMTP_PORT", str(smtp_server.port))
    assert notify.deliver(DAY)["subscriptions"]["sent"] == 2


def test_english_when_asked(smtp_server):
    _outbox(_alert("a1", "PM10", "75112", "", 62.4))
    _subscriptions("subscribers:\n  - {id: en, name: Jane, channel: email, address: jane@spse.test, language: en}\n")
    notify.deliver(DAY)
    ((_, message),) = smtp_server.messages
    assert message["Subject"] == "[spse] PM10: information level on 2026-01-15"
    text = _text(message)
    assert "Maximum value: 62.4 µg/m³ against a threshold of 50 µg/m³ (daily mean)." in text
    assert "Population concerned: 1,234,568 people, of whom 80,000 children aged 0 to 5" in text
    assert "- Message pour la population générale." in text  # the register's wording stays French


def test_a_login_is_sent_when_configured(spse_home, monkeypatch, tmp_path):
    from aiosmtpd.smtp import AuthResult

    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret-9b1", handled=False)

    handler = Recorder()
    port = free_port()
    # PLAIN only: aiosmtpd's LOGIN does not take smtplib's initial response
    controller = Controller(handler, hostname="127.0.0.1", port=port, authenticator=authenticator,
                            auth_require_tls=False, auth_exclude_mechanism=["LOGIN"])
    controller.start()
    try:
        for name, value in {"SPSE_SMTP_HOST": "127.0.0.1", "SPSE_SMTP_PORT": str(port), "SPSE_SMTP_SECURITY": "none",
                            "SPSE_SMTP_BACKOFF_S": "0", "SPSE_SMTP_TIMEOUT_S": "5",
                            "SPSE_SMTP_LOGIN": "spse", "SPSE_SMTP_PASSWORD": "s3cret-9b1"}.items():
            monkeypatch.setenv(name, value)
        _outbox(_alert("a1", "PM10", "75112", "", 62.4))
        _subscriptions("subscribers:\n  - {id: a, channel: email, address: a@spse.test}\n")
        assert notify.deliver(DAY)["subscriptions"]["sent"] == 1
        assert logins == [(b"spse", b"s3cret-9b1")]
        assert "s3cret-9b1" not in dispatch.ledger_path(DAY).read_text()
        monkeypatch.setenv("SPSE_SMTP_PASSWORD", "wrong")
        _outbox(_alert("a1", "PM10", "75112", "", 70.0))
        with pytest.raises(notify.NotificationError, match="login refused"):
            notify.deliver(DAY)
        assert len(logins) == 2  # a refused login is not retried
    finally:
        controller.stop()


def test_a_subscriber_webhook_gets_the_alert_json_and_the_global_webhook_still_works(smtp_server, httpserver,
                                                                                      monkeypatch):
    monkeypatch.setenv("SPSE_ALERT_WEBHOOK_URL", httpserver.url_for("/global"))
    httpserver.expect_request("/global", method="POST").respond_with_data("ok")
    httpserver.expect_request("/mine", method="POST").respond_with_data("ok")
    _outbox(_alert("a1", "PM10", "75112", "", 62.4), _alert("a2", "PM10", "75120", "", 55.0))
    _subscriptions(f"subscribers:\n  - {{id: relay, channel: webhook, address: '{httpserver.url_for('/mine')}', "
                   "zones: ['75120']}\n")
    result = notify.deliver(DAY)
    assert (result["webhook"], result["sent"], result["subscriptions"]["sent"]) == ("configured", 2, 1)
    mine = [(r.get_json()["alert_id"], r.headers["Idempotency-Key"]) for r, _ in httpserver.log if r.path == "/mine"]
    assert len(mine) == 1
    assert mine[0][0] == "a2"
    assert mine[0][1].startswith("a2:") and mine[0][1].endswith(":relay")
    assert notify.deliver(DAY)["subscriptions"]["already_sent"] == 1
    assert len(httpserver.log) == 3


def test_an_unreadable_subscriptions_file_fails_the_step_after_the_webhook_is_served(smtp_server, httpserver,
                                                                                    monkeypatch):
    from spse.pipeline.subscriptions import SubscriptionError

    monkeypatch.setenv("SPSE_ALERT_WEBHOOK_URL", httpserver.url_for("/global"))
    httpserver.expect_request("/global", method="POST").respond_with_data("ok")
    _outbox(_alert("a1", "PM10", "75112", "", 62.4))
    _subscriptions("subscribers:\n  - {id: a, channel: email, address: a@spse.test\n")  # unclosed mapping
    with pytest.raises(SubscriptionError, match=r"subscriptions\.yml: not valid YAML"):
        notify.deliver(DAY)
    assert len(httpserver.log) == 1
    assert smtp_server.messages == []


def test_spse_notify_reports_sent_already_sent_and_failed(smtp_server, capsys):
    from spse.pipeline import cli

    smtp_server.refuse.add("parti@spse.test")
    _outbox(_alert("a1", "PM10", "75112", "", 62.4))
    _subscriptions("subscribers:\n"
                   "  - {id: gone, channel: email, address: parti@spse.test}\n"
                   "  - {id: here, channel: email, address: la@spse.test}\n")
    assert cli.main(["notify", "--date", "2026-01-15"]) == 1
    out = capsys.readouterr().out
    assert "1 sent, 0 already sent, 1 failed" in out
    assert "failed: gone (email parti@spse.test), alert a1: recipient refused: 550" in out
    smtp_server.refuse.clear()
    _subscriptions("subscribers:\n  - {id: here, channel: email, address: la@spse.test}\n")
    assert cli.main(["notify", "--date", "2026-01-15"]) == 0
    assert "0 sent, 1 already sent, 0 failed" in capsys.readouterr().out


def test_an_ended_episode_and_a_data_quality_alert(smtp_server):
    closed = _alert("a1", "PM10", "75112", "CRE-1", None, status="closed")
    quality = _alert("dq", "paris_facilities", "", "", None, kind="data_quality", level="data_quality",
                     recommendation="Source paris_facilities : 1 ligne mise en quarantaine.")
    _outbox(closed, quality)
    _subscriptions("subscribers:\n"
                   "  - {id: lilas, channel: email, address: l@spse.test, facilities: [CRE-1], public: facilities}\n"
                   "  - {id: voisin, channel: email, address: voisin@spse.test, zones: ['75112']}\n"
                   "  - {id: ops, channel: email, address: ops@spse.test, levels: [data_quality]}\n")
    assert notify.deliver(DAY)["subscriptions"]["sent"] == 3
    mails = {to: message for to, message in smtp_server.messages}
    lilas = mails["l@spse.test"]
    assert lilas["Subject"] == "[spse] PM10 : niveau d'information-recommandation le 15/01/2026 — fin d'épisode"
    assert "- Fin d'épisode : les activités habituelles peuvent reprendre." in _text(lilas)
    assert "Valeur maximale" not in _text(lilas)
    assert "- Pas de recommandation particulière pour ce public à ce niveau." in _text(mails["voisin@spse.test"])
    ops = mails["ops@spse.test"]
    assert ops["Subject"] == "[spse] Qualité des données : paris_facilities le 15/01/2026"
    assert "Source paris_facilities : 1 ligne mise en quarantaine." in _text(ops)


@pytest.fixture
def tls_files(tmp_path):
    """A self-signed certificate for 127.0.0.1 (made by the openssl command) and its key."""
    import shutil
    import subprocess

    if not shutil.which("openssl"):
        pytest.skip("the openssl command is not available")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_to_a_server_whose_certificate_is_trusted(spse_home, monkeypatch, tls_files, security):
    import ssl

    cert, key = tls_files
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    handler = Recorder()
    port = free_port()
    if security == "ssl":
        controller = Controller(handler, hostname="127.0.0.1", port=port, ssl_context=server_tls)
    else:
        controller = Controller(handler, hostname="127.0.0.1", port=port, tls_context=server_tls,
                                require_starttls=True)
    controller.start()
    try:
        for name, value in {"SPSE_SMTP_HOST": "127.0.0.1", "SPSE_SMTP_PORT": str(port), "SPSE_SMTP_SECURITY": security,
                            "SPSE_SMTP_BACKOFF_S": "0", "SPSE_SMTP_RETRIES": "0", "SPSE_SMTP_TIMEOUT_S": "5",
                            "SSL_CERT_FILE": str(cert)}.items():
            monkeypatch.setenv(name, value)
        _outbox(_alert("a1", "PM10", "75112", "", 62.4))
        _subscriptions("subscribers:\n  - {id: a, channel: email, address: a@spse.test}\n")
        assert notify.deliver(DAY)["subscriptions"]["sent"] == 1
        assert [to for to, _ in handler.messages] == ["a@spse.test"]
        monkeypatch.delenv("SSL_CERT_FILE")  # an untrusted certificate: the server is not used
        _outbox(_alert("a1", "PM10", "75112", "", 70.0))
        with pytest.raises(notify.NotificationError, match="CERTIFICATE_VERIFY_FAILED"):
            notify.deliver(DAY)
        assert len(handler.messages) == 1
    finally:
        controller.stop()
