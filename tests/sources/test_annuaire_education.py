"""Annuaire de l'éducation (ODS CSV export): categories, selection, header forms, quarantine."""

from __future__ import annotations

from pathlib import Path

import pytest

from spse.core.errors import SchemaError
from spse.sources.annuaire_education import SOURCE, fold

PART = SOURCE.partition(None)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources" / "annuaire_education"
NAME = "fr-en-annuaire-education/exports/csv"


def sample_text() -> str:
    return (FIXTURES / NAME).read_bytes().decode("utf-8-sig")


def lines() -> list[str]:
    return sample_text().split("\r\n")[:-1]


def encode(rows: list[str]) -> bytes:
    return ("\ufeff" + "\r\n".join(rows) + "\r\n").encode("utf-8")


def parse(payload: bytes):
    return SOURCE.parse(payload, NAME, PART)


def test_open_paris_schools_by_category():
    result = parse((FIXTURES / NAME).read_bytes())
    frame = result.frame.set_index("facility_id")
    assert result.rejects.empty
    # The closed école (etat FERME) and the CIO (not a school) are out of scope.
    assert list(frame.index) == ["uai:0751234A:ecole_maternelle", "uai:0752345B:ecole_maternelle",
                                 "uai:0752345B:ecole_elementaire", "uai:0753456C:college", "uai:0754567D:lycee"]
    assert frame["category"].tolist() == ["ecole_maternelle", "ecole_maternelle", "ecole_elementaire", "college",
                                          "lycee"]
    assert frame["capacity"].tolist() == [120, 310, 310, 512, 1204]  # nombre_d_eleves
    assert frame["zone_id"].tolist() == ["75118", "75111", "75111", "75120", "75104"]
    lepic = frame.loc["uai:0751234A:ecole_maternelle"]
    assert (lepic["name"], lepic["lon"], lepic["lat"]) == ("École maternelle Lepic", 2.334, 48.8855)
    assert lepic["address"] == "10 rue Lepic, 75018 Paris 18e Arrondissement"
    assert set(frame["dataset_id"]) == {"fr-en-annuaire-education"} and frame["school_year"].isna().all()
    SOURCE.check(result.frame)


def test_capacity_is_the_pupil_count_with_postcode_and_arrondissement():
    frame = parse((FIXTURES / NAME).read_bytes()).frame.set_index("facility_id")
    # fixture row "0753456C;Collège Pierre Mendès-France;...;75020;75120;...;512;..."
    college = frame.loc["uai:0753456C:college"]
    assert (college["capacity"], college["capacity_unit"]) == (512, "pupils")
    assert (college["postcode"], college["arrondissement"]) == ("75020", "20e arrondissement")
    # the école primaire Saint-Joseph (310 pupils) has both rows, each with the whole count
    assert frame.loc[["uai:0752345B:ecole_maternelle", "uai:0752345B:ecole_elementaire"], "capacity"].tolist() == [
        310, 310]
    assert frame.loc["uai:0754567D:lycee", "arrondissement"] == "4e arrondissement"
    assert set(frame["source"]) == {"annuaire_education"}


@pytest.mark.parametrize("style", ["capitalised", "spelt"])
def test_label_headers_are_read_like_field_names(style):
    rows = lines()
    names = rows[0].split(";")
    if style == "capitalised":
        labels = [n[0].upper() + n[1:] for n in names]
    else:
        labels = [{"identifiant_de_l_etablissement": "Identifiant de l'établissement",
                   "nom_etablissement": "Nom établissement", "type_etablissement": "Type établissement",
                   "nombre_d_eleves": "Nombre d'élèves", "etat": "État"}.get(n, n) for n in names]
    result = parse(encode([";".join(labels), *rows[1:]]))
    assert result.frame.equals(parse((FIXTURES / NAME).read_bytes()).frame)


def test_fold():
    assert fold("Identifiant de l'établissement") == "identifiant_de_l_etablissement"
    assert fold("Nombre_d_eleves") == "nombre_d_eleves"


def test_row_problems_are_quarantined_with_line_numbers():
    rows = lines()
    header = rows[0]
    extra = [
        # line 8: Lyon coordinates
        "0691234X;École Lyon;Ecole;Public;1 rue X;;69001;69381;Lyon;075;Paris;Paris;45.76;4.83;1;0;100;;OUVERT",
        # line 9: neither flag
        "0757777Z;École spécialisée;Ecole;Public;2 rue Y;;75013;75113;Paris;075;Paris;Paris;48.83;2.36;0;0;40;;OUVERT",
        # line 10: repeated UAI
        rows[1],
        # line 11: wrong field count
        "0758888Y;Collège court;Collège;Public;48.85;2.35;OUVERT",
        # line 12: another département, out of scope (not quarantined)
        "0921234K;École Boulogne;Ecole;Public;1 rue Z;;92100;92012;Boulogne;092;Hauts-de-Seine;Versailles;48.83;2.24;"
        "1;0;90;;OUVERT",
        # line 13: closed and without coordinates: out of scope, not quarantined
        "0759999W;Ancien collège;Collège;Public;3 rue W;;75015;75115;Paris;075;Paris;Paris;;;;;;;FERME",
    ]
    result = parse(encode([header, *rows[1:], *extra]))
    reasons = dict(zip(result.rejects["row"], result.rejects["reason"], strict=True))
    assert sorted(reasons) == [8, 9, 10, 11]
    assert reasons[8].startswith("coordinates outside Paris")
    assert reasons[9] == "école with neither ecole_maternelle nor ecole_elementaire"
    assert reasons[10].startswith("UAI of an earlier row repeated")
    assert reasons[11].startswith("expected 19 fields, found 7")
    assert len(result.frame) == 5


def test_invalid_utf8_bytes_quarantine_their_row_only():
    payload = (FIXTURES / NAME).read_bytes()
    latin1_row = "0757000A;École Cité Falguière;Ecole;Public;1 cité Falguière;;75015;75115;Paris;075;Paris;Paris;" \
                 "48.84;2.31;1;0;90;;OUVERT\r\n"
    result = parse(payload + latin1_row.encode("latin-1"))
    assert result.rejects["row"].tolist() == [8]
    assert "invalid UTF-8" in result.rejects.loc[0, "reason"]
    assert parse(payload).frame.equals(result.frame)


def test_not_a_csv_or_missing_columns_raise():
    with pytest.raises(SchemaError, match="HTML"):
        parse(b"<html><head><title>502 Bad Gateway</title></head></html>")
    rows = lines()
    header = rows[0].replace("latitude", "lat_wgs84")
    with pytest.raises(SchemaError, match="latitude") as error:
        parse(encode([header, *rows[1:]]))
    assert "feed annuaire_education" in str(error.value) and NAME in str(error.value)


def test_http_url_carries_the_paris_filter():
    base = "https://data.education.gouv.fr/api/explore/v2.1/catalog/datasets"
    assert SOURCE.url_for(base, NAME) == (f"{base}/{NAME}?delimiter=%3B&where=code_departement%3D%22075%22")
    assert SOURCE.url_for("/data/demo/annuaire_education", NAME) == f"/data/demo/annuaire_education/{NAME}"
