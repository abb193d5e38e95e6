"""atmo_indices: parsing of the Atmo Data `indices/atmo` CSV, login + Bearer, secrets kept out of everything."""

import datetime as dt
import logging
from pathlib import Path

import pandas as pd
import pytest
from werkzeug import Response

from spse.core.errors import FeedError, FetchError
from spse.pipeline import ingest, lake
from spse.sources.atmo_indices import SOURCE

FIXTURES = Path(__file__).parents[1] / "fixtures" / "sources" / "atmo_indices"
DAY = dt.date(2026, 1, 15)
PART = SOURCE.partition(DAY)
DATA_PATH = "/api/v2/data/indices/atmo"
HEADER = ("aasqa;date_maj;code_no2;code_o3;code_pm10;code_pm25;code_qual;code_so2;code_zone;coul_qual;date_dif;"
          "date_ech;epsg_reg;lib_qual;lib_zone;source;type_zone;x_reg;x_wgs84;y_reg;y_wgs84;gml_id2")


def fixture_bytes() -> bytes:
    return (FIXTURES / "indices_atmo" / "2026-01-15.csv").read_bytes()


@pytest.fixture
def atmo_credentials(monkeypatch):
    monkeypatch.setenv("SPSE_ATMO_DATA_LOGIN", "spse-team")
    monkeypatch.setenv("SPSE_ATMO_DATA_PASSWORD", "s3cret-pw")


def test_parse_recorded_airparif_day():
    result = SOURCE.parse(fixture_bytes(), "indices_atmo/2026-01-15.csv", PART)
    SOURCE.check(result.frame)
    frame = result.frame.set_index("date")
    assert result.rejects.empty and len(frame) == 3
    assert frame.loc[dt.date(2026, 1, 16), "index_code"] == 4
    assert frame.loc[dt.date(2026, 1, 16), "index_label"] == "Mauvais"
    assert frame["code_pm25"].tolist() == [3, 2, 4]
    assert frame["is_forecast"].tolist() == [False, False, True]
    assert set(frame["published_date"]) == {dt.date(2026, 1, 15)}
    assert set(frame["zone_code"]) == {"75056"} and set(frame["aasqa"]) == {"11"}
    # 12:41:07.113 at +01 is 11:41:07.113 UTC
    assert (frame["updated_at_utc"] == pd.Timestamp("2026-01-15 11:41:07.113", tz="UTC")).all()


def test_parse_pads_codes_keeps_absent_and_event_and_quarantines_bad_codes():
    rows = [
        "84;2025/07/01 11:00:00.000+02;1;3;1;2;3;1;1004;#F0E641;2025/07/01;2025-07-01;2154;Dégradé;Ambérieu;"
        "Atmo AURA;commune;1;5.36;2;45.96;",
        "84;2025/07/01 11:00:00.000+02;0;0;0;0;0;0;200046977;#DDDDDD;2025/07/01;2025-07-01;2154;Absent;Lyon;"
        "Atmo AURA;EPCI;1;4.8;2;45.7;",
        "84;2025/07/01 11:00:00.000+02;1;1;1;1;7;1;69123;#888888;2025/07/01;2025-07-02;2154;Evénement;Lyon;"
        "Atmo AURA;commune;1;4.8;2;45.7;",
        "84;2025/07/01 11:00:00.000+02;1;1;1;1;9;1;69266;#000000;2025/07/01;2025-07-01;2154;?;Villeurbanne;"
        "Atmo AURA;commune;1;4.8;2;45.7;",
    ]
    payload = (HEADER.replace(";", ",") + "\n" + "\n".join(r.replace(";", ",") for r in rows) + "\n").encode()
    result = SOURCE.parse(payload, "indices_atmo/2025-07-01.csv", PART)
    frame = result.frame.set_index("zone_code")
    assert sorted(frame.index) == ["01004", "200046977", "69123"]
    assert frame.loc["200046977", "index_code"] == 0 and frame.loc["200046977", "zone_type"] == "EPCI"
    assert frame.loc["69123", "index_code"] == 7 and frame.loc["69123", "is_forecast"]
    # 11:00 at +02 (summer) is 09:00 UTC
    assert frame.loc["01004", "updated_at_utc"] == pd.Timestamp("2025-07-01 09:00", tz="UTC")
    assert result.rejects["row"].tolist() == [5]
    assert "code_qual" in result.rejects.loc[0, "reason"] and "9" in result.rejects.loc[0, "reason"]


def test_real_atmosud_sample(shared_data):
    payload = (shared_data / "atmo" / "atmodata_api_indices_atmo_atmosud_2025.csv").read_bytes()
    result = SOURCE.parse(payload, "indices_atmo/2025-09-01.csv", PART)
    SOURCE.check(result.frame)
    frame = result.frame
    assert len(frame) == 248 and result.rejects.empty
    assert "04070" in set(frame["zone_code"]) and "4070" not in set(frame["zone_code"])
    assert set(frame["index_code"]) == {2, 3, 4}
    digne = frame[(frame["zone_code"] == "04070") & (frame["date"] == dt.date(2025, 8, 3))].iloc[0]
    assert (digne["index_code"], digne["index_label"], digne["code_o3"]) == (3, "Dégradé", 3)
    assert digne["published_date"] == dt.date(2025, 8, 4) and not digne["is_forecast"]
    forecasts = frame[frame["is_forecast"]]
    assert len(forecasts) == 8 and set(forecasts["date"]) == {dt.date(2025, 9, 2)}
    assert set(frame["updated_at_utc"]) == {pd.Timestamp("2025-09-01 15:12:39.930", tz="UTC")}


def test_urls_for_api_and_for_a_folder(monkeypatch):
    monkeypatch.delenv("SPSE_ATMO_INDICES_FILTERS", raising=False)
    relative = SOURCE.files(DAY)[0]
    assert relative == "indices_atmo/2026-01-15.csv"
    assert (SOURCE.url_for("https://admindata.atmo-france.org", relative)
            == "https://admindata.atmo-france.org/api/v2/data/indices/atmo?format=csv&date=2026-01-15&code_zone=75056")
    monkeypatch.setenv("SPSE_ATMO_INDICES_FILTERS", "aasqa=11")
    assert SOURCE.url_for("https://h", relative).endswith("?format=csv&date=2026-01-15&aasqa=11")
    assert SOURCE.url_for("/data/atmo", relative) == "/data/atmo/indices_atmo/2026-01-15.csv"


def test_ingest_logs_in_then_sends_the_bearer_token(spse_home, httpserver, monkeypatch, atmo_credentials):
    monkeypatch.setenv("SPSE_ATMO_INDICES_URL", httpserver.url_for("/").rstrip("/"))
    httpserver.expect_ordered_request("/api/login", method="POST",
                                      json={"username": "spse-team", "password": "s3cret-pw"}
                                      ).respond_with_json({"token": "tok-1"})
    httpserver.expect_ordered_request(DATA_PATH, method="GET", headers={"Authorization": "Bearer tok-1"},
                                      query_string={"format": "csv", "date": "2026-01-15", "code_zone": "75056"}
                                      ).respond_with_data(fixture_bytes(), content_type="text/csv")
    report = ingest.ingest(SOURCE, DAY)
    httpserver.check_assertions()
    assert (report.rows, report.rejected) == (3, 0)
    assert lake.read_partition("atmo_index_daily", "date=2026-01-15")["index_code"].tolist() == [3, 2, 4]


def test_login_refused_names_the_feed_not_the_password(spse_home, httpserver, monkeypatch, atmo_credentials):
    monkeypatch.setenv("SPSE_ATMO_INDICES_URL", httpserver.url_for("/").rstrip("/"))
    httpserver.expect_request("/api/login", method="POST").respond_with_json({"message": "Invalid"}, status=401)
    with pytest.raises(FetchError, match=r"feed atmo_indices, url .*/api/login: login refused \(HTTP 401\)") as err:
        ingest.ingest(SOURCE, DAY)
    assert "s3cret-pw" not in str(err.value) and "spse-team" not in str(err.value)
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_missing_credentials_name_the_feed_and_the_variables(spse_home, monkeypatch):
    monkeypatch.setenv("SPSE_ATMO_INDICES_URL", "https://admindata.atmo-france.org")
    monkeypatch.delenv("SPSE_ATMO_DATA_LOGIN", raising=False)
    monkeypatch.setattr("spse.core.secrets._from_airflow", lambda conn_id, field: None)  # no Airflow connection either
    with pytest.raises(FeedError, match=r"feed atmo_indices: .*SPSE_ATMO_DATA_LOGIN"):
        ingest.ingest(SOURCE, DAY)


def test_expired_token_logs_in_again_once(spse_home, httpserver, monkeypatch, atmo_credentials):
    monkeypatch.setenv("SPSE_ATMO_INDICES_URL", httpserver.url_for("/").rstrip("/"))
    tokens = iter(["stale", "fresh"])
    httpserver.expect_request("/api/login", method="POST").respond_with_handler(
        lambda request: Response(f'{{"token": "{next(tokens)}"}}', content_type="application/json"))
    httpserver.expect_request(DATA_PATH, headers={"Authorization": "Bearer stale"}).respond_with_json(
        {"message": "Expired JWT Token"}, status=401)
    httpserver.expect_request(DATA_PATH, headers={"Authorization": "Bearer fresh"}).respond_with_data(fixture_bytes())
    assert ingest.ingest(SOURCE, DAY).rows == 3
    assert [r.path for r, _ in httpserver.log] == ["/api/login", DATA_PATH, "/api/login", DATA_PATH]


def test_token_refused_after_a_fresh_login_is_an_error(spse_home, httpserver, monkeypatch, atmo_credentials):
    monkeypatch.setenv("SPSE_ATMO_INDICES_URL", httpserver.url_for("/").rstrip("/"))
    httpserver.expect_request("/api/login", method="POST").respond_with_json({"token": "t"})
    httpserver.expect_request(DATA_PATH).respond_with_json({"message": "Invalid JWT Token"}, status=401)
    with pytest.raises(FetchError, match=r"feed atmo_indices, url .*indices/atmo.*even after a fresh login"):
        ingest.ingest(SOURCE, DAY)
    assert not lake.has_partition("atmo_index_daily", "date=2026-01-15")


CANARY = "canary-7f3e9b1d2c"


def _assert_no_canary(home: Path, caplog, errors: list[BaseException]) -> None:
    for record in caplog.records:
        assert CANARY not in record.getMessage(), record.name
    assert CANARY not in caplog.text
    for error in errors:
        assert CANARY not in str(error) and CANARY not in repr(error)
    for path in home.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path


def test_canary_secrets_appear_in_no_log_error_or_file(spse_home, httpserver, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("SPSE_ATMO_DATA_LOGIN", CANARY + "-login")
    monkeypatch.setenv("SPSE_ATMO_DATA_PASSWORD", CANARY + "-password")
    monkeypatch.setenv("SPSE_ATMO_INDICES_URL", httpserver.url_for("/").rstrip("/"))
    httpserver.expect_request("/api/login", method="POST").respond_with_json({"token": CANARY + "-token"})
    httpserver.expect_request(DATA_PATH).respond_with_data(fixture_bytes())
    bad_row = fixture_bytes().decode().replace(";3;1;75056", ";12;1;75056", 1).encode()
    errors = []
    assert ingest.ingest(SOURCE, DAY).rows == 3
    httpserver.clear()
    httpserver.expect_request("/api/login", method="POST").respond_with_json({"token": CANARY + "-token"})
    httpserver.expect_request(DATA_PATH).respond_with_data(bad_row)
    assert ingest.ingest(SOURCE, DAY).rejected == 1
    for data_status, login_status in ((403, 200), (200, 401)):
        httpserver.clear()
        httpserver.expect_request("/api/login", method="POST").respond_with_json({"token": CANARY + "-token"},
                                                                                 status=login_status)
        httpserver.expect_request(DATA_PATH).respond_with_data("<html>denied</html>", status=data_status)
        with pytest.raises(FetchError) as err:
            ingest.ingest(SOURCE, DAY)
        errors.append(err.value)
    httpserver.clear()
    httpserver.expect_request("/api/login", method="POST").respond_with_json({"token": CANARY + "-token"})
    httpserver.expect_request(DATA_PATH).respond_with_data("<!DOCTYPE html><html>login</html>")
    with pytest.raises(FeedError) as err:
        ingest.ingest(SOURCE, DAY)
    errors.append(err.value)
    assert len(list((spse_home / "quarantine").rglob("*.parquet"))) == 1
    assert list((spse_home / "raw").rglob("*.meta.json")) and list((spse_home / "lake").rglob("provenance.json"))
    _assert_no_canary(spse_home, caplog, errors)
