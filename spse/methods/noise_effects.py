"""Noise health effects: high annoyance, high sleep disturbance, ischaemic heart disease (methods.md §5.4, W5).

Directive (EU) 2020/367 (END Annex III, after WHO ENG 2018). Absolute risk in % of one
exposed person, quadratic in the level L [dB(A)]: %HA of Lden and %HSD of Lnight,
%R = a + b·L + c·L², per source (road, rail, aircraft). Coefficients and validity ranges
come from the register (``noise_erf_<effect>_<source>``, ``…_range``): road [C], rail and
aircraft %HA and aircraft %HSD [C2], rail %HSD [U]; ranges [U] except aircraft %HA 40-75 [C2].

Outside its validity range a curve follows the register policy ``noise_erf_outside_range`` [U]:

* ``zero_below_clamp_above`` (default, as giojacuzzi/noise-pollution-pop-health): 0 below the
  lower bound, the value at the upper bound above it;
* ``clamp``: the value at the nearest bound;
* ``extrapolate``: the quadratic itself.

IHD, road only [U]: RR = exp(ln(RR₁₀)/10 · (Lden − L₀)) above L₀ (1.08 per 10 dB from 53 dB),
1 otherwise; over exposure bands with population shares pᵢ,
PAF = Σ pᵢ(RRᵢ − 1) / (Σ pᵢ(RRᵢ − 1) + 1), and cases = PAF × incidence × population.

A band's representative level is its centre, lower bound + width/2 (57.5 dB for [55;60[) [U]
convention; the open top band ([75;…[ Lden, [70;…[ Ln) uses the same offset.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

EFFECTS = ("ha", "hsd")
SOURCES = ("road", "rail", "air")
POLICIES = ("zero_below_clamp_above", "clamp", "extrapolate")


@dataclass(frozen=True)
class Curve:
    """One quadratic exposure-response curve %R = a + b·L + c·L² with its validity range.

    Attributes
    ----------
    a, b, c : float
        Coefficients (%R in %, L in dB(A)).
    low, high : float
        Validity range of L [dB(A)].
    """

    a: float
    b: float
    c: float
    low: float
    high: float

    @classmethod
    def from_params(cls, params: Mapping[str, str], effect: str, source: str) -> Curve:
        """Build from the register: ``noise_erf_<effect>_<source>`` ("a b c") and ``…_range`` ("low high")."""
        name = f"noise_erf_{effect}_{source}"
        a, b, c = (float(v) for v in params[name].split())
        low, high = (float(v) for v in params[f"{name}_range"].split())
        return cls(a, b, c, low, high)


def percent_affected(level_db: np.ndarray | list[float] | float, curve: Curve,
                     policy: str = "zero_below_clamp_above") -> np.ndarray:
    """Return the % of people highly annoyed (Lden) or highly sleep-disturbed (Lnight) at each level.

    Parameters
    ----------
    level_db : array-like of float
        Lden (for %HA) or Lnight (for %HSD) [dB(A)], yearly.
    curve : Curve
        The source's curve and validity range.
    policy : str
        ``zero_below_clamp_above``, ``clamp`` or ``extrapolate`` (module docstring).

    Returns
    -------
    numpy.ndarray
        Absolute risk in % (0-100), never negative.
    """
    if policy not in POLICIES:
        raise ValueError(f"noise_erf_outside_range {policy!r}: expected one of {POLICIES}")
    level = np.asarray(level_db, dtype=float)
    used = level if policy == "extrapolate" else np.clip(level, curve.low, curve.high)
    value = curve.a + curve.b * used + curve.c * used**2
    if policy == "zero_below_clamp_above":
        value = np.where(level < curve.low, 0.0, value)
    return np.clip(value, 0.0, 100.0)


def band_centre(lower_db: np.ndarray | list[float] | float, width_db: float = 5.0) -> np.ndarray:
    """Return the representative level of 5 dB bands: lower bound + width/2 [dB(A)] ([U] convention)."""
    return np.asarray(lower_db, dtype=float) + width_db / 2.0


def people_affected(population: np.ndarray | list[float], level_db: np.ndarray | list[float], curve: Curve,
                    policy: str = "zero_below_clamp_above") -> np.ndarray:
    """Return N × %R(L)/100 per band: people highly annoyed or highly sleep-disturbed (methods.md §5.4).

    Parameters
    ----------
    population : array-like of float
        Residents of each band.
    level_db : array-like of float
        Representative level of each band [dB(A)] (see :func:`band_centre`).
    curve : Curve
        Exposure-response curve.
    policy : str
        Outside-range policy.

    Returns
    -------
    numpy.ndarray
        People affected per band.
    """
    return np.asarray(population, dtype=float) * percent_affected(level_db, curve, policy) / 100.0


def rr_ihd(lden_db: np.ndarray | list[float] | float, rr_per_10db: float, onset_db: float) -> np.ndarray:
    """Return the relative risk of IHD from road noise: exp(ln(RR₁₀)/10·(Lden − L₀)) above L₀, else 1.

    Parameters
    ----------
    lden_db : array-like of float
        Lden [dB(A)].
    rr_per_10db : float
        RR per 10 dB (1.08, WHO ENG 2018).
    onset_db : float
        L₀ [dB(A)] (53).

    Returns
    -------
    numpy.ndarray
        Relative risk, ≥ 1.
    """
    excess = np.maximum(np.asarray(lden_db, dtype=float) - onset_db, 0.0)
    return np.exp(math.log(rr_per_10db) / 10.0 * excess)


def population_attributable_fraction(shares: np.ndarray | list[float], rr: np.ndarray | list[float]) -> float:
    """Return PAF = Σ pᵢ(RRᵢ − 1) / (Σ pᵢ(RRᵢ − 1) + 1) over exposure bands (methods.md §5.4, W5).

    Parameters
    ----------
    shares : array-like of float
        Population share of each band (0-1; the unexposed rest has RR 1 and may be left out).
    rr : array-like of float
        Relative risk of each band.

    Returns
    -------
    float
        Population attributable fraction (0-1).
    """
    excess = float(np.sum(np.asarray(shares, dtype=float) * (np.asarray(rr, dtype=float) - 1.0)))
    return excess / (excess + 1.0)


def ihd_cases(population_by_band: np.ndarray | list[float], lden_by_band: np.ndarray | list[float],
              total_population: float, incidence: float, rr_per_10db: float, onset_db: float) -> float:
    """Return the IHD cases attributable to road noise: PAF × incidence × population ([U], methods.md §5.4).

    Parameters
    ----------
    population_by_band : array-like of float
        Residents of each Lden band.
    lden_by_band : array-like of float
        Representative Lden of each band [dB(A)].
    total_population : float
        Population of the zone (bands plus unexposed residents).
    incidence : float
        IHD incidence (or mortality) rate [cases/person/year].
    rr_per_10db, onset_db : float
        IHD CRF (1.08 per 10 dB, 53 dB).

    Returns
    -------
    float
        Attributable cases per year; 0 for an empty zone.
    """
    if total_population <= 0:
        return 0.0
    shares = np.asarray(population_by_band, dtype=float) / total_population
    paf = population_attributable_fraction(shares, rr_ihd(lden_by_band, rr_per_10db, onset_db))
    return paf * incidence * total_population
