"""## INSEE Filosofi gridded population, 200 m cells ("données carroyées")

* Provider: INSEE, Filosofi 2017 (insee.fr/fr/statistiques/6215217) or 2019
  (/7655515); the ZIP is unpacked beforehand, this source reads
  `Filosofi2017_carreaux_200m_met.csv` (metropolitan France).
* Licence: Licence Ouverte / Etalab [M]; cite "Insee, Filosofi 20XX".
* Format: CSV `,` (a `;` header is also accepted), UTF-8. Column names are matched
  case-insensitively, so the 2017 capitalised names (`Idcar_200m, I_est_200, Ind, Men,
  Men_pauv, Ind_0_3, ..., Ind_80p`) and the 2019/2021 lowercase names are both read [R];
  the 2015 names `IdINSPIRE`, `I_est_cr` are accepted as aliases [R].
* Grid: ETRS89-LAEA (EPSG:3035); the id `CRS3035RES200mN{y}E{x}` gives the south-west
  corner in metres [V; methods.md §6.1 "partie entière" rule].
* Time base: none (reference year of the vintage; partition `vintage=current`).
* Quirks: counts are floats because cells with few households are imputed for
  statistical secrecy, flagged `i_est_200 = 1` [R]; that the flag means exactly "fewer
  than 11 households" is unconfirmed [U, methods.md §10].

Derived columns: `pop_0_5 = Ind_0_3 + Ind_4_5`, `pop_65p = Ind_65_79 + Ind_80p`,
`pop_poor_households = Ind × Men_pauv / Men` (0 when Men = 0), an estimate that assumes
poor households have the cell's mean size; `standard_of_living = Ind_snv / Ind`, the mean
standard of living of the cell's residents [€ per consumption unit per year] (`Ind_snv` is the
sum of the individuals' "niveau de vie winsorisé"; NULL when Ind = 0 or Ind_snv is absent or
empty, as in cells INSEE does not publish it for). Optional columns absent from the file give NULL.

Quarantined rows: id not of the 200 m grid form, missing or negative counts, non-numeric
values, imputation flag other than 0/1, repeated id.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

import numpy as np
import pandas as pd

from spse.core.columns import Column
from spse.sources._parsing import (
    RowChecks,
    concat_rejects,
    conform,
    decode_text,
    numbers,
    read_delimited,
    resolve_columns,
)
from spse.sources.base import Measure, ParseResult, Partition, Source

CELL_SIZE_M = 200
CELL_ID = r"^CRS3035RES200mN(?P<y>\d+)E(?P<x>\d+)$"

FIELDS = {
    "id": ("idcar_200m", "idinspire"),
    "imputed": ("i_est_200", "i_est_cr"),
    "ind": ("ind",),
    "men": ("men",),
    "men_pauv": ("men_pauv",),
    "ind_0_3": ("ind_0_3",),
    "ind_4_5": ("ind_4_5",),
    "ind_65_79": ("ind_65_79",),
    "ind_80p": ("ind_80p",),
    "ind_snv": ("ind_snv",),
}
COUNTS = ("ind", "men", "men_pauv", "ind_0_3", "ind_4_5", "ind_65_79", "ind_80p", "ind_snv")


class InseeFilosofi200m(Source):
    """Source ``insee_filosofi_200m``: Filosofi 200 m population grid, extracted CSV."""

    name = "insee_filosofi_200m"
    dataset = "population"
    kind = "reference"
    cadence = "reference"
    schedule = "0 5 1 * *"
    max_age_hours = 768  # monthly schedule, one day of slack
    description = "INSEE Filosofi 200 m gridded population, age bands and households (EPSG:3035)"
    columns: ClassVar[dict[str, Column]] = {
        "cell_id": Column("VARCHAR", "", "INSEE cell id CRS3035RES200mN{y}E{x}", nullable=False),
        "x_3035": Column("INTEGER", "m (EPSG:3035)", "Easting of the cell's south-west corner", nullable=False),
        "y_3035": Column("INTEGER", "m (EPSG:3035)", "Northing of the cell's south-west corner", nullable=False),
        "population": Column("DOUBLE", "persons", "Individuals in the cell (Ind; imputed when is_imputed)",
                             nullable=False),
        "pop_0_3": Column("DOUBLE", "persons", "Individuals aged 0-3 (Ind_0_3)"),
        "pop_4_5": Column("DOUBLE", "persons", "Individuals aged 4-5 (Ind_4_5)"),
        "pop_0_5": Column("DOUBLE", "persons", "Individuals aged 0-5 = Ind_0_3 + Ind_4_5"),
        "pop_65_79": Column("DOUBLE", "persons", "Individuals aged 65-79 (Ind_65_79)"),
        "pop_80p": Column("DOUBLE", "persons", "Individuals aged 80 or more (Ind_80p)"),
        "pop_65p": Column("DOUBLE", "persons", "Individuals aged 65 or more = Ind_65_79 + Ind_80p"),
        "households": Column("DOUBLE", "households", "Households (Men)"),
        "households_poor": Column("DOUBLE", "households", "Households below the poverty line (Men_pauv)"),
        "pop_poor_households": Column("DOUBLE", "persons", "Estimated individuals in poor households = "
                                      "population × households_poor / households (0 when households = 0)"),
        "standard_of_living": Column("DOUBLE", "€/consumption unit/year",
                                     "Mean standard of living of the residents = Ind_snv / Ind (NULL when Ind = 0 "
                                     "or Ind_snv is absent)"),
        "is_imputed": Column("BOOLEAN", "", "Values approximated for statistical secrecy (I_est_200 = 1); "
                             "NULL when the file has no flag"),
    }
    primary_key = ("cell_id",)
    # Population of one 200 m cell; a count, so no-data sentinels do not apply.
    measures = (Measure(("population",), quantity="population", unit="persons", sentinels=False),)

    def files(self, day: dt.date) -> list[str]:
        """The extracted CSV of the 2017 vintage, ``Filosofi2017_carreaux_200m_met.csv``."""
        return ["Filosofi2017_carreaux_200m_met.csv"]

    def parse(self, payload: bytes, filename: str, partition: Partition) -> ParseResult:
        """Cells of the file in the ``population`` schema (persons, households; EPSG:3035 metres)."""
        text = decode_text(payload, self.name, filename, "CSV")
        first = text.split("\n", 1)[0]
        sep = ";" if first.count(";") > first.count(",") else ","
        table = read_delimited(text, sep, self.name, filename)
        cols = resolve_columns(table.header, FIELDS, ("id", "ind"), self.name, filename)
        f = table.frame
        checks = RowChecks(len(f))
        cell_id = f[cols["id"]]
        well_formed = cell_id.str.fullmatch(CELL_ID).fillna(False).astype(bool)
        checks.fail(~well_formed, "cell id is not CRS3035RES200mN{y}E{x}: " + cell_id)
        valid_id = cell_id.where(well_formed, "CRS3035RES200mN0E0")
        x = pd.to_numeric(valid_id.str.replace(CELL_ID, r"\g<x>", regex=True)).astype("int64")
        y = pd.to_numeric(valid_id.str.replace(CELL_ID, r"\g<y>", regex=True)).astype("int64")
        checks.fail((x % CELL_SIZE_M != 0) | (y % CELL_SIZE_M != 0), "cell id is not on the 200 m grid: " + cell_id)
        counts = {}
        for key in COUNTS:
            if cols[key] is None:
                counts[key] = pd.Series(np.nan, index=f.index)
                continue
            counts[key], bad = numbers(f[cols[key]])
            checks.fail(bad, f"`{cols[key]}` is not a number: " + f[cols[key]])
            checks.fail(counts[key] < 0, f"negative `{cols[key]}`: " + f[cols[key]])
        checks.fail(counts["ind"].isna(), f"missing `{cols['ind']}`")
        if cols["imputed"] is None:
            imputed = pd.Series(pd.NA, index=f.index, dtype="boolean")
        else:
            flag, bad = numbers(f[cols["imputed"]])
            checks.fail(bad | (flag.notna() & ~flag.isin((0, 1))), f"`{cols['imputed']}` is not 0/1: "
                        + f[cols["imputed"]])
            imputed = flag.map({0.0: False, 1.0: True}).astype("boolean")
        men, poor, ind = counts["men"], counts["men_pauv"], counts["ind"]
        out = pd.DataFrame({
            "cell_id": cell_id, "x_3035": x, "y_3035": y, "population": ind,
            "pop_0_3": counts["ind_0_3"], "pop_4_5": counts["ind_4_5"],
            "pop_0_5": counts["ind_0_3"] + counts["ind_4_5"],
            "pop_65_79": counts["ind_65_79"], "pop_80p": counts["ind_80p"],
            "pop_65p": counts["ind_65_79"] + counts["ind_80p"],
            "households": men, "households_poor": poor,
            "pop_poor_households": (ind * poor / men.where(men > 0)).mask(men == 0, 0.0),
            "standard_of_living": counts["ind_snv"] / ind.where(ind > 0),
            "is_imputed": imputed,
        })
        checks.duplicated(out, ["cell_id"], "cell id")
        rejects = checks.rejects(self.name, filename, table.lines, table.raw)
        return ParseResult(conform(out.loc[~checks.bad], self.columns), concat_rejects(table.rejects, rejects))


SOURCE = InseeFilosofi200m()
