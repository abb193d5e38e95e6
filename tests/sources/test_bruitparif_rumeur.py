import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spse.core.errors import SchemaError
from spse.pipeline import lake
from spse.pipeline.ingest import ingest, read_quarantine
from spse.sources.bruitparif_rumeur import DEFAULT_SITES, SITE_LIST, SOURCE

FOLDER = Path(__file__).resolve().parents[1] / "fixtures" / "sources" / "bruitparif_rumeur"
DAY = dt.date(2026, 1, 15)
PART = SOURCE.partition(DAY)
SITES = {"opendata": {"site": [{"site_id": 7, "site_name": "PARIS-BD-SOULT", "latitude": 48.8381,
                                "longitude": 2.4088, "is_active": True}]}}


def values(*hours) -> bytes:
    return json.dumps({"opendata": {"H": [{"i": i, "LAeq": laeq, "weight": weight} for i, laeq, weight in hours]}}
                      ).encode()


def run(hours: bytes, day: str = "2026-01-15", site: str = "PARIS-BD-SOULT"):
    name = f"PeriodicValues2/{site}/{day}.json"
    parsed = {SITE_LIST: SOURCE.parse(json.dumps(SITES).encode(), SITE_LIST, PART),
              name: SOURCE.parse(hours, name, PART)}
    return SOURCE.combine(parsed)


@pytest.fixture(autouse=True)
def _default_sites(monkeypatch):
    monkeypatch.delenv("SPSE_BRUITPARIF_SITES", raising=False)


def test_files_and_site_override(monkeypatch):
    assert SOURCE.files(DAY) == [SITE_LIST] + [f"PeriodicValues2/{s}/2026-01-15.json" for s in DEFAULT_SITES]
    monkeypatch.setenv("SPSE_BRUITPARIF_SITES", " A-SITE, B-SITE ")
    assert SOURCE.files(DAY)[1:] == ["PeriodicValues2/A-SITE/2026-01-15.json", "PeriodicValues2/B-SITE/2026-01-15.json"]


def test_http_base_maps_to_the_real_query_urls():
    base = "https://opendata.bruitparif.fr/data/rumeur"
    assert SOURCE.url_for(base, SITE_LIST) == (
        f"{base}/SiteListByTags/json?tags=route&lang=fr&host=rumeur.bruitparif.fr")
    assert SOURCE.url_for(base, "PeriodicValues2/PARIS-BD-SOULT/2026-01-15.json") == (
        f"{base}/PeriodicValues2/json?site_name=PARIS-BD-SOULT&from_day=2026-01-15&to_day=2026-01-15"
        "&calculations=LAeq&periods=H&lang=fr&host=rumeur.bruitparif.fr")
    assert SOURCE.url_for("file:///srv/demo/bruitparif_rumeur", SITE_LIST) == (
        "file:///srv/demo/bruitparif_rumeur/SiteListByTags.json")


def test_recorded_sample():
    parsed = {f: SOURCE.parse((FOLDER / f).read_bytes(), f, PART) for f in SOURCE.files(DAY)}
    result = SOURCE.combine(parsed)
    frame = result.frame.set_index(["site_name", "ts_start_utc"])
    assert result.rejects.empty and len(frame) == 4 * 24
    soult = frame.loc["PARIS-BD-SOULT"]
    assert soult.index.min() == pd.Timestamp("2026-01-14 23:00", tz="UTC")  # 00:00 local, UTC+1 in winter
    assert (soult["site_id"].iloc[0], soult["lon"].iloc[0], soult["lat"].iloc[0]) == ("102", 2.4088, 48.8381)
    # 13:00 local = 12:00 UTC has weight 0.5 < noise_min_valid_fraction 0.75
    assert soult.loc[pd.Timestamp("2026-01-15 12:00", tz="UTC"), "coverage"] == 0.5
    assert not soult.loc[pd.Timestamp("2026-01-15 12:00", tz="UTC"), "is_valid"]
    rivoli = frame.loc[("PARIS-RUE-DE-RIVOLI", pd.Timestamp("2026-01-15 03:00", tz="UTC"))]
    assert np.isnan(rivoli["laeq_dba"]) and not rivoli["is_valid"]
    # profile 70 dB at 08:00 local + 8 dB site offset + 0.1 × (8 mod 3)
    assert frame.loc[("PARIS-PERIPHERIQUE-EST", pd.Timestamp("2026-01-15 07:00", tz="UTC")), "laeq_dba"] == 78.2
    assert frame["is_valid"].sum() == 96 - 2
    assert (frame.reset_index()["ts_end_utc"] - frame.reset_index()["ts_start_utc"] == pd.Timedelta("1h")).all()


def test_validity_threshold_comes_from_the_register(tmp_path, monkeypatch):
    register = Path(__file__).resolve().parents[2] / "spse" / "registers" / "parameters.csv"
    rows = pd.read_csv(register, dtype=str, keep_default_na=False)
    rows.loc[rows["name"] == "noise_min_valid_fraction", "value"] = "0.4"
    rows.to_csv(tmp_path / "parameters.csv", index=False)
    monkeypatch.setenv("SPSE_PARAMETERS_FILE", str(tmp_path / "parameters.csv"))
    frame = run(values(("2026-01-15T13:00:00+01:00", 66.0, 0.5))).frame
    assert frame["is_valid"].tolist() == [True]


def test_spring_forward_day_has_23_hours_and_next_day_hours_are_quarantined():
    local = [f"2026-03-29T{h:02d}:00:00+01:00" for h in (0, 1)] + [
        f"2026-03-29T{h:02d}:00:00+02:00" for h in range(3, 24)]
    hours = [(i, 60.0, 1.0) for i in local] + [("2026-03-30T00:00:00+02:00", 60.0, 1.0)]
    result = run(values(*hours), day="2026-03-29")
    ts = result.frame["ts_start_utc"]
    assert len(ts) == 23 and ts.is_unique
    assert ts.min() == pd.Timestamp("2026-03-28 23:00", tz="UTC") and ts.max() == pd.Timestamp("2026-03-29 21:00",
                                                                                                tz="UTC")
    assert result.rejects["row"].tolist() == [24] and "outside the local day" in result.rejects["reason"].iloc[0]


@pytest.mark.parametrize(("hour", "reason"), [
    (("2026-01-15T10:00:00", 60.0, 1.0), "without a UTC offset"),
    (("15/01/2026 10h+01:00", 60.0, 1.0), "unparseable timestamp"),
    (("2026-01-15T10:00:00+01:00", 300.0, 1.0), "LAeq outside the plausible range: 300.0"),
    (("2026-01-15T10:00:00+01:00", 12.0, 1.0), "LAeq outside the plausible range: 12.0"),
    (("2026-01-15T10:00:00+01:00", "loud", 1.0), "LAeq is not a number"),
    (("2026-01-15T10:00:00+01:00", 60.0, 1.5), "weight is not a fraction"),
    (("2026-01-15T09:00:00+01:00", 61.0, 1.0), "duplicate hour"),
])
def test_bad_hours_are_quarantined(hour, reason):
    result = run(values(("2026-01-15T09:00:00+01:00", 60.0, 1.0), hour))
    assert len(result.frame) == 1
    reject = result.rejects.iloc[0]
    assert (reject["row"], reject["file"]) == (2, "PeriodicValues2/PARIS-BD-SOULT/2026-01-15.json")
    assert reason in reject["reason"]


def test_site_missing_from_the_site_list_is_quarantined():
    result = run(values(("2026-01-15T09:00:00+01:00", 60.0, 1.0)), site="PARIS-AILLEURS")
    assert result.frame.empty
    assert "site PARIS-AILLEURS is not in SiteListByTags.json" in result.rejects["reason"].iloc[0]


@pytest.mark.parametrize(("payload", "message"), [
    (b"<!DOCTYPE html><html>503</html>", "HTML"),
    (b"{not json", "not JSON"),
    (b'{"data": []}', "no `opendata` object"),
    (b'{"opendata": {"Y": []}}', "no hourly `H` list"),
])
def test_wrong_shapes_are_refused(payload, message):
    name = "PeriodicValues2/PARIS-BD-SOULT/2026-01-15.json"
    with pytest.raises(SchemaError, match=rf"feed bruitparif_rumeur, file {name}.*{message}"):
        SOURCE.parse(payload, name, PART)


def test_empty_day_gives_no_rows():
    assert run(b'{"opendata": {"H": []}}').frame.empty


def test_ingest_over_http_uses_the_query_urls(httpserver, spse_home, monkeypatch):
    monkeypatch.setenv("SPSE_BRUITPARIF_SITES", "PARIS-BD-SOULT")
    monkeypatch.setenv("SPSE_BRUITPARIF_RUMEUR_URL", httpserver.url_for("/data/rumeur"))
    httpserver.expect_request("/data/rumeur/SiteListByTags/json", query_string={
        "tags": "route", "lang": "fr", "host": "rumeur.bruitparif.fr"}).respond_with_json(SITES)
    httpserver.expect_request("/data/rumeur/PeriodicValues2/json", query_string={
        "site_name": "PARIS-BD-SOULT", "from_day": "2026-01-15", "to_day": "2026-01-15", "calculations": "LAeq",
        "periods": "H", "lang": "fr", "host": "rumeur.bruitparif.fr"}).respond_with_data(
        (FOLDER / "PeriodicValues2" / "PARIS-BD-SOULT" / "2026-01-15.json").read_bytes(),
        content_type="application/json")
    report = ingest(SOURCE, DAY)
    assert report.rows == 24 and report.rejected == 0
    frame = lake.read_partition("noise_hourly", "date=2026-01-15")
    assert set(frame["site_id"]) == {"7"}
    assert read_quarantine(SOURCE, DAY).empty


def test_a_batch_reads_each_file_as_it_is_read_alone():
    """Two days of one site, a refused file and the site list: each file's rows, rejects and errors its own."""
    next_day = SOURCE.partition(dt.date(2026, 1, 16))
    items = [
        (json.dumps(SITES).encode(), SITE_LIST, PART),
        (values(("2026-01-15T09:00:00+01:00", 60.0, 1.0), ("2026-01-16T09:00:00+01:00", 61.0, 1.0)),
         "PeriodicValues2/PARIS-BD-SOULT/2026-01-15.json", PART),
        (b'{"opendata": {"Y": []}}', "PeriodicValues2/PARIS-BD-SOULT/2026-01-17.json", next_day),
        (values(("2026-01-15T09:00:00+01:00", 62.0, 1.0), ("2026-01-16T09:00:00+01:00", 63.0, 1.0),
                ("2026-01-16T09:00:00+01:00", 64.0, 1.0)),
         "PeriodicValues2/PARIS-BD-SOULT/2026-01-16.json", next_day),
        (json.dumps(SITES).encode(), SITE_LIST, next_day),
        # the first file's hour at another site: an hour repeats within one file only
        (values(("2026-01-15T09:00:00+01:00", 65.0, 1.0)), "PeriodicValues2/PARIS-RUE-DE-RIVOLI/2026-01-15.json", PART),
    ]
    batch = SOURCE.parse_batch(items)
    assert isinstance(batch[2], SchemaError) and "no hourly `H` list" in batch[2].problem
    first, second = batch[1], batch[3]
    assert first.frame["laeq_dba"].tolist() == [60.0]
    assert first.rejects["row"].tolist() == [2] and "outside the local day 2026-01-15" in first.rejects["reason"][0]
    assert second.frame["laeq_dba"].tolist() == [63.0]
    assert second.rejects["row"].tolist() == [1, 3]
    assert "outside the local day 2026-01-16" in second.rejects["reason"][0]
    assert "duplicate hour" in second.rejects["reason"][1]
    assert set(second.rejects["file"]) == {"PeriodicValues2/PARIS-BD-SOULT/2026-01-16.json"}
    assert batch[5].frame["laeq_dba"].tolist() == [65.0] and batch[5].rejects.empty
    assert batch[5].frame["site_name"].tolist() == ["PARIS-RUE-DE-RIVOLI"]
    for item, got in zip(items, batch, strict=True):
        if isinstance(got, SchemaError):
            continue
        alone = SOURCE.parse(*item)
        pd.testing.assert_frame_equal(got.frame, alone.frame)
        pd.testing.assert_frame_equal(got.rejects, alone.rejects)
