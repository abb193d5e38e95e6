"""Health impact of air pollution: log-linear CRF, attributable deaths, intervals (methods.md §7, W6, W6b, W7).

Log-linear concentration-response function (AirQ+, Santé publique France EQIS guide, WHO;
methods.md §7.1):

* β = ln(RR) / increment, with RR the relative risk per ``increment`` µg/m³ (10);
* ΔC = max(C − C₀, 0), C₀ the counterfactual concentration [µg/m³];
* AF = 1 − exp(−β·ΔC) = (RR_Δ − 1) / RR_Δ;
* attributable deaths = AF × y₀ × Pop, per 200 m cell and then summed (never applied once
  to the population-weighted mean: W6b shows the two differ).

The 95 % interval applies the same formula with the lower and upper RR of the CRF. Long-term
mortality uses annual means and the population aged 30 and over (HRAPIE "age 30+" [C]);
short-term excess deaths (W7) use a daily increment and the day's baseline deaths.

Years of life lost (YLL) are estimated as Σ_band AD_band × e(m_band): the attributable
deaths of each age band times the remaining life expectancy e at the band's mean age of death
m_band, both read off a period life table (:class:`LifeTable`: m_band from the table's deaths
d_x = l_x·q_x in the band, dying at x + ½ on average, the table's last age open and dying at
x + e_x; e(m) linearly interpolated between whole ages). This is the "deaths × remaining life
expectancy" approximation (status [U]: a design choice), not the AirQ+ life-table method,
which follows the population's survival year by year with and without the exposure.

The CRF values, counterfactuals and baseline rates are inputs: the register holds the CRFs
(``crf_*``) and counterfactuals (``counterfactual_*``); this module reads nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

ArrayLike = np.ndarray | list[float] | float


@dataclass(frozen=True)
class Crf:
    """One log-linear concentration-response function (methods.md §7.2).

    Attributes
    ----------
    rr, rr_low, rr_high : float
        Relative risk and its 95 % confidence bounds, per ``increment``.
    increment : float
        Concentration increment of the RR [µg/m³] (10).
    """

    rr: float
    rr_low: float
    rr_high: float
    increment: float = 10.0

    def __post_init__(self) -> None:
        """Refuse an interval that does not contain the central RR."""
        if not 0 < self.rr_low <= self.rr <= self.rr_high:
            raise ValueError(f"CRF: expected 0 < low <= rr <= high, got {self.rr_low}, {self.rr}, {self.rr_high}")

    @classmethod
    def from_words(cls, words: list[str] | str) -> Crf:
        """Build from the register text ``"rr low high"`` (e.g. ``"1.15 1.05 1.25"``), per 10 µg/m³."""
        values = words.split() if isinstance(words, str) else words
        rr, low, high = (float(v) for v in values)
        return cls(rr, low, high)


def beta(rr: float, increment: float = 10.0) -> float:
    """Return β = ln(RR)/increment [per µg/m³] of a log-linear CRF (methods.md §7.1)."""
    return math.log(rr) / increment


def attributable_fraction(concentration: ArrayLike, counterfactual: float, rr: float,
                          increment: float = 10.0) -> np.ndarray:
    """Return AF = 1 − exp(−β·max(C − C₀, 0)) for each concentration (methods.md §7.1, W6).

    Parameters
    ----------
    concentration : array-like of float
        Exposure [µg/m³]: annual mean for long-term, daily increment for short-term effects.
    counterfactual : float
        C₀ [µg/m³]; concentrations at or below it have AF 0.
    rr : float
        Relative risk per ``increment``.
    increment : float
        Increment of the RR [µg/m³].

    Returns
    -------
    numpy.ndarray
        Fraction of the baseline cases attributable to the exposure above C₀ (0-1); NaN where
        the concentration is NaN.
    """
    delta = np.maximum(np.asarray(concentration, dtype=float) - counterfactual, 0.0)
    return -np.expm1(-beta(rr, increment) * delta)


def attributable_cases(population: ArrayLike, baseline_rate: ArrayLike, concentration: ArrayLike,
                       counterfactual: float, rr: float, increment: float = 10.0) -> np.ndarray:
    """Return the attributable cases AF × y₀ × Pop of each cell (methods.md §7.1, W6b).

    Parameters
    ----------
    population : array-like of float
        Population of each cell in the age group of the CRF (30+ for long-term mortality).
    baseline_rate : array-like of float
        y₀, baseline cases per person and per year (deaths/person/year), per cell or one value.
    concentration : array-like of float
        Annual mean concentration of each cell [µg/m³].
    counterfactual : float
        C₀ [µg/m³].
    rr : float
        Relative risk per ``increment``.
    increment : float
        Increment of the RR [µg/m³].

    Returns
    -------
    numpy.ndarray
        Attributable cases per cell per year; sum them for a zone.
    """
    af = attributable_fraction(concentration, counterfactual, rr, increment)
    return af * np.asarray(baseline_rate, dtype=float) * np.asarray(population, dtype=float)


@dataclass(frozen=True)
class Impact:
    """Attributable deaths with their 95 % interval, and the baseline they come from.

    Attributes
    ----------
    deaths, deaths_low, deaths_high : float
        Attributable deaths per year with the central, lower and upper RR.
    baseline_deaths : float
        Σ y₀·Pop over the cells (deaths per year in the age group).
    """

    deaths: float
    deaths_low: float
    deaths_high: float
    baseline_deaths: float

    @property
    def share(self) -> float:
        """Share of the baseline deaths that is attributable (0-1); NaN without baseline deaths."""
        return self.deaths / self.baseline_deaths if self.baseline_deaths > 0 else math.nan


def attributable_deaths(population: ArrayLike, baseline_rate: ArrayLike, concentration: ArrayLike,
                        counterfactual: float, crf: Crf) -> Impact:
    """Return the attributable deaths of a set of cells, summed cell by cell, with the 95 % interval.

    Parameters
    ----------
    population : array-like of float
        Population of each cell aged 30+ (long-term) or of all ages (short-term).
    baseline_rate : array-like of float
        Baseline mortality y₀ [deaths/person/year], per cell or one value.
    concentration : array-like of float
        Annual mean of each cell [µg/m³]; cells with NaN count in the baseline but not in the deaths.
    counterfactual : float
        C₀ [µg/m³].
    crf : Crf
        RR with its interval.

    Returns
    -------
    Impact
        Grid sums (W6b), not the formula applied to the population-weighted mean.
    """
    def total(rr: float) -> float:
        return float(np.nansum(attributable_cases(population, baseline_rate, concentration, counterfactual, rr,
                                                  crf.increment)))

    baseline = float(np.nansum(np.asarray(population, dtype=float) * np.asarray(baseline_rate, dtype=float)))
    return Impact(total(crf.rr), total(crf.rr_low), total(crf.rr_high), baseline)


def counterfactuals(concentration: ArrayLike, fixed: Mapping[str, float]) -> dict[str, float]:
    """Return the counterfactual concentrations of a run: the fixed ones and the lowest observed.

    Parameters
    ----------
    concentration : array-like of float
        Annual means of the cells [µg/m³] (NaN ignored).
    fixed : mapping of str to float
        Named counterfactuals [µg/m³], e.g. ``who_2021`` (AQG: PM2.5 5, NO2 10), ``eu_2030``
        (limit value of Directive 2024/2881: PM2.5 10, NO2 20) and a user value.

    Returns
    -------
    dict of str to float
        ``fixed`` plus ``lowest_observed``, the lowest cell value (the scenario "every cell
        brought to the cleanest cell").
    """
    values = np.asarray(concentration, dtype=float)
    lowest = float(np.nanmin(values)) if np.isfinite(values).any() else math.nan
    return {**fixed, "lowest_observed": lowest}


@dataclass(frozen=True)
class LifeTable:
    """A period life table by single year of age (INSEE "table de mortalité"; methods.md §7, YLL).

    Attributes
    ----------
    ages : numpy.ndarray
        Exact ages x [years], consecutive whole numbers; the last one is the open age (x and over).
    qx : numpy.ndarray
        Probability of dying between x and x + 1 (0-1); ignored at the open age (everyone dies there).
    ex : numpy.ndarray
        Remaining life expectancy at exact age x [years].
    """

    ages: np.ndarray
    qx: np.ndarray
    ex: np.ndarray

    def __post_init__(self) -> None:
        """Refuse a table whose ages are not consecutive or whose values are out of range."""
        ages = np.asarray(self.ages, dtype=float)
        qx, ex = np.asarray(self.qx, dtype=float), np.asarray(self.ex, dtype=float)
        if not len(ages) or len(qx) != len(ages) or len(ex) != len(ages):
            raise ValueError("life table: ages, qx and ex must be non-empty and of the same length")
        if not np.array_equal(ages, ages[0] + np.arange(len(ages))) or ages[0] != int(ages[0]):
            raise ValueError(f"life table: ages must be consecutive whole years, got {ages[:3]}…{ages[-1:]}")
        if not (np.all((qx >= 0) & (qx <= 1)) and np.all(ex >= 0)):
            raise ValueError("life table: expected 0 <= qx <= 1 and ex >= 0")
        object.__setattr__(self, "ages", ages)
        object.__setattr__(self, "qx", qx)
        object.__setattr__(self, "ex", ex)

    def mean_age_at_death(self, first: float, last: float | None = None) -> float:
        """Return the mean age at death [years] of the table's deaths at ages ``first`` … ``last`` inclusive.

        The deaths are d_x = l_x·q_x with l the survivors of the table (any radix), at age
        x + ½; those at the open last age die at x + e_x. ``last`` None: to the end of the table.
        NaN when no age of the table lies in the band.
        """
        survivors = np.concatenate([[1.0], np.cumprod(1.0 - self.qx[:-1])])
        deaths = survivors * np.append(self.qx[:-1], 1.0)
        at = np.append(self.ages[:-1] + 0.5, self.ages[-1] + self.ex[-1])
        inside = (self.ages >= first) & (self.ages <= (math.inf if last is None else last))
        total = float(deaths[inside].sum())
        return float((deaths[inside] * at[inside]).sum() / total) if total > 0 else math.nan

    def expectancy_at(self, age: float) -> float:
        """Return e(age) [years], linear between whole ages, the first or last value outside the table."""
        return float(np.interp(age, self.ages, self.ex))

    def band_expectancy(self, first: float, last: float | None = None) -> float:
        """Return e at the band's mean age of death [years] (module docstring; status [U])."""
        return self.expectancy_at(self.mean_age_at_death(first, last))


def years_of_life_lost(deaths_by_age: Mapping[str, float], life_expectancy: Mapping[str, float]) -> float:
    """Return YLL = Σ_band AD_band × e_band (status [U], see the module docstring).

    Parameters
    ----------
    deaths_by_age : mapping of str to float
        Age band → attributable deaths per year.
    life_expectancy : mapping of str to float
        Age band → remaining life expectancy at the band's mean age of death [years]
        (:meth:`LifeTable.band_expectancy`).

    Returns
    -------
    float
        Years of life lost per year; a band without a life expectancy raises ``KeyError``.
    """
    return float(sum(deaths * life_expectancy[band] for band, deaths in deaths_by_age.items()))


def short_term_excess_deaths(increment_ug_m3: ArrayLike, baseline_deaths: ArrayLike, rr: float,
                             increment: float = 10.0) -> np.ndarray:
    """Return the excess deaths of days with a concentration increment (methods.md §7.2, W7).

    Parameters
    ----------
    increment_ug_m3 : array-like of float
        Daily concentration above the counterfactual [µg/m³] (daily mean, local day).
    baseline_deaths : array-like of float
        Expected deaths of the day (all ages).
    rr : float
        Short-term relative risk per ``increment`` (HRAPIE PM2.5 1.0123; SpF NO2 1.0075).
    increment : float
        Increment of the RR [µg/m³].

    Returns
    -------
    numpy.ndarray
        AF(increment) × baseline deaths, per day.
    """
    return attributable_fraction(increment_ug_m3, 0.0, rr, increment) * np.asarray(baseline_deaths, dtype=float)
