"""airparif_indices: parsing of the forecast JSON, labels to classes, X-Api-Key, secrets kept out of everything."""

import datetime as dt
import json
import logging
from pathlib import Path

import pytest

from spse.core.errors import FeedError, FetchError, SchemaError
from spse.pipeline import ingest, lake
from spse.sources.airparif_indices import SOURCE

FIXTURES = Path(__file__).parents[1] / "fixtures" / "sources" / "airparif_indices"
DAY = dt.date(2026, 1, 15)
PART = SOURCE.partition(DAY)
ENDPOINT = "/indices/prevision/commune"
ARRONDISSEMENTS = ",".join(f"751{n:02d}" for n in range(1, 21))


def fixture_bytes() -> bytes:
    return (FIXTURES / "indices_prevision_commune" / "2026-01-15.json").read_bytes()


def test_parse_recorded_day():
    result = SOURCE.parse(fixture_bytes(), "indices_prevision_commune/2026-01-15.json", PART)
    SOURCE.check(result.frame)
    frame = result.frame.set_index(["insee", "date", "pollutant"])
    assert result.rejects.empty and len(frame) == 3 * 2 * 6
    assert frame.loc[("75120", dt.date(2026, 1, 15), "PM2.5"), ["label", "index_code"]].tolist() == ["Mauvais", 4]
    assert frame.loc[("75120", dt.date(2026, 1, 15), "ALL"), "index_code"] == 4
    assert frame.loc[("75101", dt.date(2026, 1, 15), "PM2.5"), "index_code"] == 3
    assert frame.loc[("75104", dt.date(2026, 1, 16), "NO2"), "index_code"] == 1
    assert set(result.frame["fetched_for_date"]) == {DAY}
    assert set(result.frame["pollutant"]) == {"NO2", "O3", "PM10", "PM2.5", "SO2", "ALL"}


def test_real_samples(shared_data):
    folder = shared_data / "airparif"
    result = SOURCE.parse((folder / "airparif_api_indices_prevision_commune_75104_2025-12-25.json").read_bytes(),
                          "indices_prevision_commune/2025-12-25.json", PART)
    SOURCE.check(result.frame)
    frame = result.frame.set_index(["insee", "date", "pollutant"])
    assert len(frame) == 12 and result.rejects.empty
    assert frame.loc[("75104", dt.date(2025, 12, 26), "PM2.5"), ["label", "index_code"]].tolist() == ["Moyen", 2]
    assert frame.loc[("75104", dt.date(2025, 12, 26), "ALL"), "index_code"] == 2
    assert frame.loc[("75104", dt.date(2025, 12, 25), "ALL"), "index_code"] == 1
    single = SOURCE.parse(
        (folder / "airparif_api_indices_prevision_commune_75104_2026-01-01_singleday.json").read_bytes(),
        "indices_prevision_commune/2026-01-01.json", PART)
    assert len(single.frame) == 6 and single.rejects.empty and set(single.frame["date"]) == {dt.date(2026, 1, 1)}
    degrade = SOURCE.parse((folder / "airparif_api_indices_prevision_commune_75104_2026-01-06.json").read_bytes(),
                           "indices_prevision_commune/2026-01-06.json", PART).frame.set_index(["date", "pollutant"])
    assert degrade.loc[(dt.date(2026, 1, 6), "PM2.5"), ["label", "index_code"]].tolist() == ["Dégradé", 3]


def test_labels_ignore_case_and_accents_and_unknown_ones_are_quarantined():
    doc = {"75105": [{"date": "2026-01-15", "no2": "TRÈS MAUVAIS", "o3": "Extrêmement Mauvais", "pm10": "tres mauvais",
                      "pm25": "Indisponible", "so2": None, "indice": "Extrêmement mauvais"}]}
    result = SOURCE.parse(json.dumps(doc).encode(), "indices_prevision_commune/2026-01-15.json", PART)
    codes = result.frame.set_index("pollutant")["index_code"].to_dict()
    assert codes == {"NO2": 5, "O3": 6, "PM10": 5, "ALL": 6}
    assert result.frame.set_index("pollutant").loc["NO2", "label"] == "TRÈS MAUVAIS"
    assert sorted(result.rejects["reason"]) == ["unknown ATMO label for `pm25`: Indisponible",
                                                "unknown ATMO label for `so2`: (none)"]
    assert set(result.rejects["row"]) == {1}


@pytest.mark.parametrize("body", [b"[]", b"<!DOCTYPE html><html></html>", b"{not json"])
def test_wrong_shape_names_feed_and_file(body):
    with pytest.raises(SchemaError, match=r"feed airparif_indices, file indices_prevision_commune/2026-01-15\.json"):
        SOURCE.parse(body, "indices_prevision_commune/2026-01-15.json", PART)


def test_url_lists_the_configured_communes(monkeypatch):
    monkeypatch.delenv("SPSE_AIRPARIF_INDICES_INSEE", raising=False)
    relative = SOURCE.files(DAY)[0]
    assert relative == "indices_prevision_commune/2026-01-15.json"
    assert SOURCE.url_for("https://api.airparif.fr", relative) == (
        f"https://api.airparif.fr/indices/prevision/commune?insee={ARRONDISSEMENTS}")
    monkeypatch.setenv("SPSE_AIRPARIF_INDICES_INSEE", "75104, 92012")
    assert SOURCE.url_for("https://h", relative) == "https://h/indices/prevision/commune?insee=75104,92012"
    assert SOURCE.url_for("/rec", relative) == "/rec/indices_prevision_commune/2026-01-15.json"


def test_api_key_header_is_sent(spse_home, httpserver, monkeypatch):
    monkeypatch.setenv("SPSE_AIRPARIF_API_KEY", "key-123")
    monkeypatch.setenv("SPSE_AIRPARIF_INDICES_URL", httpserver.url_for("/").rstrip("/"))
    httpserver.expect_request(ENDPOINT, headers={"X-Api-Key": "key-123"},
                              query_string={"insee": ARRONDISSEMENTS}).respond_with_data(fixture_bytes())
    assert ingest.ingest(SOURCE, DAY).rows == 36
    assert len(httpserver.log) == 1
    assert lake.read_partition("airparif_index_forecast", "date=2026-01-15")["index_code"].max() == 4


def test_no_key_is_needed_for_a_folder_and_a_missing_key_names_the_feed(spse_home, monkeypatch):
    monkeypatch.delenv("SPSE_AIRPARIF_API_KEY", raising=False)
    monkeypatch.setattr("spse.core.secrets._from_airflow", lambda conn_id, field: None)
    assert SOURCE.auth_headers(str(FIXTURES)) == {}
    with pytest.raises(FeedError, match=r"feed airparif_indices: .*SPSE_AIRPARIF_API_KEY"):
        SOURCE.auth_headers("https://api.airparif.fr")


CANARY = "canary-5d1a0c9e44"


def test_canary_key_appears_in_no_log_error_or_file(spse_home, httpserver, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("SPSE_AIRPARIF_API_KEY", CANARY)
    monkeypatch.setenv("SPSE_AIRPARIF_INDICES_URL", httpserver.url_for("/").rstrip("/"))
    httpserver.expect_request(ENDPOINT, headers={"X-Api-Key": CANARY}).respond_with_data(fixture_bytes())
    assert ingest.ingest(SOURCE, DAY).rows == 36
    bad = json.loads(fixture_bytes())
    bad["75101"][0]["o3"] = "Inconnu"
    httpserver.clear()
    httpserver.expect_request(ENDPOINT).respond_with_json(bad)
    assert ingest.ingest(SOURCE, DAY).rejected == 1
    errors = []
    for status, body in ((403, '{"detail": "Invalid API key"}'), (200, "<html><body>Erreur</body></html>")):
        httpserver.clear()
        httpserver.expect_request(ENDPOINT).respond_with_data(body, status=status)
        with pytest.raises((FetchError, SchemaError)) as err:
            ingest.ingest(SOURCE, DAY)
        errors.append(err.value)
    assert "feed airparif_indices" in str(errors[0]) and "HTTP 403" in str(errors[0])
    assert list((spse_home / "quarantine").rglob("*.parquet")) and list((spse_home / "raw").rglob("*.meta.json"))
    for record in caplog.records:
        assert CANARY not in record.getMessage(), record.name
    for error in errors:
        assert CANARY not in str(error) and CANARY not in repr(error)
    for path in spse_home.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path
