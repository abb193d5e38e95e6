"""## Paris arrondissements (Ville de Paris open data)

* Provider: Ville de Paris, opendata.paris.fr, dataset `arrondissements` [V].
* URL: `https://opendata.paris.fr/api/explore/v2.1/catalog/datasets/arrondissements/exports/geojson`.
* Licence: ODbL (Paris open data) [V].
* Format: GeoJSON FeatureCollection, WGS84, 20 Polygon features with `n_sq_ar, c_ar,
  c_arinsee (75101-75120), l_ar, l_aroff, n_sq_co, surface (m²), perimetre, geom_x_y` [V].
* Time base: none (reference data, partition `vintage=current`).
* Output: `zone_id = c_arinsee`, `zone_name = l_ar` ("1er Ardt"), `zone_label = l_aroff`
  ("Louvre"), `area_m2 = surface` (the official area), geometry reprojected to
  ETRS89-LAEA (EPSG:3035) WKT with pyproj (always_xy).
* Quirks: `c_arinsee` is a JSON number. Rows are GeoJSON features: the quarantine's
  `row` is the 1-based feature number.

Quarantined features: missing or malformed INSEE code, missing, non-polygonal or invalid
geometry, repeated code.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

import pandas as pd

from spse.core.columns import Column
from spse.core.errors import SchemaError
from spse.sources._parsing import (
    RowChecks,
    as_text,
    blank_to_null,
    conform,
    numbers,
    polygon_problems,
    read_geojson,
    to_3035_wkt,
)
from spse.sources.base import ParseResult, Partition, Source

INSEE_CODE = r"^\d{5}$"
REQUIRED = ("c_arinsee", "l_ar", "l_aroff", "surface")


class ParisArrondissements(Source):
    """Source ``paris_arrondissements``: contours of the 20 arrondissements (zone level ``arrondissement``)."""

    name = "paris_arrondissements"
    dataset = "zones"
    kind = "reference"
    cadence = "reference"
    schedule = "0 5 1 * *"
    max_age_hours = 768  # monthly schedule, one day of slack
    description = "Paris arrondissement boundaries (Ville de Paris open data), EPSG:3035"
    columns: ClassVar[dict[str, Column]] = {
        "zone_id": Column("VARCHAR", "", "INSEE code of the arrondissement (c_arinsee, 75101-75120)", nullable=False),
        "zone_name": Column("VARCHAR", "", "Short name (l_ar, e.g. '1er Ardt')"),
        "zone_label": Column("VARCHAR", "", "Official name (l_aroff, e.g. 'Louvre')"),
        "zone_level": Column("VARCHAR", "", "Kind of zone: 'arrondissement'", nullable=False),
        "area_m2": Column("DOUBLE", "m²", "Official area (surface)"),
        "geometry_wkt": Column("VARCHAR", "WKT, EPSG:3035 (m)", "Boundary polygon in ETRS89-LAEA", nullable=False),
    }
    primary_key = ("zone_id",)

    def files(self, day: dt.date) -> list[str]:
        """The arrondissement GeoJSON export of Paris open data (one file per vintage)."""
        return ["arrondissements/exports/geojson"]

    def parse(self, payload: bytes, filename: str, partition: Partition) -> ParseResult:
        """Arrondissements in the ``zones`` schema (area in m², geometry EPSG:3035 WKT)."""
        features = read_geojson(payload, self.name, filename)
        props = features.properties
        missing = [c for c in REQUIRED if c not in props.columns]
        if missing and len(props):
            raise SchemaError(self.name, f"features lack the properties {missing}; found {list(props.columns)}",
                              file=filename, row=1)
        props = props.reindex(columns=list(REQUIRED))
        code_num, _ = numbers(props["c_arinsee"])
        code_num = code_num.where(code_num % 1 == 0)
        code = code_num.astype("Int64").astype("str").where(code_num.notna(), "")
        checks = RowChecks(len(props))
        checks.fail(~code.str.match(INSEE_CODE), "missing or malformed c_arinsee: " + as_text(props["c_arinsee"]))
        why = polygon_problems(features.geometries)
        checks.fail(pd.notna(why), why)
        area, area_bad = numbers(props["surface"])
        checks.fail(area_bad, "surface is not a number")
        out = pd.DataFrame({"zone_id": code, "zone_name": blank_to_null(props["l_ar"]),
                            "zone_label": blank_to_null(props["l_aroff"]), "zone_level": "arrondissement",
                            "area_m2": area})
        checks.duplicated(out, ["zone_id"], "c_arinsee")
        good = ~checks.bad
        out["geometry_wkt"] = None
        out.loc[good, "geometry_wkt"] = to_3035_wkt(features.geometries[good], features.crs)
        rejects = checks.rejects(self.name, filename, features.numbers, features.raw)
        return ParseResult(conform(out.loc[good], self.columns), rejects)


SOURCE = ParisArrondissements()
