import json
from pathlib import Path

import numpy as np
import pytest
import shapely

from spse.core.errors import SchemaError
from spse.sources.noise_map_cbs import SOURCE, parse_band

PART = SOURCE.partition(None)

FOLDER = Path(__file__).resolve().parents[1] / "fixtures" / "sources" / "noise_map_cbs"
LD = "N_BRUIT_ZBRD_INFRA_R_A_LD_S_075.geojson"
LN = "N_BRUIT_ZBRD_INFRA_R_A_LN_S_075.geojson"
SQUARE = {"type": "Polygon", "coordinates": [[[2.41, 48.84], [2.42, 48.84], [2.42, 48.85], [2.41, 48.85],
                                               [2.41, 48.84]]]}


def layer(*properties, geometry=SQUARE) -> bytes:
    features = [{"type": "Feature", "properties": p, "geometry": geometry} for p in properties]
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def props(idz="Z1", legende="60-65", **extra):
    return {"idzonbruit": idz, "legende": legende, "typesource": "R", "cbstype": "A", "indicetype": "LD", **extra}


@pytest.mark.parametrize(("label", "band"), [
    ("55-60", (55, 60)), ("55-59", (55, 60)), ("[55;60[", (55, 60)), ("55 à 60 dB(A)", (55, 60)),
    (">= 75", (75, None)), ("75 et plus", (75, None)), ("≥ 70 dB(A)", (70, None)), ("[70;...[", (70, None)),
    ("Lden5559", (55, 60)), ("LdenGreaterThan75", (75, None)), ("Lnight5054", (50, 55)),
    ("LnightGreaterThan70", (70, None)),
])
def test_band_labels(label, band):
    low, high = parse_band(label)
    assert low == band[0]
    assert (np.isnan(high) if band[1] is None else high == band[1])


@pytest.mark.parametrize("label", ["bruyant", "< 55", "65-60", ""])
def test_unreadable_band_labels(label):
    assert parse_band(label) is None


def test_recorded_layers():
    lden = SOURCE.parse((FOLDER / LD).read_bytes(), LD, PART).frame.set_index("band_id")
    assert list(lden.index) == ["road:Lden:ZB075_LD_0001", "road:Lden:ZB075_LD_0002", "road:Lden:ZB075_LD_0003"]
    assert lden["db_low"].tolist() == [55.0, 60.0, 75.0]
    assert lden["db_high"].tolist()[:2] == [60.0, 65.0] and np.isnan(lden["db_high"].iloc[2])
    assert lden.loc["road:Lden:ZB075_LD_0003", "geometry_wkt"].startswith("MULTIPOLYGON")
    # 0.006° × 0.004° at 48.846° N: 0.006 × 111 320 × cos(48.846°) m by 0.004 × 111 200 m ≈ 195 700 m²
    area = shapely.area(shapely.from_wkt(lden.loc["road:Lden:ZB075_LD_0001", "geometry_wkt"]))
    assert area == pytest.approx(0.006 * 111_320 * np.cos(np.radians(48.846)) * 0.004 * 111_200, rel=0.01)
    lnight = SOURCE.parse((FOLDER / LN).read_bytes(), LN, PART).frame
    assert lnight["indicator"].tolist() == ["Ln", "Ln"]
    assert lnight["db_low"].tolist() == [50.0, 70.0] and lnight["db_high"].iloc[0] == 55.0
    assert lnight["label"].tolist() == ["Lnight5054", ">= 70"]


def test_indicator_and_source_fall_back_to_the_layer_name():
    rail_night = "N_BRUIT_ZBRD_INFRA_F_A_LN_S_075.geojson"
    frame = SOURCE.parse(layer(props(indicetype=None, typesource=None)), rail_night, PART).frame
    assert (frame.loc[0, "indicator"], frame.loc[0, "source_type"]) == ("Ln", "rail")


@pytest.mark.parametrize(("bad", "reason"), [
    (props(idz="Z2", legende="bruyant"), "unreadable band label: bruyant"),
    (props(idz="Z2", cbstype="C"), "not a type A exposure band"),
    (props(idz="Z2", typesource="X"), "unknown source type"),
    (props(idz="Z1"), "duplicate idzonbruit"),
])
def test_bad_features_are_quarantined(bad, reason):
    result = SOURCE.parse(layer(props(), bad), LD, PART)
    assert result.frame["band_id"].tolist() == ["road:Lden:Z1"]
    assert result.rejects["row"].tolist() == [2] and reason in result.rejects["reason"].iloc[0]


def test_invalid_geometry_is_quarantined():
    bowtie = {"type": "Polygon", "coordinates": [[[2.41, 48.84], [2.42, 48.85], [2.42, 48.84], [2.41, 48.85],
                                                   [2.41, 48.84]]]}
    result = SOURCE.parse(layer(props(), geometry=bowtie), LD, PART)
    assert result.frame.empty and "Self-intersection" in result.rejects["reason"].iloc[0]


def test_wrong_shapes_are_refused():
    with pytest.raises(SchemaError, match=rf"feed noise_map_cbs, file {LD}: not a GeoJSON FeatureCollection"):
        SOURCE.parse(b"[]", LD, PART)
    with pytest.raises(SchemaError, match="empty body"):
        SOURCE.parse(b"  ", LD, PART)
