"""Exposure by income quintile: population-weighted exposure of the most and least deprived (status [U]).

Cells of the INSEE 200 m grid are ranked by their mean standard of living, Filosofi
``Ind_snv / Ind`` [€ per consumption unit per year], from the poorest up. Quintiles are cut
on the cumulative population (each quintile holds about a fifth of the residents, not of the
cells): a cell goes to quintile ⌊5·m⌋ + 1, where m is the population share of all cells
ranked before it plus half of its own, so a cell is never split (design choice [U]).
Quintile 1 is the most deprived. Cells without a standard of living (no households, or
secret) are left out and reported as unranked population.

Per quintile: population, population-weighted mean exposure (methods.md §6.1), population in
cells above a threshold and its share, and the poverty share Σ Men_pauv / Σ Men (households
below the poverty line). The gap between the most and least deprived quintiles is reported
as a ratio (Q1 / Q5) and a difference (Q1 − Q5).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

QUINTILES = 5


def income_quintile(standard_of_living: np.ndarray | list[float], population: np.ndarray | list[float]) -> np.ndarray:
    """Return the population-weighted quintile (1 = poorest … 5) of each cell; 0 where it cannot be ranked.

    Parameters
    ----------
    standard_of_living : array-like of float
        Mean standard of living of each cell (``Ind_snv / Ind``) [€/consumption unit/year]; NaN if unknown.
    population : array-like of float
        Residents of each cell.

    Returns
    -------
    numpy.ndarray of int
        Quintile 1-5 by cumulative population at the cell's midpoint; 0 for NaN or empty cells.
    """
    snv = np.asarray(standard_of_living, dtype=float)
    pop = np.asarray(population, dtype=float)
    ranked = np.isfinite(snv) & (pop > 0)
    quintile = np.zeros(snv.shape, dtype=int)
    if not ranked.any():
        return quintile
    order = np.flatnonzero(ranked)[np.argsort(snv[ranked], kind="stable")]
    weights = pop[order]
    midpoint = (np.cumsum(weights) - weights / 2.0) / weights.sum()
    quintile[order] = np.minimum(np.floor(QUINTILES * midpoint).astype(int) + 1, QUINTILES)
    return quintile


def exposure_by_quintile(frame: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Return exposure per income quintile.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per cell with ``population``, ``exposure`` (annual mean [µg/m³] or Lden
        [dB(A)]), ``standard_of_living`` (``Ind_snv / Ind``), ``households`` (Men) and
        ``households_poor`` (Men_pauv).
    threshold : float
        Exposure above which ("> threshold") a cell's residents count as exposed.

    Returns
    -------
    pandas.DataFrame
        Index ``quintile`` 1-5 (0 = unranked cells if any); columns ``population``,
        ``pop_weighted_mean``, ``population_above``, ``share_above``, ``poverty_share``.
    """
    cells = frame.assign(quintile=income_quintile(frame["standard_of_living"], frame["population"]))
    cells = cells.assign(pop_exposure=cells["population"] * cells["exposure"],
                         pop_above=np.where(cells["exposure"] > threshold, cells["population"], 0.0))
    grouped = cells.groupby("quintile")[["population", "pop_exposure", "pop_above", "households",
                                         "households_poor"]].sum()
    return pd.DataFrame({
        "population": grouped["population"],
        "pop_weighted_mean": grouped["pop_exposure"] / grouped["population"],
        "population_above": grouped["pop_above"],
        "share_above": grouped["pop_above"] / grouped["population"],
        "poverty_share": grouped["households_poor"] / grouped["households"],
    })


@dataclass(frozen=True)
class Gap:
    """The gap between the most (Q1) and least (Q5) deprived quintiles for one indicator.

    Attributes
    ----------
    most_deprived, least_deprived : float
        The indicator in quintile 1 and quintile 5.
    ratio : float
        Q1 / Q5 (NaN when Q5 is 0).
    difference : float
        Q1 − Q5, in the indicator's unit.
    """

    most_deprived: float
    least_deprived: float
    ratio: float
    difference: float


def quintile_gap(by_quintile: pd.DataFrame, column: str) -> Gap:
    """Return the Q1 / Q5 ratio and Q1 − Q5 difference of ``column`` of :func:`exposure_by_quintile`."""
    q1, q5 = float(by_quintile.loc[1, column]), float(by_quintile.loc[QUINTILES, column])
    return Gap(q1, q5, q1 / q5 if q5 != 0 else float("nan"), q1 - q5)
