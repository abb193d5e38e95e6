"""Filosofi 200 m from INSEE's ZIP: member choice, streaming Paris filter, shared mapping, failures."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest

from spse.core.errors import SchemaError
from spse.sources import insee_filosofi_200m
from spse.sources.insee_filosofi_zip import PARIS_BBOX_3035, SOURCE, InseeFilosofiZip

PART = SOURCE.partition(None)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources" / "insee_filosofi_zip"
ARCHIVE = "Filosofi2019_carreaux_200m_csv.zip"
MEMBER = "carreaux_200m_met.csv"


def member_text(path: Path = FIXTURES / ARCHIVE) -> str:
    with zipfile.ZipFile(path) as archive:
        return archive.read(MEMBER).decode()


def build_zip(members: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, body in members.items():
            archive.writestr(name, body if isinstance(body, bytes) else body.encode())
    return buffer.getvalue()


def test_paris_cells_of_the_metropolitan_member():
    result = SOURCE.parse((FIXTURES / ARCHIVE).read_bytes(), ARCHIVE, PART)
    frame = result.frame.set_index("cell_id")
    assert result.rejects.empty
    # Kept: lcog_geo 75104, 75104, 75103 and the boundary cell 75117+92044; dropped: Levallois
    # only (92044), Lyon (69381), Marseille (13201) and the Réunion member.
    assert list(frame.index) == ["CRS3035RES200mN2889000E3760000", "CRS3035RES200mN2889000E3760200",
                                 "CRS3035RES200mN2889200E3760000", "CRS3035RES200mN2893400E3757200"]
    first = frame.loc["CRS3035RES200mN2889000E3760000"]
    assert (first["x_3035"], first["y_3035"]) == (3760000, 2889000)
    assert first["population"] == 1250.0
    assert first["pop_0_5"] == 40.0 + 22.0
    assert first["pop_65p"] == 120.0 + 38.0
    assert first["pop_poor_households"] == pytest.approx(1250.0 * 80.0 / 640.0)  # 156.25
    assert frame["is_imputed"].tolist() == [False, False, True, False]
    SOURCE.check(result.frame)


def test_same_schema_as_the_plain_csv_source():
    assert SOURCE.columns is insee_filosofi_200m.SOURCE.columns
    assert SOURCE.dataset == insee_filosofi_200m.SOURCE.dataset == "population"
    assert SOURCE.optional and SOURCE.partition_for(None) == insee_filosofi_200m.SOURCE.partition_for(None)


def test_small_blocks_give_the_same_rows_and_line_numbers():
    text = member_text().replace(",6.4,", ",-6.4,")  # line 4: a negative count
    payload = build_zip({MEMBER: text})
    whole = SOURCE.parse(payload, ARCHIVE, PART)
    blocks = InseeFilosofiZip(block_bytes=300).parse(payload, ARCHIVE, PART)
    assert blocks.frame.equals(whole.frame) and len(whole.frame) == 3
    assert blocks.rejects["row"].tolist() == whole.rejects["row"].tolist() == [4]
    assert blocks.rejects.loc[0, "file"] == f"{ARCHIVE}/{MEMBER}"
    assert blocks.rejects.loc[0, "source"] == "insee_filosofi_zip"


def test_wrong_field_count_on_a_paris_line_is_quarantined():
    lines = member_text().splitlines()
    lines[2] = lines[2].rsplit(",", 3)[0]
    result = SOURCE.parse(build_zip({MEMBER: "\n".join(lines) + "\n"}), ARCHIVE, PART)
    assert result.rejects["row"].tolist() == [3]
    assert result.rejects.loc[0, "reason"] == "expected 34 fields, found 31"
    assert len(result.frame) == 3


def test_2017_names_and_capitalised_columns():
    header = ("Idcar_200m,Idcar_1km,Idcar_nat,I_est_200,I_est_1km,lcog_geo,Groupe,Ind,Men,Men_pauv,Ind_0_3,Ind_4_5,"
              "Ind_65_79,Ind_80p")
    rows = ["CRS3035RES200mN2889000E3760000,x,x,0,0,75104,1,100.0,50.0,10.0,4.0,2.0,8.0,3.0",
            "CRS3035RES200mN2520000E3925000,x,x,0,0,69381,2,90.0,40.0,5.0,3.0,1.0,7.0,2.0"]
    payload = build_zip({"Filosofi2017_carreaux_200m_met.csv": "\n".join([header, *rows]),
                         "Filosofi2017_carreaux_200m_mart.csv": header + "\n"})
    frame = SOURCE.parse(payload, "Filosofi2017_carreaux_200m_csv.zip", PART).frame
    assert frame["cell_id"].tolist() == ["CRS3035RES200mN2889000E3760000"]
    assert frame.loc[0, "pop_poor_households"] == pytest.approx(100.0 * 10.0 / 50.0)


def test_2015_depcom_of_the_whole_city_is_paris():
    header = "IdINSPIRE;I_est_cr;Depcom;Ind;Men;Men_pauv"
    rows = ["CRS3035RES200mN2889000E3760000;0;75056;100;50;10", "CRS3035RES200mN2892000E3755000;0;92044;80;40;4"]
    payload = build_zip({"Filosofi2015_carreaux_200m_metropole.csv": "\n".join([header, *rows])})
    frame = SOURCE.parse(payload, "Filosofi2015_carreaux_200m_csv.zip", PART).frame
    assert frame["cell_id"].tolist() == ["CRS3035RES200mN2889000E3760000"]


def test_without_commune_codes_the_bounding_box_selects():
    x_min, y_min, _, y_max = PARIS_BBOX_3035
    header = "idcar_200m,i_est_200,ind,men,men_pauv"
    cells = {
        "inside": (3760000, 2889000),
        "south-west corner cell": (int(x_min), int(y_min)),
        "straddling the west edge": (int(x_min) - 100, 2889000),  # not on the grid: quarantined, but selected
        "west of the box": (int(x_min) - 200, 2889000),
        "north of the box": (3760000, int(y_max)),
    }
    rows = [f"CRS3035RES200mN{y}E{x},0,10,5,1" for x, y in cells.values()]
    result = SOURCE.parse(build_zip({MEMBER: "\n".join([header, *rows])}), ARCHIVE, PART)
    assert result.frame["cell_id"].tolist() == ["CRS3035RES200mN2889000E3760000",
                                                f"CRS3035RES200mN{int(y_min)}E{int(x_min)}"]
    assert result.rejects["row"].tolist() == [4]
    assert "200 m grid" in result.rejects.loc[0, "reason"]
    narrow = InseeFilosofiZip(bbox_3035=(3759000.0, 2888000.0, 3761000.0, 2890000.0))
    assert narrow.parse(build_zip({MEMBER: "\n".join([header, *rows])}), ARCHIVE, PART).frame["cell_id"].tolist() == \
        ["CRS3035RES200mN2889000E3760000"]


def test_nested_zip_is_opened():
    inner = (FIXTURES / ARCHIVE).read_bytes()
    payload = build_zip({"Filosofi2019_carreaux_200m_met_csv.zip": inner, "documentation.pdf": b"%PDF-1.4"})
    assert len(SOURCE.parse(payload, ARCHIVE, PART).frame) == 4


@pytest.mark.parametrize(("payload", "message"), [
    (b"<!DOCTYPE html><html><body>Service indisponible</body></html>", "HTML"),
    (b"idcar_200m,ind\nCRS3035RES200mN2889000E3760000,1\n", "not a ZIP archive"),
    (build_zip({"carreaux_200m_reun.csv": "idcar_200m,ind\n", "notice.txt": "x"}), "no metropolitan 200 m CSV"),
    (build_zip({"Filosofi2019_carreaux_200m_met.7z": b"7z\xbc\xaf'\x1c"}), "7z"),
    (build_zip({MEMBER: "idcar_200m,lcog_geo,ind\nCRS3035RES200mN2520000E3925000,69381,5\n"}), "no Paris cell"),
    (build_zip({MEMBER: "idcar_200m,lcog_geo,ind\nCRS3035RES200mN2889000E3760000,75104,5\xe9\n".encode("latin-1")}),
     "not UTF-8"),
    (build_zip({MEMBER: "identifiant,ind\nCRS3035RES200mN2889000E3760000,5\n"}), "idcar_200m"),
])
def test_files_in_the_wrong_shape_raise(payload, message):
    with pytest.raises(SchemaError, match=message) as error:
        SOURCE.parse(payload, ARCHIVE, PART)
    assert "feed insee_filosofi_zip" in str(error.value) and ARCHIVE in str(error.value)


def test_truncated_archive_raises():
    payload = (FIXTURES / ARCHIVE).read_bytes()
    with pytest.raises(SchemaError, match="truncated or damaged"):
        SOURCE.parse(payload[: len(payload) // 2], ARCHIVE, PART)


def test_damaged_member_raises():
    big = member_text() + "".join(f"CRS3035RES200mN{2520000 + 200 * i}E3925000,a,b,0,0,69381{',1' * 28}\n"
                                  for i in range(2000))
    payload = bytearray(build_zip({MEMBER: big}))
    start = payload.index(MEMBER.encode()) + len(MEMBER)
    payload[start + 200: start + 260] = bytes(60)  # zeroes inside the deflate stream
    with pytest.raises(SchemaError, match="damaged or truncated member"):
        SOURCE.parse(bytes(payload), ARCHIVE, PART)


def test_archive_url(monkeypatch):
    url = "https://www.insee.fr/fr/statistiques/fichier/6215217/Filosofi2017_carreaux_200m_csv.zip"
    monkeypatch.setenv("SPSE_INSEE_FILOSOFI_ZIP_URL", url)
    assert SOURCE.files(None) == ["Filosofi2017_carreaux_200m_csv.zip"]
    assert SOURCE.url_for(url, "Filosofi2017_carreaux_200m_csv.zip") == url
    monkeypatch.setenv("SPSE_INSEE_FILOSOFI_ZIP_URL", "https://mirror.example.org/insee")
    assert SOURCE.files(None) == [ARCHIVE]
    assert SOURCE.url_for("https://mirror.example.org/insee", ARCHIVE) == f"https://mirror.example.org/insee/{ARCHIVE}"


def test_real_filosofi_strip_in_an_archive(shared_data, tmp_path):
    """The real 2019 Paris strip (age bands, households) packed as INSEE packs it; no lcog_geo, so the box selects."""
    sample = shared_data / "population" / "filosofi2019_200m_paris_strip_ages_households.csv"
    with sample.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    payload = build_zip({MEMBER: sample.read_bytes(), "carreaux_200m_reun.csv": "idcar_200m,ind\n"})
    result = SOURCE.parse(payload, ARCHIVE, PART)
    frame = result.frame.set_index("cell_id")
    assert result.rejects.empty and len(frame) == len(rows)
    assert frame["population"].sum() == pytest.approx(sum(float(r["ind"]) for r in rows))
    first = rows[0]
    cell = frame.loc[first["idcar_200m"]]
    assert (cell["x_3035"], cell["y_3035"]) == (int(first["x_laea_ll"]), int(first["y_laea_ll"]))
    assert cell["pop_0_5"] == pytest.approx(float(first["ind_0_3"]) + float(first["ind_4_5"]))
    assert cell["households_poor"] == pytest.approx(float(first["men_pauv"]))
    assert bool(cell["is_imputed"]) == (first["i_est_200"] == "1")
