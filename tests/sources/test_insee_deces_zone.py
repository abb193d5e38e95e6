"""Baseline mortality table (INSEE état civil layout [U]): values read off the sample by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from spse.core.errors import SchemaError
from spse.sources.insee_deces_zone import SOURCE, age_band

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources" / "insee_deces_zone"
NAME = "deces_domicilies_age_zone.csv"
HEADER = "ANNEE;CODGEO;LIBGEO;AGE;DECES;POP\n"


def parse(text: str):
    return SOURCE.parse(text.encode(), NAME, SOURCE.partition(None))


def test_fixture_rows_without_the_total():
    result = parse((FIXTURES / NAME).read_text())
    frame = result.frame
    assert result.rejects.empty
    assert len(frame) == 8  # 9 data lines, the `_T` total skipped
    row = frame.set_index(["zone_id", "age_min"]).loc[("75113", 30)]
    assert (row["year"], row["age_max"], row["deaths"], row["population"]) == (2023, 64, 205.0, 86240.0)
    thirteenth = frame[frame["zone_id"] == "75113"]
    # 30+ residents of the 13e: 86 240 + 22 700 + 9 440; deaths 205 + 296 + 612
    assert thirteenth.loc[thirteenth["age_min"] >= 30, "population"].sum() == 118380.0
    assert thirteenth.loc[thirteenth["age_min"] >= 30, "deaths"].sum() == 1113.0
    assert frame.loc[frame["age_min"] == 80, "age_max"].isna().all()
    SOURCE.check(frame)


@pytest.mark.parametrize(("code", "band"), [("Y30T64", (30, 64)), ("Y_GE80", (80, None)), ("Y_LT30", (0, 29)),
                                            ("Y65T79", (65, 79)), ("Y64T30", None), ("30-64", None),
                                            ("Y_LT0", None)])
def test_age_codes(code, band):
    assert age_band(code) == band


def test_bad_rows_are_quarantined_with_their_line():
    text = HEADER + "\n".join([
        "2023;75113;Paris 13e;Y30T64;205;86240",
        "23;75113;Paris 13e;Y65T79;296;22700",
        "2023;7511;Paris 13e;Y65T79;296;22700",
        "2023;75113;Paris 13e;Y30-64;1;10",
        "2023;75113;Paris 13e;Y65T79;-1;22700",
        "2023;75113;Paris 13e;Y_GE80;612;0",
        "2023;75113;Paris 13e;Y_LT30;50;40",
        "2023;75113;Paris 13e;Y30T64;200;86000",
        "2023;2A004;Ajaccio;Y_GE80;300;5000",
    ]) + "\n"
    result = parse(text)
    reasons = dict(zip(result.rejects["row"], result.rejects["reason"], strict=True))
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9]
    assert reasons[3] == "ANNEE is not a year: 23"
    assert reasons[4] == "CODGEO is not an INSEE code: 7511"
    assert reasons[5] == "unknown AGE code: Y30-64"
    assert reasons[6] == "DECES is not a count: -1"
    assert reasons[7] == "POP is not a positive number: 0"
    assert reasons[8] == "more deaths (DECES) than residents (POP)"
    assert reasons[9] == "duplicate year, zone and age band of an earlier row"
    assert result.frame["zone_id"].tolist() == ["75113", "2A004"]


def test_changed_header_raises():
    with pytest.raises(SchemaError, match="DECES"):
        parse("ANNEE;CODGEO;LIBGEO;AGE;MORTS;POP\n2023;75113;x;Y30T64;1;10\n")
