"""The arrondissements GeoJSON of the demo bundle, shaped like the Paris open-data export.

Polygons are the Voronoi cells of the real arrondissement centroids clipped to the Paris
outline (``geometry.arrondissements``), not the official boundaries. ``surface`` [m²] and
``perimetre`` [m] are computed in EPSG:3035; ``geom_x_y`` is the polygon's centroid.
"""

from __future__ import annotations

from pathlib import Path

import shapely

from spse.pipeline.demo import facts, geometry
from spse.pipeline.demo.files import feature_collection
from spse.pipeline.demo.files import write as write_file

RELATIVE_PATH = "paris_arrondissements/arrondissements/exports/geojson"
PARIS_SEQUENCE = 750001537  # n_sq_co of the commune of Paris in the open-data layer


def features() -> tuple[list[shapely.Geometry], list[dict]]:
    """Lon/lat polygons and their open-data properties, in ``facts.ARRONDISSEMENTS`` order."""
    polygons = geometry.arrondissements()
    centroids = shapely.centroid(list(polygons))
    lon, lat = geometry.to_wgs84(shapely.get_x(centroids), shapely.get_y(centroids))
    properties = [{
        "n_sq_ar": 750000000 + a.number,
        "c_ar": a.number,
        "c_arinsee": int(a.code),
        "l_ar": a.label,
        "l_aroff": a.name,
        "n_sq_co": PARIS_SEQUENCE,
        "surface": round(float(shapely.area(poly)), 6),
        "perimetre": round(float(shapely.length(poly)), 6),
        "geom_x_y": {"lon": round(float(x), 9), "lat": round(float(y), 9)},
    } for a, poly, x, y in zip(facts.ARRONDISSEMENTS, polygons, lon, lat, strict=True)]
    return [geometry.geometry_to_wgs84(p) for p in polygons], properties


def write(root: Path) -> list[str]:
    """Write the arrondissement contours (GeoJSON, WGS84) under ``root``; return the path."""
    geoms, props = features()
    return [str(write_file(root, RELATIVE_PATH, feature_collection("arrondissements", geoms, props)))]
