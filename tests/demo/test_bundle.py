"""The demo bundle: layout, real formats, determinism and the designed facts of docs/demo.md.

Expected values are written by hand from docs/demo.md (and methods.md W4); the checks
recompute them from the generated files with pandas, shapely and pyproj, not with spse code.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import shape

from spse.pipeline import demo
from spse.pipeline.demo import facts

E2_HEADER = ("Date de début;Date de fin;Organisme;code zas;Zas;code site;nom site;type d'implantation;Polluant;"
             "type d'influence;discriminant;Réglementaire;type d'évaluation;procédure de mesure;type de valeur;"
             "valeur;valeur brute;unité de mesure;taux de saisie;couverture temporelle;couverture de données;"
             "code qualité;validité")
STATION_CODES = {"FR04004", "FR04014", "FR04037", "FR04055", "FR04060", "FR04179", "FR04017", "FR04018",
                 "FR04099", "FR04034", "FR04012", "FR04031", "FR04071", "FR04141", "FR04329"}
BACKGROUND = STATION_CODES - {"FR04012", "FR04031", "FR04071", "FR04141", "FR04329"}
SCHOOL_HEADER = ("Type d'établissement - Année scolaire;Libellé établissement;Adresse;Arrondissement;Code INSEE;"
                 "Année scolaire;Type établissement;geo_shape;geo_point_2d")
OTHER_HEADER = "Identifiant;Nom;Catégorie;Adresse;Code postal;Arrondissement;Code INSEE;geo_point_2d"
SCHOOL_DATASETS = ("etablissements-scolaires-maternelles", "etablissements-scolaires-ecoles-elementaires",
                   "etablissements-scolaires-colleges")
OTHER_DATASETS = ("etablissements-petite-enfance", "centres-pmi", "ehpad", "hopitaux", "centres-de-sante")
# E2 files: the UTC days 2025-01-15 (first hours of local 2025-01-16) to 2026-01-15 (docs/demo.md "Layout").
E2_DAYS = [(dt.date(2025, 1, 15) + dt.timedelta(days=i)).isoformat() for i in range(366)]
FILES = [
    "BUNDLE_VERSION",
    *[f"lcsqa_e2/{day[:4]}/FR_E2_{day}.csv" for day in E2_DAYS],
    "lcsqa_stations/stations.csv",
    "bruitparif_rumeur/SiteListByTags.json",
    *[f"bruitparif_rumeur/PeriodicValues2/{site}/{day}.json"
      for site in ("PARIS-PERIPHERIQUE-EST", "PARIS-BD-SOULT", "PARIS-RUE-DE-RIVOLI", "PARIS-QUAI-DE-LA-RAPEE")
      for day in E2_DAYS[1:]],  # local days 2025-01-16 to 2026-01-15
    "noise_map_cbs/N_BRUIT_ZBRD_INFRA_R_A_LD_S_075.geojson",
    "noise_map_cbs/N_BRUIT_ZBRD_INFRA_R_A_LN_S_075.geojson",
    "insee_filosofi_200m/Filosofi2017_carreaux_200m_met.csv",
    "paris_arrondissements/arrondissements/exports/geojson",
    "insee_deces_zone/deces_domicilies_age_zone.csv", "insee_deces_zone/SYNTHETIC.md",
    "insee_tables_mortalite/table_mortalite_zone.csv", "insee_tables_mortalite/SYNTHETIC.md",
    "ihd_incidence_zone/incidence_cardiopathie_ischemique_zone.csv", "ihd_incidence_zone/SYNTHETIC.md",
    "cams_europe_forecast/2026-01-14/cams_europe_ensemble_forecast.nc",
    "cams_europe_forecast/2026-01-15/cams_europe_ensemble_forecast.nc",
    *[f"paris_facilities/{d}/exports/csv" for d in SCHOOL_DATASETS + OTHER_DATASETS],
]
TO_3035 = Transformer.from_crs(4326, 3035, always_xy=True)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return demo.generate(tmp_path_factory.mktemp("bundle") / "demo")


@pytest.fixture(scope="module")
def e2(bundle) -> pd.DataFrame:
    frames = [pd.read_csv(bundle / "lcsqa_e2/2026" / f"FR_E2_{d}.csv", sep=";", dtype=str, keep_default_na=False)
              .assign(file_day=d) for d in ("2026-01-14", "2026-01-15")]
    rows = pd.concat(frames, ignore_index=True)
    rows["start"] = pd.to_datetime(rows["Date de début"], format="%Y/%m/%d %H:%M:%S").dt.tz_localize("UTC")
    rows["end"] = pd.to_datetime(rows["Date de fin"], format="%Y/%m/%d %H:%M:%S").dt.tz_localize("UTC")
    rows["value"] = pd.to_numeric(rows["valeur"].replace("", np.nan))
    rows["local_day"] = rows["start"].dt.tz_convert("Europe/Paris").dt.date.astype(str)
    return rows


@pytest.fixture(scope="module")
def arrondissements(bundle) -> dict[str, shapely.Geometry]:
    doc = json.loads((bundle / "paris_arrondissements/arrondissements/exports/geojson").read_text())
    return {str(f["properties"]["c_arinsee"]): shape(f["geometry"]) for f in doc["features"]}


@pytest.fixture(scope="module")
def cells(bundle) -> pd.DataFrame:
    return pd.read_csv(bundle / "insee_filosofi_200m/Filosofi2017_carreaux_200m_met.csv")


def _daily(e2: pd.DataFrame, pollutant: str, day: str) -> pd.DataFrame:
    rows = e2[(e2["Polluant"] == pollutant) & (e2["local_day"] == day) & (e2["validité"] == "1")]
    return rows.groupby("code site")["value"].agg(["mean", "count", "max"])


def test_layout_is_complete(bundle):
    found = sorted(str(p.relative_to(bundle)) for p in bundle.rglob("*") if p.is_file())
    assert found == sorted(FILES)


def test_two_generations_are_byte_identical(bundle, tmp_path):
    again = demo.generate(tmp_path / "again")
    for relative in FILES:
        assert (again / relative).read_bytes() == (bundle / relative).read_bytes(), relative


def test_marker_holds_the_version(bundle):
    assert (bundle / "BUNDLE_VERSION").read_text().strip() == demo.bundle_version()
    assert demo.is_current(bundle)


def test_e2_header_is_the_real_23_columns(bundle):
    for day in ("2026-01-14", "2026-01-15"):
        raw = (bundle / f"lcsqa_e2/2026/FR_E2_{day}.csv").read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf")
        assert raw.decode("utf-8").split("\n", 1)[0] == E2_HEADER
        assert len(E2_HEADER.split(";")) == 23


def test_e2_files_cover_their_utc_day_hour_by_hour(e2):
    for day, rows in e2.groupby("file_day"):
        assert (rows["start"].dt.strftime("%Y-%m-%d") == day).all()
        per_series = rows.groupby(["code site", "Polluant"])["start"].agg(["count", "nunique", "min", "max"])
        assert (per_series["count"] == 24).all() and (per_series["nunique"] == 24).all()
        assert (per_series["min"].dt.hour == 0).all() and (per_series["max"].dt.hour == 23).all()
    assert ((e2["end"] - e2["start"]) == pd.Timedelta(hours=1)).all()
    constant = {"Organisme": "AIRPARIF", "code zas": "FR11ZAG01", "Zas": "ZAG PARIS", "unité de mesure": "µg-m3",
                "type de valeur": "moyenne horaire validée", "discriminant": "A", "Réglementaire": "Oui",
                "type d'évaluation": "mesures fixes", "taux de saisie": "", "couverture temporelle": "",
                "couverture de données": ""}
    for column, value in constant.items():
        assert (e2[column] == value).all(), column
    assert set(e2["Polluant"]) == {"NO2", "PM10", "PM2.5", "O3"}
    assert set(e2.loc[e2["Polluant"] == "O3", "code site"]) <= BACKGROUND
    assert set(e2["type d'influence"]) == {"Fond", "Trafic"}


def test_e2_valid_and_invalid_rows_follow_the_feed(e2):
    valid = e2[e2["validité"] == "1"]
    invalid = e2[e2["validité"] == "-1"]
    assert len(valid) + len(invalid) == len(e2)
    assert (valid["code qualité"] == "A").all() and (invalid["code qualité"] == "N").all()
    assert (invalid["valeur"] == "").all() and (invalid["valeur brute"] == "").all()
    assert valid["valeur"].str.fullmatch(r"\d+\.\d").all()
    raw = pd.to_numeric(valid["valeur brute"])
    assert (valid["valeur brute"].str.split(".").str[1].str.len() >= 1).all()
    assert np.allclose(raw, valid["value"], atol=0.05)


def test_stations_file_lists_the_fifteen_real_stations(bundle, e2):
    text = (bundle / "lcsqa_stations/stations.csv").read_text(encoding="utf-8")
    assert text.split("\n", 1)[0] == "department,code_site,nom_site,longitude,latitude"
    stations = pd.read_csv(bundle / "lcsqa_stations/stations.csv", dtype={"department": str})
    assert len(stations) == 15 and set(stations["code_site"]) == STATION_CODES
    assert set(e2["code site"]) == STATION_CODES
    row = stations.set_index("code_site").loc["FR04329"]
    assert (row["nom_site"], row["longitude"], row["latitude"]) == ("Bld peripherique Est", 2.412781, 48.838615)


def test_d2_pm10_local_day_means_are_the_designed_ones(e2):
    daily = _daily(e2, "PM10", "2026-01-15")
    expected = {"FR04004": 60.0, "FR04018": 65.0, "FR04099": 57.0, "FR04014": 55.0, "FR04329": 70.0,
                "FR04055": 47.0, "FR04060": 39.0, "FR04179": 35.0, "FR04017": 41.0, "FR04034": 43.0}
    for station, mean in expected.items():
        assert daily.loc[station, "count"] == 24, station
        assert daily.loc[station, "mean"] == pytest.approx(mean, abs=1e-9), station
    above = set(daily.index[(daily["mean"] > 50) & (daily["count"] >= 18)])
    assert above == {"FR04004", "FR04018", "FR04099", "FR04014", "FR04329"}
    assert daily["mean"].max() < 80


def test_d2_pm10_blocks_and_the_utc_day_differ(e2):
    d2 = e2[(e2["code site"] == "FR04004") & (e2["Polluant"] == "PM10") & (e2["local_day"] == "2026-01-15")]
    local_hour = d2["start"].dt.tz_convert("Europe/Paris").dt.hour
    assert d2.loc[local_hour < 12, "value"].mean() == pytest.approx(50.0)
    assert d2.loc[local_hour >= 12, "value"].mean() == pytest.approx(70.0)
    assert d2.loc[local_hour == 0, "value"].item() == 50.0
    utc_day = e2[(e2["code site"] == "FR04004") & (e2["Polluant"] == "PM10") & (e2["file_day"] == "2026-01-15")]
    assert utc_day["value"].mean() == pytest.approx((11 * 50.0 + 12 * 70.0 + 30.0) / 24)


def test_fr04012_pm10_lacks_coverage_on_d2(e2):
    rows = e2[(e2["code site"] == "FR04012") & (e2["Polluant"] == "PM10") & (e2["local_day"] == "2026-01-15")]
    valid = rows[rows["validité"] == "1"]
    assert len(rows) == 24 and len(valid) == 17
    assert valid["value"].mean() == pytest.approx(58.0)
    invalid_local = rows.loc[rows["validité"] == "-1", "start"].dt.tz_convert("Europe/Paris").dt.hour
    assert sorted(invalid_local) == [2, 3, 4, 5, 6, 14, 15]


def test_d1_is_an_ordinary_winter_day(e2):
    pm10 = _daily(e2, "PM10", "2026-01-14")
    assert ((pm10["mean"] >= 20) & (pm10["mean"] <= 40)).all()
    assert (pm10["count"] == 23).all()  # local D1 starts at 23:00 UTC on 2026-01-13, in a file not read here
    assert _daily(e2, "NO2", "2026-01-14")["max"].max() < 150
    assert e2.loc[e2["Polluant"] == "O3", "value"].max() < 80


def test_the_only_no2_above_200_is_the_designed_peak(e2):
    no2 = e2[e2["Polluant"] == "NO2"]
    high = no2[no2["value"] > 200]
    assert len(high) == 1
    peak = high.iloc[0]
    assert (peak["code site"], peak["Date de début"], peak["value"]) == ("FR04329", "2026/01/15 07:00:00", 212.0)
    series = no2[no2["code site"] == "FR04329"].set_index("Date de début")["value"]
    assert series["2026/01/15 06:00:00"] == 184.6 and series["2026/01/15 08:00:00"] == 191.3
    assert no2.loc[no2["code site"].isin(BACKGROUND), "value"].max() < 150


def test_invalid_hours_are_the_designed_ones(e2):
    invalid = e2[e2["validité"] == "-1"]
    found = set(zip(invalid["code site"], invalid["Polluant"], invalid["Date de début"], strict=True))
    expected = {
        ("FR04037", "O3", "2026/01/14 03:00:00"), ("FR04037", "O3", "2026/01/14 04:00:00"),
        ("FR04071", "NO2", "2026/01/14 10:00:00"),
        ("FR04034", "PM2.5", "2026/01/14 15:00:00"), ("FR04034", "PM2.5", "2026/01/14 16:00:00"),
        ("FR04034", "PM2.5", "2026/01/14 17:00:00"),
        ("FR04141", "NO2", "2026/01/15 02:00:00"), ("FR04017", "NO2", "2026/01/15 12:00:00"),
        ("FR04017", "NO2", "2026/01/15 13:00:00"), ("FR04004", "O3", "2026/01/15 20:00:00"),
        *{("FR04012", "PM10", f"2026/01/15 {h:02d}:00:00") for h in (1, 2, 3, 4, 5, 13, 14)},
    }
    assert found == expected


def test_population_totals(cells, arrondissements):
    assert cells["Ind"].sum() == pytest.approx(2_100_000, rel=0.02)
    xy = cells["Idcar_200m"].str.extract(r"^CRS3035RES200mN(\d+)E(\d+)$").astype(int)
    lon, lat = Transformer.from_crs(3035, 4326, always_xy=True).transform(xy[1] + 100, xy[0] + 100)
    zone = pd.Series(index=cells.index, dtype=object)
    for code, polygon in arrondissements.items():
        zone[shapely.contains_xy(polygon, lon, lat)] = code
    assert zone.notna().all()
    sums = cells.groupby(zone)["Ind"].sum()
    for a in facts.ARRONDISSEMENTS:
        assert sums[a.code] == pytest.approx(a.household_population, abs=1e-6), a.code
    assert sums["75115"] == pytest.approx(224_056, abs=1e-6)


def test_cells_are_inside_paris_and_outside_the_woods(cells, arrondissements):
    xy = cells["Idcar_200m"].str.extract(r"^CRS3035RES200mN(\d+)E(\d+)$").astype(int)
    assert ((xy % 200) == 0).all().all()
    lon, lat = Transformer.from_crs(3035, 4326, always_xy=True).transform(xy[1] + 100, xy[0] + 100)
    paris = shapely.union_all(list(arrondissements.values())).buffer(1e-7)
    assert shapely.contains_xy(paris, lon, lat).all()
    for wood_lon, wood_lat in ((2.2480, 48.8620), (2.4400, 48.8300)):  # Bois de Boulogne, Bois de Vincennes
        x, y = TO_3035.transform(wood_lon, wood_lat)
        assert f"CRS3035RES200mN{int(y // 200 * 200)}E{int(x // 200 * 200)}" not in set(cells["Idcar_200m"])
    assert cells["Idcar_200m"].is_unique


def test_cells_follow_the_filosofi_format(bundle, cells):
    header = (bundle / "insee_filosofi_200m/Filosofi2017_carreaux_200m_met.csv").read_text().split("\n", 1)[0]
    assert header == ("Idcar_200m,I_est_200,Idcar_1km,I_est_1km,Idcar_nat,Groupe,Ind,Men,Men_pauv,Men_1ind,Men_5ind,"
                      "Men_prop,Men_fmp,Ind_snv,Men_surf,Men_coll,Men_mais,Log_av45,Log_45_70,Log_70_90,Log_ap90,"
                      "Log_inc,Log_soc,Ind_0_3,Ind_4_5,Ind_6_10,Ind_11_17,Ind_18_24,Ind_25_39,Ind_40_54,Ind_55_64,"
                      "Ind_65_79,Ind_80p,Ind_inc")
    assert ((cells["Men"] < 11) == (cells["I_est_200"] == 1)).all()
    bands = ["Ind_0_3", "Ind_4_5", "Ind_6_10", "Ind_11_17", "Ind_18_24", "Ind_25_39", "Ind_40_54", "Ind_55_64",
             "Ind_65_79", "Ind_80p", "Ind_inc"]
    assert np.allclose(cells[bands].sum(axis=1), cells["Ind"], atol=1e-6)
    imputed = cells[cells["I_est_200"] == 1]
    assert len(imputed) > 0 and (imputed["Ind"] % 1 != 0).any()
    assert (cells.loc[cells["I_est_200"] == 0, "Ind"] % 1 == 0).all()
    assert (cells["Men_pauv"] <= cells["Men"]).all()
    poverty = cells["Men_pauv"].sum() / cells["Men"].sum()
    assert 0.10 < poverty < 0.25


def test_poverty_is_higher_in_the_north_east(cells, arrondissements):
    xy = cells["Idcar_200m"].str.extract(r"N(\d+)E(\d+)").astype(int)
    lon, lat = Transformer.from_crs(3035, 4326, always_xy=True).transform(xy[1] + 100, xy[0] + 100)

    def rate(code: str) -> float:
        inside = shapely.contains_xy(arrondissements[code], lon, lat)
        return cells.loc[inside, "Men_pauv"].sum() / cells.loc[inside, "Men"].sum()

    assert min(rate("75118"), rate("75119"), rate("75120")) > max(rate("75107"), rate("75116"), rate("75106"))


def _facilities(bundle, dataset: str) -> pd.DataFrame:
    return pd.read_csv(bundle / f"paris_facilities/{dataset}/exports/csv", sep=";", dtype=str, keep_default_na=False,
                       encoding="utf-8-sig")


def test_facility_exports_have_the_real_headers(bundle):
    for dataset in SCHOOL_DATASETS + OTHER_DATASETS:
        raw = (bundle / f"paris_facilities/{dataset}/exports/csv").read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf"), dataset
        header = raw[3:].decode("utf-8").split("\n", 1)[0]
        capacity = {"etablissements-petite-enfance": "Nombre de places;", "ehpad": "Nombre de lits;"}.get(dataset, "")
        other = OTHER_HEADER.replace("geo_point_2d", capacity + "geo_point_2d")
        assert header == (SCHOOL_HEADER if dataset in SCHOOL_DATASETS else other), dataset
    for dataset in SCHOOL_DATASETS:
        rows = _facilities(bundle, dataset)
        assert set(rows["Année scolaire"]) == {"2024-2025", "2025-2026"}
        assert rows["Type d'établissement - Année scolaire"].str.fullmatch(
            r"(MATERNELLES|ELEMENTAIRES|COLLEGES) \(année scolaire 202[45]/202[56]\)").all()
        point = rows["geo_shape"].map(lambda s: json.loads(s)["coordinates"])
        assert (point.str[1].astype(str) + ", " + point.str[0].astype(str)).equals(rows["geo_point_2d"])


def test_facilities_lie_in_their_arrondissement(bundle, arrondissements):
    empty = []
    for dataset in SCHOOL_DATASETS + OTHER_DATASETS:
        rows = _facilities(bundle, dataset)
        empty += [(dataset, i) for i in rows.index[rows["geo_point_2d"] == ""]]
        rows = rows[rows["geo_point_2d"] != ""]
        lat, lon = rows["geo_point_2d"].str.split(", ", expand=True).astype(float).T.to_numpy()
        for code, polygon in arrondissements.items():
            mine = (rows["Code INSEE"] == code).to_numpy()
            assert shapely.contains_xy(polygon, lon[mine], lat[mine]).all(), (dataset, code)
    assert len(empty) == 1
    creches = _facilities(bundle, "etablissements-petite-enfance")
    assert creches.loc[empty[0][1], "Identifiant"] == "CRE-0061"
    assert empty[0][0] == "etablissements-petite-enfance"


def test_facility_counts_are_plausible(bundle):
    current = {d: _facilities(bundle, d) for d in SCHOOL_DATASETS}
    counts = {d: (rows["Année scolaire"] == "2025-2026").sum() for d, rows in current.items()}
    assert counts == {"etablissements-scolaires-maternelles": 79, "etablissements-scolaires-ecoles-elementaires": 79,
                      "etablissements-scolaires-colleges": 24}
    others = {d: len(_facilities(bundle, d)) for d in OTHER_DATASETS}
    assert others == {"etablissements-petite-enfance": 61, "centres-pmi": 20, "ehpad": 20, "hopitaux": 12,
                      "centres-de-sante": 12}


def test_a_creche_and_a_maternelle_are_within_100_m_of_fr04329(bundle):
    sx, sy = TO_3035.transform(2.412781, 48.838615)

    def near(rows: pd.DataFrame) -> pd.DataFrame:
        rows = rows[rows["geo_point_2d"] != ""]
        lat, lon = rows["geo_point_2d"].str.split(", ", expand=True).astype(float).T.to_numpy()
        x, y = TO_3035.transform(lon, lat)
        same_cell = (np.floor(x / 200) == math.floor(sx / 200)) & (np.floor(y / 200) == math.floor(sy / 200))
        return rows[(np.hypot(x - sx, y - sy) <= 100) & same_cell]

    creches = near(_facilities(bundle, "etablissements-petite-enfance"))
    assert list(creches["Identifiant"]) == ["CRE-0001"]
    assert creches.iloc[0]["Nom"] == "Crèche collective Soult"
    maternelles = near(_facilities(bundle, "etablissements-scolaires-maternelles"))
    assert set(maternelles["Libellé établissement"]) == {"SOULT (90) MAT"}
    assert "2025-2026" in set(maternelles["Année scolaire"])


def _noise(bundle, site: str, day: str) -> pd.DataFrame:
    doc = json.loads((bundle / f"bruitparif_rumeur/PeriodicValues2/{site}/{day}.json").read_text())
    rows = pd.DataFrame(doc["opendata"]["H"])
    rows["hour"] = rows["i"].str[11:13].astype(int)
    return rows


def _lden(ld: float, le: float, ln: float) -> float:
    return 10 * math.log10((12 * 10 ** (ld / 10) + 4 * 10 ** ((le + 5) / 10) + 8 * 10 ** ((ln + 10) / 10)) / 24)


def _energetic_mean(levels: pd.Series) -> float:
    return 10 * math.log10((10 ** (levels / 10)).mean())


def _period_levels(rows: pd.DataFrame) -> tuple[float, float, float]:
    valid = rows[rows["weight"] >= 0.75]
    day = valid[(valid["hour"] >= 6) & (valid["hour"] < 18)]
    evening = valid[(valid["hour"] >= 18) & (valid["hour"] < 22)]
    night = valid[(valid["hour"] >= 22) | (valid["hour"] < 6)]
    return _energetic_mean(day["LAeq"]), _energetic_mean(evening["LAeq"]), _energetic_mean(night["LAeq"])


def test_noise_site_list(bundle):
    doc = json.loads((bundle / "bruitparif_rumeur/SiteListByTags.json").read_text())
    sites = doc["opendata"]["site"]
    assert [s["site_name"] for s in sites] == ["PARIS-PERIPHERIQUE-EST", "PARIS-BD-SOULT", "PARIS-RUE-DE-RIVOLI",
                                               "PARIS-QUAI-DE-LA-RAPEE"]
    keys = ["site_id", "site_name", "description", "latitude", "longitude", "height", "city", "zip_code", "is_active"]
    assert all(list(s) == keys for s in sites)
    assert all(2.25 < s["longitude"] < 2.42 and 48.82 < s["latitude"] < 48.90 for s in sites)


def test_noise_hours_are_the_local_day(bundle):
    for site in ("PARIS-PERIPHERIQUE-EST", "PARIS-BD-SOULT", "PARIS-RUE-DE-RIVOLI", "PARIS-QUAI-DE-LA-RAPEE"):
        for day in ("2026-01-14", "2026-01-15"):
            rows = _noise(bundle, site, day)
            assert list(rows["i"]) == [f"{day}T{h:02d}:00:00+01:00" for h in range(24)]
            assert list(rows.columns[:3]) == ["i", "LAeq", "weight"]


def test_designed_noise_levels(bundle):
    for day in ("2026-01-14", "2026-01-15"):
        ld, le, ln = _period_levels(_noise(bundle, "PARIS-PERIPHERIQUE-EST", day))
        assert (ld, le, ln) == pytest.approx((76.0, 74.0, 71.0))
        assert _lden(ld, le, ln) == pytest.approx(78.75688, abs=1e-5)
        ld, le, ln = _period_levels(_noise(bundle, "PARIS-QUAI-DE-LA-RAPEE", day))
        assert _lden(ld, le, ln) == pytest.approx(66.11412607, abs=1e-8)  # methods.md W4
    rapee = _noise(bundle, "PARIS-QUAI-DE-LA-RAPEE", "2026-01-15")
    partial = rapee[rapee["weight"] < 0.75]
    assert list(partial["hour"]) == [2, 3] and (partial["LAeq"] == 75.0).all()
    rivoli = _noise(bundle, "PARIS-RUE-DE-RIVOLI", "2026-01-15")
    evening = rivoli[(rivoli["hour"] >= 18) & (rivoli["hour"] < 22)]
    assert (evening["weight"] >= 0.75).sum() == 2  # 2 of 4 evening hours: Le and Lden invalid


def test_noise_map_layers(bundle):
    for indicator, labels in (("LD", ["55-60", "60-65", "65-70", "70-75", ">= 75"]),
                              ("LN", ["50-55", "55-60", "60-65", "65-70", ">= 70"])):
        doc = json.loads((bundle / f"noise_map_cbs/N_BRUIT_ZBRD_INFRA_R_A_{indicator}_S_075.geojson").read_text())
        props = pd.DataFrame([f["properties"] for f in doc["features"]])
        assert list(props.columns) == ["idzonbruit", "codinfra", "legende", "typesource", "cbstype", "indicetype",
                                       "annee", "codedept", "typeterr"]
        assert sorted(set(props["legende"])) == sorted(labels)
        assert (props["typesource"] == "R").all() and (props["cbstype"] == "A").all()
        assert (props["indicetype"] == indicator).all() and (props["annee"] == 2022).all()
        assert (props["codedept"] == "075").all() and props["idzonbruit"].is_unique
        polygons = [shapely.transform(shape(f["geometry"]), lambda c: np.column_stack(TO_3035.transform(*c.T)))
                    for f in doc["features"]]
        assert all(p.is_valid for p in polygons)
        union = shapely.union_all(polygons)
        assert union.area == pytest.approx(sum(p.area for p in polygons), rel=1e-6)  # bands never overlap


def test_arrondissements_export(bundle, arrondissements):
    doc = json.loads((bundle / "paris_arrondissements/arrondissements/exports/geojson").read_text())
    assert len(doc["features"]) == 20
    props = pd.DataFrame([f["properties"] for f in doc["features"]])
    assert list(props.columns) == ["n_sq_ar", "c_ar", "c_arinsee", "l_ar", "l_aroff", "n_sq_co", "surface",
                                   "perimetre", "geom_x_y"]
    assert list(props["c_arinsee"]) == list(range(75101, 75121))
    assert props.loc[0, "l_ar"] == "1er Ardt" and props.loc[19, "l_ar"] == "20ème Ardt"
    for (_, row), polygon in zip(props.iterrows(), arrondissements.values(), strict=True):
        area = shapely.transform(polygon, lambda c: np.column_stack(TO_3035.transform(*c.T))).area
        assert row["surface"] == pytest.approx(area, rel=1e-4)
    total = sum(props["surface"]) / 1e6
    assert 100 < total < 110  # Paris with its woods, about 105 km²
    union = shapely.union_all(list(arrondissements.values()))
    assert union.area == pytest.approx(sum(p.area for p in arrondissements.values()), rel=1e-6)


def test_ensure_generates_once_then_reuses(spse_home):
    root = demo.ensure()
    assert root == spse_home / "demo" and (root / "BUNDLE_VERSION").is_file()
    marker = (root / "BUNDLE_VERSION").stat().st_mtime_ns
    assert demo.ensure() == root and (root / "BUNDLE_VERSION").stat().st_mtime_ns == marker
    (root / "BUNDLE_VERSION").write_text("0+stale\n")
    (root / "stray.txt").write_text("left by an older bundle")
    demo.ensure()
    assert demo.is_current(root) and not (root / "stray.txt").exists()
    assert not [p for p in spse_home.iterdir() if p.name.startswith(".demo")]


def test_demo_days():
    assert [d.isoformat() for d in demo.DEMO_DAYS] == ["2026-01-14", "2026-01-15"]
    assert re.fullmatch(r"\d+\+[0-9a-f]{16}", demo.bundle_version())
