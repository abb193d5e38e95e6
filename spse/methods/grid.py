"""The INSPIRE / INSEE 200 m grid in ETRS89-LAEA (EPSG:3035) and its crosswalks.

A cell is named ``CRS3035RES200mN{y}E{x}`` where (x, y) is its south-west corner in metres,
a multiple of 200: INSEE assigns a point to a cell by the integer part of its LAEA
coordinates divided by 200 ("partie entière", methods.md §6.1 INSEE grid); the centre is
(x + 100, y + 100). Points (stations, facilities) are projected and assigned to their cell;
polygons (arrondissements, IRIS, quartiers, noise-map bands) are joined to cells by area fractions
(methods.md §6.5), so a cell cut by a boundary is shared.

Functions are vectorised over arrays (numpy, shapely 2, one STRtree query), so the same code
serves Paris (~2 600 cells) and Île-de-France (~300 000 cells).
"""

from __future__ import annotations

import logging
from functools import lru_cache

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from spse.core.columns import Column

log = logging.getLogger(__name__)

CELL_SIZE_M = 200
CELL_AREA_M2 = CELL_SIZE_M * CELL_SIZE_M
CELL_ID_PREFIX = f"CRS3035RES{CELL_SIZE_M}m"
_CELL_ID_PATTERN = rf"^{CELL_ID_PREFIX}N(\d+)E(\d+)$"

# Population columns of the ``population`` dataset carried into ``grid_cells`` (0 for added cells).
POPULATION_COLUMNS = ["population", "pop_0_3", "pop_4_5", "pop_0_5", "pop_65_79", "pop_80p", "pop_65p",
                      "households", "households_poor", "pop_poor_households"]
# Carried like them, but NULL (unknown), not 0, where the population file gives none or for added cells.
INCOME_COLUMNS = ["standard_of_living"]

# Zone datasets of the lake and the level of their zones; the fractions of one level never mix with another's.
ZONE_LEVELS = {"zones": "arrondissement", "zones_iris": "iris", "zones_quartiers": "quartier"}

_CELL = "200 m INSPIRE cell id CRS3035RES200mN{y}E{x} (south-west corner, EPSG:3035)"
COLUMNS: dict[str, dict[str, Column]] = {
    "grid_cells": {
        "cell_id": Column("VARCHAR", "", _CELL, nullable=False),
        "x_3035": Column("BIGINT", "m", "Easting of the cell's south-west corner, EPSG:3035", nullable=False),
        "y_3035": Column("BIGINT", "m", "Northing of the cell's south-west corner, EPSG:3035", nullable=False),
        "cx_3035": Column("DOUBLE", "m", "Easting of the cell centre, EPSG:3035", nullable=False),
        "cy_3035": Column("DOUBLE", "m", "Northing of the cell centre, EPSG:3035", nullable=False),
        "lon": Column("DOUBLE", "° WGS84", "Longitude of the cell centre", nullable=False),
        "lat": Column("DOUBLE", "° WGS84", "Latitude of the cell centre", nullable=False),
        "population": Column("DOUBLE", "persons", "Resident population (INSEE Filosofi); 0 for added cells"),
        "pop_0_3": Column("DOUBLE", "persons", "Residents aged 0-3"),
        "pop_4_5": Column("DOUBLE", "persons", "Residents aged 4-5"),
        "pop_0_5": Column("DOUBLE", "persons", "Residents aged 0-5"),
        "pop_65_79": Column("DOUBLE", "persons", "Residents aged 65-79"),
        "pop_80p": Column("DOUBLE", "persons", "Residents aged 80 and over"),
        "pop_65p": Column("DOUBLE", "persons", "Residents aged 65 and over"),
        "households": Column("DOUBLE", "households", "Households"),
        "households_poor": Column("DOUBLE", "households", "Households below the poverty line"),
        "pop_poor_households": Column("DOUBLE", "persons",
                                      "Residents of poor households, estimate = population × households_poor / "
                                      "households"),
        "standard_of_living": Column("DOUBLE", "€/consumption unit/year",
                                     "Mean standard of living of the residents, Filosofi Ind_snv / Ind; NULL when "
                                     "unknown (no residents, not published, or added cells)"),
        "is_imputed": Column("BOOLEAN", "", "INSEE marks the cell's values as approximate (statistical secrecy); "
                                            "false for added cells"),
    },
    "zone_cells": {
        "zone_id": Column("VARCHAR", "", "Zone code: arrondissement 751AA, quartier 751AAQQ or IRIS 751AAIIII (INSEE)",
                          nullable=False),
        "cell_id": Column("VARCHAR", "", _CELL, nullable=False),
        "area_fraction": Column("DOUBLE", "0-1", "Share of the cell's 40 000 m² inside the zone", nullable=False),
        "zone_level": Column("VARCHAR", "", "Level of the zone: arrondissement, iris or quartier (the zone's dataset, "
                                            "ZONE_LEVELS)", nullable=False),
    },
    "facility_cells": {
        "facility_id": Column("VARCHAR", "", "Facility id (facilities dataset)", nullable=False),
        "cell_id": Column("VARCHAR", "", "Cell holding the facility's point. " + _CELL, nullable=False),
    },
    "station_cells": {
        "station_id": Column("VARCHAR", "", "Air-quality station id (E2 code, e.g. FR04014)", nullable=False),
        "cell_id": Column("VARCHAR", "", "Cell holding the station. " + _CELL, nullable=False),
        "x_3035": Column("DOUBLE", "m", "Easting of the station itself (not of its cell), EPSG:3035",
                         nullable=False),
        "y_3035": Column("DOUBLE", "m", "Northing of the station itself (not of its cell), EPSG:3035",
                         nullable=False),
    },
    "noise_band_cells": {
        "band_id": Column("VARCHAR", "", "Noise-map band polygon id (noise_map_bands)", nullable=False),
        "cell_id": Column("VARCHAR", "", _CELL, nullable=False),
        "area_fraction": Column("DOUBLE", "0-1", "Share of the cell's 40 000 m² inside the band polygon",
                                nullable=False),
    },
}


def cell_id(x, y) -> np.ndarray:
    """Cell ids from south-west corners.

    Parameters
    ----------
    x, y : array-like
        Easting and northing of the south-west corner [m, EPSG:3035], multiples of 200.

    Returns
    -------
    numpy.ndarray of str, ``CRS3035RES200mN{y}E{x}``.
    """
    xs = np.asarray(x, dtype=np.int64).astype(str)
    ys = np.asarray(y, dtype=np.int64).astype(str)
    return np.strings.add(np.strings.add(f"{CELL_ID_PREFIX}N", ys), np.strings.add("E", xs))


def parse_cell_id(ids) -> tuple[np.ndarray, np.ndarray]:
    """South-west corners (x, y) [m, EPSG:3035] of cell ids; raises ``ValueError`` naming a bad id."""
    series = pd.Series(np.atleast_1d(np.asarray(ids, dtype=object)), dtype="str")
    parts = series.str.extract(_CELL_ID_PATTERN)
    bad = parts[0].isna()
    if bad.any():
        position = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueError(f"cell id {series.iloc[position]!r} (position {position}) is not "
                         f"{CELL_ID_PREFIX}N<northing>E<easting>")
    return parts[1].astype(np.int64).to_numpy(), parts[0].astype(np.int64).to_numpy()


@lru_cache(maxsize=2)
def _transformer(inverse: bool) -> Transformer:
    # always_xy: EPSG:4326 is officially latitude-first; we always pass (lon, lat).
    if inverse:
        return Transformer.from_crs("EPSG:3035", "EPSG:4326", always_xy=True)
    return Transformer.from_crs("EPSG:4326", "EPSG:3035", always_xy=True)


def lonlat_to_3035(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Project WGS84 longitude/latitude [°] to ETRS89-LAEA (EPSG:3035) easting/northing [m]."""
    x, y = _transformer(False).transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def xy3035_to_lonlat(x, y) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`lonlat_to_3035`: EPSG:3035 [m] to WGS84 longitude/latitude [°]."""
    lon, lat = _transformer(True).transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def cell_of(x, y) -> tuple[np.ndarray, np.ndarray]:
    """South-west corner [m] of the 200 m cell holding each point (x, y) [m, EPSG:3035] (floor)."""
    x0 = np.floor(np.asarray(x, dtype=float) / CELL_SIZE_M).astype(np.int64) * CELL_SIZE_M
    y0 = np.floor(np.asarray(y, dtype=float) / CELL_SIZE_M).astype(np.int64) * CELL_SIZE_M
    return x0, y0


def cell_boxes(x, y) -> np.ndarray:
    """Shapely polygons of the cells with south-west corners (x, y) [m, EPSG:3035]."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    return shapely.box(x, y, x + CELL_SIZE_M, y + CELL_SIZE_M)


def polygon_cell_fractions(polygons: pd.DataFrame, cells: pd.DataFrame, id_col: str) -> pd.DataFrame:
    """Share of each cell's area inside each polygon (area-weighted crosswalk, methods.md §6.5).

    Parameters
    ----------
    polygons : DataFrame
        ``id_col`` and ``geometry_wkt`` (polygon or multipolygon, EPSG:3035 metres).
    cells : DataFrame
        ``cell_id``, ``x_3035``, ``y_3035`` (south-west corner [m]).
    id_col : str
        Name of the polygon id column, kept in the result.

    Returns
    -------
    DataFrame ``[id_col, cell_id, area_fraction]``: area(cell ∩ polygon) / 40 000 m² in (0, 1],
    one row per intersecting pair with a positive area. Over a partition of polygons the
    fractions of a cell sum to at most 1 (less where the cell sticks out of the partition).
    """
    out_columns = [id_col, "cell_id", "area_fraction"]
    if polygons.empty or cells.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c == "area_fraction" else "str") for c in out_columns})
    geoms = shapely.from_wkt(polygons["geometry_wkt"].to_numpy(dtype=object), on_invalid="raise")
    missing = shapely.is_missing(geoms)
    if missing.any():
        position = int(np.flatnonzero(missing)[0])
        raise ValueError(f"polygon {polygons[id_col].iloc[position]!r} (row {position}) has no geometry")
    geoms = shapely.make_valid(geoms)
    boxes = cell_boxes(cells["x_3035"].to_numpy(), cells["y_3035"].to_numpy())
    tree = shapely.STRtree(boxes)
    shapely.prepare(geoms)
    poly_idx, cell_idx = tree.query(geoms, predicate="intersects")
    area = shapely.area(shapely.intersection(geoms[poly_idx], boxes[cell_idx])) / CELL_AREA_M2
    keep = area > 0
    return pd.DataFrame({
        id_col: polygons[id_col].to_numpy()[poly_idx[keep]],
        "cell_id": cells["cell_id"].to_numpy()[cell_idx[keep]],
        "area_fraction": np.minimum(area[keep], 1.0),
    }, columns=out_columns)


def points_to_cells(frame: pd.DataFrame, id_col: str, lon_col: str = "lon", lat_col: str = "lat") -> pd.DataFrame:
    """Project points and assign them to cells.

    Returns ``[id_col, cell_id, x_3035, y_3035, x0, y0]``: the point [m, EPSG:3035] and the
    south-west corner (x0, y0) of its cell. Points without coordinates are dropped (logged).
    """
    located = frame[frame[lon_col].notna() & frame[lat_col].notna()]
    if len(located) < len(frame):
        dropped = frame.loc[~frame.index.isin(located.index), id_col].astype(str).tolist()
        log.warning("%d %s without coordinates left off the grid: %s", len(dropped), id_col, ", ".join(dropped[:20]))
    x, y = lonlat_to_3035(located[lon_col].to_numpy(), located[lat_col].to_numpy())
    x0, y0 = cell_of(x, y)
    return pd.DataFrame({id_col: located[id_col].to_numpy(), "cell_id": cell_id(x0, y0),
                         "x_3035": x, "y_3035": y, "x0": x0, "y0": y0})


def _grid_cells(population: pd.DataFrame, extra_points: list[pd.DataFrame]) -> pd.DataFrame:
    populated = population.copy()
    populated["x_3035"] = populated["x_3035"].astype(np.int64)
    populated["y_3035"] = populated["y_3035"].astype(np.int64)
    points = pd.concat([p[["cell_id", "x0", "y0"]] for p in extra_points], ignore_index=True)
    added = (points[~points["cell_id"].isin(populated["cell_id"])]
             .drop_duplicates("cell_id")
             .rename(columns={"x0": "x_3035", "y0": "y_3035"}))
    for column in POPULATION_COLUMNS:
        added[column] = 0.0
    for column in INCOME_COLUMNS:
        added[column] = np.nan
    added["is_imputed"] = False
    if "is_imputed" not in populated:
        populated["is_imputed"] = False
    for column in POPULATION_COLUMNS:
        if column not in populated:
            populated[column] = 0.0
    for column in INCOME_COLUMNS:
        if column not in populated:
            populated[column] = np.nan
    kept = ["cell_id", "x_3035", "y_3035", *POPULATION_COLUMNS, *INCOME_COLUMNS, "is_imputed"]
    cells = pd.concat([populated[kept], added[kept]], ignore_index=True)
    cells[POPULATION_COLUMNS] = cells[POPULATION_COLUMNS].astype(float).fillna(0.0)
    cells[INCOME_COLUMNS] = cells[INCOME_COLUMNS].astype(float)
    cells["is_imputed"] = cells["is_imputed"].fillna(False).astype(bool)
    cells["cx_3035"] = cells["x_3035"] + CELL_SIZE_M / 2
    cells["cy_3035"] = cells["y_3035"] + CELL_SIZE_M / 2
    cells["lon"], cells["lat"] = xy3035_to_lonlat(cells["cx_3035"].to_numpy(), cells["cy_3035"].to_numpy())
    cells = cells.sort_values(["y_3035", "x_3035"], ignore_index=True)
    return cells[list(COLUMNS["grid_cells"])]


def zone_cell_fractions(zone_sets: dict[str, pd.DataFrame | None], cells: pd.DataFrame) -> pd.DataFrame:
    """The ``zone_cells`` crosswalk of every zone level present (area-weighted, methods.md §6.5, W9).

    Parameters
    ----------
    zone_sets : dict
        Lake dataset name (a key of :data:`ZONE_LEVELS`) → its frame (``zone_id``, ``geometry_wkt``
        in EPSG:3035), or ``None`` when the dataset is not in the lake.
    cells : DataFrame
        ``cell_id``, ``x_3035``, ``y_3035`` (south-west corner [m]).

    Returns
    -------
    DataFrame with the ``zone_cells`` columns: one row per (zone, cell) with a positive shared area,
    ``zone_level`` from the zone's dataset. Each level is a partition of its own: sum fractions
    or populations within one level only.
    """
    unknown = sorted(set(zone_sets) - set(ZONE_LEVELS))
    if unknown:
        raise ValueError(f"zone datasets {unknown} have no level; known: {sorted(ZONE_LEVELS)}")
    frames = [polygon_cell_fractions(zones, cells, "zone_id").assign(zone_level=ZONE_LEVELS[dataset])
              for dataset, zones in zone_sets.items() if zones is not None and not zones.empty]
    if not frames:
        frames = [polygon_cell_fractions(pd.DataFrame({"zone_id": [], "geometry_wkt": []}), cells, "zone_id")
                  .assign(zone_level=pd.Series(dtype="str"))]
    out = pd.concat(frames, ignore_index=True)
    return out.astype({"zone_id": "str", "cell_id": "str", "zone_level": "str"})[list(COLUMNS["zone_cells"])]


def build_grid(population: pd.DataFrame, zones: pd.DataFrame, facilities: pd.DataFrame, stations: pd.DataFrame,
               noise_bands: pd.DataFrame | None = None, zones_iris: pd.DataFrame | None = None,
               zones_quartiers: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """The grid and its crosswalks, as the derived datasets of docs/architecture.md.

    Parameters
    ----------
    population : DataFrame
        The ``population`` dataset (one row per populated cell, EPSG:3035 south-west corners).
    zones : DataFrame
        The ``zones`` dataset: arrondissements (``zone_id``, ``geometry_wkt`` in EPSG:3035).
    facilities : DataFrame
        The ``facilities`` dataset (``facility_id``, ``lon``, ``lat`` [° WGS84]).
    stations : DataFrame
        The ``air_stations`` dataset (``station_id``, ``lon``, ``lat`` [° WGS84]).
    noise_bands : DataFrame, optional
        The ``noise_map_bands`` dataset (``band_id``, ``geometry_wkt`` in EPSG:3035).
    zones_iris, zones_quartiers : DataFrame, optional
        The optional ``zones_iris`` and ``zones_quartiers`` datasets (same columns as ``zones``).

    Returns
    -------
    dict with ``grid_cells`` (populated cells ∪ cells holding a facility or a station, the
    added cells with population 0), ``zone_cells`` (every zone level given, with its
    ``zone_level``), ``facility_cells``, ``station_cells`` (station's own EPSG:3035 position)
    and ``noise_band_cells`` (empty without noise bands). The area fractions are computed on
    ``grid_cells`` only.
    """
    facility_points = points_to_cells(facilities, "facility_id")
    station_points = points_to_cells(stations.drop_duplicates("station_id"), "station_id")
    cells = _grid_cells(population, [facility_points, station_points])
    zone_cells = zone_cell_fractions({"zones": zones, "zones_iris": zones_iris, "zones_quartiers": zones_quartiers},
                                     cells)
    if noise_bands is not None and not noise_bands.empty:
        band_cells = polygon_cell_fractions(noise_bands, cells, "band_id")
    else:
        band_cells = polygon_cell_fractions(pd.DataFrame({"band_id": [], "geometry_wkt": []}), cells, "band_id")
    return {
        "grid_cells": cells,
        "zone_cells": zone_cells,
        "facility_cells": facility_points[list(COLUMNS["facility_cells"])],
        "station_cells": station_points[list(COLUMNS["station_cells"])],
        "noise_band_cells": band_cells[list(COLUMNS["noise_band_cells"])],
    }
