"""FINESS geolocated extract: Latin-1, no header, metadata line, two record types."""

from __future__ import annotations

import csv
import inspect
import re
from pathlib import Path

import pytest

from spse.core.errors import SchemaError
from spse.sources import finess
from spse.sources.finess import SOURCE

PART = SOURCE.partition(None)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources" / "finess"
NAME = "etalab-cs1100507-stock.csv"
FACILITY_CATEGORIES = {"creche", "ecole_maternelle", "ecole_elementaire", "college", "pmi", "ehpad", "hospital",
                       "centre_sante"}


def sample_lines() -> list[str]:
    return (FIXTURES / NAME).read_bytes().decode("latin-1").split("\r\n")[:-1]


def encode(lines: list[str], encoding: str = "latin-1") -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def test_fixture_is_latin1_without_header_with_metadata_line():
    raw = (FIXTURES / NAME).read_bytes()
    assert "É".encode("latin-1") in raw
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert raw.split(b"\r\n", 1)[0] == b"finess;etalab;100;2024-03-14"


def test_parse_keeps_paris_establishments_of_the_mapped_categories():
    result = SOURCE.parse((FIXTURES / NAME).read_bytes(), NAME, PART)
    frame = result.frame.set_index("facility_id")
    assert result.rejects.empty
    # The pharmacy (categetab 620) and the Boulogne hospital (département 92) are out of scope.
    assert list(frame.index) == ["finess:750000481", "finess:750100208", "finess:750200016", "finess:750300014"]
    # categetab 355, 500, 124, 213
    assert frame["category"].tolist() == ["hospital", "ehpad", "centre_sante", "pmi"]
    assert frame.loc["finess:750100208", "name"] == "EHPAD RÉSIDENCE LES ÉGLANTINES"
    # rslongue is empty for the PMI: rs is used.
    assert frame.loc["finess:750300014", "name"] == "PMI CRIMÉE"
    assert frame.loc["finess:750000481", "address"] == "28 R DE CHARENTON, 75571 PARIS CEDEX 12"
    # 75571 is a CEDEX code: the arrondissement comes from "CEDEX 12".
    assert frame["zone_id"].tolist() == ["75112", "75114", "75118", "75119"]
    assert set(frame["dataset_id"]) == {"finess:etalab-cs1100507@2024-03-14"}
    assert frame["school_year"].isna().all()
    SOURCE.check(result.frame)


def test_postcode_arrondissement_and_no_capacity():
    frame = SOURCE.parse((FIXTURES / NAME).read_bytes(), NAME, PART).frame.set_index("facility_id")
    # ligneacheminement "75571 PARIS CEDEX 12" and "75014 PARIS"
    assert frame.loc["finess:750000481", ["postcode", "arrondissement"]].tolist() == ["75571", "12e arrondissement"]
    assert frame.loc["finess:750100208", ["postcode", "arrondissement"]].tolist() == ["75014", "14e arrondissement"]
    # structureet records carry no capacity (the GISCO copy's cap_beds is empty too)
    assert frame["capacity"].isna().all() and frame["capacity_unit"].isna().all()
    assert set(frame["source"]) == {"finess"}


def test_lambert93_coordinates_are_projected_to_wgs84():
    frame = SOURCE.parse((FIXTURES / NAME).read_bytes(), NAME, PART).frame.set_index("facility_id")
    # The fixture's Lambert-93 coordinates were made from these landmarks' lon/lat (0.1 m rounding).
    expected = {"finess:750000481": (2.37221, 48.85127), "finess:750100208": (2.3265, 48.8301),
                "finess:750200016": (2.3490, 48.8925), "finess:750300014": (2.3822, 48.8840)}
    for facility, (lon, lat) in expected.items():
        assert frame.loc[facility, "lon"] == pytest.approx(lon, abs=2e-6)
        assert frame.loc[facility, "lat"] == pytest.approx(lat, abs=2e-6)


def test_utf8_copy_reads_the_same():
    latin1 = SOURCE.parse((FIXTURES / NAME).read_bytes(), NAME, PART).frame
    utf8 = SOURCE.parse(encode(sample_lines(), "utf-8"), NAME, PART).frame
    assert latin1.equals(utf8)


def test_wrong_field_count_is_quarantined_with_its_line():
    result = SOURCE.parse((FIXTURES / "bad" / NAME).read_bytes(), NAME, PART)
    assert result.rejects[["row"]].to_dict("records") == [{"row": 3}]
    assert result.rejects.loc[0, "reason"] == "structureet record with 34 fields, expected 31"
    assert "finess:750100208" not in set(result.frame["facility_id"])
    assert len(result.frame) == 3


def test_bytes_of_a_wrong_encoding_are_quarantined():
    payload = bytearray(encode(sample_lines()))
    at = payload.index(b"CDS MARCADET")
    payload[at + 3] = 0x81  # undefined in Windows-1252: read as the C1 control U+0081
    result = SOURCE.parse(bytes(payload), NAME, PART)
    assert result.rejects["row"].tolist() == [4]
    assert "wrong encoding" in result.rejects.loc[0, "reason"]
    assert "finess:750200016" not in set(result.frame["facility_id"])


def test_missing_geolocation_and_coordinates_outside_paris_are_quarantined():
    lines = [line for line in sample_lines() if not line.startswith("geolocalisation;750200016;")]
    lines = [line.replace("654694.0;6865064.3", "892390.2;6247035.3") for line in lines]  # the PMI put in Marseille
    result = SOURCE.parse(encode(lines), NAME, PART)
    reasons = dict(zip(result.rejects["row"], result.rejects["reason"], strict=True))
    assert set(reasons) == {4, 5}
    assert reasons[4] == "no geolocalisation record for this nofinesset"
    assert reasons[5].startswith("coordinates outside Paris")
    assert result.frame["facility_id"].tolist() == ["finess:750000481", "finess:750100208"]


def test_unknown_record_type_and_repeated_geolocation_are_quarantined():
    lines = sample_lines()
    lines.insert(3, "equipementsociale;750100208;x")
    lines.append("geolocalisation;750000481;653932.5;6861430.8;1,ATLASANTE;2023-11-02")
    result = SOURCE.parse(encode(lines), NAME, PART)
    reasons = dict(zip(result.rejects["row"], result.rejects["reason"], strict=True))
    assert reasons[4] == "unknown record type equipementsociale"
    assert reasons[len(lines)].startswith("duplicate geolocalisation")
    assert len(result.frame) == 4


def test_file_without_metadata_line_is_read():
    result = SOURCE.parse(encode(sample_lines()[1:]), NAME, PART)
    assert len(result.frame) == 4 and result.rejects.empty
    assert set(result.frame["dataset_id"]) == {"finess:etalab-cs1100507"}
    assert result.frame["zone_id"].tolist() == ["75112", "75114", "75118", "75119"]


def test_changed_layout_raises():
    lines = [line.rsplit(";", 1)[0] if line.startswith("structureet") else line for line in sample_lines()]
    with pytest.raises(SchemaError, match="no structureet record has 31 fields"):
        SOURCE.parse(encode(lines), NAME, PART)


@pytest.mark.parametrize("payload", [b"<!DOCTYPE html><html><body>Maintenance</body></html>", b"",
                                     b"PK\x03\x04\x00\x00"])
def test_not_a_finess_file_raises_naming_feed_and_file(payload):
    with pytest.raises(SchemaError) as error:
        SOURCE.parse(payload, NAME, PART)
    assert "feed finess" in str(error.value) and NAME in str(error.value)


def test_url_and_file_name(monkeypatch):
    assert SOURCE.url_for("https://static.data.gouv.fr/resources/finess/etalab-cs1100507-stock-20240314-0343.csv",
                          NAME).endswith("-20240314-0343.csv")
    assert SOURCE.url_for("https://www.data.gouv.fr/fr/datasets/r/abc", NAME) == "https://www.data.gouv.fr/fr/datasets/r/abc"
    assert SOURCE.url_for("file:///data/finess", NAME) == f"file:///data/finess/{NAME}"
    monkeypatch.setenv("SPSE_FINESS_URL", "https://x.org/etalab-cs1100507-stock-20240314-0343.csv")
    assert SOURCE.files(None) == ["etalab-cs1100507-stock-20240314-0343.csv"]
    monkeypatch.delenv("SPSE_FINESS_URL")
    assert SOURCE.files(None) == [NAME]


def test_every_category_code_is_tagged_and_maps_to_a_facility_category():
    assert set(finess.CATEGORIES.values()) <= FACILITY_CATEGORIES
    assert set(finess.LABEL_HINTS) == set(finess.CATEGORIES.values())
    source = inspect.getsource(finess)
    for code in finess.CATEGORIES:
        line = next(line for line in source.splitlines() if line.strip().startswith(f'"{code}":'))
        assert re.search(r"# \[(R|M)\]", line), f"categetab {code} has no [R]/[M] status"


def test_gisco_copy_of_finess_agrees_with_numbers_and_label_hints(shared_data):
    """GISCO's Paris hospitals come from FINESS 2020: their ids are nofinesset, their types libcategetab."""
    path = shared_data / "facilities" / "finess_hospitals_paris75_gisco_2020-03-06.csv"
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 119
    assert all(re.match(finess.FINESS_NUMBER, r["id"]) and r["id"].startswith("75") for r in rows)
    labels = {r["facility_type"] for r in rows}
    assert labels and all(re.search(finess.LABEL_HINTS["hospital"], label, re.IGNORECASE) for label in labels)
