"""SYNTHETIC baseline mortality of the demo bundle, in the ``insee_deces_zone`` layout.

Not INSEE data. Residents per arrondissement are the legal populations of ``facts`` split
by the Paris age profile (``facts.PARIS_AGE_PROFILE``; the 25-39 band cut at 30 pro rata,
65+ scaled by the arrondissement's ``elderly_factor``); deaths are residents × design rates
per band, drifting +1 % a year. Paris then has about 1.4 million residents aged 30+ and
about 14 000 deaths a year, the magnitude of the real figures (methods.md §7.3 leaves the
Paris rate [U]). Years 2023-2025, so the demo year 2025 has its own baseline.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from spse.pipeline.demo import facts
from spse.pipeline.demo.files import csv_text
from spse.pipeline.demo.files import write as write_file

RELATIVE_PATH = "insee_deces_zone/deces_domicilies_age_zone.csv"
LABEL_PATH = "insee_deces_zone/SYNTHETIC.md"
LABEL = ("# SYNTHETIC baseline mortality\n\nDonnées SYNTHÉTIQUES de démonstration, pas des chiffres INSEE : "
         "décès et habitants par arrondissement, tranche d'âge et année, d'un ordre de grandeur plausible "
         "(Paris : environ 14 000 décès par an, 1,4 million d'habitants de 30 ans ou plus).\n")
YEARS = (2023, 2024, 2025)
# Design death rates [deaths/person/year] per INSEE age code, for 2024.
RATES = {"Y_LT30": 0.0003, "Y30T64": 0.0025, "Y65T79": 0.013, "Y_GE80": 0.065}


def _profile() -> dict[str, float]:
    shares = dict(zip(facts.AGE_BANDS, facts.PARIS_AGE_PROFILE, strict=True))
    under_30 = sum(shares[b] for b in ("0_3", "4_5", "6_10", "11_17", "18_24")) + shares["25_39"] * 5 / 15
    return {"Y_LT30": under_30, "Y30T64": shares["25_39"] * 10 / 15 + shares["40_54"] + shares["55_64"],
            "Y65T79": shares["65_79"], "Y_GE80": shares["80p"]}


def table() -> pd.DataFrame:
    """The SYNTHETIC table, one row per year × arrondissement × age band."""
    profile = _profile()
    rows = []
    for year in YEARS:
        drift = 1 + 0.01 * (year - 2024)
        for arr in facts.ARRONDISSEMENTS:
            old = {b: profile[b] * arr.elderly_factor for b in ("Y65T79", "Y_GE80")}
            young = 1 - sum(old.values())
            split = profile["Y_LT30"] / (profile["Y_LT30"] + profile["Y30T64"])
            shares = {"Y_LT30": young * split, "Y30T64": young * (1 - split), **old}
            for code, share in shares.items():
                residents = round(arr.population_2017 * share)
                rows.append({"ANNEE": year, "CODGEO": arr.code, "LIBGEO": f"Paris {arr.label}", "AGE": code,
                             "DECES": round(residents * RATES[code] * drift), "POP": residents})
    return pd.DataFrame(rows)


def write(root: Path) -> list[str]:
    """Write the SYNTHETIC mortality table and its label under ``root``; return their paths."""
    return [str(write_file(root, RELATIVE_PATH, csv_text(table(), ";"))), str(write_file(root, LABEL_PATH, LABEL))]
