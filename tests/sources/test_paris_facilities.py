import datetime as dt
import hashlib
import re
from pathlib import Path

import pandas as pd
import pytest

from spse.core.errors import SchemaError
from spse.sources.paris_facilities import DATASETS, SOURCE

FOLDER = Path(__file__).resolve().parents[1] / "fixtures" / "sources" / "paris_facilities"
DAY = dt.date(2026, 1, 15)
PART = SOURCE.partition(DAY)
OTHER_HEADER = "Identifiant;Nom;Catégorie;Adresse;Code postal;Arrondissement;Code INSEE;geo_point_2d"


def other(*rows: str, dataset: str = "centres-pmi"):
    payload = ("\ufeff" + "\r\n".join([OTHER_HEADER, *rows]) + "\r\n").encode()
    return SOURCE.parse(payload, f"{dataset}/exports/csv", PART)


@pytest.fixture(autouse=True)
def _all_datasets(monkeypatch):
    monkeypatch.delenv("SPSE_PARIS_FACILITIES_DATASETS", raising=False)


def test_files_and_dataset_override(monkeypatch):
    assert SOURCE.files(DAY) == [f"{d}/exports/csv" for d in DATASETS]
    monkeypatch.setenv("SPSE_PARIS_FACILITIES_DATASETS", "etablissements-scolaires-colleges")
    assert SOURCE.files(DAY) == ["etablissements-scolaires-colleges/exports/csv"]
    monkeypatch.setenv("SPSE_PARIS_FACILITIES_DATASETS", "creches")
    with pytest.raises(ValueError, match="unknown datasets"):
        SOURCE.files(DAY)


def test_exports_a_configured_national_registry_lists_again_are_left_out(monkeypatch):
    monkeypatch.delenv("SPSE_FINESS_URL", raising=False)
    monkeypatch.setenv("SPSE_ANNUAIRE_EDUCATION_URL", "https://data.education.gouv.fr/api")
    assert SOURCE.files(DAY) == ["etablissements-petite-enfance/exports/csv", "centres-pmi/exports/csv",
                                "ehpad/exports/csv", "hopitaux/exports/csv", "centres-de-sante/exports/csv"]
    monkeypatch.setenv("SPSE_FINESS_URL", "https://www.data.gouv.fr/fr/datasets/r/abc")
    assert SOURCE.files(DAY) == ["etablissements-petite-enfance/exports/csv"]
    # naming the exports keeps them (the operator's choice)
    monkeypatch.setenv("SPSE_PARIS_FACILITIES_DATASETS", "hopitaux")
    assert SOURCE.files(DAY) == ["hopitaux/exports/csv"]


def test_recorded_sample():
    result = SOURCE.combine({f: SOURCE.parse((FOLDER / f).read_bytes(), f, PART) for f in SOURCE.files(DAY)})
    frame = result.frame.set_index("facility_id")
    assert result.rejects.empty
    assert frame["category"].value_counts().to_dict() == {
        "ecole_maternelle": 4, "ecole_elementaire": 2, "college": 2, "creche": 2, "pmi": 1, "ehpad": 1,
        "hospital": 1, "centre_sante": 1}
    assert set(frame.loc[frame["dataset_id"].str.startswith("etablissements-scolaires"), "school_year"]) == {
        "2025-2026"}
    eupatoria = "ecole_maternelle:" + hashlib.sha1(b"EUPATORIA (15) MAT|15 RUE D'EUPATORIA").hexdigest()[:12]
    row = frame.loc[eupatoria]
    assert (row["lat"], row["lon"], row["zone_id"]) == (48.8689, 2.3874, "75120")
    # the empty `Année scolaire` is read from "MATERNELLES (année scolaire 2025/2026)"
    assert "SAINT LAMBERT (10) MAT" in set(frame["name"])
    creche = frame.loc["EAJE-0977"]
    assert creche["zone_id"] == "75101" and pd.isna(creche["school_year"])  # from postcode 75001
    assert frame.loc["PMI-0031", "category"] == "pmi"


def test_recorded_sample_capacity_postcode_and_arrondissement():
    result = SOURCE.combine({f: SOURCE.parse((FOLDER / f).read_bytes(), f, PART) for f in SOURCE.files(DAY)})
    frame = result.frame.set_index("facility_id")
    # etablissements-petite-enfance: "EAJE-0412;...;75119;66;..." and "EAJE-0977;...;;45;..."
    assert frame.loc["EAJE-0412", ["capacity", "capacity_unit"]].tolist() == [66, "places"]
    assert frame.loc["EAJE-0977", ["capacity", "postcode", "arrondissement"]].tolist() == [
        45, "75001", "1er arrondissement"]
    assert frame.loc["EHPAD-0007", ["capacity", "capacity_unit"]].tolist() == [84, "beds"]  # "Nombre de lits"
    pmi = frame.loc["PMI-0031"]  # no capacity column in the PMI export
    assert pd.isna(pmi["capacity"]) and pd.isna(pmi["capacity_unit"])
    eupatoria = "ecole_maternelle:" + hashlib.sha1(b"EUPATORIA (15) MAT|15 RUE D'EUPATORIA").hexdigest()[:12]
    school = frame.loc[eupatoria]  # school exports: no postcode, no capacity; postcode from Code INSEE 75120
    assert (school["postcode"], school["arrondissement"]) == ("75020", "20e arrondissement")
    assert pd.isna(school["capacity"])
    assert set(frame["source"]) == {"paris_facilities"}


@pytest.mark.parametrize(("places", "expected"), [("60", 60), ("", None), ("soixante", None), ("12.5", None),
                                                   ("-3", None)])
def test_creche_capacity_is_a_whole_number_or_null(places, expected):
    header = OTHER_HEADER.replace("geo_point_2d", "Nombre de places;geo_point_2d")
    row = f"CRE-1;Crèche Lancry;Crèche collective;5 RUE DE LANCRY;75010;10ème Ardt;75110;{places};48.8697, 2.3605"
    payload = ("\ufeff" + header + "\r\n" + row + "\r\n").encode()
    result = SOURCE.parse(payload, "etablissements-petite-enfance/exports/csv", PART)
    assert result.rejects.empty
    capacity = result.frame["capacity"].iloc[0]
    assert (pd.isna(capacity) if expected is None else capacity == expected)


@pytest.mark.shared_data
@pytest.mark.parametrize(("dataset", "category"), [("colleges", "college"), ("maternelles", "ecole_maternelle"),
                                                   ("ecoles-elementaires", "ecole_elementaire")])
def test_real_school_exports_keep_the_latest_year(shared_data, dataset, category):
    path = shared_data / "facilities" / f"paris_opendata_etablissements-scolaires-{dataset}.csv"
    result = SOURCE.parse(path.read_bytes(), f"etablissements-scolaires-{dataset}/exports/csv", PART)
    frame = result.frame
    raw = pd.read_csv(path, sep=";", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    years = raw["Année scolaire"].where(raw["Année scolaire"] != "", raw.iloc[:, 0].map(
        lambda label: "-".join(re.search(r"(\d{4})/(\d{4})", label).groups())))
    latest = raw.loc[years == years.max()]
    assert result.rejects.empty
    assert set(frame["school_year"]) == {"2025-2026"} and set(frame["category"]) == {category}
    assert len(frame) == len(latest.drop_duplicates(["Libellé établissement", "Adresse"]))
    assert frame["zone_id"].str.fullmatch(r"751(0[1-9]|1\d|20)").all()
    # postcode 750dd and label from `Code INSEE`; the real school exports carry no capacity
    assert (frame["postcode"] == "750" + frame["zone_id"].str.slice(3)).all()
    assert frame["capacity"].isna().all() and frame["capacity_unit"].isna().all()
    SOURCE.check(frame)
    if dataset == "colleges":
        assert len(raw) == 684 and len(frame) == 114  # SOURCES.md: 114 per year over 6 years
        # "PIERRE JEAN DE BERANGER;5 RUE BERANGER;3ème Ardt;75103"
        beranger = frame[frame["name"] == "PIERRE JEAN DE BERANGER"].iloc[0]
        assert (beranger["address"], beranger["postcode"], beranger["arrondissement"]) == (
            "5 RUE BERANGER", "75003", "3e arrondissement")
    if dataset == "maternelles":
        assert len(latest) == 360 and len(frame) == 351  # 9 "Polyvalent" schools listed twice in 2025-2026


@pytest.mark.parametrize(("row", "reason"), [
    ("HOP-9;Hôtel-Dieu;Hôpital;1 PLACE DU PARVIS;75004;4ème Ardt;75104;46.62, 2.45", "coordinates outside Paris"),
    ("PMI-9;Centre sans point;PMI;1 RUE X;75010;10ème Ardt;75110;", "missing or unparseable geo_point_2d"),
    ("PMI-9;Centre;PMI;1 RUE X;75010;10ème Ardt;75110;48.87 2.36", "missing or unparseable geo_point_2d"),
    ("PMI-9;Centre;PMI;1 RUE X;75010;10ème Ardt;48.87, 2.36", "expected 8 fields, found 7"),
])
def test_bad_rows_are_quarantined(row, reason):
    result = other("PMI-1;Centre de PMI Lancry;PMI;5 RUE DE LANCRY;75010;10ème Ardt;75110;48.8697, 2.3605", row)
    assert result.frame["facility_id"].tolist() == ["PMI-1"]
    assert result.rejects["row"].tolist() == [3] and reason in result.rejects["reason"].iloc[0]


def test_school_row_without_a_year_is_quarantined():
    header = ("Type d'établissement - Année scolaire;Libellé établissement;Adresse;Arrondissement;Code INSEE;"
              "Année scolaire;Type établissement;geo_shape;geo_point_2d")
    row = "COLLEGES;ANNE FRANK;38 RUE TROUSSEAU;11ème Ardt;75111;;Collège;;48.8519, 2.3790"
    result = SOURCE.parse(f"{header}\n{row}\n".encode(), "etablissements-scolaires-colleges/exports/csv", PART)
    assert result.frame.empty and "no readable school year" in result.rejects["reason"].iloc[0]


def test_same_id_in_two_datasets_is_quarantined():
    line = "X-1;Centre;PMI;5 RUE DE LANCRY;75010;10ème Ardt;75110;48.8697, 2.3605"
    parsed = {"centres-pmi/exports/csv": other(line), "centres-de-sante/exports/csv": other(
        "X-2;Autre;CDS;1 RUE Y;75010;10ème Ardt;75110;48.8697, 2.3605", line, dataset="centres-de-sante")}
    result = SOURCE.combine(parsed)
    assert sorted(result.frame["facility_id"]) == ["X-1", "X-2"]
    reject = result.rejects.iloc[0]
    assert (reject["file"], reject["row"]) == ("centres-de-sante/exports/csv", 3)
    assert "already used by another dataset" in reject["reason"]


def test_wrong_shapes_are_refused():
    with pytest.raises(SchemaError, match=r"file centres-pmi/exports/csv, row 1: header lacks the columns \['Nom'\]"):
        SOURCE.parse(b"Identifiant;Name;Adresse;Code INSEE;geo_point_2d\n", "centres-pmi/exports/csv", PART)
    with pytest.raises(SchemaError, match="unknown dataset 'creches'"):
        SOURCE.parse(b"a;b\n", "creches/exports/csv", PART)
    with pytest.raises(SchemaError, match="HTML"):
        SOURCE.parse(b"<html><body>Too many requests</body></html>", "centres-pmi/exports/csv", PART)


def test_demo_creche_and_ehpad_exports_give_their_capacities():
    import numpy as np

    from spse.pipeline.demo import facilities as demo
    from spse.pipeline.demo.files import csv_text

    for dataset in demo.DATASETS:
        if dataset.dataset_id not in demo.CAPACITY_COLUMNS:
            continue
        table = demo.frame(dataset, np.random.default_rng(4))
        name = f"{dataset.dataset_id}/exports/csv"
        result = SOURCE.parse(("\ufeff" + csv_text(table, ";")).encode(), name, PART)
        label, low, high = demo.CAPACITY_COLUMNS[dataset.dataset_id]
        expected = table.set_index("Identifiant")[label].astype(int)
        got = result.frame.set_index("facility_id")["capacity"]
        assert (got == expected.loc[got.index]).all() and got.between(low, high).all()
        assert set(result.frame["capacity_unit"]) == {"places" if label == "Nombre de places" else "beds"}
