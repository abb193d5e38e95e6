import json
from pathlib import Path

import pytest
import shapely
from pyproj import Transformer

from spse.core.errors import SchemaError
from spse.sources.paris_arrondissements import SOURCE

PART = SOURCE.partition(None)

NAME = "arrondissements/exports/geojson"
SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "sources" / "paris_arrondissements" / NAME
SQUARE = [[[2.34, 48.85], [2.35, 48.85], [2.35, 48.86], [2.34, 48.86], [2.34, 48.85]]]


def collection(*features, **extra) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features), **extra}).encode()


def feature(code=75104, coordinates=SQUARE, kind="Polygon"):
    return {"type": "Feature", "geometry": {"type": kind, "coordinates": coordinates},
            "properties": {"c_arinsee": code, "l_ar": "4ème Ardt", "l_aroff": "Hôtel-de-Ville", "surface": 1.6e6}}


def test_recorded_sample_is_projected_to_laea():
    frame = SOURCE.parse(SAMPLE.read_bytes(), NAME, PART).frame.set_index("zone_id")
    assert list(frame.index) == ["75101", "75102", "75104"]
    first = frame.loc["75101"]
    assert (first["zone_name"], first["zone_label"], first["zone_level"]) == ("1er Ardt", "Louvre", "arrondissement")
    assert first["area_m2"] == 1824612.86
    x, y = Transformer.from_crs(4326, 3035, always_xy=True).transform(2.320, 48.855)
    corner = shapely.get_coordinates(shapely.from_wkt(first["geometry_wkt"]))[0]
    assert corner == pytest.approx([x, y], abs=0.01)
    assert 3_700_000 < x < 3_800_000 and 2_850_000 < y < 2_900_000


def test_crs_member_of_old_geojson_is_honoured():
    to_l93 = Transformer.from_crs(4326, 2154, always_xy=True)
    l93 = [[list(to_l93.transform(lon, lat)) for lon, lat in SQUARE[0]]]
    crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2154"}}
    from_l93 = SOURCE.parse(collection(feature(coordinates=l93), crs=crs), NAME, PART).frame
    from_wgs84 = SOURCE.parse(collection(feature()), NAME, PART).frame
    a, b = (shapely.get_coordinates(shapely.from_wkt(f.loc[0, "geometry_wkt"])) for f in (from_l93, from_wgs84))
    assert a == pytest.approx(b, abs=0.02)


@pytest.mark.parametrize(("bad", "reason"), [
    (feature(code=None), "missing or malformed c_arinsee"),
    (feature(coordinates=[[[2.34, 48.85], [2.35, 48.86], [2.35, 48.85], [2.34, 48.86], [2.34, 48.85]]]),
     "invalid geometry: Self-intersection"),
    (feature(coordinates=[2.34, 48.85], kind="Point"), "not a Polygon or MultiPolygon"),
    ({**feature(), "geometry": None}, "missing or unreadable geometry"),
    (feature(code=75101), "duplicate c_arinsee"),
])
def test_bad_features_are_quarantined(bad, reason):
    result = SOURCE.parse(collection(feature(code=75101), bad), NAME, PART)
    assert result.frame["zone_id"].tolist() == ["75101"]
    assert result.rejects["row"].tolist() == [2] and reason in result.rejects["reason"].iloc[0]


def test_wrong_shapes_are_refused():
    with pytest.raises(SchemaError, match="not a GeoJSON FeatureCollection"):
        SOURCE.parse(b'{"type": "Feature"}', NAME, PART)
    with pytest.raises(SchemaError, match=r"row 1: not JSON"):
        SOURCE.parse(b'{"type": "FeatureCollection", "features": [', NAME, PART)
    with pytest.raises(SchemaError, match=r"lack the properties \['c_arinsee'"):
        SOURCE.parse(collection({"type": "Feature", "geometry": None, "properties": {"code": 1}}), NAME, PART)
    with pytest.raises(SchemaError, match="HTML"):
        SOURCE.parse(b"<!doctype html><title>ODS maintenance</title>", NAME, PART)


@pytest.mark.shared_data
def test_real_paris_export(shared_data):
    payload = (shared_data / "geo_paris" / "paris_arrondissements_opendata.geojson").read_bytes()
    result = SOURCE.parse(payload, NAME, PART)
    frame = result.frame
    assert result.rejects.empty
    assert sorted(frame["zone_id"]) == [str(code) for code in range(75101, 75121)]
    # ETRS89-LAEA is equal-area: the projected polygons keep the official surfaces.
    projected = shapely.area(shapely.from_wkt(frame["geometry_wkt"].to_numpy()))
    assert projected == pytest.approx(frame["area_m2"].to_numpy(), rel=1e-3)
    assert frame["area_m2"].sum() / 1e6 == pytest.approx(105.4, abs=0.5)  # Paris with its two woods, km²
    SOURCE.check(frame)
