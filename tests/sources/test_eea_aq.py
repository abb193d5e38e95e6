"""eea_aq: Parquet parsing (offset, units, validity), station metadata, the overlap with E2, the POST-then-GET fetch."""

import datetime as dt
import io
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from spse.core.errors import SchemaError
from spse.pipeline import canonical, ingest, lake
from spse.sources.eea_aq import SOURCE, parquet_name, parquet_urls, station_ids

FIXTURES = Path(__file__).parents[1] / "fixtures" / "sources" / "eea_aq"
DAY = dt.date(2024, 1, 15)
PART = SOURCE.partition(DAY)
PARQUETS = FIXTURES / "parquet" / "2024-01-15" / "FR"

SCHEMA = pa.schema([("Samplingpoint", pa.string()), ("Pollutant", pa.int64()), ("Start", pa.timestamp("ns")),
                    ("End", pa.timestamp("ns")), ("Value", pa.float64()), ("Unit", pa.string()),
                    ("AggType", pa.string()), ("Validity", pa.int64()), ("Verification", pa.int64()),
                    ("ResultTime", pa.timestamp("ns")), ("DataCapture", pa.float64()),
                    ("FkObservationLog", pa.string())])


def row(point, pollutant, start, value, unit="ug.m-3", agg="hour", validity=1, verification=3, hours=1):
    start = dt.datetime.fromisoformat(start)
    return {"Samplingpoint": point, "Pollutant": pollutant, "Start": start, "End": start + dt.timedelta(hours=hours),
            "Value": value, "Unit": unit, "AggType": agg, "Validity": validity, "Verification": verification,
            "ResultTime": dt.datetime.fromisoformat("2024-01-17T06:00"), "DataCapture": None,
            "FkObservationLog": "f3a1c2"}


def parquet_bytes(rows) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), sink)
    return sink.getvalue()


# The recorded sample, as written to tests/fixtures/sources/eea_aq (naive times at +01:00).
NO2 = [row("FR/SPO-FR04014_8", 8, "2024-01-15T00:00", 40.0),  # 2024-01-14 23:00 UTC: another day
       row("FR/SPO-FR04014_8", 8, "2024-01-15T01:00", 41.5),
       row("FR/SPO-FR04014_8", 8, "2024-01-15T02:00", -999.0, validity=-1),
       row("FR/SPO-FR04014_8", 8, "2024-01-15T03:00", 38.0, validity=-99),
       row("FR/SPO-FR04014_8", 8, "2024-01-16T00:00", 55.25, verification=1),
       row("FR/SPO-FR04014_8", 8, "2024-01-16T01:00", 57.0)]  # 2024-01-16 00:00 UTC: another day
CO = [row("FR/SPO-FR04143_10", 10, "2024-01-15T10:00", 0.4, unit="mg.m-3"),
      row("FR/SPO-FR04143_10", 10, "2024-01-15T11:00", 350.0)]
PM25 = [row("FR/SPO-FR04024_6001", 6001, "2024-01-15T13:00", 12.0, validity=2, verification=2)]
RECORDED = {"SPO-FR04014_8": NO2, "SPO-FR04143_10": CO, "SPO-FR04024_6001": PM25}


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def test_recorded_parquets_are_the_documented_rows():
    for name, rows in RECORDED.items():
        assert pq.read_table(PARQUETS / f"{name}.parquet").equals(pa.Table.from_pylist(rows, schema=SCHEMA))


def test_parse_shifts_naive_times_keeps_the_day_and_flags_validity():
    name = "parquet/2024-01-15/FR/SPO-FR04014_8.parquet"
    result = SOURCE.parse((PARQUETS / "SPO-FR04014_8.parquet").read_bytes(), name, PART)
    frame = result.frame
    assert result.rejects.empty
    assert frame["ts_start_utc"].tolist() == [utc("2024-01-15 00:00"), utc("2024-01-15 01:00"),
                                              utc("2024-01-15 02:00"), utc("2024-01-15 23:00")]
    assert (frame["ts_end_utc"] - frame["ts_start_utc"] == pd.Timedelta(hours=1)).all()
    assert frame["value"].tolist()[0] == 41.5 and frame["value"].isna().tolist() == [False, True, True, False]
    assert frame["value_raw"].tolist()[2:] == [38.0, 55.25] and pd.isna(frame["value_raw"].iloc[1])
    assert frame["is_valid"].tolist() == [True, False, False, True]
    assert frame["validity"].tolist() == [1, -1, -99, 1]
    assert frame["value_type"].tolist() == ["raw", "raw", "raw", "validated"]  # Verification 3, 3, 3, 1
    assert frame["source_row"].tolist() == [2, 3, 4, 5]
    assert set(frame["station_id"]) == {"FR04014"} and set(frame["pollutant"]) == {"NO2"}
    assert set(frame["unit"]) == {"µg/m³"}
    # the series is the sampling point; the files name no procedure
    assert set(frame["discriminant"]) == {"FR/SPO-FR04014_8"} and set(frame["procedure"]) == {"EEA"}
    SOURCE.check(frame)


def test_co_is_stored_in_mg_and_pm25_code_is_mapped():
    co = SOURCE.parse((PARQUETS / "SPO-FR04143_10.parquet").read_bytes(),
                      "parquet/2024-01-15/FR/SPO-FR04143_10.parquet", PART).frame
    assert co["value"].tolist() == pytest.approx([0.4, 0.35]) and set(co["unit"]) == {"mg/m³"}
    assert co["ts_start_utc"].tolist() == [utc("2024-01-15 09:00"), utc("2024-01-15 10:00")]
    pm = SOURCE.parse((PARQUETS / "SPO-FR04024_6001.parquet").read_bytes(),
                      "parquet/2024-01-15/FR/SPO-FR04024_6001.parquet", PART).frame
    assert pm[["station_id", "pollutant", "value", "is_valid", "value_type"]].values.tolist() == [
        ["FR04024", "PM2.5", 12.0, True, "raw"]]


def test_offset_comes_from_the_register(tmp_path, monkeypatch):
    from spse.core import register

    table = register.parameters_frame()
    table.loc[table["name"] == "eea_timestamp_offset", "value"] = "+00:00"
    path = tmp_path / "parameters.csv"
    table.to_csv(path, index=False)
    monkeypatch.setenv("SPSE_PARAMETERS_FILE", str(path))
    frame = SOURCE.parse((PARQUETS / "SPO-FR04014_8.parquet").read_bytes(),
                         "parquet/2024-01-15/FR/SPO-FR04014_8.parquet", PART).frame
    assert frame["ts_start_utc"].tolist() == [utc(f"2024-01-15 0{h}:00") for h in range(4)]


def test_bad_rows_are_quarantined_with_their_reason():
    rows = [row("FR/SPO-FR04014_8", 8, "2024-01-15T05:00", 30.0),
            row("FR/SPO-FR04014_8", 9999, "2024-01-15T06:00", 30.0),
            row("FR/SPO-FR04014_8", 8, "2024-01-15T07:00", 30.0, unit="ppb"),
            row("FR/SPO-FR04014_8", 8, "2024-01-15T08:00", 30.0, hours=24),
            row("FR/SPO-FR04014_8", 8, "2024-01-15T09:00", 30.0, agg="var"),
            row("FR/SPO-FR04014_8", 8, "2024-01-15T10:00", 25000.0),
            row("FR/SPO-FR04014_8", 8, "2024-01-15T05:00", 31.0)]
    result = SOURCE.parse(parquet_bytes(rows), "parquet/2024-01-15/FR/SPO-FR04014_8.parquet", PART)
    assert result.frame["source_row"].tolist() == [1]
    reasons = dict(zip(result.rejects["row"], result.rejects["reason"], strict=True))
    assert "unknown `Pollutant` code: 9999" in reasons[2]
    assert "unknown `Unit`: ppb" in reasons[3]
    assert "`End` is not `Start` + 1 h" in reasons[4]
    assert "`AggType` is not hourly: var" in reasons[5]
    assert "physical range" in reasons[6]
    assert "duplicate key" in reasons[7]
    assert '"Samplingpoint":"FR\\/SPO-FR04014_8"' in result.rejects.set_index("row").loc[2, "raw"]


def test_not_a_parquet_names_feed_and_file():
    name = "parquet/2024-01-15/FR/SPO-FR04014_8.parquet"
    with pytest.raises(SchemaError, match=r"feed eea_aq, file parquet/2024-01-15/FR/SPO-FR04014_8\.parquet.*HTML"):
        SOURCE.parse(b"<!DOCTYPE html><html><body>Service Unavailable</body></html>", name, PART)
    with pytest.raises(SchemaError, match=r"feed eea_aq, file .*SPO-FR04014_8\.parquet: not a readable Parquet"):
        SOURCE.parse(b"PAR1 truncated", name, PART)
    with pytest.raises(SchemaError, match=r"feed eea_aq, file .*row 1: expected the header 'ParquetFileUrl'"):
        parquet_urls(b"url\nhttps://x/a.parquet\n", "eea_aq", "parquet_urls/2024-01-15.csv")


def test_station_metadata_come_from_the_crosswalk_not_the_lake(spse_home, monkeypatch):
    # an E2 partition naming FR04014 otherwise: the source does not read the lake
    lake.write_partition("air_hourly", "date=2024-01-14", pd.DataFrame({
        "station_id": ["FR04014"], "station_name": ["elsewhere"], "station_class": ["traffic"]}), source="lcsqa_e2")
    monkeypatch.setenv("SPSE_EEA_AQ_URL", str(FIXTURES))
    ingest.ingest(SOURCE, DAY)
    frame = lake.read_partition("air_hourly", "date=2024-01-15", "eea_aq")
    by_station = frame.drop_duplicates("station_id").set_index("station_id")
    # crosswalks/eea_aq_stations.csv: "FR04014,PARIS 12eme,AIRPARIF,FR11ZAG01,Urbaine,Fond"
    assert by_station.loc["FR04014", ["station_name", "organisation", "zas_code", "influence", "station_class"]
                          ].tolist() == ["PARIS 12eme", "AIRPARIF", "FR11ZAG01", "Fond", "background"]
    # FR04143 is not in the crosswalk: no name, no class, so never a background station of the surfaces
    assert pd.isna(by_station.loc["FR04143", "station_name"]) and pd.isna(by_station.loc["FR04143", "station_class"])
    assert len(frame) == 7 and set(frame["source"]) == {"eea_aq"}


def test_e2_keeps_the_station_hours_both_report_and_the_eea_rows_are_set_aside(spse_home, monkeypatch):
    e2 = pd.DataFrame({"station_id": "FR04014", "pollutant": "NO2", "discriminant": "A", "procedure": "p",
                       "ts_start_utc": [utc("2024-01-15 00:00"), utc("2024-01-15 01:00")], "value": [40.0, 42.0]})
    lake.write_partition("air_hourly", "date=2024-01-15", e2, source="lcsqa_e2")
    monkeypatch.setenv("SPSE_EEA_AQ_URL", str(FIXTURES))
    ingest.ingest(SOURCE, DAY)
    no2 = canonical.read_days("air_hourly", [DAY]).query("station_id == 'FR04014'").sort_values("ts_start_utc")
    # 00:00 and 01:00 UTC are E2's; 02:00 and 23:00 only EEA has (recorded NO2 rows 4 and 5)
    assert no2["source"].tolist() == ["lcsqa_e2", "lcsqa_e2", "eea_aq", "eea_aq"]
    assert no2["value"].tolist()[:2] == [40.0, 42.0] and no2["value"].tolist()[3] == 55.25
    aside = canonical.overlaps("air_hourly", [DAY]).sort_values("ts_start_utc")
    assert aside["source"].tolist() == ["eea_aq", "eea_aq"]
    assert aside["ts_start_utc"].tolist() == [utc("2024-01-15 00:00"), utc("2024-01-15 01:00")]
    assert aside["value"].iloc[0] == 41.5 and pd.isna(aside["value"].iloc[1])  # the -999 of 02:00 +01:00
    # the stations E2 does not report count as they are
    assert set(canonical.read_days("air_hourly", [DAY])["station_id"]) == {"FR04014", "FR04143", "FR04024"}


def _serve_listing(httpserver, names):
    listing = "ParquetFileUrl\n" + "".join(httpserver.url_for(f"/airquality-p/FR/{n}.parquet") + "\n" for n in names)
    httpserver.expect_request("/ParquetFile/urls", method="POST").respond_with_data(listing, content_type="text/csv")


def test_post_body_then_parquet_gets(spse_home, httpserver, monkeypatch):
    monkeypatch.setenv("SPSE_EEA_AQ_URL", httpserver.url_for("/").rstrip("/"))
    for name in ("SPSE_EEA_AQ_DATASET", "SPSE_EEA_AQ_POLLUTANTS", "SPSE_EEA_AQ_CITIES", "SPSE_EEA_AQ_COUNTRIES"):
        monkeypatch.delenv(name, raising=False)
    _serve_listing(httpserver, RECORDED)
    for name in RECORDED:
        httpserver.expect_request(f"/airquality-p/FR/{name}.parquet", method="GET").respond_with_data(
            (PARQUETS / f"{name}.parquet").read_bytes(), content_type="application/octet-stream")
    report = ingest.ingest(SOURCE, DAY)
    assert (report.rows, report.rejected) == (7, 0)
    post = httpserver.log[0][0]
    assert post.method == "POST" and post.json == {
        "countries": ["FR"], "cities": ["Paris (greater city)"], "pollutants": ["NO2", "PM10", "PM2.5", "O3", "SO2"],
        "dataset": 1, "dateTimeStart": "2024-01-15T00:00:00Z", "dateTimeEnd": "2024-01-16T00:00:00Z",
        "aggregationType": "hour", "email": "", "source": "API"}
    assert [r.path for r, _ in httpserver.log[1:]] == [f"/airquality-p/FR/{n}.parquet" for n in RECORDED]
    assert [f["file"] for f in report.files] == ["parquet_urls/2024-01-15.csv", *(
        f"parquet/2024-01-15/FR/{n}.parquet" for n in RECORDED)]


def test_settings_change_the_request(monkeypatch):
    monkeypatch.setenv("SPSE_EEA_AQ_DATASET", "2")
    monkeypatch.setenv("SPSE_EEA_AQ_POLLUTANTS", "NO2, O3")
    body = SOURCE.request_body(DAY)
    assert body["dataset"] == 2 and body["pollutants"] == ["NO2", "O3"]


def test_a_503_is_retried_then_the_file_is_read(spse_home, httpserver, monkeypatch):
    monkeypatch.setattr("spse.pipeline.fetch.time.sleep", lambda seconds: None)
    monkeypatch.setenv("SPSE_EEA_AQ_URL", httpserver.url_for("/").rstrip("/"))
    _serve_listing(httpserver, ["SPO-FR04143_10"])
    path = "/airquality-p/FR/SPO-FR04143_10.parquet"
    httpserver.expect_oneshot_request(path).respond_with_data("busy", status=503)
    httpserver.expect_request(path).respond_with_data((PARQUETS / "SPO-FR04143_10.parquet").read_bytes())
    assert ingest.ingest(SOURCE, DAY).rows == 2
    assert [r.path for r, _ in httpserver.log].count(path) == 2


def test_an_html_page_instead_of_a_parquet_is_refused(spse_home, httpserver, monkeypatch):
    monkeypatch.setenv("SPSE_EEA_AQ_URL", httpserver.url_for("/").rstrip("/"))
    _serve_listing(httpserver, ["SPO-FR04143_10"])
    httpserver.expect_request("/airquality-p/FR/SPO-FR04143_10.parquet").respond_with_data(
        "<!DOCTYPE html><html><body>The specified blob does not exist.</body></html>", content_type="text/html")
    with pytest.raises(SchemaError, match=r"feed eea_aq, file parquet/2024-01-15/FR/SPO-FR04143_10\.parquet"):
        ingest.ingest(SOURCE, DAY)
    assert not lake.has_partition("air_hourly", "date=2024-01-15", "eea_aq")


def test_station_ids_from_sampling_points():
    points = pd.Series(["FR/SPO-FR04024_6001", "FR/SPO-FR04014_8", "SPO-FR04055_5", "ES/SP_28006004_10_49"])
    assert station_ids(points).tolist() == ["FR04024", "FR04014", "FR04055", "SP_28006004_10_49"]


def test_real_url_list(shared_data):
    payload = (shared_data / "eea" / "eea_api_ParquetFile_urls_example_ES.csv").read_bytes()
    urls = parquet_urls(payload, "eea_aq", "parquet_urls/2024-01-15.csv")
    assert len(urls) == 174
    assert parquet_name(urls[0], DAY) == "parquet/2024-01-15/ES/SP_28006004_10_49.parquet"
    assert SOURCE.parse(payload, "parquet_urls/2024-01-15.csv", PART).frame.empty
