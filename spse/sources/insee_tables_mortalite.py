"""## Life tables: probability of dying and life expectancy by single year of age (INSEE layout [U])

* Provider: INSEE, "tables de mortalité" (period life tables by sex and single year of age, for
  France and by département, e.g. the yearly "Tables de mortalité" of the bilan démographique
  and the département tables of "Espérance de vie à divers âges"). The health step reads the
  remaining life expectancy at the mean age of death of each age band to turn attributable
  deaths into years of life lost (docs/health-impact.md; methods.md §7, peers.md AirQ+).
* Format [U]: neither feeds.md nor methods.md describes an INSEE life-table file, so this
  module reads a documented layout close to INSEE's tables (survivors, deaths, "quotient de
  mortalité" per 100 000 and "espérance de vie" per age) and to its Melodi codes: one CSV file
  `table_mortalite_zone.csv`, `;`-separated, UTF-8 (BOM tolerated), header
  `ANNEE;CODGEO;LIBGEO;SEXE;AGE;QX;EX`, one row per year × zone × sex × age:

  * `ANNEE`: year of the table (4 digits; for a table of several years, the last one);
  * `CODGEO`: INSEE code of the zone: commune or arrondissement municipal (5 characters),
    département (`75`, `2A`, `971`), or `FR` (France) / `FM` (metropolitan France), the
    latter two codes being this layout's own [U];
  * `LIBGEO`: its name;
  * `SEXE`: `M`, `F` or `_T` (both sexes, the one the health step uses);
  * `AGE`: exact age x in whole years; the last age of a table is its open age (x and over);
  * `QX`: probability of dying between x and x + 1, per 100 000 (INSEE's unit in its tables,
    [U]); stored as a probability (0-1);
  * `EX`: remaining life expectancy at exact age x [years].

  A real INSEE table has to be reshaped to this layout (documented in docs/health-impact.md).
* Licence: Licence Ouverte / Etalab 2.0 (INSEE).
* Time base: calendar year (period table of the deaths of the year).
* Partition: `vintage=current` (reference data; a file holds several years and zones).
* The demo bundle's file is SYNTHETIC (`spse.pipeline.demo.life_table`): a Gompertz law with
  plausible Paris values (e30 ≈ 54, e65 ≈ 21.5, e80 ≈ 10.7 years), not INSEE figures.

Quarantined rows: year not 4 digits, unknown zone or sex code, age not a whole number of
0-130, QX not a number of 0-100 000, EX not a non-negative number, a year × zone × sex × age
seen before. A table whose ages are not consecutive is refused by the health step (no YLL).
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

import pandas as pd

from spse.core.columns import Column
from spse.sources._parsing import (
    RowChecks,
    blank_to_null,
    check_year,
    concat_rejects,
    conform,
    decode_text,
    numbers,
    read_delimited,
    resolve_columns,
)
from spse.sources.base import ParseResult, Partition, Source

FILE = "table_mortalite_zone.csv"
HEADER = {"year": ("ANNEE",), "zone": ("CODGEO",), "name": ("LIBGEO",), "sex": ("SEXE",), "age": ("AGE",),
          "qx": ("QX",), "ex": ("EX",)}
SEXES = ("M", "F", "_T")
ZONE_CODE = r"^(?:\d{5}|2[AB]\d{3}|\d{2}|2[AB]|97\d|FR|FM)$"
QX_PER = 100_000.0
MAX_AGE = 130


class InseeTablesMortalite(Source):
    """Source ``insee_tables_mortalite``: period life tables per year, zone, sex and age (YLL)."""

    name = "insee_tables_mortalite"
    dataset = "life_table"
    kind = "reference"
    cadence = "reference"
    schedule = "0 5 2 * *"
    max_age_hours = 768  # monthly schedule, one day of slack
    description = "Life tables: probability of dying and life expectancy by year, zone, sex and age (INSEE layout)"
    columns: ClassVar[dict[str, Column]] = {
        "year": Column("INTEGER", "", "Year of the table (ANNEE)", nullable=False),
        "zone_id": Column("VARCHAR", "", "INSEE code of the commune, arrondissement or département, or FR / FM "
                                         "(CODGEO)", nullable=False),
        "zone_name": Column("VARCHAR", "", "Zone name (LIBGEO)"),
        "sex": Column("VARCHAR", "", "M, F or _T for both sexes (SEXE)", nullable=False),
        "age": Column("INTEGER", "years", "Exact age x (AGE); the table's last age is open", nullable=False),
        "qx": Column("DOUBLE", "0-1", "Probability of dying between x and x + 1 (QX / 100 000)", nullable=False),
        "ex": Column("DOUBLE", "years", "Remaining life expectancy at exact age x (EX)", nullable=False),
    }
    primary_key = ("year", "zone_id", "sex", "age")

    def files(self, day: dt.date) -> list[str]:
        """The one life-table file, ``table_mortalite_zone.csv``."""
        return [FILE]

    def parse(self, payload: bytes, filename: str, partition: Partition) -> ParseResult:
        """Rows of the table in the ``life_table`` schema, ``QX`` turned into a probability."""
        table = read_delimited(decode_text(payload, self.name, filename, "CSV"), ";", self.name, filename)
        cols = resolve_columns(table.header, HEADER, tuple(HEADER), self.name, filename)
        f = table.frame
        age, age_bad = numbers(f[cols["age"]])
        qx, qx_bad = numbers(f[cols["qx"]])
        ex, ex_bad = numbers(f[cols["ex"]])
        checks = RowChecks(len(f))
        check_year(checks, f[cols["year"]])
        checks.fail(~f[cols["zone"]].str.match(ZONE_CODE), "CODGEO is not a zone code: " + f[cols["zone"]])
        checks.fail(~f[cols["sex"]].isin(SEXES), "SEXE is not M, F or _T: " + f[cols["sex"]])
        checks.fail(age_bad | ~((age >= 0) & (age <= MAX_AGE) & (age == age.round())).to_numpy(),
                    "AGE is not a whole age: " + f[cols["age"]])
        checks.fail(qx_bad | ~((qx >= 0) & (qx <= QX_PER)).to_numpy(),
                    "QX is not a probability per 100 000: " + f[cols["qx"]])
        checks.fail(ex_bad | ~(ex >= 0).to_numpy(), "EX is not a life expectancy: " + f[cols["ex"]])
        good = ~checks.bad
        out = pd.DataFrame({
            "year": pd.to_numeric(f[cols["year"]].where(good), errors="coerce").astype("Int64"),
            "zone_id": f[cols["zone"]],
            "zone_name": blank_to_null(f[cols["name"]]),
            "sex": f[cols["sex"]],
            "age": age.where(good).astype("Int64"),
            "qx": qx / QX_PER, "ex": ex,
        })
        checks.duplicated(out, list(self.primary_key), "year, zone, sex and age")
        good = ~checks.bad
        frame = out.loc[good].astype({"year": "int32", "age": "int32"})
        rejects = checks.rejects(self.name, filename, table.lines, table.raw)
        return ParseResult(conform(frame, self.columns), concat_rejects(table.rejects, rejects))


SOURCE = InseeTablesMortalite()

