"""CAMS European forecasts: NetCDF parsing (hand-made fixture and the real Antwerp samples) and
the ADS retrieve API (submit, poll, download) replayed with pytest-httpserver.

The fixture ``tests/fixtures/cams_europe_forecast/paris_3x3_2026-01-15.nc`` is written by
``make_samples.py`` next to it, in the layout of the real files; its values are
NO2 = 20 + lead + 2·i_lat + i_lon (i_lat from the south, i_lon from the west) and constants plus the
lead for the other pollutants (CO 200 µg/m3 + lead), with one fill value, one negative below the
tolerance and one within it.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import io
import json
import logging
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from spse.core.errors import FeedError, FetchError, SchemaError
from spse.pipeline import lake
from spse.pipeline.ingest import ingest, read_quarantine
from spse.sources import cams_europe_forecast as cams
from spse.sources.cams_europe_forecast import SOURCE

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cams_europe_forecast"
_spec = importlib.util.spec_from_file_location("cams_make_samples", FIXTURES / "make_samples.py")
samples = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(samples)

DAY = dt.date(2026, 1, 15)
PART = SOURCE.partition(DAY)
NAME = "2026-01-15/cams_europe_ensemble_forecast.nc"
CANARY = "canary-ads-key-7f3e9b21"
API = "/api"
JOB = "/api/retrieve/v1/jobs/job-42"


def paris() -> bytes:
    return samples.PARIS_FILE.read_bytes()


def value(frame: pd.DataFrame, pollutant: str, lead: int, lat: float, lon: float) -> float:
    row = frame[(frame["pollutant"] == pollutant) & (frame["lead_hours"] == lead)
                & (frame["lat"] == lat) & (frame["lon"] == lon)]
    assert len(row) == 1, row
    return float(row["value"].iloc[0])


def test_parse_hand_made_fixture():
    result = SOURCE.parse(paris(), NAME, PART)
    frame = result.frame
    SOURCE.check(frame)
    # 6 variables × 4 leads × 3 × 3 points = 216 values, 2 quarantined
    assert len(frame) == 214 and len(result.rejects) == 2
    assert list(frame.columns) == list(SOURCE.columns)
    # NO2 at lead 1 h, 48.85 N (i_lat 1), 2.35 E (i_lon 1): 20 + 1 + 2 + 1 = 24
    assert value(frame, "NO2", 1, 48.85, 2.35) == pytest.approx(24.0)
    # NO2 at lead 24 h, 48.95 N (i_lat 2), 2.25 E (i_lon 0): 20 + 24 + 4 = 48
    assert value(frame, "NO2", 24, 48.95, 2.25) == pytest.approx(48.0)
    # CO 200 + 2 = 202 µg/m3 = 0.202 mg/m³
    assert value(frame, "CO", 2, 48.75, 2.45) == pytest.approx(0.202)
    # −0.05 µg/m3 is within the tolerance (0.1) and read as 0
    assert value(frame, "SO2", 0, 48.85, 2.25) == 0.0
    assert set(frame["pollutant"]) == {"NO2", "O3", "PM10", "PM2.5", "SO2", "CO"}
    assert set(frame["model"]) == {"ENSEMBLE"} and set(frame["level_m"]) == {0.0}
    assert sorted(frame["lead_hours"].unique()) == [0, 1, 2, 24]
    assert (frame["base_time_utc"] == pd.Timestamp("2026-01-15 00:00", tz="UTC")).all()
    lead24 = frame[frame["lead_hours"] == 24]
    assert (lead24["ts_start_utc"] == pd.Timestamp("2026-01-16 00:00", tz="UTC")).all()
    assert sorted(frame["lat"].unique()) == [48.75, 48.85, 48.95]


def test_fill_values_and_negatives_are_quarantined_with_their_grid_point():
    rejects = SOURCE.parse(paris(), NAME, PART).rejects.sort_values("row").reset_index(drop=True)
    assert rejects["row"].tolist() == [samples.PARIS_FILL[2], samples.PARIS_NEGATIVE[2]] == [129, 215]
    assert (rejects["file"] == NAME).all() and (rejects["source"] == "cams_europe_forecast").all()
    assert "missing" in rejects.loc[0, "reason"]
    assert rejects.loc[0, "raw"] == "pm10_conc[time=2 h, level=0 m, latitude=48.95, longitude=2.45] = -999"
    assert "cams_negative_tolerance" in rejects.loc[1, "reason"]
    assert rejects.loc[1, "raw"] == "so2_conc[time=24 h, level=0 m, latitude=48.75, longitude=2.35] = -5"


def test_zip_answer_is_read_member_by_member():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("data_sfc.nc", paris())
    result = SOURCE.parse(buffer.getvalue(), "2026-01-15/cams_europe_ensemble_forecast.zip", PART)
    plain = SOURCE.parse(paris(), NAME, PART)
    pd.testing.assert_frame_equal(result.frame, plain.frame)
    assert result.rejects["raw"].str.startswith("data_sfc.nc: ").all()
    assert result.rejects["row"].tolist() == plain.rejects["row"].tolist()


def test_html_or_garbage_instead_of_netcdf_is_a_schema_error():
    with pytest.raises(SchemaError, match=r"cams_europe_forecast.*HTML"):
        SOURCE.parse(b"<!DOCTYPE html><html>login</html>", NAME, PART)
    with pytest.raises(SchemaError, match="not a NetCDF file"):
        SOURCE.parse(b"time,value\n0,1\n", NAME, PART)


def test_unknown_unit_is_a_schema_error_naming_the_variable(tmp_path):
    import netCDF4

    path = samples.write_forecast(tmp_path / "f.nc", DAY, [0], [48.85], [2.35],
                                  {"no2_conc": samples.paris_values([0], [48.85], [2.35])["no2_conc"]})
    with netCDF4.Dataset(path, "a") as nc:
        nc["no2_conc"].units = "ppb"
    with pytest.raises(SchemaError, match="no2_conc has units 'ppb'"):
        SOURCE.parse(path.read_bytes(), NAME, PART)


def test_time_without_a_base_time_is_a_schema_error(tmp_path):
    import netCDF4

    path = samples.write_forecast(tmp_path / "f.nc", DAY, [0], [48.85], [2.35],
                                  {"o3_conc": samples.paris_values([0], [48.85], [2.35])["o3_conc"]})
    with netCDF4.Dataset(path, "a") as nc:
        nc["time"].long_name = "time"
    with pytest.raises(SchemaError, match="no forecast base time"):
        SOURCE.parse(path.read_bytes(), NAME, PART)


@pytest.mark.shared_data
def test_real_antwerp_samples(shared_data):
    files = sorted((shared_data / "cams").glob("cams_europe_ensemble_forecast_antwerp_point_2023-10-*.nc"))
    assert len(files) == 14
    frames = []
    for number, path in enumerate(files, start=1):
        result = SOURCE.parse(path.read_bytes(), path.name, PART)
        SOURCE.check(result.frame, path.name)
        assert result.rejects.empty
        frame = result.frame
        assert sorted(frame["lead_hours"].unique()) == [0, 6, 12, 18, 24]
        assert (frame["base_time_utc"] == pd.Timestamp(2023, 10, number, tz="UTC")).all()
        frames.append(frame)
    first = frames[0]
    assert len(first) == 6 * 5  # six pollutants × 5 lead times × one grid point
    assert first["base_time_utc"].iloc[0] == pd.Timestamp("2023-10-01 00:00", tz="UTC")
    assert (set(first["lon"]), set(first["lat"])) == ({4.45}, {51.25})
    assert set(first["model"]) == {"ENSEMBLE"}
    no2 = pd.concat(frames).query("pollutant == 'NO2'")["value"]
    # SOURCES.md: NO2 9.5-69 µg/m³ over the 14 files
    assert no2.min() == pytest.approx(9.5, abs=0.05) and no2.max() == pytest.approx(69, abs=0.5)
    co = first.query("pollutant == 'CO'")["value"]
    assert co.between(0.1, 1.0).all()  # ~200 µg/m3 in the file, stored in mg/m³


# ---- ADS retrieve API -------------------------------------------------------------------------


@pytest.fixture
def ads(spse_home, httpserver, monkeypatch):
    """The feed pointed at a local ADS, with the canary key and no waiting between polls."""
    monkeypatch.setenv("SPSE_CAMS_EUROPE_FORECAST_URL", httpserver.url_for(API))
    monkeypatch.setenv("SPSE_CAMS_ADS_KEY", CANARY)
    monkeypatch.setattr(cams.time, "sleep", lambda seconds: None)
    return httpserver


def _zip(content: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("cams_europe_forecast.nc", content)
    return buffer.getvalue()


def _submit(server, status: str = "accepted"):
    server.expect_request(f"{API}/retrieve/v1/processes/{cams.DATASET_ID}/execution", method="POST",
                          headers={"PRIVATE-TOKEN": CANARY}).respond_with_json(
        {"processID": cams.DATASET_ID, "jobID": "job-42", "status": status, "type": "process",
         "links": [{"href": server.url_for(JOB), "rel": "monitor", "type": "application/json"}]}, status=201)


def _job(server, status: str, oneshot: bool = False):
    expect = server.expect_oneshot_request if oneshot else server.expect_request
    expect(JOB, method="GET").respond_with_json(
        {"jobID": "job-42", "status": status,
         "links": [{"href": server.url_for(JOB), "rel": "self"},
                   {"href": server.url_for(f"{JOB}/results"), "rel": "results"}]})


def test_ads_job_is_submitted_polled_and_downloaded(ads, caplog):
    payload = _zip(paris())
    _submit(ads)
    _job(ads, "accepted", oneshot=True)
    _job(ads, "running", oneshot=True)
    _job(ads, "successful")
    ads.expect_request(f"{JOB}/results").respond_with_json(
        {"asset": {"value": {"type": "application/zip", "href": "/download/job-42.zip", "file:size": len(payload)}}})
    ads.expect_request("/download/job-42.zip").respond_with_data(payload, content_type="application/zip")

    with caplog.at_level(logging.DEBUG):
        report = ingest(SOURCE, DAY)

    assert report.rows == 214 and report.rejected == 2
    frame = lake.read_partition("forecast_cams", "date=2026-01-15")
    assert value(frame, "NO2", 1, 48.85, 2.35) == pytest.approx(24.0)
    assert report.files[0]["file"] == "2026-01-15/cams_europe_ensemble_forecast.zip"
    assert read_quarantine(SOURCE, DAY)["row"].sort_values().tolist() == [129, 215]

    requests = [request for request, _ in ads.log]
    submitted = requests[0]
    assert submitted.method == "POST"
    inputs = json.loads(submitted.get_data())["inputs"]
    assert inputs["date"] == ["2026-01-15/2026-01-15"] and inputs["model"] == ["ensemble"]
    assert inputs["area"] == [49.0, 2.1, 48.7, 2.6] and inputs["data_format"] == "netcdf_zip"
    assert inputs["leadtime_hour"][0] == "0" and inputs["leadtime_hour"][-1] == "96"
    assert {"nitrogen_dioxide", "ozone", "particulate_matter_10um", "particulate_matter_2.5um"} <= set(
        inputs["variable"])
    assert [r.path for r in requests].count(JOB) == 3
    download = requests[-1]
    assert download.path == "/download/job-42.zip" and "PRIVATE-TOKEN" not in download.headers
    assert all(r.headers.get("PRIVATE-TOKEN") == CANARY for r in requests[:-1])
    _no_canary_anywhere(caplog.text)


def test_failed_job_raises_with_the_ads_message(ads, caplog):
    _submit(ads)
    ads.expect_request(JOB, query_string="log=true").respond_with_json(
        {"jobID": "job-42", "status": "failed",
         "metadata": {"log": [["2026-01-15T10:00:01", "ERROR: no data is available for this request"]]}})
    _job(ads, "failed")
    ads.expect_request(f"{JOB}/results").respond_with_json(
        {"type": "job results failed", "title": "The job has failed", "traceback": "..."}, status=400)

    with caplog.at_level(logging.DEBUG), pytest.raises(FetchError) as raised:
        ingest(SOURCE, DAY)
    message = str(raised.value)
    assert "feed cams_europe_forecast" in message and ads.url_for(JOB) in message
    assert "job-42 failed" in message and "no data is available for this request" in message
    assert not lake.has_partition("forecast_cams", "date=2026-01-15")
    _no_canary_anywhere(caplog.text + message)


def test_refused_key_is_reported_without_the_key(ads, caplog):
    ads.expect_request(f"{API}/retrieve/v1/processes/{cams.DATASET_ID}/execution", method="POST").respond_with_json(
        {"title": "Authentication failed", "detail": "operation requires a valid API key"}, status=401)
    with caplog.at_level(logging.DEBUG), pytest.raises(FetchError) as raised:
        ingest(SOURCE, DAY)
    assert raised.value.status == 401
    message = str(raised.value)
    assert "HTTP 401" in message and "SPSE_CAMS_ADS_KEY" in message and "feed cams_europe_forecast" in message
    _no_canary_anywhere(caplog.text + message + repr(raised.value))


def test_job_that_never_ends_times_out(ads, monkeypatch):
    monkeypatch.setattr(cams, "POLL_TIMEOUT_S", 5.0)
    _submit(ads)
    _job(ads, "running")
    with pytest.raises(FetchError, match="job-42 still running after"):
        ingest(SOURCE, DAY)


def test_short_download_is_refused(ads):
    _submit(ads, status="successful")
    ads.expect_request(f"{JOB}/results").respond_with_json(
        {"asset": {"value": {"href": "/download/job-42.zip", "file:size": 10_000}}})
    ads.expect_request("/download/job-42.zip").respond_with_data(b"PK\x03\x04short")
    with pytest.raises(FetchError, match="the job announced 10000"):
        ingest(SOURCE, DAY)


def test_missing_key_names_the_setting(spse_home, monkeypatch):
    monkeypatch.setenv("SPSE_CAMS_EUROPE_FORECAST_URL", "https://ads.example.invalid/api")
    monkeypatch.delenv("SPSE_CAMS_ADS_KEY", raising=False)
    with pytest.raises(FeedError, match="SPSE_CAMS_ADS_KEY"):
        ingest(SOURCE, DAY)


def test_local_folder_reads_the_day_file(spse_home, monkeypatch, tmp_path):
    folder = tmp_path / "cams"
    (folder / "2026-01-15").mkdir(parents=True)
    (folder / NAME).write_bytes(paris())
    monkeypatch.setenv("SPSE_CAMS_EUROPE_FORECAST_URL", str(folder))
    report = ingest(SOURCE, DAY)
    assert (report.rows, report.rejected) == (214, 2)


def _no_canary_anywhere(text: str) -> None:
    assert CANARY not in text
    for path in lake.settings().home.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path
