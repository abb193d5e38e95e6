"""Shapes of the demo city in EPSG:3035 (metres).

Outline, woods and parks, Voronoi arrondissements, 200 m grid cells, and point sampling
inside polygons.

All functions are deterministic; the random ones take a seeded ``numpy.random.Generator``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import shapely
from pyproj import Transformer

from spse.pipeline.demo import facts

CELL_M = 200


@lru_cache(maxsize=2)
def _transformer(src: int, dst: int) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def to_3035(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 lon/lat [°] → EPSG:3035 x, y [m]."""
    x, y = _transformer(4326, 3035).transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(x), np.asarray(y)


def to_wgs84(x, y) -> tuple[np.ndarray, np.ndarray]:
    """EPSG:3035 x, y [m] → WGS84 lon, lat [°]."""
    lon, lat = _transformer(3035, 4326).transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return np.asarray(lon), np.asarray(lat)


def geometry_to_wgs84(geom: shapely.Geometry, decimals: int = 7) -> shapely.Geometry:
    """Reproject a 3035 geometry to lon/lat on a grid of 10^-decimals ° (1e-7° ≈ 1 cm), kept valid."""
    def project(coords: np.ndarray) -> np.ndarray:
        return np.column_stack(to_wgs84(coords[:, 0], coords[:, 1]))

    projected = shapely.make_valid(shapely.transform(geom, project))
    if projected.geom_type == "GeometryCollection":  # make_valid may leave slivers as lines
        parts = shapely.get_parts(projected)
        projected = shapely.union_all(parts[np.isin(shapely.get_type_id(parts), (3, 6))])
    return shapely.set_precision(projected, 10.0 ** -decimals)


def _polygon(lonlat: tuple[tuple[float, float], ...]) -> shapely.Polygon:
    lon, lat = np.array(lonlat).T
    return shapely.Polygon(np.column_stack(to_3035(lon, lat)))


@lru_cache(maxsize=1)
def outline() -> shapely.Polygon:
    """Paris, woods included."""
    return _polygon(facts.PARIS_OUTLINE)


@lru_cache(maxsize=1)
def woods() -> shapely.Geometry:
    """Bois de Boulogne and Bois de Vincennes, clipped to the outline."""
    both = shapely.union(_polygon(facts.BOIS_DE_BOULOGNE), _polygon(facts.BOIS_DE_VINCENNES))
    return shapely.intersection(both, outline())


@lru_cache(maxsize=1)
def unpopulated() -> shapely.Geometry:
    """Woods, parks and cemeteries: no resident population, no facility."""
    _, lon, lat, radius = zip(*facts.PARKS, strict=True)
    x, y = to_3035(lon, lat)
    parks = shapely.buffer(shapely.points(x, y), np.array(radius))
    return shapely.union_all([woods(), *parks])


@lru_cache(maxsize=1)
def arrondissements() -> tuple[shapely.Geometry, ...]:
    """Voronoi cells of the real arrondissement centroids, clipped to the outline, in ``facts`` order."""
    x, y = to_3035([a.lon for a in facts.ARRONDISSEMENTS], [a.lat for a in facts.ARRONDISSEMENTS])
    sites = shapely.points(x, y)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(sites),
                                                       extend_to=outline().buffer(5000)))
    owner = np.array([int(np.flatnonzero(shapely.contains(cell, sites))[0]) for cell in cells])
    ordered = cells[np.argsort(owner)]
    return tuple(shapely.intersection(ordered, outline()))


def zone_index(x, y) -> np.ndarray:
    """Index in ``facts.ARRONDISSEMENTS`` of the polygon holding each point, -1 outside Paris."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    inside = np.array([shapely.contains_xy(poly, x, y) for poly in arrondissements()])
    return np.where(inside.any(axis=0), inside.argmax(axis=0), -1)


def cell_corners_in_outline() -> tuple[np.ndarray, np.ndarray]:
    """South-west corners [m, EPSG:3035] of the 200 m cells whose centre lies inside the outline."""
    minx, miny, maxx, maxy = outline().bounds
    xs = np.arange(np.floor(minx / CELL_M) * CELL_M, maxx, CELL_M)
    ys = np.arange(np.floor(miny / CELL_M) * CELL_M, maxy, CELL_M)
    gx, gy = (a.ravel() for a in np.meshgrid(xs, ys, indexing="xy"))
    keep = shapely.contains_xy(outline(), gx + CELL_M / 2, gy + CELL_M / 2)
    return gx[keep].astype(np.int64), gy[keep].astype(np.int64)


def sample_points(polygon: shapely.Geometry, n: int, rng: np.random.Generator,
                  exclude: shapely.Geometry | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points drawn uniformly in ``polygon`` minus ``exclude`` [m, EPSG:3035]."""
    area = shapely.difference(polygon, exclude) if exclude is not None else polygon
    minx, miny, maxx, maxy = area.bounds
    share = max(area.area / ((maxx - minx) * (maxy - miny)), 0.05)
    draw = int(np.ceil(n / share * 3)) + 20
    x = rng.uniform(minx, maxx, draw)
    y = rng.uniform(miny, maxy, draw)
    keep = np.flatnonzero(shapely.contains_xy(area, x, y))
    if len(keep) < n:
        raise RuntimeError(f"could not place {n} points in a polygon of {area.area:.0f} m²")
    return x[keep[:n]], y[keep[:n]]
