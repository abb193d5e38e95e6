"""## IRIS contours of Paris (IGN CONTOURS-IRIS / INSEE), 992 zones

* Provider: IGN (contours) and INSEE (codes), CONTOURS-IRIS, yearly [R]; read here from
  the Île-de-France open-data mirror (Opendatasoft), dataset `iris` [R]:
  `https://data.iledefrance.fr/api/explore/v2.1/catalog/datasets/iris/exports/geojson`
  with `?where=insee_com%20like%20%22751%25%22` over HTTP (:meth:`IrisContours.url_for`).
* Licence: Licence Ouverte / Etalab [M].
* Format: GeoJSON FeatureCollection. Three spellings of the properties are read
  (:data:`FIELDS`, case-insensitive):
  * the ODS export: `dep, insee_com, nom_com, iris, code_iris, nom_iris, typ_iris,
    geo_point_2d, id` [R];
  * IGN CONTOURS-IRIS: `CODE_IRIS, NOM_IRIS, INSEE_COM, NOM_COM, IRIS, TYP_IRIS` [R];
  * the repackaged Paris file of the samples: `code_iris, nom_iris, c_ar, insee_arr, …`,
    without `typ_iris` [V]. Codes given as JSON numbers are read as text.
  Without `code_iris`, the code is `insee_com` + `iris` (4 digits).
* CRS: the FeatureCollection's `crs` member when present (old GeoJSON, e.g. Lambert-93
  EPSG:2154 from IGN), else WGS84 (RFC 7946); reprojected to ETRS89-LAEA (EPSG:3035) WKT
  with pyproj (always_xy). `area_m2` is the polygon's area in EPSG:3035, an equal-area CRS.
* Time base: none (reference data, partition `vintage=current`).
* Codes: `code_iris` is 9 characters, the arrondissement code (75101–75120) then 4 digits
  (`751124811` = Quinze-Vingts 11 in the 12e) [V]. `TYP_IRIS`: H residential, A activity,
  D other (the Bois) [R].
* Invalid polygons (self-intersections, typical of generalised contours) are repaired with
  `shapely.make_valid`, keeping the polygonal part; such rows have `geometry_repaired`
  true and are logged.

Quarantined features (`row` = 1-based feature number): code not 9 characters starting with
an arrondissement code 751xx, commune code (`insee_com`/`insee_arr`) that is not the
code's first 5 characters, `typ_iris` other than H/A/D, missing or non-polygonal geometry,
invalid geometry that `make_valid` cannot turn into a polygon, repeated code.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import ClassVar
from urllib.parse import urlparse

import numpy as np
import pandas as pd

from spse.core.columns import Column
from spse.core.errors import SchemaError
from spse.sources._parsing import RowChecks, blank_to_null, conform, polygon_problems, read_geojson, to_3035_wkt
from spse.sources.base import ParseResult, Partition, Source

log = logging.getLogger(__name__)

DATASET_PATH = "iris/exports/geojson"
HTTP_QUERY = "where=insee_com%20like%20%22751%25%22"
FIELDS = {
    "code": ("code_iris",),
    "name": ("nom_iris",),
    "commune": ("insee_com", "insee_arr", "depcom"),
    "iris": ("iris",),
    "type": ("typ_iris",),
}
IRIS_CODE = r"^751(?:0[1-9]|1\d|20)\d{4}$"
IRIS_TYPES = ("H", "A", "D")

ZONE_COLUMNS: dict[str, Column] = {
    "zone_id": Column("VARCHAR", "", "Zone code", nullable=False),
    "zone_name": Column("VARCHAR", "", "Zone name"),
    "zone_label": Column("VARCHAR", "", "Zone name with its arrondissement, e.g. 'Bercy (12e)'"),
    "zone_level": Column("VARCHAR", "", "Kind of zone", nullable=False),
    "area_m2": Column("DOUBLE", "m²", "Area"),
    "geometry_wkt": Column("VARCHAR", "WKT, EPSG:3035 (m)", "Boundary polygon in ETRS89-LAEA", nullable=False),
    "parent_zone_id": Column("VARCHAR", "", "INSEE code of the arrondissement holding the zone (75101-75120)",
                             nullable=False),
}
REPAIRED = Column("BOOLEAN", "", "The upstream polygon was invalid and was repaired with shapely.make_valid",
                  nullable=False)


def property_names(props: pd.DataFrame, fields: dict[str, tuple[str, ...]]) -> dict[str, str | None]:
    """Property names under canonical keys, matched case-insensitively among aliases (``None`` when absent)."""
    by_lower = {str(c).casefold(): c for c in props.columns}
    return {key: next((by_lower[a] for a in aliases if a in by_lower), None) for key, aliases in fields.items()}


def code_text(values: pd.Series) -> pd.Series:
    """Text of a property that may be JSON strings or JSON numbers (``751124811``); missing → ``''``."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        integral = values.where(values % 1 == 0)
        return integral.astype("Int64").astype(str).where(integral.notna(), "")
    return values.astype(object).where(values.notna(), "").astype(str).str.strip()


def repair_polygons(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Geometries whose invalid polygons are repaired by ``shapely.make_valid`` (polygonal part kept).

    Returns the geometries, a mask of the repaired ones, and why each remaining geometry is
    unusable (``None`` when usable).
    """
    import shapely

    why = polygon_problems(geoms)
    out = geoms.copy()
    repaired = np.zeros(len(geoms), dtype=bool)
    invalid = np.flatnonzero([isinstance(w, str) and w.startswith("invalid geometry") for w in why])
    if not len(invalid):
        return out, repaired, why
    parts, owner = shapely.get_parts(shapely.make_valid(geoms[invalid]), return_index=True)
    polygonal = np.isin(shapely.get_type_id(parts), (3, 6))
    # One union per invalid feature: there are few, the loop is over features, not vertices.
    merged = np.array([shapely.union_all(parts[polygonal & (owner == i)]) for i in range(len(invalid))], dtype=object)
    ok = np.isin(shapely.get_type_id(merged), (3, 6)) & ~shapely.is_empty(merged) & shapely.is_valid(merged)
    why = why.copy()
    out[invalid[ok]] = merged[ok]
    repaired[invalid[ok]] = True
    why[invalid[ok]] = None
    why[invalid[~ok]] = [f"{w} (make_valid left no polygon)" for w in why[invalid[~ok]]]
    return out, repaired, why


def zones_frame(geoms: np.ndarray, crs: str, good: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """EPSG:3035 WKT and area [m²] of the ``good`` geometries (``None``/NaN elsewhere)."""
    import shapely

    wkt = np.full(len(geoms), None, dtype=object)
    area = np.full(len(geoms), np.nan)
    if good.any():
        wkt[good] = to_3035_wkt(geoms[good], crs)
        area[good] = shapely.area(shapely.from_wkt(wkt[good].astype(str)))
    return wkt, area


def ordinal(number: pd.Series) -> pd.Series:
    """Arrondissement numbers as French ordinals: 1 → '1er', 12 → '12e'."""
    text = number.astype("Int64").astype(str)
    return text.where(number != 1, "1") + np.where(number == 1, "er", "e")


class IrisContours(Source):
    """Source ``iris_contours``: IRIS contours of Paris (zone level ``iris``)."""

    name = "iris_contours"
    dataset = "zones_iris"
    kind = "reference"
    cadence = "reference"
    schedule = "0 5 1 * *"
    max_age_hours = 768  # monthly schedule, one day of slack
    optional = True
    description = "IRIS contours of Paris (IGN/INSEE), 992 zones, EPSG:3035"
    columns: ClassVar[dict[str, Column]] = {
        **ZONE_COLUMNS,
        "zone_id": Column("VARCHAR", "", "IRIS code (code_iris, 9 characters: arrondissement + 4 digits)",
                          nullable=False),
        "zone_name": Column("VARCHAR", "", "IRIS name (nom_iris)"),
        "zone_label": Column("VARCHAR", "", "IRIS name and arrondissement, e.g. 'Quinze-Vingts 11 (12e)'"),
        "zone_level": Column("VARCHAR", "", "Kind of zone: 'iris'", nullable=False),
        "area_m2": Column("DOUBLE", "m²", "Area of the polygon in EPSG:3035 (equal-area)"),
        "iris_type": Column("VARCHAR", "", "TYP_IRIS: H residential, A activity, D other (woods); NULL when the "
                            "file does not say"),
        "geometry_repaired": REPAIRED,
    }
    primary_key = ("zone_id",)

    def files(self, day: dt.date) -> list[str]:
        """The IRIS GeoJSON export (one file per vintage)."""
        return [DATASET_PATH]

    def url_for(self, base: str, relative: str) -> str:
        """The export URL, restricted to Paris communes (INSEE ``751xx``) over HTTP(S)."""
        url = super().url_for(base, relative)
        return f"{url}?{HTTP_QUERY}" if urlparse(url).scheme in ("http", "https") else url

    def parse(self, payload: bytes, filename: str, partition: Partition) -> ParseResult:
        """Paris IRIS in the ``zones_iris`` schema (area in m², geometry EPSG:3035 WKT)."""
        features = read_geojson(payload, self.name, filename)
        names = property_names(features.properties, FIELDS)
        props = {k: None if c is None else code_text(features.properties[c]) for k, c in names.items()}
        if props["code"] is None and (props["commune"] is None or props["iris"] is None):
            raise SchemaError(self.name, "features have neither code_iris nor insee_com + iris; found "
                              f"{list(features.properties.columns)}", file=filename, row=1)
        if props["name"] is None and len(features.properties):
            raise SchemaError(self.name, f"features lack nom_iris; found {list(features.properties.columns)}",
                              file=filename, row=1)
        code = props["code"] if props["code"] is not None else props["commune"] + props["iris"]
        checks = RowChecks(len(code))
        checks.fail(~code.str.match(IRIS_CODE), "code_iris is not 9 characters starting with 75101-75120: " + code)
        if props["commune"] is not None:
            commune = props["commune"]
            checks.fail((commune != "") & (commune != code.str.slice(0, 5)),
                        "commune code " + commune + " does not start code_iris " + code)
        iris_type = (blank_to_null(props["type"].str.upper()) if props["type"] is not None
                     else pd.Series(None, index=code.index, dtype=object))
        checks.fail(iris_type.notna() & ~iris_type.isin(IRIS_TYPES),
                    "typ_iris is not H, A or D: " + iris_type.astype(str))
        geoms, repaired, why = repair_polygons(features.geometries)
        checks.fail(pd.notna(why), why)
        arrondissement = pd.to_numeric(code.str.slice(3, 5), errors="coerce")
        name = blank_to_null(props["name"])
        out = pd.DataFrame({
            "zone_id": code, "zone_name": name,
            "zone_label": name + " (" + ordinal(arrondissement.fillna(0)) + ")",
            "zone_level": "iris", "parent_zone_id": code.str.slice(0, 5),
            "iris_type": iris_type, "geometry_repaired": repaired,
        })
        checks.duplicated(out, ["zone_id"], "code_iris")
        good = ~checks.bad
        out["geometry_wkt"], out["area_m2"] = zones_frame(geoms, features.crs, good)
        log_repairs(self.name, filename, out.loc[good & repaired, "zone_id"])
        rejects = checks.rejects(self.name, filename, features.numbers, features.raw)
        return ParseResult(conform(out.loc[good], self.columns), rejects)


def log_repairs(feed: str, filename: str, ids: pd.Series) -> None:
    """Log a warning naming up to 20 of the ``ids`` whose polygon ``make_valid`` repaired."""
    if len(ids):
        log.warning("%s %s: %d invalid polygons repaired with make_valid: %s", feed, filename, len(ids),
                    ", ".join(ids.head(20)))


SOURCE = IrisContours()
