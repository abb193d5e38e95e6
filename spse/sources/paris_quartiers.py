"""## Paris administrative quartiers (Ville de Paris open data), 80 zones

* Provider: Ville de Paris, opendata.paris.fr, dataset `quartier_paris` ("Quartiers
  administratifs") [V for the content; the dataset id is from memory, M].
* URL: `https://opendata.paris.fr/api/explore/v2.1/catalog/datasets/quartier_paris/exports/geojson`.
* Licence: ODbL (Paris open data) [V].
* Format: GeoJSON FeatureCollection, WGS84, 80 Polygon features with `n_sq_qu, c_qu,
  c_quinsee, l_qu, c_ar, n_sq_ar, perimetre, surface, geom_x_y` (+ `st_area_shape,
  st_perimeter_shape` in some copies) [V]. `c_quinsee` is the 7-digit `751AAQQ`
  (arrondissement code + quartier number within it), a string or a JSON number.
* CRS: WGS84 (or the `crs` member); reprojected to ETRS89-LAEA (EPSG:3035) WKT with
  pyproj (always_xy).
* Time base: none (reference data, partition `vintage=current`).
* Output: `zone_id = c_quinsee`, `zone_name = l_qu` ("Bercy"), `zone_label` "Bercy (12e)",
  `zone_level = 'quartier'`, `parent_zone_id` = `751AA`, `area_m2 = surface` (the official
  area, m²) or, when absent, the polygon's EPSG:3035 area. Invalid polygons are repaired
  with `shapely.make_valid` (`geometry_repaired`), as for the IRIS
  (:func:`spse.sources.iris_contours.repair_polygons`).

Quarantined features (`row` = 1-based feature number): `c_quinsee` not 7 digits starting
with an arrondissement code 751xx, `c_ar` that disagrees with it, non-numeric `surface`,
missing or non-polygonal geometry, invalid geometry that `make_valid` cannot repair,
repeated code.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

import numpy as np
import pandas as pd

from spse.core.columns import Column
from spse.core.errors import SchemaError
from spse.sources._parsing import RowChecks, blank_to_null, conform, numbers, read_geojson
from spse.sources.base import ParseResult, Partition, Source
from spse.sources.iris_contours import (
    REPAIRED,
    ZONE_COLUMNS,
    code_text,
    log_repairs,
    ordinal,
    property_names,
    repair_polygons,
    zones_frame,
)

FIELDS = {
    "code": ("c_quinsee",),
    "name": ("l_qu",),
    "arrondissement": ("c_ar",),
    "surface": ("surface",),
}
QUARTIER_CODE = r"^751(?:0[1-9]|1\d|20)\d{2}$"


class ParisQuartiers(Source):
    """Source ``paris_quartiers``: contours of the 80 administrative quartiers (zone level ``quartier``)."""

    name = "paris_quartiers"
    dataset = "zones_quartiers"
    kind = "reference"
    cadence = "reference"
    schedule = "0 5 1 * *"
    max_age_hours = 768  # monthly schedule, one day of slack
    optional = True
    description = "Paris administrative quartiers (Ville de Paris open data), 80 zones, EPSG:3035"
    columns: ClassVar[dict[str, Column]] = {
        **ZONE_COLUMNS,
        "zone_id": Column("VARCHAR", "", "INSEE quartier code c_quinsee (751AAQQ)", nullable=False),
        "zone_name": Column("VARCHAR", "", "Quartier name (l_qu, e.g. 'Bercy')"),
        "zone_label": Column("VARCHAR", "", "Quartier name and arrondissement, e.g. 'Bercy (12e)'"),
        "zone_level": Column("VARCHAR", "", "Kind of zone: 'quartier'", nullable=False),
        "area_m2": Column("DOUBLE", "m²", "Official area (surface), else the polygon's area in EPSG:3035"),
        "geometry_repaired": REPAIRED,
    }
    primary_key = ("zone_id",)

    def files(self, day: dt.date) -> list[str]:
        """The quartier GeoJSON export of Paris open data (one file per vintage)."""
        return ["quartier_paris/exports/geojson"]

    def parse(self, payload: bytes, filename: str, partition: Partition) -> ParseResult:
        """Quartiers in the ``zones_quartiers`` schema (area in m², geometry EPSG:3035 WKT)."""
        features = read_geojson(payload, self.name, filename)
        names = property_names(features.properties, FIELDS)
        props = {k: None if c is None else code_text(features.properties[c]) for k, c in names.items()}
        missing = [FIELDS[k][0] for k in ("code", "name") if props[k] is None]
        if missing and len(features.properties):
            raise SchemaError(self.name, f"features lack the properties {missing}; found "
                              f"{list(features.properties.columns)}", file=filename, row=1)
        code = props["code"]
        checks = RowChecks(len(code))
        checks.fail(~code.str.match(QUARTIER_CODE), "c_quinsee is not 7 digits starting with 75101-75120: " + code)
        arrondissement = pd.to_numeric(code.str.slice(3, 5), errors="coerce")
        if props["arrondissement"] is not None:
            stated = pd.to_numeric(props["arrondissement"], errors="coerce")
            checks.fail(stated.notna() & (stated != arrondissement),
                        "c_ar " + props["arrondissement"] + " disagrees with c_quinsee " + code)
        if names["surface"] is not None:
            surface, surface_bad = numbers(features.properties[names["surface"]])
            checks.fail(surface_bad, "surface is not a number")
        else:
            surface = pd.Series(np.nan, index=code.index)
        geoms, repaired, why = repair_polygons(features.geometries)
        checks.fail(pd.notna(why), why)
        name = blank_to_null(props["name"])
        out = pd.DataFrame({
            "zone_id": code, "zone_name": name,
            "zone_label": name + " (" + ordinal(arrondissement.fillna(0)) + ")",
            "zone_level": "quartier", "parent_zone_id": code.str.slice(0, 5), "geometry_repaired": repaired,
        })
        checks.duplicated(out, ["zone_id"], "c_quinsee")
        good = ~checks.bad
        out["geometry_wkt"], computed = zones_frame(geoms, features.crs, good)
        out["area_m2"] = surface.fillna(pd.Series(computed, index=code.index))
        log_repairs(self.name, filename, out.loc[good & repaired, "zone_id"])
        rejects = checks.rejects(self.name, filename, features.numbers, features.raw)
        return ParseResult(conform(out.loc[good], self.columns), rejects)


SOURCE = ParisQuartiers()
