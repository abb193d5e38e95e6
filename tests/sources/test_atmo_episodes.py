"""atmo_episodes: parsing of the Atmo Data `episodes/3jours` CSV, procedure levels, URL, login."""

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from spse.pipeline import ingest, lake
from spse.sources.atmo_episodes import SOURCE, episode_level

FIXTURES = Path(__file__).parents[1] / "fixtures" / "sources" / "atmo_episodes"
DAY = dt.date(2026, 1, 15)
PART = SOURCE.partition(DAY)
HEADER = "aasqa;date_maj;etat;lib_zone;lib_pol;date_ech;date_dif;code_zone;code_pol"


def fixture_bytes() -> bytes:
    return (FIXTURES / "episodes_3jours" / "2026-01-15.csv").read_bytes()


def test_parse_recorded_paris_day():
    result = SOURCE.parse(fixture_bytes(), "episodes_3jours/2026-01-15.csv", PART)
    SOURCE.check(result.frame)
    frame = result.frame
    assert result.rejects.empty and len(frame) == 9
    pm10 = frame[frame["pollutant"] == "PM10"].set_index("date")
    assert pm10["level"].to_dict() == {dt.date(2026, 1, 14): 0, dt.date(2026, 1, 15): 1, dt.date(2026, 1, 16): 2}
    assert pm10.loc[dt.date(2026, 1, 16), "state_label"] == "PROCEDURE D'ALERTE SUR PERSISTANCE"
    assert set(frame["pollutant"]) == {"PM10", "NO2", "O3"}
    assert set(frame.loc[frame["is_forecast"], "date"]) == {dt.date(2026, 1, 16)}
    assert set(frame["zone_code"]) == {"75"} and set(frame["zone_name"]) == {"PARIS"}
    # 11:02:13.250 at +01 is 10:02:13.250 UTC
    assert set(frame["updated_at_utc"]) == {pd.Timestamp("2026-01-15 10:02:13.250", tz="UTC")}


def test_levels_match_wordings_tolerantly():
    etat = pd.Series(["PAS DE DEPASSEMENT", "Pas de dépassement", "PROCEDURE D'INFORMATION-RECOMMANDATION",
                      "procédure  d'information et de recommandation", "ALERTE", "Procédure d'alerte sur persistance",
                      "FIN D'EPISODE", "", None])
    assert episode_level(etat).tolist() == [0, 0, 1, 1, 2, 2, pd.NA, pd.NA, pd.NA]


def test_comma_file_pads_departments_and_quarantines_unknown_codes_and_wordings():
    rows = ["93,2025/06/27 14:32:05.802+02,PAS DE DEPASSEMENT,ALPES-DE-HAUTE-PROVENCE,Ozone,2025-06-28,2025/06/27,4,7",
            "93,2025/06/27 14:32:05.802+02,PAS DE DEPASSEMENT,VAR,Particules PM2.5,2025-06-27,2025/06/27,83,6001",
            "93,2025/06/27 14:32:05.802+02,VIGILANCE,VAR,Ozone,2025-06-27,2025/06/27,83,7",
            "93,2025/06/27 14:32:05.802+02,ALERTE,VAR,Dioxyde de soufre,2025-06-27,2025/06/27,83,1"]
    payload = (HEADER.replace(";", ",") + "\n" + "\n".join(rows) + "\n").encode()
    result = SOURCE.parse(payload, "episodes_3jours/2025-06-27.csv", PART)
    frame = result.frame
    assert frame[["zone_code", "pollutant", "level", "is_forecast"]].values.tolist() == [
        ["04", "O3", 0, True], ["83", "SO2", 2, False]]
    assert frame.loc[0, "updated_at_utc"] == pd.Timestamp("2025-06-27 12:32:05.802", tz="UTC")
    reasons = dict(zip(result.rejects["row"], result.rejects["reason"], strict=True))
    assert set(reasons) == {3, 4}
    assert "unknown `code_pol` 6001" in reasons[3] and "unknown `etat` wording: VIGILANCE" in reasons[4]


def test_real_atmosud_samples(shared_data):
    sep = SOURCE.parse((shared_data / "atmo" / "atmodata_api_episodes_3jours_atmosud_2025-09-01.csv").read_bytes(),
                       "episodes_3jours/2025-09-01.csv", PART)
    SOURCE.check(sep.frame)
    assert len(sep.frame) == 24 and sep.rejects.empty
    assert set(sep.frame["level"]) == {0}
    assert set(sep.frame["zone_code"]) == {"04", "05", "06", "13", "83", "84"}
    assert set(sep.frame["pollutant"]) == {"PM10", "O3"}
    jun = SOURCE.parse((shared_data / "atmo" / "atmodata_api_episodes_3jours_atmosud_2025-06-27.csv").read_bytes(),
                       "episodes_3jours/2025-06-27.csv", PART)
    assert len(jun.frame) == 36 and jun.rejects.empty and set(jun.frame["level"]) == {0}
    assert jun.frame["is_forecast"].sum() == 12 and set(jun.frame.loc[jun.frame["is_forecast"], "date"]) == {
        dt.date(2025, 6, 28)}


def test_url_sends_no_day_and_takes_filters(monkeypatch):
    monkeypatch.delenv("SPSE_ATMO_EPISODES_FILTERS", raising=False)
    relative = SOURCE.files(DAY)[0]
    assert relative == "episodes_3jours/2026-01-15.csv"
    assert (SOURCE.url_for("https://admindata.atmo-france.org", relative)
            == "https://admindata.atmo-france.org/api/v2/data/episodes/3jours?format=csv&code_zone=75")
    monkeypatch.setenv("SPSE_ATMO_EPISODES_FILTERS", "code_zone=75,92,93,94")
    assert SOURCE.url_for("https://h", relative) == "https://h/api/v2/data/episodes/3jours?format=csv&code_zone=75,92,93,94"


def test_ingest_over_http_logs_in_first(spse_home, httpserver, monkeypatch):
    monkeypatch.setenv("SPSE_ATMO_DATA_LOGIN", "spse-team")
    monkeypatch.setenv("SPSE_ATMO_DATA_PASSWORD", "pw")
    monkeypatch.setenv("SPSE_ATMO_EPISODES_URL", httpserver.url_for("/").rstrip("/"))
    httpserver.expect_ordered_request("/api/login", method="POST", json={"username": "spse-team", "password": "pw"}
                                      ).respond_with_json({"token": "abc"})
    httpserver.expect_ordered_request("/api/v2/data/episodes/3jours", headers={"Authorization": "Bearer abc"},
                                      query_string={"format": "csv", "code_zone": "75"}
                                      ).respond_with_data(fixture_bytes())
    assert ingest.ingest(SOURCE, DAY).rows == 9
    httpserver.check_assertions()
    stored = lake.read_partition("episode_status", "date=2026-01-15")
    assert stored["level"].max() == 2


@pytest.mark.parametrize("body", [b"", b"<html><body>Maintenance</body></html>", b"aasqa;etat\n93;ALERTE\n"])
def test_wrong_shape_names_feed_and_file(body):
    from spse.core.errors import SchemaError

    with pytest.raises(SchemaError, match=r"feed atmo_episodes, file episodes_3jours/2026-01-15\.csv"):
        SOURCE.parse(body, "episodes_3jours/2026-01-15.csv", PART)
