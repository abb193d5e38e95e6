"""Paris administrative quartiers: codes, labels, official areas, the real 80."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapely

from spse.core.errors import SchemaError
from spse.sources.paris_quartiers import SOURCE

PART = SOURCE.partition(None)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources" / "paris_quartiers"
NAME = "quartier_paris/exports/geojson"
PARIS_AREA_KM2 = 105.4  # methods.md §7.3


def collection(features, crs: str | None = None) -> bytes:
    doc = {"type": "FeatureCollection", "features": features}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{crs}"}}
    return json.dumps(doc).encode()


def square_3035(props, x=3762000, y=2887000, side=1000):
    ring = [[x, y], [x + side, y], [x + side, y + side], [x, y + side], [x, y]]
    return {"type": "Feature", "properties": props, "geometry": {"type": "Polygon", "coordinates": [ring]}}


def test_fixture_quartiers():
    result = SOURCE.parse((FIXTURES / NAME).read_bytes(), NAME, PART)
    frame = result.frame.set_index("zone_id")
    assert result.rejects.empty
    assert list(frame.index) == ["7511203", "7510101", "7512002"]
    assert frame["zone_label"].tolist() == ["Bercy (12e)", "Saint-Germain-l'Auxerrois (1er)", "Saint-Fargeau (20e)"]
    assert frame["parent_zone_id"].tolist() == ["75112", "75101", "75120"]
    assert set(frame["zone_level"]) == {"quartier"}
    assert frame.loc["7511203", "area_m2"] == 1902932.20180839  # the official `surface`
    SOURCE.check(result.frame)


def test_numeric_code_and_area_from_geometry_when_surface_is_absent():
    props = {"c_quinsee": 7511203, "l_qu": "Bercy", "c_ar": 12}
    frame = SOURCE.parse(collection([square_3035(props)], crs="3035"), NAME, PART).frame
    assert frame.loc[0, "zone_id"] == "7511203"
    assert frame.loc[0, "area_m2"] == pytest.approx(1_000_000)


def test_bad_codes_are_quarantined():
    features = [
        square_3035({"c_quinsee": "751120", "l_qu": "six digits", "c_ar": 12}),
        square_3035({"c_quinsee": "7512103", "l_qu": "21e", "c_ar": 21}),
        square_3035({"c_quinsee": "7511203", "l_qu": "Bercy", "c_ar": 11}),
        square_3035({"c_quinsee": "7511204", "l_qu": "surface", "c_ar": 12, "surface": "n/a"}),
        square_3035({"c_quinsee": "7511201", "l_qu": "Bel-Air", "c_ar": 12}),
    ]
    result = SOURCE.parse(collection(features, crs="3035"), NAME, PART)
    reasons = dict(zip(result.rejects["row"], result.rejects["reason"], strict=True))
    assert sorted(reasons) == [1, 2, 3, 4]
    assert reasons[1].startswith("c_quinsee is not 7 digits")
    assert reasons[3] == "c_ar 11 disagrees with c_quinsee 7511203"
    assert reasons[4] == "surface is not a number"
    assert result.frame["zone_id"].tolist() == ["7511201"]


def test_missing_properties_raise():
    with pytest.raises(SchemaError, match="c_quinsee"):
        SOURCE.parse(collection([square_3035({"name": "x"})], crs="3035"), NAME, PART)


def test_real_quartiers(shared_data):
    payload = (shared_data / "geo_paris" / "paris_quartiers_administratifs_opendata.geojson").read_bytes()
    result = SOURCE.parse(payload, NAME, PART)
    frame = result.frame
    assert result.rejects.empty and len(frame) == 80
    assert frame["zone_id"].str.fullmatch(r"751\d{4}").all()
    # Four quartiers in each of the 20 arrondissements.
    assert frame.groupby("parent_zone_id").size().to_dict() == {f"751{n:02d}": 4 for n in range(1, 21)}
    assert frame["area_m2"].sum() / 1e6 == pytest.approx(PARIS_AREA_KM2, rel=0.01)
    geometric = shapely.area(shapely.from_wkt(frame["geometry_wkt"].to_numpy())).sum()
    assert geometric / 1e6 == pytest.approx(PARIS_AREA_KM2, rel=0.01)
    SOURCE.check(frame)
