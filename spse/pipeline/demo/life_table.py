"""SYNTHETIC life table of the demo bundle, in the ``insee_tables_mortalite`` layout.

Not INSEE data. One period table per year for Paris (département 75), both sexes, ages 0 to
110 (open), from a Gompertz mortality law μ(x) = a·exp(b·x) with design parameters
a = 1e-5 per year and b = 0.103 per year of age: q_x = 1 − exp(−∫ₓ^{x+1} μ), survivors l_x,
person-years L_x = (l_x + l_{x+1})/2 (l_x/μ(110) at the open age) and e_x = Σ_{k≥x} L_k / l_x.
That gives e0 ≈ 84.1, e30 ≈ 54.2, e65 ≈ 21.5 and e80 ≈ 10.7 years, plausible Paris values.
Years 2023-2025, the same table each year.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from spse.pipeline.demo.files import csv_text
from spse.pipeline.demo.files import write as write_file

RELATIVE_PATH = "insee_tables_mortalite/table_mortalite_zone.csv"
LABEL_PATH = "insee_tables_mortalite/SYNTHETIC.md"
LABEL = ("# SYNTHETIC life table\n\nDonnées SYNTHÉTIQUES de démonstration, pas une table de mortalité INSEE : "
         "loi de Gompertz (μ(x) = 1e-5 · exp(0,103 · x)) donnant une espérance de vie plausible pour Paris "
         "(environ 54 ans à 30 ans, 21,5 ans à 65 ans, 10,7 ans à 80 ans).\n")
YEARS = (2023, 2024, 2025)
GOMPERTZ_A = 1e-5  # per year, at age 0
GOMPERTZ_B = 0.103  # per year of age
OPEN_AGE = 110


def gompertz_table(a: float = GOMPERTZ_A, b: float = GOMPERTZ_B, open_age: int = OPEN_AGE) -> pd.DataFrame:
    """Ages 0 … ``open_age`` with q_x (0-1; 1 at the open age) and e_x [years] of the Gompertz law."""
    ages = np.arange(open_age + 1, dtype=float)
    qx = -np.expm1(-a / b * (np.exp(b * (ages + 1)) - np.exp(b * ages)))
    qx[-1] = 1.0
    survivors = np.concatenate([[1.0], np.cumprod(1.0 - qx[:-1])])
    person_years = (survivors + np.append(survivors[1:], 0.0)) / 2
    person_years[-1] = survivors[-1] / (a * np.exp(b * open_age))
    ex = np.cumsum(person_years[::-1])[::-1] / survivors
    return pd.DataFrame({"age": ages.astype(int), "qx": qx, "ex": ex})


def table() -> pd.DataFrame:
    """The SYNTHETIC table, one row per year × age (QX per 100 000, as the layout)."""
    law = gompertz_table()
    return pd.concat([pd.DataFrame({"ANNEE": year, "CODGEO": "75", "LIBGEO": "Paris", "SEXE": "_T",
                                    "AGE": law["age"], "QX": (law["qx"] * 100_000).round(3),
                                    "EX": law["ex"].round(4)}) for year in YEARS], ignore_index=True)


def write(root: Path) -> list[str]:
    """Write the SYNTHETIC life table and its label under ``root``; return their paths."""
    return [str(write_file(root, RELATIVE_PATH, csv_text(table(), ";"))), str(write_file(root, LABEL_PATH, LABEL))]
