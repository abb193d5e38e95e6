"""Bad inputs through the data-quality gate (spse.pipeline.gate), one parametrized id per case.

Each case corrupts a copy of the demo bundle's upstream files (generated once per module)
the way real feeds go wrong, ingests it through ``spse.pipeline.ingest.ingest`` and asserts the
outcome: the row quarantined with its reason, file and 1-based line; the vintage refused
with the previous partition kept byte-identical; the day recorded ``partial``; or a
``SchemaError`` naming feed, file and row. Expected counts are worked out by hand from
the bundle's design (docs/demo.md: 35 E2 series × 24 hours a day, 4 noise sites, 20
arrondissements, 15 stations, 2206 population cells holding 2 101 538 people).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
import pytest

from spse import sources
from spse.core.config import source_url_env
from spse.core.errors import FeedError, RefusedInput, SchemaError
from spse.pipeline import lake, qualitylog
from spse.pipeline.ingest import ingest, read_quarantine

D1, D2 = dt.date(2026, 1, 14), dt.date(2026, 1, 15)
E2_D2 = "2026/FR_E2_2026-01-15.csv"
POPULATION = "Filosofi2017_carreaux_200m_met.csv"
ZONES = "arrondissements/exports/geojson"
STATIONS = "stations.csv"
NOISE_SITES = ("PARIS-PERIPHERIQUE-EST", "PARIS-BD-SOULT", "PARIS-RUE-DE-RIVOLI", "PARIS-QUAI-DE-LA-RAPEE")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    from spse.pipeline import demo

    return demo.generate(tmp_path_factory.mktemp("bundle") / "demo")


@pytest.fixture
def feed(spse_home, bundle, tmp_path, monkeypatch):
    """``feed(name)``: a private copy of the bundle's folder of ``name``, which the source now reads."""

    def copy(name: str) -> Path:
        folder = tmp_path / "feeds" / name
        if not folder.exists():
            shutil.copytree(bundle / name, folder)
            monkeypatch.setenv(source_url_env(name), str(folder))
        return folder

    return copy


def _record(name: str, partition: str) -> dict:
    return qualitylog.read(name, partition)


def _partition_bytes(source, day) -> bytes:
    return lake.partition_path(source.dataset, source.partition_for(day), source.name).read_bytes()


# --- E2: rows quarantined with their reason, file and line --------------------------------

def _e2_lines(folder: Path) -> list[str]:
    return (folder / E2_D2).read_text(encoding="utf-8").split("\n")


def _e2_write(folder: Path, lines: list[str], encoding: str = "utf-8") -> None:
    (folder / E2_D2).write_bytes("\n".join(lines).encode(encoding))


def _e2_set(lines: list[str], pollutant: str, start: str, changes: dict[str, str]) -> int:
    """Change fields of the first row of ``pollutant`` starting at ``start``; return its 1-based line."""
    header = lines[0].lstrip("\ufeff").split(";")
    for i, line in enumerate(lines[1:], start=1):
        fields = line.split(";")
        if len(fields) == len(header) and fields[8] == pollutant and fields[0] == start:
            for name, value in changes.items():
                fields[header.index(name)] = value
            lines[i] = ";".join(fields)
            return i + 1
    raise AssertionError(f"no {pollutant} row at {start} in the demo file")


def _values(value: str) -> dict[str, str]:
    return {"valeur": value, "valeur brute": value}


E2_ROW_CASES = [
    ("pm10_sentinel_9999", "PM10", _values("9999"), "no-data sentinel 9999 in `valeur` (PM10)"),
    ("no2_sentinel_minus_9999", "NO2", _values("-9999"), "no-data sentinel -9999 in `valeur` (NO2)"),
    ("o3_sentinel_999", "O3", _values("999"), "no-data sentinel 999 in `valeur` (O3)"),
    ("pm10_sentinel_minus_999", "PM10", _values("-999"), "no-data sentinel -999 in `valeur` (PM10)"),
    ("pm25_sentinel_99999", "PM2.5", _values("99999"), "no-data sentinel 99999 in `valeur` (PM2.5)"),
    ("no2_labelled_mg_m3", "NO2", {"unité de mesure": "mg-m3", **_values("0.045")},
     "unit mg/m³ is not the unit of NO2 (µg/m³)"),
    ("co_in_ug_m3_huge", "NO2", {"Polluant": "CO", "unité de mesure": "µg-m3", **_values("450")},
     "unit µg/m³ is not the unit of CO (mg/m³)"),
    ("unknown_unit_ppb", "NO2", {"unité de mesure": "ppb"}, "unknown unit: ppb"),
    ("no2_above_plausible", "NO2", _values("1500"), "`valeur` outside the physical range of NO2 in µg/m³ "
     "[-5, 1000]: 1500"),
    ("o3_below_plausible", "O3", _values("-40"), "`valeur` outside the physical range of O3 in µg/m³ [-5, 600]: -40"),
    ("row_of_the_next_day", "NO2", {"Date de début": "2026/01/16 10:00:00", "Date de fin": "2026/01/16 11:00:00"},
     "hour 2026-01-16 10:00 UTC is outside the file's day (2026-01-15 UTC)"),
    ("row_of_the_previous_day", "PM10", {"Date de début": "2026/01/14 10:00:00",
                                         "Date de fin": "2026/01/14 11:00:00"},
     "hour 2026-01-14 10:00 UTC is outside the file's day (2026-01-15 UTC)"),
]


@pytest.mark.parametrize(("pollutant", "changes", "reason"), [c[1:] for c in E2_ROW_CASES],
                         ids=[c[0] for c in E2_ROW_CASES])
def test_e2_bad_row_is_quarantined_with_reason_and_line(feed, pollutant, changes, reason):
    folder = feed("lcsqa_e2")
    lines = _e2_lines(folder)
    line = _e2_set(lines, pollutant, "2026/01/15 10:00:00", changes)
    _e2_write(folder, lines)
    source = sources.get("lcsqa_e2")

    report = ingest(source, D2)

    rejects = read_quarantine(source, D2)
    assert len(rejects) == 1
    assert (rejects.loc[0, "file"], int(rejects.loc[0, "row"])) == (E2_D2, line)
    assert reason in rejects.loc[0, "reason"]
    assert report.rows == 839  # 840 rows, one quarantined
    frame = lake.read_partition(source.dataset, source.partition_for(D2))
    assert line not in set(frame["source_row"])
    record = _record("lcsqa_e2", "date=2026-01-15")
    assert record["outcome"] == "ok" and record["quarantined"] == 1  # 839/840 station-hours: complete
    assert (record["problems"][0]["row"], record["problems"][0]["file"]) == (line, E2_D2)


def test_e2_duplicated_row_is_quarantined(feed):
    folder = feed("lcsqa_e2")
    lines = [line for line in _e2_lines(folder) if line]
    lines.append(lines[5])  # line 6 again, as line 842
    _e2_write(folder, lines)
    source = sources.get("lcsqa_e2")
    report = ingest(source, D2)
    rejects = read_quarantine(source, D2)
    assert report.rows == 840
    assert int(rejects.loc[0, "row"]) == 842 and "duplicate key" in rejects.loc[0, "reason"]


def test_e2_truncated_mid_row_quarantines_the_cut_line(feed):
    folder = feed("lcsqa_e2")
    lines = [line for line in _e2_lines(folder) if line]
    lines[-1] = lines[-1][: len(lines[-1]) // 2]  # line 841 cut in the middle of its fields
    _e2_write(folder, lines)
    source = sources.get("lcsqa_e2")
    report = ingest(source, D2)
    rejects = read_quarantine(source, D2)
    assert report.rows == 839
    assert int(rejects.loc[0, "row"]) == 841 and rejects.loc[0, "reason"].startswith("expected 23 fields, found")
    assert _record("lcsqa_e2", "date=2026-01-15")["outcome"] == "ok"


def test_e2_file_cut_at_half_is_a_partial_day(feed):
    folder = feed("lcsqa_e2")
    source = sources.get("lcsqa_e2")
    ingest(source, D1)  # the day before: 35 complete series
    lines = _e2_lines(folder)
    _e2_write(folder, lines[:421])  # header + 420 of the 840 rows
    report = ingest(source, D2)
    assert report.outcome == "partial"
    assert report.completeness == {"series": 35, "hours": 24, "expected": 840, "present": 420, "fraction": 0.5}
    assert lake.read_partition(source.dataset, "date=2026-01-15").shape[0] == 420  # written, but flagged
    record = _record("lcsqa_e2", "date=2026-01-15")
    assert record["outcome"] == "partial" and record["rows"] == 420
    assert "420 of 840 expected station-hours" in record["problems"][0]["detail"]

    from spse.pipeline import freshness

    row = freshness.status(source, dt.datetime.now(dt.UTC), D2)
    assert row["quality"] == "partial" and freshness.shown_status(row) == "partial"
    assert freshness.needs_refetch(source, D2) and not freshness.needs_refetch(source, D1)


def _header_only(lines):
    return lines[:1]


def _all_sentinels(lines):
    out = lines[:1]
    for line in lines[1:]:
        fields = line.split(";")
        if len(fields) == 23:
            fields[15] = fields[16] = "9999"
        out.append(";".join(fields))
    return out


E2_FILE_CASES = [
    ("header_only", lambda lines: "\n".join(_header_only(lines)).encode(), RefusedInput,
     r"feed lcsqa_e2, file 2026/FR_E2_2026-01-15.csv: no usable row in the day's files \(0 row", "refused"),
    ("every_value_a_sentinel", lambda lines: "\n".join(_all_sentinels(lines)).encode(), RefusedInput,
     r"no usable row in the day's files \(840 row\(s\) received", "refused"),
    ("empty_body", lambda lines: b"", SchemaError, r"feed lcsqa_e2, file 2026/FR_E2_2026-01-15.csv: empty body",
     "failed"),
    ("html_error_page", lambda lines: b"<!DOCTYPE html><html><body>503 Service Unavailable</body></html>",
     SchemaError, r"feed lcsqa_e2, file 2026/FR_E2_2026-01-15.csv.*HTML", "failed"),
    ("changed_header", lambda lines: "\n".join([lines[0].replace("valeur brute", "valeur_brute"), *lines[1:]])
     .encode(), SchemaError, r"file 2026/FR_E2_2026-01-15.csv, row 1: header is not the 23-column E2 header: "
     r"missing \['valeur brute'\], unexpected \['valeur_brute'\]", "failed"),
    ("comma_separator", lambda lines: "\n".join(lines).replace(";", ",").encode(), SchemaError,
     r"row 1: header is not the 23-column E2 header", "failed"),
]


@pytest.mark.parametrize(("corrupt", "error", "message", "outcome"), [c[1:] for c in E2_FILE_CASES],
                         ids=[c[0] for c in E2_FILE_CASES])
def test_e2_bad_file_keeps_the_good_partition(feed, corrupt, error, message, outcome):
    folder = feed("lcsqa_e2")
    source = sources.get("lcsqa_e2")
    ingest(source, D2)
    good = _partition_bytes(source, D2)
    (folder / E2_D2).write_bytes(corrupt(_e2_lines(folder)))
    with pytest.raises(error, match=message):
        ingest(source, D2)
    assert _partition_bytes(source, D2) == good
    record = _record("lcsqa_e2", "date=2026-01-15")
    assert record["outcome"] == outcome and record["problems"][0]["file"] == E2_D2


def test_e2_latin1_file_is_read_like_utf8(feed):
    folder = feed("lcsqa_e2")
    source = sources.get("lcsqa_e2")
    utf8 = ingest(source, D2)
    before = lake.read_partition(source.dataset, "date=2026-01-15")
    _e2_write(folder, _e2_lines(folder), encoding="latin-1")
    latin1 = ingest(source, D2)
    after = lake.read_partition(source.dataset, "date=2026-01-15")
    assert utf8.rows == latin1.rows == 840 and latin1.rejected == 0
    assert set(after["unit"]) == {"µg/m³"}
    pd.testing.assert_series_equal(after["value_raw"], before["value_raw"])


# --- Noise stations -----------------------------------------------------------------------

def _noise_file(folder: Path, site: str, day: dt.date) -> Path:
    return folder / "PeriodicValues2" / site / f"{day.isoformat()}.json"


def _noise_set(folder: Path, site: str, index: int, laeq: float) -> None:
    path = _noise_file(folder, site, D2)
    doc = json.loads(path.read_text())
    doc["opendata"]["H"][index]["LAeq"] = laeq
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize(("laeq", "reason"), [
    (999.0, "LAeq is a no-data sentinel: 999.0"),
    (150.0, "LAeq outside the plausible range: 150.0 dB(A)"),
], ids=["noise_level_999_db", "noise_level_150_db"])
def test_noise_implausible_level_is_quarantined(feed, laeq, reason):
    folder = feed("bruitparif_rumeur")
    _noise_set(folder, "PARIS-BD-SOULT", 9, laeq)  # record 10 of the site's day
    source = sources.get("bruitparif_rumeur")
    report = ingest(source, D2)
    rejects = read_quarantine(source, D2)
    assert report.rows == 95 and len(rejects) == 1
    assert rejects.loc[0, "file"] == "PeriodicValues2/PARIS-BD-SOULT/2026-01-15.json"
    assert int(rejects.loc[0, "row"]) == 10 and reason in rejects.loc[0, "reason"]


def test_noise_site_with_half_a_day_is_partial(feed):
    folder = feed("bruitparif_rumeur")
    path = _noise_file(folder, "PARIS-BD-SOULT", D2)
    doc = json.loads(path.read_text())
    doc["opendata"]["H"] = doc["opendata"]["H"][:12]
    path.write_text(json.dumps(doc))
    report = ingest(sources.get("bruitparif_rumeur"), D2)
    # 4 sites × 24 local hours expected; 3 × 24 + 12 present = 84 → 87.5 % < 90 %.
    assert report.outcome == "partial"
    assert (report.completeness["expected"], report.completeness["present"]) == (96, 84)
    assert _record("bruitparif_rumeur", "date=2026-01-15")["outcome"] == "partial"


def test_noise_day_without_any_value_is_refused(feed):
    folder = feed("bruitparif_rumeur")
    source = sources.get("bruitparif_rumeur")
    ingest(source, D2)
    good = _partition_bytes(source, D2)
    for site in NOISE_SITES:
        _noise_file(folder, site, D2).write_text(json.dumps({"opendata": {"H": []}}))
    with pytest.raises(RefusedInput, match="no usable row"):
        ingest(source, D2)
    assert _partition_bytes(source, D2) == good
    assert _record("bruitparif_rumeur", "date=2026-01-15")["outcome"] == "refused"


def _noise_local_day(folder: Path, day: dt.date, extra: list[str] = ()) -> int:
    """Write every site's hours of the local ``day`` (plus ``extra`` stamps); return its hour count."""
    zone = ZoneInfo("Europe/Paris")
    start = dt.datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(dt.UTC)
    end = (dt.datetime(day.year, day.month, day.day, tzinfo=zone) + dt.timedelta(days=1)).astimezone(dt.UTC)
    hours = int((end - start) / dt.timedelta(hours=1))
    stamps = [(start + dt.timedelta(hours=h)).astimezone(zone).isoformat() for h in range(hours)]
    for site in NOISE_SITES:
        path = _noise_file(folder, site, day)
        path.parent.mkdir(parents=True, exist_ok=True)
        records = [{"i": i, "LAeq": 60.0, "weight": 1.0} for i in [*stamps, *extra]]
        path.write_text(json.dumps({"opendata": {"H": records}}))
    return hours


@pytest.mark.parametrize(("day", "hours", "extra", "rejected"), [
    (dt.date(2025, 3, 30), 23, ["2025-03-31T00:00:00+02:00"], 4),
    (dt.date(2025, 10, 26), 25, [], 0),
], ids=["dst_spring_2025_03_30_23h", "dst_autumn_2025_10_26_25h"])
def test_noise_dst_day_expects_its_own_number_of_hours(feed, day, hours, extra, rejected):
    folder = feed("bruitparif_rumeur")
    assert _noise_local_day(folder, day, extra) == hours
    source = sources.get("bruitparif_rumeur")
    report = ingest(source, day)
    assert report.outcome == "ok" and report.rows == 4 * hours and report.rejected == rejected
    assert report.completeness == {"series": 4, "hours": hours, "expected": 4 * hours, "present": 4 * hours,
                                   "fraction": 1.0}
    if rejected:
        assert "outside the local day" in read_quarantine(source, day).loc[0, "reason"]


# --- Reference vintages: refused, the previous one kept ----------------------------------

def _csv_rows(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").split("\n") if line]


def _population_edit(folder: Path, edit) -> None:
    path = folder / POPULATION
    lines = _csv_rows(path)
    path.write_text("\n".join(edit(lines)) + "\n", encoding="utf-8")


def _scale_ind(lines: list[str], factor: float, only: int | None = None) -> list[str]:
    out = lines[:1]
    for i, line in enumerate(lines[1:], start=2):
        fields = line.split(",")
        if only is None or i == only:
            fields[6] = f"{float(fields[6]) * factor:.1f}"
        out.append(",".join(fields))
    return out


POPULATION_CASES = [
    ("population_cell_x1000", lambda lines: _scale_ind(lines, 1000, only=2),
     r"file Filosofi2017_carreaux_200m_met.csv: 1 implausible feature\(s\), first: feature "
     r"cell_id=CRS3035RES200mN2885000E3759600: `population` outside the physical range of population in "
     r"persons \[0, 10000\]: 1.603e\+06"),
    ("population_header_only", lambda lines: lines[:1], "the new vintage holds no feature"),
    ("population_single_row", lambda lines: lines[:2],
     r"1 features against 2206 in the previous vintage \(-100%, tolerance ±25%\)"),
    ("population_total_minus_50pct", lambda lines: _scale_ind(lines, 0.5),
     r"total population 1,050,769 against 2,101,538 in the previous vintage \(-50%, tolerance ±10%\)"),
]


@pytest.mark.parametrize(("edit", "message"), [c[1:] for c in POPULATION_CASES],
                         ids=[c[0] for c in POPULATION_CASES])
def test_population_bad_vintage_is_refused_and_previous_kept(feed, edit, message):
    folder = feed("insee_filosofi_200m")
    source = sources.get("insee_filosofi_200m")
    ingest(source, D2)
    good = _partition_bytes(source, D2)
    _population_edit(folder, edit)
    with pytest.raises(RefusedInput, match=message):
        ingest(source, D2)
    assert _partition_bytes(source, D2) == good
    record = _record("insee_filosofi_200m", "vintage=current")
    assert record["outcome"] == "refused" and "previous vintage is kept" in record["problems"][0]["detail"]


def test_population_first_vintage_with_a_cell_x1000_is_refused(feed):
    folder = feed("insee_filosofi_200m")
    _population_edit(folder, lambda lines: _scale_ind(lines, 1000, only=3))  # 714 → 714 000
    source = sources.get("insee_filosofi_200m")
    with pytest.raises(RefusedInput, match=r"persons \[0, 10000\]: 714000"):
        ingest(source, D2)
    assert lake.latest_partition("population") is None


def _zones_edit(folder: Path, edit) -> None:
    path = folder / ZONES
    doc = json.loads(path.read_text())
    doc["features"] = edit(doc["features"])
    path.write_text(json.dumps(doc))


def _extra_arrondissement(features):
    extra = json.loads(json.dumps(features[0]))
    extra["properties"]["c_arinsee"] = 75121
    return [*features, extra]


def _swap_axes(features):
    def swap(coords):
        return [swap(c) for c in coords] if isinstance(coords[0], list) else [coords[1], coords[0]]

    for f in features:
        f["geometry"]["coordinates"] = swap(f["geometry"]["coordinates"])
    return features


ZONE_CASES = [
    ("zones_0_features", lambda f: [], "the new vintage holds no feature"),
    ("zones_1_feature", lambda f: f[:1], "1 features where a complete vintage holds 20"),
    ("zones_19_features", lambda f: f[:19], "19 features where a complete vintage holds 20"),
    ("zones_21_features", _extra_arrondissement, "21 features where a complete vintage holds 20"),
    ("zones_lat_lon_swapped", _swap_axes,
     r"the extent \(.*\) overlaps the previous vintage's \(.*\) by 0% \(intersection over union"),
]


@pytest.mark.parametrize(("edit", "message"), [c[1:] for c in ZONE_CASES], ids=[c[0] for c in ZONE_CASES])
def test_zones_bad_vintage_is_refused_and_previous_kept(feed, edit, message):
    folder = feed("paris_arrondissements")
    source = sources.get("paris_arrondissements")
    ingest(source, D2)
    good = _partition_bytes(source, D2)
    _zones_edit(folder, edit)
    with pytest.raises(RefusedInput, match=rf"feed paris_arrondissements, file {ZONES}: {message}"):
        ingest(source, D2)
    assert _partition_bytes(source, D2) == good
    assert _record("paris_arrondissements", "vintage=current")["outcome"] == "refused"


def test_zones_first_vintage_of_19_is_refused(feed):
    folder = feed("paris_arrondissements")
    _zones_edit(folder, lambda f: f[:19])
    with pytest.raises(RefusedInput, match="19 features where a complete vintage holds 20"):
        ingest(sources.get("paris_arrondissements"), D2)
    assert lake.latest_partition("zones") is None


def test_facilities_all_empty_is_refused(feed):
    folder = feed("paris_facilities")
    source = sources.get("paris_facilities")
    ingest(source, D2)
    good = _partition_bytes(source, D2)
    for path in folder.rglob("csv"):
        path.write_text(_csv_rows(path)[0] + "\n", encoding="utf-8")
    with pytest.raises(RefusedInput, match="the new vintage holds no feature"):
        ingest(source, D2)
    assert _partition_bytes(source, D2) == good


@pytest.mark.parametrize(("keep", "message"), [
    (0, "the new vintage holds no feature"),
    (7, r"7 features against 15 in the previous vintage \(-53%, tolerance ±25%\)"),
], ids=["stations_empty", "stations_halved"])
def test_station_list_shrunk_is_refused(feed, keep, message):
    folder = feed("lcsqa_stations")
    source = sources.get("lcsqa_stations")
    ingest(source, D2)
    good = _partition_bytes(source, D2)
    lines = _csv_rows(folder / STATIONS)
    (folder / STATIONS).write_text("\n".join(lines[: 1 + keep]) + "\n", encoding="utf-8")
    with pytest.raises(RefusedInput, match=message):
        ingest(source, D2)
    assert _partition_bytes(source, D2) == good


def test_noise_map_empty_is_refused(feed):
    folder = feed("noise_map_cbs")
    source = sources.get("noise_map_cbs")
    ingest(source, D2)
    good = _partition_bytes(source, D2)
    for path in folder.glob("*.geojson"):
        path.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    with pytest.raises(RefusedInput, match="the new vintage holds no feature"):
        ingest(source, D2)
    assert _partition_bytes(source, D2) == good


def test_refused_input_is_a_feed_error():
    assert issubclass(RefusedInput, FeedError)


# --- End to end: the demo day with one PM10 hour at 9999 ----------------------------------

def test_demo_day_with_a_pm10_sentinel_raises_no_alerte(spse_home, bundle):
    from spse.pipeline import daily as pipeline

    shutil.copytree(bundle, spse_home / "demo")
    path = spse_home / "demo" / "lcsqa_e2" / E2_D2
    lines = path.read_text(encoding="utf-8").split("\n")
    line = _e2_set(lines, "PM10", "2026/01/15 12:00:00", _values("9999"))
    path.write_text("\n".join(lines), encoding="utf-8")

    pipeline.run_day(D2)

    from spse.core.config import settings

    with duckdb.connect(str(settings().warehouse), read_only=True) as con:
        alerts = con.execute("select kind, pollutant, level, set_id, recommendation from marts.alerts "
                             "where date = ? and status <> 'closed' and alert_type <> 'health_advisory'", [D2]).df()
    pm10 = alerts[(alerts["kind"] == "air_quality") & (alerts["pollutant"] == "PM10")]
    assert set(pm10["level"]) == {"information"}  # the designed episode, without the 9999 hour's alerte
    quality = alerts[(alerts["set_id"] == "DQ_INPUT_QUARANTINE") & (alerts["pollutant"] == "lcsqa_e2")]
    assert len(quality) == 1 and quality.iloc[0]["kind"] == "data_quality"
    message = quality.iloc[0]["recommendation"]
    assert f"fichier {E2_D2}, ligne {line}" in message and "no-data sentinel 9999" in message


def test_cams_forecast_sentinel_is_quarantined(feed):
    import xarray as xr

    folder = feed("cams_europe_forecast")
    relative = "2026-01-15/cams_europe_ensemble_forecast.nc"
    with xr.open_dataset(folder / relative) as ds:
        ds = ds.load()
    ds["pm10_conc"][10, 0, 0, 0] = 9999.0  # lead 10 h, 48.95 N 2.15 E
    ds.to_netcdf(folder / relative)
    source = sources.get("cams_europe_forecast")
    report = ingest(source, D2)
    rejects = read_quarantine(source, D2)
    assert report.rows == 97 * 15 * 6 - 1 and len(rejects) == 1  # leads × grid points × pollutants
    assert rejects.loc[0, "file"] == relative and pd.isna(rejects.loc[0, "row"])
    assert rejects.loc[0, "reason"] == "no-data sentinel 9999 in `value` (PM10)"
    assert '"lead_hours": 10' in rejects.loc[0, "raw"]


def test_noise_map_band_of_999_db_refuses_the_vintage(feed):
    folder = feed("noise_map_cbs")
    source = sources.get("noise_map_cbs")
    ingest(source, D2)
    good = _partition_bytes(source, D2)
    path = folder / "N_BRUIT_ZBRD_INFRA_R_A_LD_S_075.geojson"
    doc = json.loads(path.read_text())
    doc["features"][0]["properties"]["legende"] = "999-1000"
    path.write_text(json.dumps(doc))
    with pytest.raises(RefusedInput, match=r"file N_BRUIT_ZBRD_INFRA_R_A_LD_S_075.geojson,.*1 implausible "
                                           r"feature\(s\).*no-data sentinel 999 in `db_low` \(Lden\)"):
        ingest(source, D2)
    assert _partition_bytes(source, D2) == good
