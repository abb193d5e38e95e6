"""The national ATMO index: sub-index per pollutant and index of the day (methods.md §2, W2).

Arrêté du 10 juillet 2020 (JORFTEXT000042164835, in force 1 January 2021), Annex I. Each of
SO2, NO2, O3 (maximum of the hourly values of the day), PM10 and PM2.5 (daily mean) is
classed 1 (Bon) to 6 (Extrêmement mauvais) by five upper bounds, each **inclusive**
("concentration ≤ bound" belongs to the lower class; above the fifth bound is class 6).
The index of the day is the worst sub-index, and the pollutants that reach it are
"responsible" for it. Concentrations are in µg/m³; the day is the local day (Europe/Paris)
of the AASQA.

The bounds come from the register (``atmo_bounds_<pollutant>``: SO2 and NO2 [C], O3 above
100 and PM [C2]). Whether values are rounded to an integer before the lookup is [U]
(``atmo_round_before_classify``, default false: the arrêté wording on unrounded values).
A missing sub-index (no data) is "no class": it never wins the maximum; a day without any
sub-index has index 0, "Indisponible" (the Atmo France API code [C2]).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

POLLUTANTS = ("SO2", "NO2", "O3", "PM10", "PM2.5")
LABELS = {0: "Indisponible", 1: "Bon", 2: "Moyen", 3: "Dégradé", 4: "Mauvais", 5: "Très mauvais",
          6: "Extrêmement mauvais"}
# Colour names [C] and hex codes [C2], methods.md §2.
COLOURS = {1: ("Bleu", "#50F0E6"), 2: ("Vert", "#50CCAA"), 3: ("Jaune", "#F0E641"), 4: ("Rouge", "#FF5050"),
           5: ("Pourpre", "#960032"), 6: ("Magenta", "#872181")}
UNAVAILABLE = 0


def parameter_name(pollutant: str) -> str:
    """Return the register parameter holding the bounds of ``pollutant`` (``PM2.5`` → ``atmo_bounds_pm25``)."""
    return "atmo_bounds_" + pollutant.lower().replace(".", "")


@dataclass(frozen=True)
class AtmoRules:
    """The ATMO class bounds and the rounding convention.

    Attributes
    ----------
    bounds : mapping of str to tuple of float
        Pollutant (``SO2``, ``NO2``, ``O3``, ``PM10``, ``PM2.5``) → its five increasing
        upper bounds [µg/m³] of classes 1 to 5, each inclusive.
    round_first : bool
        Round the concentration to the nearest integer before the lookup ([U], default false).
    """

    bounds: Mapping[str, tuple[float, ...]]
    round_first: bool = False

    def __post_init__(self) -> None:
        """Refuse bounds that are not five increasing numbers."""
        for pollutant, values in self.bounds.items():
            if len(values) != 5 or list(values) != sorted(values):
                raise ValueError(f"ATMO bounds of {pollutant}: expected 5 increasing values, got {values}")

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> AtmoRules:
        """Build the rules from the parameter register (``atmo_bounds_*``, ``atmo_round_before_classify``)."""
        bounds = {p: tuple(float(v) for v in params[parameter_name(p)].split()) for p in POLLUTANTS}
        round_first = params["atmo_round_before_classify"].strip().lower() in ("true", "yes", "1")
        return cls(bounds, round_first)


def sub_indices(pollutant: str, concentrations: np.ndarray | list[float], rules: AtmoRules) -> np.ndarray:
    """Return the ATMO sub-index (1-6) of each concentration of one pollutant; 0 where it is missing.

    Parameters
    ----------
    pollutant : str
        ``SO2``, ``NO2``, ``O3`` (daily maximum of the hourly values), ``PM10`` or ``PM2.5``
        (daily mean).
    concentrations : array-like of float
        Concentrations [µg/m³]; NaN means no data.
    rules : AtmoRules
        Bounds and rounding convention.

    Returns
    -------
    numpy.ndarray of int
        1 + the number of bounds strictly below the value (bounds inclusive, methods.md §2, W2).
    """
    values = np.asarray(concentrations, dtype=float)
    if rules.round_first:
        values = np.floor(values + 0.5)
    classes = np.searchsorted(np.asarray(rules.bounds[pollutant]), values, side="left") + 1
    return np.where(np.isnan(values), UNAVAILABLE, classes).astype(int)


def sub_index(pollutant: str, concentration: float | None, rules: AtmoRules) -> int:
    """Return the ATMO sub-index (1-6) of one concentration [µg/m³], 0 if it is missing (see :func:`sub_indices`)."""
    value = math.nan if concentration is None else concentration
    return int(sub_indices(pollutant, [value], rules)[0])


@dataclass(frozen=True)
class AtmoDay:
    """The ATMO index of one day and zone.

    Attributes
    ----------
    index : int
        0 (Indisponible) or 1-6, the worst sub-index.
    label : str
        French qualifier of the index ("Dégradé", …).
    sub_indices : dict of str to int
        Pollutant → sub-index (0 when it had no data).
    responsible : tuple of str
        Pollutants whose sub-index equals the index, in the order of ``POLLUTANTS``.
    """

    index: int
    label: str
    sub_indices: dict[str, int]
    responsible: tuple[str, ...]


def day_index(concentrations: Mapping[str, float | None], rules: AtmoRules) -> AtmoDay:
    """Return the ATMO index of a day: the maximum sub-index and the pollutants responsible.

    Parameters
    ----------
    concentrations : mapping of str to float or None
        Pollutant → the day's statistic [µg/m³] (hourly maximum for SO2, NO2, O3; daily mean
        for PM10, PM2.5, local day Europe/Paris). Missing or NaN pollutants get no class.
    rules : AtmoRules
        Bounds and rounding convention.

    Returns
    -------
    AtmoDay
        Index 0 ("Indisponible") with no responsible pollutant when no sub-index is known.
    """
    subs = {p: sub_index(p, concentrations.get(p), rules) for p in POLLUTANTS if p in concentrations}
    index = max(subs.values(), default=UNAVAILABLE)
    responsible = tuple(p for p in POLLUTANTS if index != UNAVAILABLE and subs.get(p) == index)
    return AtmoDay(index, LABELS[index], subs, responsible)
