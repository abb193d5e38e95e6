"""## Baseline mortality: deaths and population by zone, age band and year (INSEE état civil layout [U])

* Provider: INSEE, état civil, "décès domiciliés" (deaths counted at the place of residence)
  by commune or arrondissement municipal and age, e.g. "Les décès en 2019 – tableaux de séries
  longues" (insee.fr/fr/statistiques/4771989), with the population by age of the census
  (methods.md §7.3: Paris baseline mortality is [U], take it from INSEE état civil or CépiDc).
* Format [U]: neither feeds.md nor methods.md describes an INSEE état civil file, so this
  module reads a documented layout close to INSEE's tables and to its Melodi age codes:
  one CSV file `deces_domicilies_age_zone.csv`, `;`-separated, UTF-8 (BOM tolerated),
  header `ANNEE;CODGEO;LIBGEO;AGE;DECES;POP`, one row per year × zone × age band, both sexes:

  * `ANNEE`: year of death (4 digits);
  * `CODGEO`: INSEE code of the commune or arrondissement municipal (`75101`-`75120` for Paris);
  * `LIBGEO`: its name;
  * `AGE`: age band in INSEE/SDMX codes, `Y_LT30` (under 30), `Y30T64` (30 to 64 inclusive),
    `Y_GE80` (80 or more); `_T` (all ages) rows are totals and are skipped, not stored;
  * `DECES`: deaths of residents in the year (count);
  * `POP`: residents of the band (census population of the year or the nearest census) [persons].

  A real INSEE extract has to be reshaped to this layout (documented in docs/health-impact.md).
* Licence: Licence Ouverte / Etalab 2.0 (INSEE).
* Time base: calendar year (deaths of 1 January to 31 December, local civil date).
* Partition: `vintage=current` (reference data; a file holds several years).
* The demo bundle's file is SYNTHETIC (`spse.pipeline.demo.mortality`): plausible magnitudes
  (Paris about 14 000 deaths a year, about 1.4 million residents aged 30+), not INSEE figures.

Quarantined rows: year not 4 digits, zone code not a 5-character INSEE code, unknown age code,
non-numeric, negative or missing deaths, population not a positive number, more deaths than
residents, a year × zone × band seen before.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import ClassVar

import numpy as np
import pandas as pd

from spse.core.columns import Column
from spse.sources._parsing import (
    RowChecks,
    blank_to_null,
    check_counts_of_residents,
    check_year,
    concat_rejects,
    conform,
    decode_text,
    read_delimited,
    resolve_columns,
)
from spse.sources.base import ParseResult, Partition, Source

FILE = "deces_domicilies_age_zone.csv"
HEADER = {"year": ("ANNEE",), "zone": ("CODGEO",), "name": ("LIBGEO",), "age": ("AGE",),
          "deaths": ("DECES",), "population": ("POP",)}
TOTAL_AGE = "_T"
_BAND = re.compile(r"^Y(\d{1,3})T(\d{1,3})$")
_OPEN = re.compile(r"^Y_GE(\d{1,3})$")
_UNDER = re.compile(r"^Y_LT(\d{1,3})$")
INSEE_CODE = r"^(?:\d{5}|2[AB]\d{3})$"


def age_band(code: str) -> tuple[int, int | None] | None:
    """Return (first age, last age inclusive or None for an open band) of an INSEE age code, None if unknown.

    ``Y30T64`` → (30, 64); ``Y_GE80`` → (80, None); ``Y_LT30`` → (0, 29).
    """
    if match := _BAND.match(code):
        low, high = int(match.group(1)), int(match.group(2))
        return (low, high) if low <= high else None
    if match := _OPEN.match(code):
        return int(match.group(1)), None
    if (match := _UNDER.match(code)) and int(match.group(1)) > 0:
        return 0, int(match.group(1)) - 1
    return None


class InseeDecesZone(Source):
    """Source ``insee_deces_zone``: deaths and residents per year, zone and age band (baseline mortality)."""

    name = "insee_deces_zone"
    dataset = "baseline_mortality"
    kind = "reference"
    cadence = "reference"
    schedule = "0 5 2 * *"
    max_age_hours = 768  # monthly schedule, one day of slack
    description = "Baseline mortality: deaths of residents and population by year, zone and age band (INSEE layout)"
    columns: ClassVar[dict[str, Column]] = {
        "year": Column("INTEGER", "", "Calendar year of the deaths (ANNEE)", nullable=False),
        "zone_id": Column("VARCHAR", "", "INSEE code of the commune or arrondissement (CODGEO, e.g. 75113)",
                          nullable=False),
        "zone_name": Column("VARCHAR", "", "Zone name (LIBGEO)"),
        "age_min": Column("INTEGER", "years", "First age of the band (AGE code, e.g. 30 for Y30T64)", nullable=False),
        "age_max": Column("INTEGER", "years", "Last age of the band, inclusive; NULL for an open band (Y_GE80)"),
        "deaths": Column("DOUBLE", "deaths/year", "Deaths of residents of the band in the year (DECES)",
                         nullable=False),
        "population": Column("DOUBLE", "persons", "Residents of the band (POP)", nullable=False),
    }
    primary_key = ("year", "zone_id", "age_min")

    def files(self, day: dt.date) -> list[str]:
        """The one table of deaths and population, ``deces_domicilies_age_zone.csv``."""
        return [FILE]

    def parse(self, payload: bytes, filename: str, partition: Partition) -> ParseResult:
        """Rows of the table in the ``baseline_mortality`` schema; ``_T`` totals are skipped."""
        table = read_delimited(decode_text(payload, self.name, filename, "CSV"), ";", self.name, filename)
        cols = resolve_columns(table.header, HEADER, tuple(HEADER), self.name, filename)
        f = table.frame
        keep = (f[cols["age"]] != TOTAL_AGE).to_numpy()
        f = f.loc[keep].reset_index(drop=True)
        lines, raw = table.lines[keep], table.raw[keep].reset_index(drop=True)
        bands = [age_band(code) for code in f[cols["age"]]]
        checks = RowChecks(len(f))
        check_year(checks, f[cols["year"]])
        checks.fail(~f[cols["zone"]].str.match(INSEE_CODE), "CODGEO is not an INSEE code: " + f[cols["zone"]])
        checks.fail(np.array([b is None for b in bands], dtype=bool), "unknown AGE code: " + f[cols["age"]])
        deaths, population = check_counts_of_residents(checks, f[cols["deaths"]], f[cols["population"]], "DECES",
                                                       "deaths")
        good = ~checks.bad
        out = pd.DataFrame({
            "year": pd.to_numeric(f[cols["year"]].where(good), errors="coerce").astype("Int64"),
            "zone_id": f[cols["zone"]],
            "zone_name": blank_to_null(f[cols["name"]]),
            "age_min": pd.array([b[0] if b else None for b in bands], dtype="Int64"),
            "age_max": pd.array([b[1] if b else None for b in bands], dtype="Int64"),
            "deaths": deaths, "population": population,
        })
        checks.duplicated(out, ["year", "zone_id", "age_min"], "year, zone and age band")
        good = ~checks.bad
        frame = out.loc[good].astype({"year": "int32", "age_min": "int32", "age_max": "Int32"})
        rejects = checks.rejects(self.name, filename, lines, raw)
        return ParseResult(conform(frame, self.columns), concat_rejects(table.rejects, rejects))


SOURCE = InseeDecesZone()
