import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spse.core.errors import SchemaError
from spse.sources.lcsqa_e2 import HEADER, SOURCE

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "sources" / "lcsqa_e2" / "2026" / "FR_E2_2026-01-15.csv"
NAME = "2026/FR_E2_2026-01-15.csv"
PARTITION = SOURCE.partition(dt.date(2026, 1, 15))

BASE_ROW = {
    "Date de début": "2026/01/15 10:00:00", "Date de fin": "2026/01/15 11:00:00", "Organisme": "AIRPARIF",
    "code zas": "FR11ZAG01", "Zas": "ZAG PARIS", "code site": "FR04037", "nom site": "PARIS 13eme",
    "type d'implantation": "Urbaine", "Polluant": "NO2", "type d'influence": "Fond", "discriminant": "A",
    "Réglementaire": "Oui", "type d'évaluation": "mesures fixes", "procédure de mesure": "Auto NO2 app AC32M",
    "type de valeur": "moyenne horaire validée", "valeur": "24.5", "valeur brute": "24.48",
    "unité de mesure": "µg-m3", "taux de saisie": "", "couverture temporelle": "", "couverture de données": "",
    "code qualité": "A", "validité": "1",
}


def e2(*rows: dict, header=HEADER, newline="\n") -> bytes:
    lines = [";".join(header)] + [";".join({**BASE_ROW, **r}[h] for h in HEADER) for r in rows]
    return (newline.join(lines) + newline).encode()


def test_files_follow_the_upstream_layout():
    assert SOURCE.files(dt.date(2026, 1, 15)) == ["2026/FR_E2_2026-01-15.csv"]
    base = "https://files.data.gouv.fr/lcsqa/concentrations-de-polluants-atmospheriques-reglementes/temps-reel"
    assert SOURCE.url_for(base, "2026/FR_E2_2026-01-15.csv") == f"{base}/2026/FR_E2_2026-01-15.csv"


@pytest.mark.shared_data
def test_real_metz_excerpt(shared_data):
    payload = (shared_data / "air_e2_lcsqa" / "FR_E2_2021-10-22_excerpt_7rows_metz.csv").read_bytes()
    result = SOURCE.parse(payload, "2021/FR_E2_2021-10-22.csv", PARTITION)
    frame = result.frame
    assert len(frame) == 7 and result.rejects.empty
    four = frame.loc[frame["ts_start_utc"] == pd.Timestamp("2021-10-22 04:00", tz="UTC")].iloc[0]
    assert four["value"] == 2.7 and four["value_raw"] == 2.725
    assert four["ts_end_utc"] == pd.Timestamp("2021-10-22 05:00", tz="UTC")
    assert four["source_row"] == 6  # header, then hours 00..04
    invalid = frame.loc[frame["ts_start_utc"] == pd.Timestamp("2021-10-22 02:00", tz="UTC")].iloc[0]
    assert not invalid["is_valid"] and np.isnan(invalid["value"]) and invalid["validity"] == -1
    assert invalid["quality_code"] == "N"
    assert frame["is_valid"].sum() == 6
    assert set(frame["station_id"]) == {"FR01011"} and set(frame["pollutant"]) == {"NO"}
    assert set(frame["station_class"]) == {"background"} and set(frame["unit"]) == {"µg/m³"}
    assert frame["is_regulatory"].all() and set(frame["value_type"]) == {"validated"}
    SOURCE.check(frame)


@pytest.mark.shared_data
def test_reduced_airparif_extract_is_refused_with_the_missing_columns(shared_data):
    payload = (shared_data / "air_e2_lcsqa" / "FR_E2_airparif_idf_2days_2024-08-05_2024-09-02.csv").read_bytes()
    with pytest.raises(SchemaError) as err:
        SOURCE.parse(payload, "FR_E2_airparif.csv", PARTITION)
    message = str(err.value)
    assert "feed lcsqa_e2" in message and "file FR_E2_airparif.csv" in message and "row 1" in message
    for column in ("discriminant", "Réglementaire", "validité", "source_file"):
        assert column in message


def test_recorded_sample_values():
    frame = SOURCE.parse(SAMPLE.read_bytes(), NAME, PARTITION).frame.set_index(["station_id", "pollutant"])
    assert frame.loc[("FR04031", "NOX"), "value"] == 112.6  # `NOX as NO2` stored as NOX
    co = frame.loc[("FR04329", "CO")]
    assert co["unit"] == "mg/m³" and co["value"] == 0.4 and co["station_class"] == "traffic"
    pm = frame.loc[("FR04004", "PM2.5")]
    assert pm["value_type"] == "raw" and np.isnan(pm["value"]) and pm["value_raw"] == 9.6
    assert not pm["is_valid"] and not pm["is_regulatory"]
    assert frame.loc[("FR04031", "NO2"), "quality_code"] == "R" and frame.loc[("FR04031", "NO2"), "is_valid"]


def test_bom_crlf_and_latin1_are_read():
    crlf = b"\xef\xbb\xbf" + e2({}, newline="\r\n")
    assert SOURCE.parse(crlf, NAME, PARTITION).frame.loc[0, "unit"] == "µg/m³"
    latin1 = e2({}).decode().encode("latin-1")
    frame = SOURCE.parse(latin1, NAME, PARTITION).frame
    assert frame.loc[0, "unit"] == "µg/m³" and frame.loc[0, "value"] == 24.5


def test_changed_header_names_the_column():
    header = tuple("code station" if h == "code site" else h for h in HEADER)
    with pytest.raises(SchemaError, match=r"row 1: .*missing \['code site'\], unexpected \['code station'\]"):
        SOURCE.parse(e2({}, header=header), NAME, PARTITION)


def test_reordered_header_is_refused():
    header = (HEADER[1], HEADER[0], *HEADER[2:])
    with pytest.raises(SchemaError, match="another order"):
        SOURCE.parse(e2({}, header=header), NAME, PARTITION)


@pytest.mark.parametrize("payload", [b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>",
                                     b"\n  <html><head><title>Error</title></head></html>"])
def test_html_error_page_is_refused(payload):
    with pytest.raises(SchemaError, match=r"feed lcsqa_e2, file 2026/FR_E2_2026-01-15.csv.*HTML"):
        SOURCE.parse(payload, NAME, PARTITION)


@pytest.mark.parametrize("payload", [b"", b"\xef\xbb\xbf", b"\r\n"])
def test_empty_body_is_refused(payload):
    with pytest.raises(SchemaError, match="empty body"):
        SOURCE.parse(payload, NAME, PARTITION)


@pytest.mark.parametrize(("override", "reason"), [
    ({"unité de mesure": "ppb"}, "unknown unit: ppb"),
    ({"valeur": "12000", "valeur brute": "12000"}, "outside the physical range"),
    ({"Polluant": "CO", "unité de mesure": "mg-m3", "valeur": "150", "valeur brute": "150"},
     "outside the physical range"),
    ({"valeur": "n/d"}, "`valeur` is not a number: n/d"),
    ({"validité": "x"}, "`validité` is not an integer"),
    ({"Date de début": "15/01/2026 10:00"}, "unparseable `Date de début`"),
    ({"Date de fin": "2026/01/15 12:00:00"}, "not `Date de début` + 1 h"),
    ({"type de valeur": "Moy. journalière"}, "unknown `type de valeur`"),
    ({"code site": ""}, "empty key field `code site`"),
])
def test_bad_rows_are_quarantined_with_line_and_reason(override, reason):
    payload = e2({"Date de début": "2026/01/15 09:00:00", "Date de fin": "2026/01/15 10:00:00"}, override, {})
    result = SOURCE.parse(payload, NAME, PARTITION)
    assert len(result.frame) == 2 and result.frame["source_row"].tolist() == [2, 4]
    assert len(result.rejects) == 1
    reject = result.rejects.iloc[0]
    assert reject["row"] == 3 and reason in reject["reason"]
    assert reject["source"] == "lcsqa_e2" and reject["file"] == NAME and reject["raw"].startswith(
        override.get("Date de début", "2026/01/15 10:00:00"))


def test_small_negative_values_and_invalid_hours_are_kept():
    frame = SOURCE.parse(e2({"valeur": "-3", "valeur brute": "-3.2"},
                            {"Date de début": "2026/01/15 11:00:00", "Date de fin": "2026/01/15 12:00:00",
                             "valeur": "", "valeur brute": "", "code qualité": "N", "validité": "-1"}),
                         NAME, PARTITION).frame
    assert frame["value"].iloc[0] == -3.0 and frame["is_valid"].tolist() == [True, False]


def test_truncated_file_quarantines_the_cut_line():
    payload = e2({}, {"Date de début": "2026/01/15 11:00:00", "Date de fin": "2026/01/15 12:00:00"})
    cut = payload[: payload.rindex(b";Urbaine;")]
    result = SOURCE.parse(cut, NAME, PARTITION)
    assert len(result.frame) == 1
    assert result.rejects["row"].tolist() == [3]
    # kept before the cut: start, end, organisme, zas code, zas, site code, site name
    assert result.rejects["reason"].iloc[0] == "expected 23 fields, found 7"


def test_repeated_key_keeps_the_first_row():
    result = SOURCE.parse(e2({}, {"valeur": "30.1"}), NAME, PARTITION)
    assert result.frame["value"].tolist() == [24.5]
    assert result.rejects["row"].tolist() == [3] and "duplicate key" in result.rejects["reason"].iloc[0]


def test_second_series_of_a_site_is_a_distinct_key():
    frame = SOURCE.parse(e2({}, {"discriminant": "B", "valeur": "25.0"}), NAME, PARTITION).frame
    assert len(frame) == 2
    SOURCE.check(frame)


def test_header_in_another_case_is_read_by_its_labels():
    result = SOURCE.parse(e2({}, header=[h.upper() for h in HEADER]), NAME, PARTITION)
    assert len(result.frame) == 1 and result.frame.loc[0, "station_id"] == "FR04037"
    assert result.frame.loc[0, "value"] == 24.5


def test_a_batch_reads_each_file_as_it_is_read_alone():
    """Rows, rejects with their file and line, and errors are each file's own, whatever the files beside it."""
    day = dt.date(2026, 1, 16)
    items = [
        (SAMPLE.read_bytes(), NAME, PARTITION),
        (e2({"valeur": "abc"}, {"Date de début": "2026/01/16 01:00:00", "Date de fin": "2026/01/16 02:00:00"},
            {"Date de début": "2026/01/16 01:00:00", "Date de fin": "2026/01/16 02:00:00"}),
         "2026/FR_E2_2026-01-16.csv", SOURCE.partition(day)),
        (b"<html><body>busy</body></html>", "2026/FR_E2_2026-01-17.csv", SOURCE.partition(day)),
        (e2({}, {"unité de mesure": "ppm"}), "2026/FR_E2_2026-01-18.csv", SOURCE.partition(day)),
        # the row kept from the file before: a key repeats within one file only
        (e2({}), "2026/FR_E2_2026-01-19.csv", SOURCE.partition(day)),
    ]
    batch = SOURCE.parse_batch(items)
    assert isinstance(batch[2], SchemaError) and "HTML" in batch[2].problem
    second = batch[1]
    assert len(second.frame) == 1 and second.frame.loc[0, "source_row"] == 3
    assert second.rejects["row"].tolist() == [2, 4]
    assert set(second.rejects["file"]) == {"2026/FR_E2_2026-01-16.csv"}
    assert "not a number" in second.rejects.loc[0, "reason"] and "duplicate" in second.rejects.loc[1, "reason"]
    fourth = batch[3]
    assert len(fourth.frame) == 1 and fourth.rejects["row"].tolist() == [3]
    assert "unknown unit: ppm" in fourth.rejects.loc[0, "reason"]
    assert len(batch[4].frame) == 1 and batch[4].rejects.empty
    assert batch[4].frame.loc[0, "source_file"] == "2026/FR_E2_2026-01-19.csv"
    for item, got in zip(items, batch, strict=True):
        if isinstance(got, SchemaError):
            with pytest.raises(SchemaError):
                SOURCE.parse(*item)
            continue
        alone = SOURCE.parse(*item)
        pd.testing.assert_frame_equal(got.frame, alone.frame)
        pd.testing.assert_frame_equal(got.rejects, alone.rejects)
