"""IHD incidence table (SNDS-like layout [U]): values read off the sample by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from spse.core.errors import SchemaError
from spse.sources.ihd_incidence_zone import SOURCE

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources" / "ihd_incidence_zone"
NAME = "incidence_cardiopathie_ischemique_zone.csv"
HEADER = "ANNEE;CODGEO;LIBGEO;CAS;POP\n"


def parse(text: str):
    return SOURCE.parse(text.encode(), NAME, SOURCE.partition(None))


def test_fixture_rows():
    result = parse((FIXTURES / NAME).read_text())
    frame = result.frame
    assert result.rejects.empty and len(frame) == 3
    row = frame.set_index(["year", "zone_id"]).loc[(2023, "75")]
    assert (row["cases"], row["population"], row["zone_name"]) == (5280.0, 2113705.0, "Paris")
    assert frame["zone_id"].tolist() == ["75", "75", "75113"]
    SOURCE.check(frame)


def test_bad_rows_are_quarantined_with_their_line():
    text = HEADER + "\n".join([
        "2023;75;Paris;5280;2113705",
        "23;75;Paris;1;10",
        "2023;7511;Paris;1;10",
        "2023;75101;Paris 1er;-1;16000",
        "2023;75102;Paris 2e;x;21000",
        "2023;75103;Paris 3e;10;0",
        "2023;75104;Paris 4e;50;40",
        "2023;75;Paris;5000;2113705",
        "2023;2A;Corse-du-Sud;400;160000",
    ]) + "\n"
    result = parse(text)
    reasons = dict(zip(result.rejects["row"], result.rejects["reason"], strict=True))
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9]
    assert reasons[3] == "ANNEE is not a year: 23"
    assert reasons[4] == "CODGEO is not a zone code: 7511"
    assert reasons[5] == "CAS is not a count: -1"
    assert reasons[6] == "CAS is not a count: x"
    assert reasons[7] == "POP is not a positive number: 0"
    assert reasons[8] == "more cases (CAS) than residents (POP)"
    assert reasons[9] == "duplicate year and zone of an earlier row"
    assert result.frame["zone_id"].tolist() == ["75", "2A"]


def test_changed_header_raises():
    with pytest.raises(SchemaError, match="CAS"):
        parse("ANNEE;CODGEO;LIBGEO;CASES;POP\n2023;75;x;1;10\n")
