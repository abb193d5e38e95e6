"""## Ischaemic heart disease incidence: new cases and residents by zone and year (SNDS-like layout [U])

* Provider: the yearly number of new ischaemic heart disease (IHD, ICD-10 I20-I25) cases of
  the residents of a zone, e.g. from the Système national des données de santé (Assurance
  Maladie, "Cartographie des pathologies", published by département on data.ameli.fr) or
  Santé publique France's coronary event registers. methods.md §5.4 (Directive 2020/367
  Annex III, W5) needs it: IHD cases attributable to road noise = PAF × incidence × population.
  No IHD incidence for Paris with a source is in methods.md or peers.md, so none is in the
  register: the rate is an input, like the baseline mortality.
* Format [U]: no such file is described in feeds.md, so this module reads a documented layout:
  one CSV file `incidence_cardiopathie_ischemique_zone.csv`, `;`-separated, UTF-8 (BOM
  tolerated), header `ANNEE;CODGEO;LIBGEO;CAS;POP`, one row per year × zone, all ages, both sexes:

  * `ANNEE`: year of the cases (4 digits);
  * `CODGEO`: INSEE code of the commune or arrondissement municipal (5 characters) or of the
    département (`75`, `2A`, `971`); the noise mart takes a zone's own row, else its
    arrondissement's (IRIS, quartier), else its département's;
  * `LIBGEO`: its name;
  * `CAS`: new IHD cases among the residents in the year (count);
  * `POP`: residents (persons).

  A real extract has to be reshaped to this layout (documented in docs/health-impact.md).
* Licence: that of the extract used (Licence Ouverte / Etalab 2.0 for data.ameli.fr open data).
* Time base: calendar year.
* Partition: `vintage=current` (reference data; a file holds several years).
* The demo bundle's file is SYNTHETIC (`spse.pipeline.demo.ihd_incidence`): one row per year
  for Paris (département 75) with a design rate of a plausible magnitude, not a statistic.

Quarantined rows: year not 4 digits, zone code neither a 5-character INSEE code nor a
département, non-numeric, negative or missing cases, population not a positive number, more
cases than residents, a year × zone seen before.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

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

FILE = "incidence_cardiopathie_ischemique_zone.csv"
HEADER = {"year": ("ANNEE",), "zone": ("CODGEO",), "name": ("LIBGEO",), "cases": ("CAS",), "population": ("POP",)}
ZONE_CODE = r"^(?:\d{5}|2[AB]\d{3}|\d{2}|2[AB]|97\d)$"


class IhdIncidenceZone(Source):
    """Source ``ihd_incidence_zone``: new IHD cases and residents per year and zone (noise IHD cases)."""

    name = "ihd_incidence_zone"
    dataset = "ihd_incidence"
    kind = "reference"
    cadence = "reference"
    schedule = "0 5 2 * *"
    max_age_hours = 768  # monthly schedule, one day of slack
    description = "Ischaemic heart disease incidence: new cases and residents by year and zone (SNDS-like layout)"
    columns: ClassVar[dict[str, Column]] = {
        "year": Column("INTEGER", "", "Calendar year of the cases (ANNEE)", nullable=False),
        "zone_id": Column("VARCHAR", "", "INSEE code of the commune, arrondissement or département (CODGEO)",
                          nullable=False),
        "zone_name": Column("VARCHAR", "", "Zone name (LIBGEO)"),
        "cases": Column("DOUBLE", "cases/year", "New IHD cases (ICD-10 I20-I25) of the residents in the year (CAS)",
                        nullable=False),
        "population": Column("DOUBLE", "persons", "Residents, all ages (POP)", nullable=False),
    }
    primary_key = ("year", "zone_id")

    def files(self, day: dt.date) -> list[str]:
        """The one table of cases and residents, ``incidence_cardiopathie_ischemique_zone.csv``."""
        return [FILE]

    def parse(self, payload: bytes, filename: str, partition: Partition) -> ParseResult:
        """Rows of the table in the ``ihd_incidence`` schema."""
        table = read_delimited(decode_text(payload, self.name, filename, "CSV"), ";", self.name, filename)
        cols = resolve_columns(table.header, HEADER, tuple(HEADER), self.name, filename)
        f = table.frame
        checks = RowChecks(len(f))
        check_year(checks, f[cols["year"]])
        checks.fail(~f[cols["zone"]].str.match(ZONE_CODE), "CODGEO is not a zone code: " + f[cols["zone"]])
        cases, population = check_counts_of_residents(checks, f[cols["cases"]], f[cols["population"]], "CAS", "cases")
        good = ~checks.bad
        out = pd.DataFrame({
            "year": pd.to_numeric(f[cols["year"]].where(good), errors="coerce").astype("Int64"),
            "zone_id": f[cols["zone"]], "zone_name": blank_to_null(f[cols["name"]]),
            "cases": cases, "population": population,
        })
        checks.duplicated(out, list(self.primary_key), "year and zone")
        good = ~checks.bad
        frame = out.loc[good].astype({"year": "int32"})
        rejects = checks.rejects(self.name, filename, table.lines, table.raw)
        return ParseResult(conform(frame, self.columns), concat_rejects(table.rejects, rejects))


SOURCE = IhdIncidenceZone()
