"""## LCSQA air-quality measurement stations (coordinates)

* Provider: LCSQA, "Liste points de mesures" spreadsheet (yearly, on data.gouv.fr) [R],
  here as a flat CSV `stations.csv` with header `department,code_site,nom_site,longitude,latitude`,
  the layout of the list re-published by a third-party app [R].
* Licence: Licence Ouverte / Etalab 2.0 [R].
* Format: CSV `,`, UTF-8 (BOM tolerated), one row per station; longitude/latitude in
  decimal degrees WGS84.
* Time base: none (reference data, partition `vintage=current`).
* Quirks: the list is incomplete (stations without recent data were dropped upstream) and
  has no implantation/influence columns: those come from the E2 rows (`air_hourly`).
* Unconfirmed: the exact file name and columns of the official spreadsheet change every
  year [R]; this module reads the flat CSV only.

Quarantined rows: missing station code, missing or non-numeric coordinates, coordinates
outside :data:`FRANCE_BOUNDS` (metropolitan France and Corsica: overseas stations are out
of scope of a Paris pipeline), repeated station code.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

import pandas as pd

from spse.core.columns import Column
from spse.sources._parsing import (
    RowChecks,
    blank_to_null,
    concat_rejects,
    conform,
    decode_text,
    numbers,
    read_delimited,
    resolve_columns,
)
from spse.sources.base import ParseResult, Partition, Source

# Metropolitan France and Corsica, with a margin [° WGS84]: (lon_min, lon_max, lat_min, lat_max).
FRANCE_BOUNDS = (-5.5, 10.0, 41.0, 51.5)

HEADER = {"department": ("department", "departement"), "code_site": ("code_site", "code site"),
          "nom_site": ("nom_site", "nom site"), "longitude": ("longitude",), "latitude": ("latitude",)}


class LcsqaStations(Source):
    """Source ``lcsqa_stations``: metadata of the air-quality stations (LCSQA)."""

    name = "lcsqa_stations"
    dataset = "air_stations"
    kind = "reference"
    cadence = "reference"
    schedule = "0 4 * * 1"
    max_age_hours = 192  # weekly schedule, one day of slack
    description = "LCSQA list of air-quality measurement sites with WGS84 coordinates"
    columns: ClassVar[dict[str, Column]] = {
        "station_id": Column("VARCHAR", "", "EU station code (`code_site`, e.g. FR04055)", nullable=False),
        "station_name": Column("VARCHAR", "", "Station name (`nom_site`)"),
        "department": Column("VARCHAR", "", "Département code (`department`, e.g. 75)"),
        "lon": Column("DOUBLE", "° (WGS84)", "Longitude of the station", nullable=False),
        "lat": Column("DOUBLE", "° (WGS84)", "Latitude of the station", nullable=False),
    }
    primary_key = ("station_id",)

    def files(self, day: dt.date) -> list[str]:
        """The station list, ``stations.csv`` (one file per vintage)."""
        return ["stations.csv"]

    def parse(self, payload: bytes, filename: str, partition: Partition) -> ParseResult:
        """Stations of the list in the ``air_stations`` schema (lon/lat in ° WGS84)."""
        table = read_delimited(decode_text(payload, self.name, filename, "CSV"), ",", self.name, filename)
        cols = resolve_columns(table.header, HEADER, tuple(HEADER), self.name, filename)
        f = table.frame
        lon, lon_bad = numbers(f[cols["longitude"]])
        lat, lat_bad = numbers(f[cols["latitude"]])
        lon_min, lon_max, lat_min, lat_max = FRANCE_BOUNDS
        checks = RowChecks(len(f))
        checks.fail(f[cols["code_site"]] == "", "empty `code_site`")
        checks.fail(lon_bad | lat_bad, "coordinates are not numbers")
        checks.fail(lon.isna() | lat.isna(), "missing coordinates")
        checks.fail(~lon.between(lon_min, lon_max) | ~lat.between(lat_min, lat_max),
                    "coordinates outside metropolitan France: " + f[cols["longitude"]] + ", " + f[cols["latitude"]])
        out = pd.DataFrame({"station_id": f[cols["code_site"]], "station_name": blank_to_null(f[cols["nom_site"]]),
                            "department": blank_to_null(f[cols["department"]]), "lon": lon, "lat": lat})
        checks.duplicated(out, ["station_id"], "station code")
        rejects = checks.rejects(self.name, filename, table.lines, table.raw)
        return ParseResult(conform(out.loc[~checks.bad], self.columns), concat_rejects(table.rejects, rejects))


SOURCE = LcsqaStations()
