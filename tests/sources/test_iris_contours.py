"""IRIS contours: three property spellings, CRS member, make_valid repair, code checks, the real 992."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import shapely

from spse.core.errors import SchemaError
from spse.sources.iris_contours import SOURCE

PART = SOURCE.partition(None)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources" / "iris_contours"
NAME = "iris/exports/geojson"
PARIS_AREA_KM2 = 105.4  # methods.md §7.3, with the Bois de Boulogne and de Vincennes


def collection(features, crs: str | None = None) -> bytes:
    doc = {"type": "FeatureCollection", "features": features}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{crs}"}}
    return json.dumps(doc).encode()


def feature(props, ring):
    return {"type": "Feature", "properties": props, "geometry": {"type": "Polygon", "coordinates": [ring]}}


def rectangle(x, y, w, h):
    return [[x, y], [x + w, y], [x + w, y + h], [x, y + h], [x, y]]


def test_ods_export_fields():
    result = SOURCE.parse((FIXTURES / NAME).read_bytes(), NAME, PART)
    frame = result.frame.set_index("zone_id")
    assert result.rejects.empty
    assert list(frame.index) == ["751124811", "751083006", "751124899"]
    assert frame["zone_label"].tolist() == ["Quinze-Vingts 11 (12e)", "Faubourg du Roule 6 (8e)",
                                            "Bois de Vincennes 1 (12e)"]
    assert frame["parent_zone_id"].tolist() == ["75112", "75108", "75112"]
    assert frame["iris_type"].tolist() == ["H", "A", "D"]
    assert set(frame["zone_level"]) == {"iris"} and not frame["geometry_repaired"].any()
    # A 0.002° square at latitude φ: (0.002·π/180·R)² · cos φ with R = 6 371 km (spherical, ±0.5 %).
    side = 0.002 * math.pi / 180 * 6_371_000
    expected = side * side * math.cos(math.radians(48.846))
    assert frame.loc["751124811", "area_m2"] == pytest.approx(expected, rel=5e-3)
    x0, y0, *_ = shapely.bounds(shapely.from_wkt(frame.loc["751124811", "geometry_wkt"]))
    assert 3_751_000 < x0 < 3_770_000 and 2_884_000 < y0 < 2_895_000  # in Paris, EPSG:3035 metres
    SOURCE.check(result.frame)


def test_ign_field_names_in_lambert93():
    props = {"CODE_IRIS": "751010101", "NOM_IRIS": "Saint-Germain-l'Auxerrois 1", "INSEE_COM": "75101",
             "NOM_COM": "Paris 1er Arrondissement", "IRIS": "0101", "TYP_IRIS": "A"}
    payload = collection([feature(props, rectangle(651000, 6862000, 100, 200))], crs="2154")
    frame = SOURCE.parse(payload, NAME, PART).frame
    assert frame.loc[0, ["zone_id", "zone_name", "zone_label", "parent_zone_id", "iris_type"]].tolist() == \
        ["751010101", "Saint-Germain-l'Auxerrois 1", "Saint-Germain-l'Auxerrois 1 (1er)", "75101", "A"]
    # 20 000 m² in Lambert-93, whose scale error near Paris is below 0.1 %.
    assert frame.loc[0, "area_m2"] == pytest.approx(20_000, rel=2e-3)


def test_sample_property_names_and_numeric_codes():
    props = {"code_iris": 751124811, "nom_iris": "Quinze-Vingts 11", "c_ar": 12, "insee_arr": "75112",
             "nb_pop_apur": 0, "apur_iris_label": "Quinze Vingts 11"}
    payload = collection([feature(props, rectangle(3762000, 2888000, 100, 100))], crs="3035")
    frame = SOURCE.parse(payload, NAME, PART).frame
    assert frame.loc[0, "zone_id"] == "751124811" and frame["iris_type"].isna().all()
    assert frame.loc[0, "area_m2"] == pytest.approx(10_000)


def test_code_built_from_commune_and_iris():
    props = {"insee_com": "75112", "iris": "4811", "nom_iris": "Quinze-Vingts 11", "typ_iris": "H"}
    payload = collection([feature(props, rectangle(3762000, 2888000, 100, 100))], crs="3035")
    frame = SOURCE.parse(payload, NAME, PART).frame
    assert frame["zone_id"].tolist() == ["751124811"]


def test_self_intersecting_polygon_is_repaired_and_flagged():
    bowtie = [[3760000, 2889000], [3760200, 2889200], [3760200, 2889000], [3760000, 2889200], [3760000, 2889000]]
    props = {"code_iris": "751124811", "nom_iris": "Quinze-Vingts 11", "typ_iris": "H"}
    result = SOURCE.parse(collection([feature(props, bowtie)], crs="3035"), NAME, PART)
    assert result.rejects.empty
    assert bool(result.frame.loc[0, "geometry_repaired"]) is True
    # Two triangles of base 200 m and height 100 m.
    assert result.frame.loc[0, "area_m2"] == pytest.approx(2 * 200 * 100 / 2)
    assert shapely.is_valid(shapely.from_wkt(result.frame.loc[0, "geometry_wkt"]))


def test_bad_codes_types_and_geometries_are_quarantined():
    ring = rectangle(3762000, 2888000, 100, 100)
    cases = [
        {"code_iris": "75112481", "nom_iris": "short"},                                   # 8 characters
        {"code_iris": "751214811", "nom_iris": "21e"},                                    # no 21st arrondissement
        {"code_iris": "920124811", "nom_iris": "Boulogne"},                               # not Paris
        {"code_iris": "751124811", "nom_iris": "x", "insee_com": "75111"},               # commune disagrees
        {"code_iris": "751124812", "nom_iris": "x", "typ_iris": "Z"},                     # unknown type
        {"code_iris": "751124813", "nom_iris": "ok", "typ_iris": "H"},                    # kept
        {"code_iris": "751124813", "nom_iris": "again", "typ_iris": "H"},                 # repeated
    ]
    features = [feature(props, ring) for props in cases]
    features.append({"type": "Feature", "properties": {"code_iris": "751124814", "nom_iris": "line"},
                     "geometry": {"type": "LineString", "coordinates": ring[:2]}})
    result = SOURCE.parse(collection(features, crs="3035"), NAME, PART)
    reasons = dict(zip(result.rejects["row"], result.rejects["reason"], strict=True))
    assert sorted(reasons) == [1, 2, 3, 4, 5, 7, 8]
    assert reasons[1].startswith("code_iris is not 9 characters")
    assert reasons[3].startswith("code_iris is not 9 characters")
    assert reasons[4] == "commune code 75111 does not start code_iris 751124811"
    assert reasons[5] == "typ_iris is not H, A or D: Z"
    assert reasons[7].startswith("duplicate code_iris")
    assert reasons[8] == "geometry is not a Polygon or MultiPolygon"
    assert result.frame["zone_id"].tolist() == ["751124813"]


def test_not_geojson_raises():
    with pytest.raises(SchemaError, match="HTML"):
        SOURCE.parse(b"<!doctype html><title>Error</title>", NAME, PART)
    with pytest.raises(SchemaError, match="FeatureCollection"):
        SOURCE.parse(b'{"results": []}', NAME, PART)
    with pytest.raises(SchemaError, match="code_iris"):
        SOURCE.parse(collection([feature({"nom": "x"}, rectangle(0, 0, 1, 1))]), NAME, PART)


def test_http_url_filters_paris():
    url = SOURCE.url_for("https://data.iledefrance.fr/api/explore/v2.1/catalog/datasets", NAME)
    assert url.endswith("/iris/exports/geojson?where=insee_com%20like%20%22751%25%22")


def test_real_paris_iris_contours(shared_data):
    payload = (shared_data / "geo_paris" / "paris_iris_contours_992.geojson").read_bytes()
    result = SOURCE.parse(payload, NAME, PART)
    frame = result.frame
    assert result.rejects.empty and len(frame) == 992
    assert frame["zone_id"].str.len().eq(9).all()
    assert sorted(frame["parent_zone_id"].unique()) == [f"751{n:02d}" for n in range(1, 21)]
    assert (frame["zone_id"].str.slice(0, 5) == frame["parent_zone_id"]).all()
    assert frame.set_index("zone_id").loc["751124811", "zone_name"] == "Quinze-Vingts 11"
    assert frame["area_m2"].sum() / 1e6 == pytest.approx(PARIS_AREA_KM2, rel=0.01)
    SOURCE.check(frame)
