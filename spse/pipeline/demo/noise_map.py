"""Strategic noise map, type A, road (feeds.md §f2), as COVADIS GeoJSON layers.

Invented roads: the périphérique (the Paris outline without the woods, 60 m inside) and a
few axes (Champs-Élysées-Rivoli to Nation, Sébastopol-Saint-Michel, the Seine quays,
Magenta-Barbès). Each road has a level ``L0`` [dB(A), Lden] 10 m from its axis that falls
by ``ATTENUATION_DB_PER_DECADE`` per tenfold distance; Ln is ``LN_OFFSET_DB`` lower. The
area where a road is at or above a level t is a buffer of radius 10·10^((L0 − t)/15) m;
band [t, t + 5) = union over roads of the t buffers minus that of the t + 5 buffers, so
bands never overlap within a layer. Built in EPSG:3035, clipped to Paris, written in lon/lat.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import shapely

from spse.pipeline.demo import geometry
from spse.pipeline.demo.files import feature_collection
from spse.pipeline.demo.files import write as write_file

ATTENUATION_DB_PER_DECADE = 15.0
REFERENCE_DISTANCE_M = 10.0
LN_OFFSET_DB = 8.0
PERIPHERIQUE_INSET_M = 60.0
OPENING_M = 0.1
# indicator → (COVADIS indicetype, band lower bounds [dB(A)]); the last band is open.
INDICATORS = {"LD": (55, 60, 65, 70, 75), "LN": (50, 55, 60, 65, 70)}
YEAR = 2022
DEPARTMENT = "075"
# name → (Lden at 10 m [dB(A)], lon/lat vertices)
AXES: dict[str, tuple[float, tuple[tuple[float, float], ...]]] = {
    "CHAMPS-ELYSEES-RIVOLI": (76.0, ((2.2950, 48.8738), (2.3212, 48.8656), (2.3470, 48.8590), (2.3690, 48.8530),
                                     (2.3960, 48.8484), (2.4100, 48.8470))),
    "SEBASTOPOL-SAINT-MICHEL": (75.0, ((2.3570, 48.8760), (2.3500, 48.8640), (2.3440, 48.8500),
                                       (2.3400, 48.8400), (2.3370, 48.8220))),
    "QUAIS-DE-SEINE": (77.0, ((2.2790, 48.8460), (2.2950, 48.8610), (2.3200, 48.8630), (2.3450, 48.8570),
                              (2.3650, 48.8480), (2.3850, 48.8330), (2.4050, 48.8250))),
    "MAGENTA-BARBES": (74.0, ((2.3630, 48.8680), (2.3540, 48.8790), (2.3500, 48.8840), (2.3490, 48.8990))),
}
PERIPHERIQUE_LDEN = 82.0


def layer_name(indicetype: str) -> str:
    """Layer name of a CBS noise map (``LD``: Lden, ``LN``: Lnight) for Paris, as the COVADIS layers name it."""
    return f"N_BRUIT_ZBRD_INFRA_R_A_{indicetype}_S_{DEPARTMENT}"


def _largest(geom: shapely.Geometry) -> shapely.Polygon:
    parts = shapely.get_parts(geom)
    return parts[np.argmax(shapely.area(parts))]


def roads() -> tuple[list[shapely.Geometry], np.ndarray]:
    """Road axes [EPSG:3035] and their Lden 10 m from the axis [dB(A)]."""
    city = shapely.difference(geometry.outline(), geometry.woods())
    ring = _largest(shapely.buffer(_largest(city), -PERIPHERIQUE_INSET_M)).exterior
    lines = [ring]
    levels = [PERIPHERIQUE_LDEN]
    for level, vertices in AXES.values():
        lon, lat = np.array(vertices).T
        lines.append(shapely.linestrings(np.column_stack(geometry.to_3035(lon, lat))))
        levels.append(level)
    return lines, np.array(levels)


def reach_m(level_at_reference: np.ndarray, threshold: float) -> np.ndarray:
    """Distance [m] from the axis within which the level is at least ``threshold`` (0 if never)."""
    reach = REFERENCE_DISTANCE_M * 10 ** ((level_at_reference - threshold) / ATTENUATION_DB_PER_DECADE)
    return np.where(level_at_reference >= threshold, reach, 0.0)


def bands(indicetype: str) -> list[tuple[str, float, shapely.Geometry]]:
    """(legende, lower bound, polygon [EPSG:3035]) of each band of the layer, lowest first."""
    lines, lden = roads()
    level = lden - (LN_OFFSET_DB if indicetype == "LN" else 0.0)
    bounds = INDICATORS[indicetype]
    above = []
    for low in bounds:
        radius = reach_m(level, low)
        buffers = [shapely.buffer(line, r, quad_segs=4) for line, r in zip(lines, radius, strict=True) if r > 0]
        above.append(shapely.intersection(shapely.union_all(buffers), geometry.outline()))
    out = []
    for i, low in enumerate(bounds):
        band = shapely.difference(above[i], above[i + 1]) if i + 1 < len(bounds) else above[i]
        label = f"{low}-{bounds[i + 1]}" if i + 1 < len(bounds) else f">= {low}"
        out.append((label, low, _open(band)))
    return out


def _open(band: shapely.Geometry) -> shapely.Geometry:
    """Remove necks and slivers thinner than 2 × ``OPENING_M``, which reprojection could turn invalid."""
    inner = shapely.buffer(band, -OPENING_M, join_style="mitre")
    return shapely.buffer(inner, OPENING_M, join_style="mitre")


def layer(indicetype: str) -> str:
    """The GeoJSON text of one layer: one feature per polygon, COVADIS properties."""
    geoms, props = [], []
    for legende, _, band in bands(indicetype):
        for part in shapely.get_parts(geometry.geometry_to_wgs84(band)):
            geoms.append(part)
            props.append({
                "idzonbruit": f"{layer_name(indicetype)}_{len(props) + 1:04d}",
                "codinfra": f"RTE_{DEPARTMENT}",
                "legende": legende,
                "typesource": "R",
                "cbstype": "A",
                "indicetype": indicetype,
                "annee": YEAR,
                "codedept": DEPARTMENT,
                "typeterr": "AGGLO",
            })
    return feature_collection(layer_name(indicetype), geoms, props)


def write(root: Path) -> list[str]:
    """Write one GeoJSON layer per indicator (Lden, Lnight) under ``root``; return the paths."""
    return [str(write_file(root, f"noise_map_cbs/{layer_name(t)}.geojson", layer(t))) for t in INDICATORS]
