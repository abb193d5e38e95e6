"""Air × noise multi-exposure classes per cell, in the spirit of ORHANE and Airparif-Bruitparif (status [U]).

No French text fixes these classes: the ORHANE platform (Auvergne-Rhône-Alpes) and the
Airparif-Bruitparif multi-exposure maps combine an air and a noise indicator into ordered
classes, but their grids and cut-offs are their own. The classes here are a design choice
[U], with every cut-off taken from the register:

* air class of a cell = for each pollutant, the number of ladder values its annual mean
  exceeds ("> value"), ladder = WHO 2021 AQG, EU 2030 limit (2024/2881), current EU limit
  (2008/50) [µg/m³] (0 = at or below the WHO guideline … 3 = above the current limit);
  the cell takes the worst pollutant;
* noise class = the number of ladder values its road Lden exceeds, ladder = WHO 2018
  guideline (53 dB(A)), French limit value (68 dB(A), arrêté du 4 avril 2006)
  (0 … 2, "point noir" level);
* combined class = air class + noise class (0 … 5), named by the register's labels;
* a cell is a multi-exposure hotspot when its air class and noise class both reach the
  register minima (``multiexposure_hotspot_min_air``, ``…_min_noise``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def ladder_class(values: np.ndarray | list[float], ladder: Sequence[float]) -> np.ndarray:
    """Return how many values of an increasing ``ladder`` each value exceeds (strictly); -1 where NaN.

    Parameters
    ----------
    values : array-like of float
        Annual means [µg/m³] or levels [dB(A)].
    ladder : sequence of float
        Increasing cut-offs, same unit.

    Returns
    -------
    numpy.ndarray of int
        0 … len(ladder); -1 for a missing value.
    """
    array = np.asarray(values, dtype=float)
    classes = np.searchsorted(np.asarray(ladder, dtype=float), array, side="left")
    return np.where(np.isnan(array), -1, classes).astype(int)


def air_class(annual_means: Mapping[str, np.ndarray | list[float]],
              ladders: Mapping[str, Sequence[float]]) -> np.ndarray:
    """Return the worst pollutant class of each cell (see the module docstring).

    Parameters
    ----------
    annual_means : mapping of str to array-like of float
        Pollutant → annual mean of each cell [µg/m³], cells in the same order.
    ladders : mapping of str to sequence of float
        Pollutant → increasing cut-offs [µg/m³] (WHO AQG, EU 2030, EU current).

    Returns
    -------
    numpy.ndarray of int
        Worst class over the pollutants; -1 when no pollutant is known.
    """
    stacked = np.vstack([ladder_class(annual_means[p], ladders[p]) for p in annual_means])
    return stacked.max(axis=0)


def combined_class(air: np.ndarray | list[int], noise: np.ndarray | list[int]) -> np.ndarray:
    """Return air class + noise class (0 … 5); -1 when either is missing."""
    a, n = np.asarray(air, dtype=int), np.asarray(noise, dtype=int)
    return np.where((a < 0) | (n < 0), -1, a + n)


def hotspot(air: np.ndarray | list[int], noise: np.ndarray | list[int], min_air: int, min_noise: int) -> np.ndarray:
    """Return True where the air class reaches ``min_air`` and the noise class reaches ``min_noise``."""
    return (np.asarray(air, dtype=int) >= min_air) & (np.asarray(noise, dtype=int) >= min_noise)


def class_labels(combined: np.ndarray | list[int], labels: Sequence[str]) -> np.ndarray:
    """Return the register label of each combined class ("inconnu" where it is -1)."""
    names = np.array([*labels, "inconnu"], dtype=object)
    index = np.asarray(combined, dtype=int)
    return names[np.where(index < 0, len(labels), index)]
