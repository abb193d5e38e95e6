"""Period indicators: year, season and month statistics of daily and hourly series.

Pure functions: every rule (coverage, seasons, percentile estimator, SOMO35 and AOT40 settings,
thresholds) is received as a :class:`PeriodRules` and a threshold table, never read here.

Periods (calendar of the series' time base, ``time_base`` of the daily rows):

* ``year``: the calendar year, label ``2025``;
* ``season``: the seasons of ``PeriodRules.seasons`` (the register's ``seasons``, meteorological
  DJF/MAM/JJA/SON); a season spanning the new year belongs to the year of its last month, so
  December 2024 is in winter ``2025-S-winter``;
* ``month``: label ``2025-01``.

Indicators per series (cell or station × pollutant) and period, one row each (``INDICATORS``):

* ``mean``: for cells the mean of the valid daily means (``day_mean``) and the coverage in days;
  for stations with hourly values the mean of the valid hourly values and the coverage in hours
  (methods.md §4.1: annual mean from the one-hour values, or the 24-hour values when those are
  not available). ``coverage_met``: coverage ≥ ``min_coverage_year`` (90 %, §4.1) for years,
  ``min_coverage_subyear`` for seasons and months; for O3 in a year, ≥ ``o3_min_coverage_half``
  (75 %) in the summer months and in the winter months separately (§4.1). A value whose rule
  is not met is kept with ``coverage_met`` false and is never judged compliant.
* ``percentile``: the register's percentiles (``percentiles``: PM10 P90.4 of daily means = the
  36th highest day of 365, NO2 P99.8 of hours, O3 P93.2 of daily max 8-h means, P99 of the WHO
  daily guidelines, methods.md §3, §4.1, §6.2) with the estimator ``percentile_method``
  (``linear`` = numpy default (n−1)·q, or ``nearest_rank`` = ⌈q·n⌉-th value; W10, [U]).
* ``exceedance_count``: days (``day_mean``, ``day_max_8h_mean``) or hours (``1h``) strictly above
  each threshold (">", :func:`spse.methods.stats.exceeds`), with its allowed exceedances; the
  O3 target value days (> 120) are the rows of the O3 ``day_max_8h_mean`` thresholds.
* ``mean_vs_threshold``: the ``mean`` against each ``year_mean`` threshold.
* ``somo35`` (O3): Σ max(0, daily max 8-h mean − 70 µg/m³) over the valid days [µg/m³·days]
  (EEA definition, register ``somo35_cutoff``, [U]; methods.md §6.2 names the indicator only).
* ``aot40`` (O3, hourly): Σ max(0, hourly value − 80 µg/m³) over the valid hours of May-July
  whose hour begins at 08:00-19:00 CET (hours 08:00-20:00 CET, methods.md §1.1 and §4.2;
  register ``aot40_*``) [µg/m³·h]; no coverage correction (none in methods.md), its coverage
  is the valid share of those hours.

Compliance (``compliance``, year periods and threshold rows only): with the coverage rule met,
``not_compliant`` when the judged value is above its limit, else ``compliant``. With the rule
unmet, a count above its allowance is still ``not_compliant`` (the exceedances happened and more
data can only add to them); any other value is ``undetermined`` (a mean or a percentile of too few
values proves nothing either way). Counts are judged against ``allowed_exceedances`` (0 when the
register gives none); the sets of ``percentile_judged_sets`` (WHO 2021: "99th percentile, i.e. 3-4
exceedance days") judge their daily guidelines by the period's P``who_percentile`` of the daily
values against the guideline (W10); ``mean_vs_threshold`` judges the mean.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from spse.core.columns import Column
from spse.core.timebase import day_bounds_utc, tz_for
from spse.methods.stats import exceeds

YEAR, SEASON, MONTH = "year", "season", "month"
COMPLIANT, NOT_COMPLIANT, UNDETERMINED = "compliant", "not_compliant", "undetermined"
DAILY_AVERAGINGS = ("day_mean", "day_max_8h_mean")
HOURLY, YEAR_MEAN = "1h", "year_mean"
INDICATORS = ("mean", "percentile", "exceedance_count", "mean_vs_threshold", "somo35", "aot40")
O3 = "O3"

COLUMNS: dict[str, Column] = {
    "pollutant": Column("VARCHAR", "", "NO2, PM10, PM2.5, O3 or SO2", nullable=False),
    "period": Column("VARCHAR", "", "Period label: 2025 (year), 2025-S-winter (season, December 2024 - February "
                                    "2025), 2025-01 (month)", nullable=False),
    "period_kind": Column("VARCHAR", "", "year | season | month", nullable=False),
    "period_start": Column("DATE", "", "First day of the period, in time_base"),
    "period_end": Column("DATE", "", "Last day of the period (inclusive), in time_base"),
    "time_base": Column("VARCHAR", "", "Time zone of the days and hours: the EU statistics time base when the lake "
                                       "holds it, else the procedure's (Europe/Paris, CET or UTC)"),
    "indicator": Column("VARCHAR", "", "mean | percentile | exceedance_count | mean_vs_threshold | somo35 | aot40"),
    "statistic": Column("VARCHAR", "", "Values behind the indicator: day_mean, day_max_8h_mean (daily values) or "
                                       "1h (hourly values)"),
    "q": Column("DOUBLE", "%", "Percentile level (indicator percentile), e.g. 90.4"),
    "set_id": Column("VARCHAR", "", "Threshold set of the register (threshold rows)"),
    "level": Column("VARCHAR", "", "Level of the threshold row (limit, target, guideline, ...)"),
    "averaging": Column("VARCHAR", "", "Averaging of the threshold row: 1h, day_mean, day_max_8h_mean, year_mean"),
    "threshold_value": Column("DOUBLE", "µg/m³", "Threshold value (strictly above = exceedance)"),
    "allowed_exceedances": Column("DOUBLE", "days or hours", "Exceedances allowed per calendar year (register; "
                                                              "0 when it gives none)"),
    "value": Column("DOUBLE", "µg/m³, days, hours, µg/m³·days or µg/m³·h",
                    "The indicator: mean or percentile [µg/m³], exceedance count [days or hours], SOMO35 "
                    "[µg/m³·days], AOT40 [µg/m³·h]; NULL when no valid value"),
    "unit": Column("VARCHAR", "", "Unit of value"),
    "n_valid": Column("BIGINT", "days or hours", "Valid days (daily statistic) or hours behind the value"),
    "n_expected": Column("BIGINT", "days or hours", "Days or hours of the period (of May-July 08-20 CET for AOT40)"),
    "coverage": Column("DOUBLE", "0-1", "n_valid / n_expected"),
    "coverage_met": Column("BOOLEAN", "", "The period's coverage rule is met (90 % of a year, methods.md §4.1; O3: "
                                          "75 % in summer and in winter)"),
    "judged_by": Column("VARCHAR", "", "count | percentile | mean: what compliance compares with the limit"),
    "judged_value": Column("DOUBLE", "days, hours or µg/m³", "The value compared: the count (against "
                                                             "allowed_exceedances), the percentile or the mean "
                                                             "(against threshold_value)"),
    "compliance": Column("VARCHAR", "", "compliant | not_compliant | undetermined (coverage unmet); year periods "
                                        "and threshold rows only, else NULL"),
}


@dataclass(frozen=True)
class Period:
    """A calendar period: ``kind`` year/season/month, ``label``, days ``start`` ≤ d < ``stop``."""

    kind: str
    label: str
    start: dt.date
    stop: dt.date

    @property
    def end(self) -> dt.date:
        """Last day of the period (inclusive)."""
        return self.stop - dt.timedelta(days=1)

    @property
    def days(self) -> pd.DatetimeIndex:
        """The days of the period."""
        return pd.date_range(self.start, self.end, freq="D")

    @property
    def year(self) -> int:
        """The year the period belongs to (a winter belongs to the year of its last month)."""
        return int(self.label[:4])


@dataclass(frozen=True)
class PeriodRules:
    """The rules of the period statistics (register ``parameters.csv``, see :func:`rules_from`).

    Attributes
    ----------
    seasons : dict of str to tuple of int
        Season name → its months in order (``winter`` → (12, 1, 2)).
    min_coverage_year, min_coverage_subyear : float
        Share of the days or hours a year, a season or month needs (0-1).
    o3_min_coverage_half : float
        Share of the O3 days a year needs in its summer months and in its winter months.
    o3_summer_months : tuple of int
        The O3 summer months (April-September).
    percentile_method : str
        ``linear`` or ``nearest_rank``.
    percentiles : tuple of (pollutant or "*", statistic, q)
        Percentiles reported.
    percentile_judged_sets : tuple of str
        Threshold sets whose daily guidelines are judged by a percentile.
    who_percentile : float
        That percentile (99).
    somo35_cutoff : float
        µg/m³ (70 = 35 ppb).
    aot40_threshold : float
        µg/m³ (80 = 40 ppb).
    aot40_months : tuple of int
        Months summed (5, 6, 7).
    aot40_hours : tuple of int
        First and last-plus-one hour-beginning of the day, in CET (8, 20).
    round_values : bool
        Round values to an integer before comparing with thresholds (``round_before_compare``).
    """

    seasons: Mapping[str, tuple[int, ...]]
    min_coverage_year: float
    min_coverage_subyear: float
    o3_min_coverage_half: float
    o3_summer_months: tuple[int, ...]
    percentile_method: str
    percentiles: tuple[tuple[str, str, float], ...]
    percentile_judged_sets: tuple[str, ...]
    who_percentile: float
    somo35_cutoff: float
    aot40_threshold: float
    aot40_months: tuple[int, ...]
    aot40_hours: tuple[int, int]
    round_values: bool


def parse_seasons(text: str) -> dict[str, tuple[int, ...]]:
    """``"winter=12,1,2 spring=3,4,5"`` → ``{"winter": (12, 1, 2), "spring": (3, 4, 5)}``; months must not repeat."""
    seasons = {}
    for item in text.split():
        name, _, months = item.partition("=")
        seasons[name] = tuple(int(m) for m in months.split(","))
    flat = [m for months in seasons.values() for m in months]
    if len(flat) != len(set(flat)) or not set(flat) <= set(range(1, 13)):
        raise ValueError(f"seasons {text!r}: each month 1-12 at most once")
    return seasons


def parse_percentiles(text: str) -> tuple[tuple[str, str, float], ...]:
    """``"PM10:day_mean:90.4 *:day_mean:99"`` → ``(("PM10", "day_mean", 90.4), ("*", "day_mean", 99.0))``."""
    out = []
    for item in text.split():
        pollutant, statistic, q = item.split(":")
        out.append((pollutant, statistic, float(q)))
    return tuple(out)


def rules_from(params: Mapping[str, str]) -> PeriodRules:
    """Build :class:`PeriodRules` from the parameter register's text values (names in parameters.csv)."""
    def ints(name: str) -> tuple[int, ...]:
        return tuple(int(v) for v in params[name].replace(",", " ").split())

    return PeriodRules(
        seasons=parse_seasons(params["seasons"]),
        min_coverage_year=float(params["period_min_coverage_year"]),
        min_coverage_subyear=float(params["period_min_coverage_subyear"]),
        o3_min_coverage_half=float(params["o3_min_coverage_half_year"]),
        o3_summer_months=ints("o3_summer_months"),
        percentile_method=params["percentile_method"],
        percentiles=parse_percentiles(params["period_percentiles"]),
        percentile_judged_sets=tuple(params["percentile_judged_sets"].split()),
        who_percentile=float(params["who_daily_percentile"]),
        somo35_cutoff=float(params["somo35_cutoff"]),
        aot40_threshold=float(params["aot40_threshold"]),
        aot40_months=ints("aot40_months"),
        aot40_hours=ints("aot40_hours_cet"),
        round_values=params["round_before_compare"].strip().lower() in ("true", "yes", "1"),
    )


# ---------------------------------------------------------------------------------------- periods

def _month_start(year: int, month: int) -> dt.date:
    return dt.date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def year_period(year: int) -> Period:
    """The calendar year ``year``."""
    return Period(YEAR, f"{year:04d}", dt.date(year, 1, 1), dt.date(year + 1, 1, 1))


def month_period(year: int, month: int) -> Period:
    """The month ``year-month``."""
    return Period(MONTH, f"{year:04d}-{month:02d}", dt.date(year, month, 1), _month_start(year, month + 1))


def season_period(name: str, year: int, seasons: Mapping[str, tuple[int, ...]]) -> Period:
    """Season ``name`` of ``year``: the one whose last month falls in ``year`` (winter 2025 = Dec 2024-Feb 2025)."""
    months = seasons[name]
    first_year = year - 1 if months[0] > months[-1] else year
    return Period(SEASON, f"{year:04d}-S-{name}", dt.date(first_year, months[0], 1),
                  _month_start(year, months[-1] + 1))


def period_of_label(label: str, seasons: Mapping[str, tuple[int, ...]]) -> Period:
    """The period of a label written by this module: ``2025``, ``2025-01`` or ``2025-S-winter``."""
    year, _, rest = label.partition("-")
    if not rest:
        return year_period(int(year))
    if rest.startswith("S-"):
        return season_period(rest[2:], int(year), seasons)
    return month_period(int(year), int(rest))


def season_of(day: dt.date, seasons: Mapping[str, tuple[int, ...]]) -> Period | None:
    """The season holding ``day``, or None when its month is in none."""
    for name, months in seasons.items():
        if day.month in months:
            year = day.year + 1 if months[0] > months[-1] and day.month >= months[0] else day.year
            return season_period(name, year, seasons)
    return None


def periods_of_day(day: dt.date, seasons: Mapping[str, tuple[int, ...]]) -> list[Period]:
    """The year, season and month holding ``day`` (the season only when one holds its month)."""
    season = season_of(day, seasons)
    return [year_period(day.year), *([season] if season else []), month_period(day.year, day.month)]


def periods_between(first: dt.date, last: dt.date, seasons: Mapping[str, tuple[int, ...]]) -> list[Period]:
    """Every period holding a day of ``first`` … ``last``, each once, in (start, kind) order."""
    found: dict[str, Period] = {}
    month = dt.date(first.year, first.month, 1)
    while month <= last:
        for period in periods_of_day(month, seasons):
            found.setdefault(period.label, period)
        month = _month_start(month.year, month.month + 1)
    return sorted(found.values(), key=lambda p: (p.start, p.kind))


# ---------------------------------------------------------------------------------------- matrices

def day_matrix(daily: pd.DataFrame, keys: list[str], period: Period) -> tuple[np.ndarray, pd.DataFrame]:
    """Daily values of the period as a (series × day) matrix, NaN where missing or invalid.

    Parameters
    ----------
    daily : DataFrame
        ``[*keys, date, value, is_valid]``, one statistic, one time base.
    keys : list of str
        Columns identifying a series.
    period : Period
        Rows outside it are ignored.

    Returns
    -------
    The matrix [µg/m³] and the series keys (one row per matrix row, sorted).
    """
    dates = pd.to_datetime(daily["date"])
    inside = ((dates >= pd.Timestamp(period.start)) & (dates < pd.Timestamp(period.stop))).to_numpy()
    valid = inside & daily["is_valid"].fillna(False).astype(bool).to_numpy() & daily["value"].notna().to_numpy()
    series, code = _series_codes(daily if inside.all() else daily[inside], keys)
    matrix = np.full((len(series), len(period.days)), np.nan)
    column = ((dates[valid] - pd.Timestamp(period.start)).dt.days).to_numpy()
    matrix[code[valid[inside]], column] = daily["value"].to_numpy(dtype=float)[valid]
    return matrix, series


def _series_codes(rows: pd.DataFrame, keys: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """The distinct key rows, sorted, and each row's index among them."""
    if len(keys) == 1:
        code, uniques = pd.factorize(rows[keys[0]], sort=True)
        return pd.DataFrame({keys[0]: np.asarray(uniques, dtype=object)}), code
    columns = [rows[name] for name in keys]
    if len(rows) and not any(column.isna().any() for column in columns):
        # each key's sorted codes combined: their order is the rows' sort order on the keys
        factorized = [pd.factorize(column, sort=True) for column in columns]
        if np.prod([float(len(uniques)) for _, uniques in factorized]) < 2.0**62:  # no int64 overflow
            combined = np.zeros(len(rows), dtype=np.int64)
            for code, uniques in factorized:
                combined = combined * len(uniques) + code
            _, first, code = np.unique(combined, return_index=True, return_inverse=True)
            return rows[keys].iloc[first].reset_index(drop=True), code.reshape(-1)
    series = rows[keys].drop_duplicates().sort_values(keys).reset_index(drop=True)
    if rows.empty:
        return series, np.zeros(0, dtype=np.int64)
    return series, pd.MultiIndex.from_frame(series).get_indexer(pd.MultiIndex.from_frame(rows[keys]))


def period_hours_utc(period: Period, time_base: str) -> pd.DatetimeIndex:
    """Hour-beginning UTC instants of the period's local days in ``time_base`` (8760 or 8784 a year)."""
    start, _ = day_bounds_utc(period.start, time_base)
    stop, _ = day_bounds_utc(period.stop, time_base)
    return pd.date_range(start, stop, freq="h", inclusive="left")


def hour_matrix(hourly: pd.DataFrame, keys: list[str], hours: pd.DatetimeIndex) -> tuple[np.ndarray, pd.DataFrame]:
    """Hourly values as a (series × hour) matrix on ``hours``, NaN where missing or invalid.

    ``hourly`` is ``[*keys, ts_start_utc, value]`` (value NaN = invalid); rows outside ``hours``
    are ignored; several rows of one series and hour are averaged.
    """
    ts = pd.to_datetime(hourly["ts_start_utc"], utc=True)
    offset = ((ts - hours[0]) / pd.Timedelta(hours=1)).to_numpy()
    inside = (offset >= 0) & (offset < len(hours)) & (offset == np.floor(offset))
    rows = hourly.loc[inside, [*keys, "value"]]
    series, code = _series_codes(rows, keys)
    if rows.empty:
        return np.full((0, len(hours)), np.nan), series
    values = rows["value"].to_numpy(dtype=float)
    good = ~np.isnan(values)
    flat = code[good] * len(hours) + offset[inside][good].astype(np.int64)
    size = len(series) * len(hours)
    total = np.bincount(flat, weights=values[good], minlength=size)
    count = np.bincount(flat, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        matrix = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return matrix.reshape(len(series), len(hours)), series


# ---------------------------------------------------------------------------------------- statistics

def mean_and_coverage(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    """Per row: mean of the valid values, n valid, n expected (columns) and coverage n_valid / n_expected."""
    matrix = np.atleast_2d(np.asarray(matrix, dtype=float))
    n_valid = (~np.isnan(matrix)).sum(axis=1)
    n_expected = matrix.shape[1]
    total = np.nansum(matrix, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n_valid > 0, total / np.maximum(n_valid, 1), np.nan)
    coverage = n_valid / n_expected if n_expected else np.zeros(len(matrix))
    return mean, n_valid, n_expected, coverage


def o3_year_coverage_met(matrix: np.ndarray, months: np.ndarray, summer_months: Sequence[int],
                         min_half: float) -> np.ndarray:
    """O3 in a year: valid share ≥ ``min_half`` in the summer months and in the other months, separately (§4.1).

    ``months`` gives the local month of each column of ``matrix`` (days or hours).
    """
    matrix = np.atleast_2d(np.asarray(matrix, dtype=float))
    summer = np.isin(np.asarray(months), list(summer_months))
    ok = np.ones(len(matrix), dtype=bool)
    for part in (summer, ~summer):
        if part.any():
            ok &= (~np.isnan(matrix[:, part])).sum(axis=1) / part.sum() >= min_half
    return ok


def exceedance_count(matrix: np.ndarray, threshold: float, round_values: bool = False) -> np.ndarray:
    """Per row, the valid values strictly above ``threshold`` (:func:`spse.methods.stats.exceeds`)."""
    above = exceeds(np.atleast_2d(np.asarray(matrix, dtype=float)), threshold, round_values)
    return np.asarray(above).sum(axis=1)


def percentile(matrix: np.ndarray, q: float, method: str = "linear") -> np.ndarray:
    """Per row, the ``q``-th percentile of the valid values (NaN when none).

    ``linear``: numpy's default, position (n−1)·q/100 interpolated; ``nearest_rank``: the
    ⌈n·q/100⌉-th smallest value (numpy ``inverted_cdf``). W10: 365 days, 4 of 20 and the rest
    10 → P99 linear 13.6, nearest rank 20.0.
    """
    if method not in ("linear", "nearest_rank"):
        raise ValueError(f"percentile method {method!r}: expected linear or nearest_rank")
    ordered = np.sort(np.atleast_2d(np.asarray(matrix, dtype=float)), axis=1)  # NaN last
    n = (~np.isnan(ordered)).sum(axis=1)
    rows = np.arange(len(ordered))
    if method == "linear":
        position = (n - 1) * (q / 100.0)
        last = max(ordered.shape[1] - 1, 0)
        low = np.clip(np.floor(position).astype(np.int64), 0, last)
        high = np.clip(np.ceil(position).astype(np.int64), 0, last)
        lo, hi = ordered[rows, low], ordered[rows, high]
        value = lo + (hi - lo) * (position - low)
    else:
        rank = np.clip(np.ceil(np.round(n * (q / 100.0), 9)).astype(np.int64), 1, None)
        value = ordered[rows, np.minimum(rank - 1, ordered.shape[1] - 1)]
    return np.where(n > 0, value, np.nan)


def somo(matrix_max_8h: np.ndarray, cutoff: float) -> np.ndarray:
    """Σ max(0, daily max 8-h mean − ``cutoff``) over the valid days [µg/m³·days]; SOMO35 with cutoff 70."""
    excess = np.clip(np.atleast_2d(np.asarray(matrix_max_8h, dtype=float)) - cutoff, 0.0, None)
    return np.nansum(excess, axis=1)


def aot40_hours_mask(hours_utc: pd.DatetimeIndex, months: Sequence[int], hours_cet: Sequence[int]) -> np.ndarray:
    """Hours counted by AOT40: CET (UTC+1) month in ``months`` and hour-beginning in [h0, h1)."""
    local = hours_utc.tz_convert(tz_for("CET"))
    return np.isin(local.month, list(months)) & (local.hour >= hours_cet[0]) & (local.hour < hours_cet[1])


def aot40(hour_values: np.ndarray, mask: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Σ max(0, value − ``threshold``) over the valid hours selected by ``mask`` [µg/m³·h], n valid, n expected."""
    selected = np.atleast_2d(np.asarray(hour_values, dtype=float))[:, mask]
    return (np.nansum(np.clip(selected - threshold, 0.0, None), axis=1), (~np.isnan(selected)).sum(axis=1),
            int(mask.sum()))


def compliance(judged: np.ndarray, limit: np.ndarray | float, coverage_met: np.ndarray,
               is_count: bool = False) -> np.ndarray:
    """Verdict per value: ``compliant``, ``not_compliant`` or ``undetermined``.

    Parameters
    ----------
    judged : ndarray
        The judged values (counts [days or hours], means or percentiles [µg/m³]); NaN = no data.
    limit : float or ndarray
        Allowed exceedances (counts) or threshold [µg/m³]; above = strictly greater.
    coverage_met : ndarray of bool
        The period's coverage rule is met.
    is_count : bool
        ``judged`` is a count of exceedances, which more data can only increase: above the limit
        it is ``not_compliant`` even when the coverage rule is unmet.

    Returns
    -------
    ndarray of str: with coverage met, ``not_compliant`` when judged > limit else ``compliant``;
    with coverage unmet (or no value), ``not_compliant`` for a count above its limit, else
    ``undetermined``.
    """
    judged = np.asarray(judged, dtype=float)
    with np.errstate(invalid="ignore"):
        above = judged > limit
    met = np.asarray(coverage_met, dtype=bool) & ~np.isnan(judged)
    return np.where(met, np.where(above, NOT_COMPLIANT, COMPLIANT),
                    np.where(above & is_count, NOT_COMPLIANT, UNDETERMINED)).astype(object)


def n_year_mean(values_by_year: Mapping[int, float], year: int, n_years: int = 3) -> float:
    """Mean of the values of ``year`` and the ``n_years`` − 1 before it; NaN unless every one of them is known.

    Used for the O3 target value days "as a 3-year mean" (methods.md §4.1, §4.2).
    """
    values = [values_by_year.get(y, np.nan) for y in range(year - n_years + 1, year + 1)]
    return float(np.mean(values)) if not np.isnan(values).any() else float("nan")


def average_exposure_indicator(annual_means: pd.DataFrame, year: int, n_years: int = 3) -> float:
    """PM2.5 AEI of ``year``: mean over ``n_years`` years of the yearly mean of the urban-background stations.

    ``annual_means`` is ``[year, value]`` (one row per station and year, µg/m³, urban background
    stations only). NaN when a year has no station. methods.md §4.1, W13 (AEI 2023 = 11.411111).
    """
    yearly = annual_means.groupby("year")["value"].mean()
    return n_year_mean(yearly.to_dict(), year, n_years)


# ---------------------------------------------------------------------------------------- assembly

def _percentiles_for(pollutant: str, statistic: str, rules: PeriodRules) -> list[float]:
    return sorted({q for p, s, q in rules.percentiles if s == statistic and p in ("*", pollutant)})


def _key_arrays(series: pd.DataFrame, pollutant: str) -> dict[str, np.ndarray]:
    """The series' key columns and their pollutant as object arrays, the first columns of each block of rows."""
    return {**{name: series[name].to_numpy(dtype=object) for name in series.columns},
            "pollutant": np.full(len(series), pollutant, dtype=object)}


@dataclass(frozen=True)
class _Repeat:
    """A column of a block holding one value on every row."""

    value: object


def _rows(series: dict[str, np.ndarray], **columns) -> dict[str, np.ndarray | _Repeat]:
    """A block of rows: the ``series`` arrays and ``columns`` as arrays, a scalar kept as a :class:`_Repeat`.

    The blocks become a frame in :func:`_finish` (or :func:`period_frame`).
    """
    block = dict(series)
    for name, value in columns.items():
        block[name] = np.asarray(value) if np.ndim(value) else _Repeat(value)
    return block


def _coverage_met(matrix: np.ndarray, coverage: np.ndarray, pollutant: str, period: Period,
                  rules: PeriodRules, months: np.ndarray) -> np.ndarray:
    if period.kind == YEAR and pollutant == O3:
        return o3_year_coverage_met(matrix, months, rules.o3_summer_months, rules.o3_min_coverage_half)
    minimum = rules.min_coverage_year if period.kind == YEAR else rules.min_coverage_subyear
    return np.asarray(coverage) >= minimum


@dataclass(frozen=True)
class _Threshold:
    """The fields of a register threshold row the indicators use, as ``itertuples`` gives them."""

    set_id: object
    level: object
    value: object
    allowed_exceedances: object


def _selected(thresholds: pd.DataFrame, pollutant: str, averaging: str) -> list[_Threshold]:
    """The threshold rows of ``pollutant`` and ``averaging``, in the table's order (no frame filtered)."""
    keep = np.flatnonzero((thresholds["pollutant"].to_numpy(dtype=object) == pollutant)
                          & (thresholds["averaging"].to_numpy(dtype=object) == averaging))
    if not len(keep):
        return []
    fields = [list(thresholds[name].iloc[keep]) for name in ("set_id", "level", "value", "allowed_exceedances")]
    return [_Threshold(*values) for values in zip(*fields, strict=True)]


def _threshold_rows(matrix: np.ndarray, series: dict[str, np.ndarray], pollutant: str, statistic: str, period: Period,
                    thresholds: pd.DataFrame, rules: PeriodRules, cover: dict, unit: str) -> list[pd.DataFrame]:
    rows = []
    for threshold in _selected(thresholds, pollutant, statistic):
        count = exceedance_count(matrix, threshold.value, rules.round_values)
        allowed = 0.0 if pd.isna(threshold.allowed_exceedances) else float(threshold.allowed_exceedances)
        if threshold.set_id in rules.percentile_judged_sets and statistic in DAILY_AVERAGINGS:
            judged_by, judged = "percentile", percentile(matrix, rules.who_percentile, rules.percentile_method)
            limit = threshold.value
        else:
            judged_by, judged, limit = "count", count.astype(float), allowed
        verdict = (compliance(judged, limit, cover["coverage_met"], is_count=judged_by == "count")
                   if period.kind == YEAR else None)
        rows.append(_rows(series, indicator="exceedance_count", statistic=statistic, set_id=threshold.set_id,
                          level=threshold.level, averaging=statistic, threshold_value=float(threshold.value),
                          allowed_exceedances=allowed, value=count.astype(float), unit=unit, judged_by=judged_by,
                          judged_value=judged, compliance=verdict, **cover))
    return rows


def _mean_rows(mean: np.ndarray, series: dict[str, np.ndarray], pollutant: str, statistic: str, period: Period,
               thresholds: pd.DataFrame, cover: dict) -> list[pd.DataFrame]:
    common = dict(statistic=statistic, value=mean, unit="µg/m³", **cover)
    rows = [_rows(series, indicator="mean", **common)]
    if period.kind != YEAR:
        return rows
    for threshold in _selected(thresholds, pollutant, YEAR_MEAN):
        rows.append(_rows(series, indicator="mean_vs_threshold", set_id=threshold.set_id, level=threshold.level,
                          averaging=YEAR_MEAN, threshold_value=float(threshold.value), judged_by="mean",
                          judged_value=mean, compliance=compliance(mean, threshold.value, cover["coverage_met"]),
                          **common))
    return rows


def daily_indicators(daily: pd.DataFrame, keys: list[str], period: Period, thresholds: pd.DataFrame,
                     rules: PeriodRules, mean_from_daily: bool = True) -> pd.DataFrame:
    """Indicators of the period from daily values, one row per series × indicator (× threshold, × q).

    Parameters
    ----------
    daily : DataFrame
        ``[*keys, pollutant, statistic, date, value, is_valid]``: ``day_mean`` and, for O3,
        ``day_max_8h_mean`` rows [µg/m³], of one time base.
    keys : list of str
        Columns identifying a place (``["cell_id"]`` or ``["station_id", "station_class"]``).
    period : Period
        The period.
    thresholds : DataFrame
        Register rows (``set_id, pollutant, averaging, value, level, allowed_exceedances``) with
        averaging ``day_mean``, ``day_max_8h_mean`` or ``year_mean``, in µg/m³.
    rules : PeriodRules
        The rules.
    mean_from_daily : bool
        Whether the ``mean`` (and ``mean_vs_threshold``) rows come from the daily means (cells; stations
        without hourly values).

    Returns
    -------
    DataFrame ``[*keys, pollutant, *COLUMNS]`` without the period columns (see :func:`with_period`).
    """
    parts = [group_indicators(group, keys, pollutant, statistic, period, thresholds, rules, mean_from_daily)
             for (pollutant, statistic), group in daily.groupby(["pollutant", "statistic"], sort=True)
             if statistic in DAILY_AVERAGINGS]
    return _finish([p for p in parts if len(p)], keys)


def group_indicators(daily: pd.DataFrame, keys: list[str], pollutant: str, statistic: str, period: Period,
                     thresholds: pd.DataFrame, rules: PeriodRules, mean_from_daily: bool = True) -> pd.DataFrame:
    """:func:`daily_indicators` of one pollutant and statistic; ``daily`` is ``[*keys, date, value, is_valid]``."""
    return _finish(group_blocks(daily, keys, pollutant, statistic, period, thresholds, rules, mean_from_daily), keys)


def group_blocks(daily: pd.DataFrame, keys: list[str], pollutant: str, statistic: str, period: Period,
                 thresholds: pd.DataFrame, rules: PeriodRules, mean_from_daily: bool = True) -> list[dict]:
    """:func:`group_indicators` as blocks of rows, for :func:`period_frame`."""
    matrix, series = day_matrix(daily, keys, period)
    return matrix_blocks(matrix, series, keys, pollutant, statistic, period, thresholds, rules, mean_from_daily)


def matrix_indicators(matrix: np.ndarray, series: pd.DataFrame, keys: list[str], pollutant: str, statistic: str,
                      period: Period, thresholds: pd.DataFrame, rules: PeriodRules,
                      mean_from_daily: bool = True) -> pd.DataFrame:
    """:func:`group_indicators` of the (series × day of ``period``) matrix of :func:`day_matrix` and its ``series``."""
    return _finish(matrix_blocks(matrix, series, keys, pollutant, statistic, period, thresholds, rules,
                                 mean_from_daily), keys)


def matrix_blocks(matrix: np.ndarray, series: pd.DataFrame, keys: list[str], pollutant: str, statistic: str,
                  period: Period, thresholds: pd.DataFrame, rules: PeriodRules,
                  mean_from_daily: bool = True) -> list[dict]:
    """:func:`matrix_indicators` as blocks of rows, for :func:`period_frame`."""
    if not len(series):
        return []
    series = _key_arrays(series, pollutant)
    mean, n_valid, n_expected, coverage = mean_and_coverage(matrix)
    met = _coverage_met(matrix, coverage, pollutant, period, rules, np.asarray(period.days.month))
    cover = dict(n_valid=n_valid, n_expected=n_expected, coverage=coverage, coverage_met=met)
    parts = []
    if statistic == "day_mean" and mean_from_daily:
        parts += _mean_rows(mean, series, pollutant, statistic, period, thresholds, cover)
    for q in _percentiles_for(pollutant, statistic, rules):
        parts.append(_rows(series, indicator="percentile", statistic=statistic, q=q, unit="µg/m³",
                           value=percentile(matrix, q, rules.percentile_method), **cover))
    if pollutant == O3 and statistic == "day_max_8h_mean":
        parts.append(_rows(series, indicator="somo35", statistic=statistic, unit="µg/m³·days",
                           value=np.where(n_valid > 0, somo(matrix, rules.somo35_cutoff), np.nan), **cover))
    parts += _threshold_rows(matrix, series, pollutant, statistic, period, thresholds, rules, cover, "days")
    return parts


def hourly_indicators(hourly: pd.DataFrame, keys: list[str], period: Period, time_base: str,
                      thresholds: pd.DataFrame, rules: PeriodRules) -> pd.DataFrame:
    """Indicators of the period from hourly values (stations): mean, hourly percentiles, hours above, AOT40.

    Parameters
    ----------
    hourly : DataFrame
        ``[*keys, pollutant, ts_start_utc, value]`` [µg/m³], value NaN = invalid hour.
    keys, period, thresholds, rules
        As :func:`daily_indicators`; ``thresholds`` rows with averaging ``1h`` (1 consecutive
        hour) or ``year_mean``.
    time_base : str
        Time base whose local days make the period's hours.

    Returns
    -------
    DataFrame as :func:`daily_indicators`; coverage in hours.
    """
    return _finish(hourly_blocks(hourly, keys, period, time_base, thresholds, rules), keys)


def hourly_blocks(hourly: pd.DataFrame, keys: list[str], period: Period, time_base: str,
                  thresholds: pd.DataFrame, rules: PeriodRules) -> list[dict]:
    """:func:`hourly_indicators` as blocks of rows, for :func:`period_frame`."""
    hours = period_hours_utc(period, time_base)
    months = np.asarray(hours.tz_convert(tz_for(time_base)).month)
    mask = aot40_hours_mask(hours, rules.aot40_months, rules.aot40_hours)
    parts = []
    for pollutant, group in hourly.groupby("pollutant", sort=True):
        matrix, series = hour_matrix(group, keys, hours)
        if not len(series):
            continue
        series = _key_arrays(series, pollutant)
        mean, n_valid, n_expected, coverage = mean_and_coverage(matrix)
        met = _coverage_met(matrix, coverage, pollutant, period, rules, months)
        cover = dict(n_valid=n_valid, n_expected=n_expected, coverage=coverage, coverage_met=met)
        parts += _mean_rows(mean, series, pollutant, HOURLY, period, thresholds, cover)
        for q in _percentiles_for(pollutant, HOURLY, rules):
            parts.append(_rows(series, indicator="percentile", statistic=HOURLY, q=q, unit="µg/m³",
                               value=percentile(matrix, q, rules.percentile_method), **cover))
        hour_thresholds = thresholds[thresholds["consecutive_periods"].fillna(1).astype(int) == 1]
        parts += _threshold_rows(matrix, series, pollutant, HOURLY, period, hour_thresholds, rules, cover, "hours")
        if pollutant == O3 and mask.any():
            total, n_aot, n_aot_expected = aot40(matrix, mask, rules.aot40_threshold)
            aot_coverage = n_aot / n_aot_expected
            parts.append(_rows(series, indicator="aot40", statistic=HOURLY, unit="µg/m³·h",
                               value=np.where(n_aot > 0, total, np.nan), n_valid=n_aot, n_expected=n_aot_expected,
                               coverage=aot_coverage, coverage_met=aot_coverage >= rules.min_coverage_year))
    return parts


FLOAT_COLUMNS = ("q", "threshold_value", "allowed_exceedances", "value", "coverage", "judged_value")
INT_COLUMNS = ("n_valid", "n_expected")
# text columns the contract holds as Python objects (None when missing), not the string dtype
OBJECT_TEXT_COLUMNS = ("statistic", "set_id", "level", "averaging", "unit", "judged_by", "compliance")


def _finish(parts: list[dict[str, np.ndarray]], keys: list[str]) -> pd.DataFrame:
    """One frame of the blocks of :func:`_rows`, columns ``[*keys, pollutant, ...]``; a column a block lacks is null."""
    columns = [*keys, *(c for c in COLUMNS if c not in PERIOD_COLUMNS)]
    if not parts:
        return pd.DataFrame(columns=columns)
    sizes = [len(part[keys[0]]) for part in parts]
    data = {}
    for name in columns:
        pieces = [_column_piece(part, name, size) for part, size in zip(parts, sizes, strict=True)]
        if name in FLOAT_COLUMNS:
            data[name] = np.concatenate([np.asarray(piece, dtype=float) for piece in pieces])
        elif name in INT_COLUMNS:
            data[name] = np.concatenate(pieces).astype(np.int64)
        elif name == "coverage_met":
            data[name] = np.concatenate(pieces).astype(bool)
        elif name in OBJECT_TEXT_COLUMNS:  # kept as objects: no conversion to the string dtype and back
            data[name] = pd.Series(np.concatenate([np.asarray(piece, dtype=object) for piece in pieces]),
                                   dtype=object)
        else:
            data[name] = np.concatenate([np.asarray(piece, dtype=object) for piece in pieces])
    return pd.DataFrame(data, columns=columns)


def _column_piece(part, name: str, size: int):
    """Column ``name`` of a block of :func:`_rows` (or a frame) as ``size`` values; None where the block lacks it."""
    piece = part.get(name) if isinstance(part, dict) else (part[name] if name in part else None)
    if piece is None:
        return np.full(size, None, dtype=object)
    if isinstance(piece, _Repeat):
        return np.full(size, piece.value, dtype=object)
    return piece


PERIOD_COLUMNS = ("period", "period_kind", "period_start", "period_end", "time_base")


def with_period(frame: pd.DataFrame, period: Period, time_base: str, keys: list[str]) -> pd.DataFrame:
    """Add the period columns and order the columns as ``[*keys, *COLUMNS]``, with the contract's dtypes."""
    frame = frame.copy()
    frame["period"] = period.label
    frame["period_kind"] = period.kind
    frame["period_start"] = period.start
    frame["period_end"] = period.end
    frame["time_base"] = time_base
    for name in FLOAT_COLUMNS:
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype(float)
    for name in INT_COLUMNS:
        frame[name] = frame[name].astype(np.int64)
    frame["coverage_met"] = frame["coverage_met"].astype(bool)
    for name in OBJECT_TEXT_COLUMNS:
        frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
    return frame[[*keys, *COLUMNS]]


def period_frame(parts: list[dict], period: Period, time_base: str, keys: list[str]) -> pd.DataFrame | None:
    """:func:`with_period` of the :func:`_finish` frame of ``parts`` (blocks of :func:`_rows`), built at once.

    The same frame, values and dtypes, without a frame per block: the text columns of the
    string dtype are made in Arrow from each distinct block array once (a block's series keys
    are shared by the blocks of its matrix), repeated values as dictionary arrays. None when a
    block holds a key column without any value (its dtype would depend on the block: left to
    :func:`with_period`).
    """
    import pyarrow as pa

    parts = [part for part in parts if len(part[keys[0]])]
    if not parts:
        return None
    sizes = [len(part[keys[0]]) for part in parts]
    total = sum(sizes)
    text = pd.StringDtype("pyarrow", na_value=np.nan)
    converted: dict[int, pa.Array] = {}

    def arrow_text(piece, size: int) -> pa.Array:
        if isinstance(piece, _Repeat):
            return pa.DictionaryArray.from_arrays(pa.array(np.zeros(size, dtype=np.int32)),
                                                  pa.array([piece.value], type=pa.large_string()))
        if id(piece) not in converted:
            converted[id(piece)] = pa.array(piece, type=pa.large_string(), from_pandas=True)
        return converted[id(piece)]

    def text_column(pieces: list, sizes: list[int]) -> pd.Series:
        arrays = [arrow_text(piece, size) for piece, size in zip(pieces, sizes, strict=True)]
        arrays = [a.cast(pa.large_string()) if isinstance(a, pa.DictionaryArray) else a for a in arrays]
        return pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array(arrays, pa.large_string()).combine_chunks(),
                                                    dtype=text), copy=False)

    data = {}
    for name in [*keys, "pollutant", "indicator"]:
        pieces = [part.get(name) for part in parts]
        if any(piece is None or (not isinstance(piece, _Repeat) and pd.isna(piece).all()) for piece in pieces):
            return None
        data[name] = text_column(pieces, sizes)
    data["period"] = text_column([_Repeat(period.label)], [total])
    data["period_kind"] = text_column([_Repeat(period.kind)], [total])
    data["period_start"] = pd.Series(np.full(total, period.start, dtype=object), dtype=object)
    data["period_end"] = pd.Series(np.full(total, period.end, dtype=object), dtype=object)
    data["time_base"] = text_column([_Repeat(time_base)], [total])
    for name in COLUMNS:
        if name in data:
            continue
        if name in FLOAT_COLUMNS or name in INT_COLUMNS:
            dtype = float if name in FLOAT_COLUMNS else np.int64
            data[name] = np.concatenate([_number_piece(part.get(name), size, dtype)
                                         for part, size in zip(parts, sizes, strict=True)])
            continue
        pieces = [_column_piece(part, name, size) for part, size in zip(parts, sizes, strict=True)]
        if name == "coverage_met":
            data[name] = np.concatenate(pieces).astype(bool)
        elif name in OBJECT_TEXT_COLUMNS:
            values = np.concatenate([np.asarray(piece, dtype=object) for piece in pieces])
            values[pd.isna(values)] = None
            data[name] = pd.Series(values, dtype=object, copy=False)
        else:
            raise ValueError(f"period_frame: no rule for column {name!r}")
    return pd.DataFrame(data, columns=[*keys, *COLUMNS], copy=False)


def _number_piece(piece, size: int, dtype) -> np.ndarray:
    """A numeric column of a block as :func:`_finish` converts it, a repeated value filled without objects."""
    if piece is None or (isinstance(piece, _Repeat) and piece.value is None):
        return np.asarray(np.full(size, None, dtype=object), dtype=dtype)
    if isinstance(piece, _Repeat):
        return np.full(size, dtype(piece.value), dtype=dtype)
    return np.asarray(piece, dtype=dtype)
