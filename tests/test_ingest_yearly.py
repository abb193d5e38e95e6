"""A yearly wide upstream file: landed once per version, split into day partitions.

The toy source below (not registered) reads ``tests/fixtures/yearly_wide/2026/NO2_2026.csv``,
shaped like a regional network export: one file per pollutant and year, three header rows
of codes (station short code, pollutant, measure id), three rows of names and units, then
one row per hour labelled with the hour's END in UTC (``15/01/2026 01:00`` = 00:00-01:00).
Station short codes go through the crosswalk ``toy_yearly_stations``.
"""

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest

from spse.core.errors import SchemaError
from spse.pipeline import ingest, lake
from spse.sources import base
from spse.sources.base import Column, ParseResult, Source, read_crosswalk, utc_day

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "yearly_wide"
FILE = "2026/NO2_2026.csv"
HEADER_ROWS = 6


class ToyYearly(Source):
    name = "toy_yearly"
    dataset = "toy_yearly_hourly"
    kind = "air"
    cadence = "daily"
    schedule = "0 * * * *"
    description = "toy yearly wide export"
    columns = {
        "station_id": Column("VARCHAR", "-", "Station code", nullable=False),
        "pollutant": Column("VARCHAR", "-", "Pollutant", nullable=False),
        "ts_start_utc": Column("TIMESTAMPTZ", "UTC", "Start of the hour", nullable=False),
        "value": Column("DOUBLE", "µg/m³", "Hourly mean"),
        "comment": Column("VARCHAR", "-", "Never filled upstream"),
    }
    primary_key = ("station_id", "pollutant", "ts_start_utc")

    def files(self, day):
        return [f"{day:%Y}/NO2_{day:%Y}.csv"]

    def covers(self, relative, day):
        return f"year={day:%Y}"

    def day_window(self, day):
        return utc_day(day)

    def parse(self, payload, filename, partition):
        lines = payload.decode("utf-8").splitlines()
        codes = [line.split(";") for line in lines[:3]]
        if [row[0] for row in codes] != ["site", "polluant", "mesure"]:
            raise SchemaError(self.name, "header rows changed", file=filename, row=1)
        stations = read_crosswalk(self.name, "stations").set_index("code")["station_id"]
        wide = pd.DataFrame([line.split(";") for line in lines[HEADER_ROWS:]])
        end = pd.to_datetime(wide[0], format="%d/%m/%Y %H:%M", utc=True)
        frames = []
        for column, (code, pollutant) in enumerate(zip(codes[0][1:], codes[1][1:], strict=True), start=1):
            frames.append(pd.DataFrame({
                "station_id": pd.Series(stations[code], index=wide.index, dtype="string"),
                "pollutant": pd.Series(pollutant, index=wide.index, dtype="string"),
                "ts_start_utc": end - pd.Timedelta(hours=1),
                "value": pd.to_numeric(wide[column].replace("", None), errors="coerce").astype("float64"),
                "comment": None,
            }))
        frame = pd.concat(frames, ignore_index=True)
        frame["comment"] = frame["comment"].astype(self.comment_dtype)
        return ParseResult(frame)

    comment_dtype = "string"


@pytest.fixture
def upstream(tmp_path, monkeypatch):
    folder = tmp_path / "upstream"
    (folder / "2026").mkdir(parents=True)
    shutil.copy(FIXTURE / FILE, folder / FILE)
    monkeypatch.setenv("SPSE_TOY_YEARLY_URL", str(folder))
    monkeypatch.setattr(base, "CROSSWALKS", FIXTURE / "crosswalks")
    return folder


def test_yearly_file_is_landed_once_and_split_into_days(spse_home, upstream):
    source = ToyYearly()
    reports = [ingest.ingest(source, dt.date(2026, 1, d)) for d in (14, 15, 16)]

    landed = sorted((spse_home / "raw" / "toy_yearly").rglob("NO2_2026.csv"))
    assert [p.relative_to(spse_home / "raw" / "toy_yearly").parts[0] for p in landed] == ["year=2026"]
    assert landed[0].read_bytes() == (FIXTURE / FILE).read_bytes()
    # The file holds the hours ending 14/01 01:00 .. 17/01 00:00: 24 per station and day.
    assert [r.rows for r in reports] == [2 * 24, 2 * 24, 2 * 24]

    day = lake.read_partition("toy_yearly_hourly", "date=2026-01-15")
    centre = day[day["station_id"] == "FR04143"].sort_values("ts_start_utc")
    # Hour-end labels 15/01 01:00 .. 16/01 00:00 hold 35.0 .. 58.0; the label 15/01 00:00 (34.0) is the 14th's.
    assert centre["ts_start_utc"].iloc[0] == pd.Timestamp("2026-01-15 00:00", tz="UTC")
    assert centre["ts_start_utc"].iloc[-1] == pd.Timestamp("2026-01-15 23:00", tz="UTC")
    assert centre["value"].tolist() == [35.0 + h for h in range(24)]
    north = day[day["station_id"] == "FR04071"]
    assert north["value"].isna().sum() == 1 and north["value"].sum() == pytest.approx(sum(range(125, 149)) - 130)
    fourteenth = lake.read_partition("toy_yearly_hourly", "date=2026-01-14")
    assert fourteenth["ts_start_utc"].max() == pd.Timestamp("2026-01-14 23:00", tz="UTC")
    assert reports[1].files[0]["raw_path"] == str(landed[0])


def test_a_new_upstream_version_is_landed_once_more(spse_home, upstream):
    source = ToyYearly()
    ingest.ingest(source, dt.date(2026, 1, 15))
    with (upstream / FILE).open("a", encoding="utf-8") as fh:
        fh.write("17/01/2026 01:00;59.0;149.0\n")
    ingest.ingest(source, dt.date(2026, 1, 16))
    ingest.ingest(source, dt.date(2026, 1, 17))
    assert len(list((spse_home / "raw" / "toy_yearly" / "year=2026").glob("*/NO2_2026.csv"))) == 2
    assert lake.read_partition("toy_yearly_hourly", "date=2026-01-17")["value"].tolist() == [59.0, 149.0]


def test_an_all_empty_text_column_without_dtype_is_refused_with_the_fix(spse_home, upstream, monkeypatch):
    monkeypatch.setattr(ToyYearly, "comment_dtype", "object")
    with pytest.raises(SchemaError, match=r"column comment is all empty: Parquet type null.*dtype='string'"):
        ingest.ingest(ToyYearly(), dt.date(2026, 1, 15))


def test_a_mistyped_column_is_refused_with_the_fix():
    source = ToyYearly()
    frame = pd.DataFrame({"station_id": ["FR04143"], "pollutant": ["NO2"],
                          "ts_start_utc": pd.to_datetime(["2026-01-15"], utc=True), "value": ["12.5"],
                          "comment": pd.Series([None], dtype="string")})
    with pytest.raises(SchemaError, match=r"column value has dtype \w+, expected DOUBLE; .*pd.to_numeric"):
        source.check(frame)


def test_missing_crosswalk_names_the_file_to_add(monkeypatch, tmp_path):
    monkeypatch.setattr(base, "CROSSWALKS", tmp_path)
    with pytest.raises(FileNotFoundError, match=r"toy_yearly_stations\.csv"):
        read_crosswalk("toy_yearly", "stations")
