from pathlib import Path

import pytest

from spse.core.errors import SchemaError
from spse.sources.lcsqa_stations import SOURCE

PART = SOURCE.partition(None)

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "sources" / "lcsqa_stations" / "stations.csv"
HEADER = "department,code_site,nom_site,longitude,latitude"


def parse(*lines: str):
    return SOURCE.parse(("\n".join([HEADER, *lines]) + "\n").encode(), "stations.csv", PART)


def test_recorded_sample_values():
    frame = SOURCE.parse(SAMPLE.read_bytes(), "stations.csv", PART).frame.set_index("station_id")
    assert len(frame) == 5
    assert frame.loc["FR04055", "station_name"] == "PARIS 1er Les Halles"
    assert (frame.loc["FR04055", "lon"], frame.loc["FR04055", "lat"]) == (2.3475, 48.8626)
    assert frame.loc["FR04002", "station_name"] == "GENNEVILLIERS, centre"  # quoted comma
    assert frame.loc["FR04002", "department"] == "92"


@pytest.mark.shared_data
def test_real_idf_list(shared_data):
    result = SOURCE.parse((shared_data / "air_e2_lcsqa" / "stations_idf_lcsqa_2021_coords.csv").read_bytes(),
                          "stations.csv", PART)
    frame = result.frame
    assert result.rejects.empty
    assert len(frame) == 51  # SOURCES.md: 14 in Paris, 37 in the other IDF départements
    assert (frame["department"] == "75").sum() == 14
    assert frame["station_id"].str.startswith("FR04").all()
    SOURCE.check(frame)


@pytest.mark.parametrize(("line", "reason"), [
    ("971,FR38001,Pointe-a-Pitre,-61.53,16.24", "outside metropolitan France"),
    ("75,FR04099,Nowhere,2.35,", "missing coordinates"),
    ("75,FR04099,Nowhere,2.35,48,85", "expected 5 fields, found 6"),
    ("75,FR04099,Nowhere,east,48.85", "not numbers"),
    ("75,,Nameless,2.35,48.85", "empty `code_site`"),
    ("75,FR04004,PARIS 18eme again,2.35,48.89", "duplicate station code"),
])
def test_bad_rows_are_quarantined(line, reason):
    result = parse("75,FR04004,PARIS 18eme,2.3467,48.8917", line)
    assert result.frame["station_id"].tolist() == ["FR04004"]
    assert result.rejects["row"].tolist() == [3] and reason in result.rejects["reason"].iloc[0]


def test_changed_header_is_refused():
    with pytest.raises(SchemaError, match=r"feed lcsqa_stations, file stations.csv, row 1: .*\['latitude'\]"):
        SOURCE.parse(b"department,code_site,nom_site,longitude,lat\n75,FR04004,X,2.3,48.8\n", "stations.csv", PART)


def test_html_page_is_refused():
    with pytest.raises(SchemaError, match="HTML"):
        SOURCE.parse(b"<html><body>Not found</body></html>", "stations.csv", PART)
