"""Life tables (INSEE layout [U]): values read off the sample by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from spse.core.errors import SchemaError
from spse.sources.insee_tables_mortalite import SOURCE

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources" / "insee_tables_mortalite"
NAME = "table_mortalite_zone.csv"
HEADER = "ANNEE;CODGEO;LIBGEO;SEXE;AGE;QX;EX\n"


def parse(text: str):
    return SOURCE.parse(text.encode(), NAME, SOURCE.partition(None))


def test_fixture_rows_with_qx_as_a_probability():
    result = parse((FIXTURES / NAME).read_text())
    frame = result.frame
    assert result.rejects.empty and len(frame) == 5
    paris = frame[(frame["zone_id"] == "75") & (frame["sex"] == "_T")].set_index("age")
    assert paris.index.tolist() == [80, 81, 82]
    assert paris.loc[80, "qx"] == pytest.approx(0.0395, abs=1e-12)  # 3 950 per 100 000
    assert paris.loc[82, "qx"] == 1.0 and paris.loc[81, "ex"] == 10.1
    assert frame.loc[frame["zone_id"] == "FM", "zone_name"].tolist() == ["France métropolitaine"]
    assert set(frame["year"]) == {2023}
    SOURCE.check(frame)


def test_bad_rows_are_quarantined_with_their_line():
    text = HEADER + "\n".join([
        "2023;75;Paris;_T;30;60;54.2",
        "23;75;Paris;_T;31;60;53.2",
        "2023;7;Paris;_T;32;60;52.2",
        "2023;75;Paris;H;33;60;51.3",
        "2023;75;Paris;_T;33.5;60;51.3",
        "2023;75;Paris;_T;34;100001;50.3",
        "2023;75;Paris;_T;35;70;-1",
        "2023;75;Paris;_T;30;60;54.2",
        "2023;75056;Paris;_T;30;60;54.2",
    ]) + "\n"
    result = parse(text)
    reasons = dict(zip(result.rejects["row"], result.rejects["reason"], strict=True))
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9]
    assert reasons[3] == "ANNEE is not a year: 23"
    assert reasons[4] == "CODGEO is not a zone code: 7"
    assert reasons[5] == "SEXE is not M, F or _T: H"
    assert reasons[6] == "AGE is not a whole age: 33.5"
    assert reasons[7] == "QX is not a probability per 100 000: 100001"
    assert reasons[8] == "EX is not a life expectancy: -1"
    assert reasons[9] == "duplicate year, zone, sex and age of an earlier row"
    assert result.frame["zone_id"].tolist() == ["75", "75056"]


def test_changed_header_raises():
    with pytest.raises(SchemaError, match="EX"):
        parse("ANNEE;CODGEO;LIBGEO;SEXE;AGE;QX;E0\n2023;75;x;_T;30;60;54\n")
