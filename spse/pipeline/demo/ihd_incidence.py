"""SYNTHETIC ischaemic heart disease incidence of the demo bundle, in the ``ihd_incidence_zone`` layout.

Not a statistic. One row per year for Paris (département 75): residents = the sum of the
arrondissements' legal populations of ``facts``, new IHD cases = residents × a design rate of
250 per 100 000 a year, a plausible magnitude. Years 2023-2025.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from spse.pipeline.demo import facts
from spse.pipeline.demo.files import csv_text
from spse.pipeline.demo.files import write as write_file

RELATIVE_PATH = "ihd_incidence_zone/incidence_cardiopathie_ischemique_zone.csv"
LABEL_PATH = "ihd_incidence_zone/SYNTHETIC.md"
LABEL = ("# SYNTHETIC IHD incidence\n\nDonnées SYNTHÉTIQUES de démonstration, pas une statistique : nouveaux cas "
         "de cardiopathie ischémique à Paris = habitants × 250 pour 100 000 par an (valeur de conception).\n")
YEARS = (2023, 2024, 2025)
DESIGN_RATE = 0.0025  # new cases per resident per year


def table() -> pd.DataFrame:
    """The SYNTHETIC table, one row per year."""
    residents = sum(arr.population_2017 for arr in facts.ARRONDISSEMENTS)
    return pd.DataFrame([{"ANNEE": year, "CODGEO": "75", "LIBGEO": "Paris", "CAS": round(residents * DESIGN_RATE),
                          "POP": residents} for year in YEARS])


def write(root: Path) -> list[str]:
    """Write the SYNTHETIC incidence table and its label under ``root``; return their paths."""
    return [str(write_file(root, RELATIVE_PATH, csv_text(table(), ";"))), str(write_file(root, LABEL_PATH, LABEL))]
