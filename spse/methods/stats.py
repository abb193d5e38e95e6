"""Daily statistics of hourly series, with coverage rules received from the caller.

Statistics of the local day ``day`` in the time base the caller passes (the procedure's
``day_time_base``, Europe/Paris [U], or ``eu_day_time_base``, UTC, for the EU statistics; a
day has 23, 24 or 25 hours):

* ``day_mean``: calendar-day mean (0-24 h) of the valid hourly values;
* ``day_max_1h``: highest valid hourly value;
* ``day_max_8h_mean`` (O3 only): highest 8-hour running mean attributed to the day in which
  it ends; the first covers 17:00 the day before → 01:00, the last 16:00 → 24:00. Each 8-h
  mean needs ``min_valid_hours_8h`` (6) valid hours and is the mean of those; the daily
  maximum needs ``min_valid_8h_means_day`` (18) valid 8-h means.

``day_mean`` and ``day_max_1h`` need ``min_valid_hours_day`` (18) valid hours; the rules are
a :class:`CoverageRules` (``CoverageRules.from_params(register.parameters())`` in the
pipeline). A statistic whose rule is not met is NULL with ``is_valid = False``; it is never
a number computed from too few values. ``coverage`` is ``n_valid / n_expected``. References:
methods.md §1.1 (calendar day, 8-h attribution), §4.1, W3, W12; Directive 2008/50/EC Annex
VII; Directive (EU) 2024/2881 Annex V point C.

On the UTC day, ``day_mean`` of the E2 hourly ``valeur`` (``air_hourly.value``) is the official
Geod'air daily mean (``valeur brute``) and ``coverage`` its ``taux de saisie`` / 100 (methods.md
§1.1 "Time base", "Verified (December 2026)"; tests/acceptance/test_geodair_daily.py); Geod'air
still publishes a mean below 18 hours (``validité`` -1) where this module gives NULL.
:func:`published_daily_value` gives Geod'air's rounding of the published ``valeur``.

All work is done on a (series × hour) matrix on the UTC hour axis of the window, so 8-h
windows are 8 elapsed hours, exact on daylight-saving days. :func:`stats_days` computes many
days in one pass (the backfill).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from spse.core.columns import Column
from spse.core.timebase import day_hours_utc, tz_for

HOUR = pd.Timedelta(hours=1)
O3 = "O3"
WINDOW_8H = 8
# Hours before the local day needed by the first 8-h mean (17:00 the day before → 01:00).
LEAD_HOURS = WINDOW_8H - 1

STATISTICS = ("day_mean", "day_max_1h", "day_max_8h_mean")

COLUMNS: dict[str, Column] = {
    "date": Column("DATE", "", "Local calendar day of the statistic, in time_base"),
    "statistic": Column("VARCHAR", "", "day_mean | day_max_1h | day_max_8h_mean (O3)"),
    "value": Column("DOUBLE", "µg/m³", "The statistic; NULL when the coverage rule is not met"),
    "n_valid": Column("BIGINT", "hours or 8-h means",
                      "Valid hourly values in the day (day_mean, day_max_1h) or valid 8-h means ending in the day"),
    "n_expected": Column("BIGINT", "hours or 8-h means", "Hours in the local day (23, 24 or 25), = number of 8-h "
                                                          "means ending in it"),
    "coverage": Column("DOUBLE", "0-1", "n_valid / n_expected"),
    "is_valid": Column("BOOLEAN", "", "The register's coverage rule is met (18 hours; 18 8-h means of ≥ 6 hours)"),
    "time_base": Column("VARCHAR", "", "Time zone of the day: Europe/Paris, CET (UTC+1) or UTC"),
}


@dataclass(frozen=True)
class CoverageRules:
    """Coverage rules of the daily statistics (methods.md §4.1, W3, W12).

    Attributes
    ----------
    min_valid_hours_day : int
        Valid hourly values needed for ``day_mean`` and ``day_max_1h`` [hours].
    min_valid_hours_8h : int
        Valid hourly values needed for one 8-hour mean [hours].
    min_valid_8h_means_day : int
        Valid 8-hour means ending in the day needed for ``day_max_8h_mean`` [means].
    """

    min_valid_hours_day: int = 18
    min_valid_hours_8h: int = 6
    min_valid_8h_means_day: int = 18

    @classmethod
    def from_params(cls, params) -> CoverageRules:
        """The rules of a parameter register (:class:`spse.core.register.Parameters`)."""
        return cls(min_valid_hours_day=params.int("min_valid_hours_day"),
                   min_valid_hours_8h=params.int("min_valid_hours_8h"),
                   min_valid_8h_means_day=params.int("min_valid_8h_means_day"))


def window_hours_utc(day: dt.date, time_base: str) -> tuple[pd.DatetimeIndex, int]:
    """UTC hour-beginning instants from 7 hours before the local day to its last hour, and its hour count."""
    hours = day_hours_utc(day, time_base)
    window = pd.date_range(hours[0] - LEAD_HOURS * HOUR, hours[-1], freq="h")
    return window, len(hours)


def exceeds(value, threshold, round_values: bool):
    """``value > threshold`` (strict, "dépassé", methods.md §1.1); NaN never exceeds.

    With ``round_values`` (the register's ``round_before_compare``, passed by the caller) true,
    values are first rounded to the nearest integer, halves away from zero (methods.md §1.1
    "Rounding", [U]).
    """
    values = np.asarray(value, dtype=float)
    if round_values:
        values = np.sign(values) * np.floor(np.abs(values) + 0.5)
    with np.errstate(invalid="ignore"):
        result = values > threshold
    return result if result.ndim else bool(result)


def published_daily_value(value):
    """The daily mean as Geod'air publishes it (``valeur``): the publication rule, not a comparison rule.

    Values of 10 µg/m³ and above are rounded to the integer, values below to 0.1, halves away
    from zero (17.5556 → 18, 105.3 → 105, 7.625 → 7.6; methods.md §1.1 "Time base", bullet
    "Verified (December 2026)" [V]). For display and comparison with published figures only:
    thresholds are compared with the unrounded value (:func:`exceeds`). NaN stays NaN (Geod'air
    publishes a day without data as 0.0 with ``taux de saisie`` 0, a missing value).
    """
    values = np.asarray(value, dtype=float)
    scale = np.where(np.abs(values) >= 10, 1.0, 10.0)
    # The scaled value is rounded to 9 decimals first, so that 7.25 × 10 = 72.49999… still rounds up.
    scaled = np.round(np.abs(values) * scale, 9)
    result = np.sign(values) * np.floor(scaled + 0.5) / scale
    return result if result.ndim else float(result)


def longest_run_above(values: np.ndarray, threshold: float, round_values: bool) -> np.ndarray:
    """Length of the longest run of consecutive hours strictly above ``threshold``, per series.

    Parameters
    ----------
    values : ndarray (series × hours) or (hours,)
        Consecutive hourly values [µg/m³]; NaN breaks a run.
    threshold : float
        Threshold [µg/m³], compared with :func:`exceeds`.
    round_values : bool
        Round to the integer before comparing (register ``round_before_compare``).

    Returns
    -------
    ndarray of int, one per series (a scalar array for 1-D input). Used for the "3 consecutive
    hours" alert rules (R221-1, methods.md §1.1, W8).
    """
    values = np.asarray(values, dtype=float)
    above = np.atleast_2d(exceeds(values, threshold, round_values))
    if above.shape[1] == 0:
        runs = np.zeros(above.shape[0], dtype=np.int64)
    else:
        position = np.arange(above.shape[1])
        last_break = np.maximum.accumulate(np.where(above, -1, position), axis=1)
        runs = np.where(above, position - last_break, 0).max(axis=1)
    return runs[0] if values.ndim == 1 else runs


def _row_mean(matrix: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    count = valid.sum(axis=-1)
    total = np.where(valid, matrix, 0.0).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan), count


def running_means_8h(window_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """8-hour running means and their valid-hour counts, (series × (hours − 7)).

    Mean ``k`` covers window columns ``k … k + 7`` and is the mean of its valid values (NaN
    when none). Each mean sums its own 8 values (a strided view, no copy), so its rounding
    does not depend on the length of the axis.
    """
    window_values = np.asarray(window_values, dtype=float)
    if window_values.shape[1] < WINDOW_8H:
        empty = np.empty((window_values.shape[0], 0))
        return empty, empty.astype(np.int64)
    valid = ~np.isnan(window_values)
    view = np.lib.stride_tricks.sliding_window_view
    sums = view(np.where(valid, window_values, 0.0), WINDOW_8H, axis=1).sum(axis=-1)
    hours = view(valid, WINDOW_8H, axis=1).sum(axis=-1, dtype=np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(hours > 0, sums / np.maximum(hours, 1), np.nan), hours


def stats_from_matrix(window_values: np.ndarray, n_day_hours: int, with_8h: np.ndarray | bool,
                      rules: CoverageRules) -> dict[str, dict[str, np.ndarray]]:
    """The daily statistics of series laid out on the UTC hour axis of the day's window.

    Parameters
    ----------
    window_values : ndarray (series × (7 + n_day_hours))
        Hourly values [µg/m³], NaN = missing or invalid; column 0 is 7 hours before the local
        day's first hour, the last ``n_day_hours`` columns are the local day (see
        :func:`window_hours_utc`).
    n_day_hours : int
        Hours in the local day (23, 24 or 25).
    with_8h : bool or ndarray of bool (series,)
        Series that get ``day_max_8h_mean`` (the O3 ones).
    rules : CoverageRules
        Coverage rules (methods.md §4.1, W3, W12).

    Returns
    -------
    ``{statistic: {"value", "n_valid", "n_expected", "is_valid", "rows"}}``; ``rows`` gives the
    series index of each value (all series, or those selected by ``with_8h``).
    """
    window_values = np.asarray(window_values, dtype=float)
    n_series, n_window = window_values.shape
    if n_window != LEAD_HOURS + n_day_hours:
        raise ValueError(f"window has {n_window} hours, expected {LEAD_HOURS} + {n_day_hours}")
    min_hours = rules.min_valid_hours_day
    day = window_values[:, LEAD_HOURS:]
    valid = ~np.isnan(day)
    mean, n_valid = _row_mean(day, valid)
    ok = n_valid >= min_hours
    max_1h = np.where(valid, day, -np.inf).max(axis=1) if n_day_hours else np.full(n_series, -np.inf)
    everyone = np.arange(n_series)
    expected = np.full(n_series, n_day_hours)
    result = {
        "day_mean": {"value": np.where(ok, mean, np.nan), "n_valid": n_valid, "n_expected": expected,
                     "is_valid": ok, "rows": everyone},
        "day_max_1h": {"value": np.where(ok, max_1h, np.nan), "n_valid": n_valid, "n_expected": expected,
                       "is_valid": ok, "rows": everyone},
    }
    rows = everyone[np.broadcast_to(np.asarray(with_8h, dtype=bool), (n_series,))]
    if rows.size:
        means_8h, hours_8h = running_means_8h(window_values[rows])
        valid_8h = hours_8h >= rules.min_valid_hours_8h
        n_valid_8h = valid_8h.sum(axis=1)
        ok_8h = n_valid_8h >= rules.min_valid_8h_means_day
        best = np.where(valid_8h, means_8h, -np.inf).max(axis=1)
        result["day_max_8h_mean"] = {"value": np.where(ok_8h, best, np.nan), "n_valid": n_valid_8h,
                                     "n_expected": np.full(rows.size, n_day_hours), "is_valid": ok_8h, "rows": rows}
    return result


def day_segments(hours_utc: pd.DatetimeIndex, days: Sequence[dt.date], time_base: str,
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Column of each local day's first hour on ``hours_utc`` and its hour count (23, 24 or 25).

    Raises ``ValueError`` unless ``hours_utc`` is a contiguous hourly UTC axis holding the 7
    hours before each day (its first 8-h mean) and all of its hours.
    """
    hours_utc = pd.DatetimeIndex(hours_utc)
    if hours_utc.tz is None:
        raise ValueError("hours_utc must be time-zone aware (UTC)")
    if len(hours_utc) > 1 and not ((hours_utc[1:] - hours_utc[:-1]) == HOUR).all():
        raise ValueError("hours_utc must be contiguous whole hours")
    tz = tz_for(time_base)
    dates = pd.DatetimeIndex(pd.to_datetime(list(days)))
    starts = dates.tz_localize(tz).tz_convert("UTC")
    ends = (dates + pd.Timedelta(days=1)).tz_localize(tz).tz_convert("UTC")
    first = ((starts - hours_utc[0]) / HOUR).to_numpy() if len(hours_utc) else np.zeros(len(dates))
    n_hours = ((ends - starts) / HOUR).to_numpy()
    if (first != np.floor(first)).any() or (n_hours != np.floor(n_hours)).any():
        raise ValueError(f"days of {time_base} do not start on whole hours of hours_utc")
    first, n_hours = first.astype(np.int64), n_hours.astype(np.int64)
    if len(dates) and (first.min() < LEAD_HOURS or (first + n_hours).max() > len(hours_utc)):
        raise ValueError(f"hours_utc ({hours_utc[0] if len(hours_utc) else None} … "
                         f"{hours_utc[-1] if len(hours_utc) else None}) must cover {LEAD_HOURS} hours before the "
                         f"first day and every hour of the last day ({time_base})")
    return first, n_hours


def _segment_reduce(ufunc: np.ufunc, matrix: np.ndarray, first: np.ndarray, n_hours: np.ndarray,
                    identity: float) -> np.ndarray:
    """``ufunc.reduce`` over columns ``first[d] … first[d] + n_hours[d] − 1`` of each row, (rows × days)."""
    padded = np.concatenate([matrix, np.full((matrix.shape[0], 1), identity, dtype=matrix.dtype)], axis=1)
    bounds = np.column_stack([first, first + n_hours]).ravel()
    reduced = ufunc.reduceat(padded, bounds, axis=1)[:, ::2]
    return np.where(n_hours > 0, reduced, identity)


def stats_days(matrix: np.ndarray, hours_utc: pd.DatetimeIndex, days: Sequence[dt.date], time_base: str,
               with_8h: np.ndarray | bool, rules: CoverageRules) -> dict[str, dict[str, np.ndarray]]:
    """The daily statistics of several local days at once, same rules as :func:`stats_from_matrix`.

    Parameters
    ----------
    matrix : ndarray (series × hours)
        Hourly values [µg/m³] on ``hours_utc``, NaN = missing or invalid.
    hours_utc : DatetimeIndex
        Contiguous hour-beginning UTC instants, from at least 7 hours before the first local
        day's first hour to at least the last day's last hour.
    days : sequence of datetime.date
        Local days of ``time_base`` (any order; a day has 23, 24 or 25 hours).
    time_base : str
        ``Europe/Paris``, ``CET`` or ``UTC`` (methods.md §1.1 "Time base").
    with_8h : bool or ndarray of bool (series,)
        Series that get ``day_max_8h_mean`` (the O3 ones); 8-h means are attributed to the day
        in which they end.
    rules : CoverageRules
        Coverage rules (methods.md §4.1, W3, W12).

    Returns
    -------
    ``{statistic: {"value", "n_valid", "is_valid" (rows × days), "n_expected" (days,), "rows"}}``;
    ``rows`` gives the series index of each row: all series for ``day_mean`` and ``day_max_1h``,
    those selected by ``with_8h`` for ``day_max_8h_mean`` (absent when none is).

    Notes
    -----
    Segment sums and maxima with ``numpy.ufunc.reduceat`` over all days: no loop over days.
    """
    return stats_days_bases(matrix, hours_utc, days, (time_base,), with_8h, rules)[time_base]


def stats_days_bases(matrix: np.ndarray, hours_utc: pd.DatetimeIndex, days: Sequence[dt.date],
                     time_bases: Sequence[str], with_8h: np.ndarray | bool,
                     rules: CoverageRules) -> dict[str, dict[str, dict[str, np.ndarray]]]:
    """:func:`stats_days` of the same local days in each of ``time_bases``, by time base.

    The hourly work (validity, 8-hour means) is done once; only the day segments differ.
    """
    matrix = np.asarray(matrix, dtype=float)
    n_series = matrix.shape[0]
    if matrix.shape[1] != len(hours_utc):
        raise ValueError(f"matrix has {matrix.shape[1]} hours, hours_utc {len(hours_utc)}")
    valid = ~np.isnan(matrix)
    valid_count = valid.astype(np.int64)
    filled = np.where(valid, matrix, 0.0)
    highest_in = np.where(valid, matrix, -np.inf)
    everyone = np.arange(n_series)
    rows = everyone[np.broadcast_to(np.asarray(with_8h, dtype=bool), (n_series,))]
    if rows.size:
        means_8h, hours_8h = running_means_8h(matrix[rows])
        valid_8h = hours_8h >= rules.min_valid_hours_8h
        valid_8h_count, best_in = valid_8h.astype(np.int64), np.where(valid_8h, means_8h, -np.inf)
    out = {}
    for time_base in time_bases:
        first, n_hours = day_segments(hours_utc, days, time_base)
        n_valid = _segment_reduce(np.add, valid_count, first, n_hours, 0)
        total = _segment_reduce(np.add, filled, first, n_hours, 0.0)
        highest = _segment_reduce(np.maximum, highest_in, first, n_hours, -np.inf)
        ok = n_valid >= rules.min_valid_hours_day
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = total / np.maximum(n_valid, 1)
        result = {
            "day_mean": {"value": np.where(ok, mean, np.nan), "n_valid": n_valid, "n_expected": n_hours,
                         "is_valid": ok, "rows": everyone},
            "day_max_1h": {"value": np.where(ok, highest, np.nan), "n_valid": n_valid, "n_expected": n_hours,
                           "is_valid": ok, "rows": everyone},
        }
        if rows.size:
            # Mean k covers columns k … k + 7: the means ending in a day start LEAD_HOURS columns before it.
            start_8h = first - LEAD_HOURS
            n_valid_8h = _segment_reduce(np.add, valid_8h_count, start_8h, n_hours, 0)
            best = _segment_reduce(np.maximum, best_in, start_8h, n_hours, -np.inf)
            ok_8h = n_valid_8h >= rules.min_valid_8h_means_day
            result["day_max_8h_mean"] = {"value": np.where(ok_8h, best, np.nan), "n_valid": n_valid_8h,
                                         "n_expected": n_hours, "is_valid": ok_8h, "rows": rows}
        out[time_base] = result
    return out


def stats_frame(stats: dict[str, dict[str, np.ndarray]], series: pd.DataFrame, day: dt.date,
                time_base: str) -> pd.DataFrame:
    """Long frame ``[*series columns, date, statistic, value, n_valid, n_expected, coverage, is_valid, time_base]``.

    ``stats`` is one day's :func:`stats_from_matrix`; see :func:`days_frame`.
    """
    one_day = {name: {key: (np.asarray(v).reshape(-1, 1) if key != "rows" else v) for key, v in s.items()}
               for name, s in stats.items()}
    return days_frame(one_day, series, [day], time_base)


def days_frame(stats: dict[str, dict[str, np.ndarray]], series: pd.DataFrame, days: Sequence[dt.date],
               time_base: str) -> pd.DataFrame:
    """Long frame of :func:`stats_days` (or one day of :func:`stats_from_matrix`), built from numpy arrays.

    Columns ``[*series columns, date, statistic, value, n_valid, n_expected, coverage, is_valid,
    time_base]``; rows ordered by statistic, day and series, so that a day's rows of one statistic
    are contiguous (:func:`spse.pipeline.lake.write_day_partitions` writes them without copying).
    ``coverage`` = n_valid / n_expected (0 when nothing is expected).
    """
    parts = []
    dates = np.array(list(days), dtype=object)
    for statistic in STATISTICS:
        if statistic not in stats:
            continue
        s = stats[statistic]
        n_rows, n_days = shape = np.shape(s["value"])
        expected = _day_major(s["n_expected"], np.int64, shape)
        n_valid = _day_major(s["n_valid"], np.int64, shape)
        part = series.iloc[np.tile(np.asarray(s["rows"]), n_days)].reset_index(drop=True)
        part["date"] = np.repeat(dates, n_rows)
        part["statistic"] = statistic
        part["value"] = _day_major(s["value"], float, shape)
        part["n_valid"] = n_valid
        part["n_expected"] = expected
        part["coverage"] = np.where(expected > 0, n_valid / np.maximum(expected, 1), 0.0)
        part["is_valid"] = _day_major(s["is_valid"], bool, shape)
        part["time_base"] = time_base
        parts.append(part)
    columns = [*series.columns, *COLUMNS]
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]


def _day_major(values: np.ndarray, dtype, shape: tuple[int, int]) -> np.ndarray:
    """``values`` broadcast to (rows × days) ``shape``, flattened day by day."""
    return np.broadcast_to(np.asarray(values, dtype=dtype), shape).T.reshape(-1)


def to_window_matrix(hourly: pd.DataFrame, keys: list[str], window: pd.DatetimeIndex,
                     value_col: str = "value") -> tuple[np.ndarray, pd.DataFrame]:
    """Pivot long hourly rows to a (series × window hour) matrix.

    Rows outside the window are ignored; NaN values count as invalid; several rows for the
    same series and hour are averaged (NaN-aware). Returns the matrix and the series keys
    (one row per matrix row, sorted). ``ts_start_utc`` must fall on whole UTC hours.
    """
    groups = hourly.groupby(keys, dropna=False, sort=True)
    codes = groups.ngroup().to_numpy()
    series = groups.size().index.to_frame(index=False)
    ts = pd.to_datetime(hourly["ts_start_utc"], utc=True)
    offset = (ts - window[0]) / HOUR
    off_hour = offset.notna() & (offset != np.floor(offset))
    if off_hour.any():
        row = int(np.flatnonzero(off_hour.to_numpy())[0])
        raise ValueError(f"ts_start_utc {ts.iloc[row]} (row {row}) is not on a whole UTC hour")
    inside = (offset >= 0) & (offset < len(window))
    idx = offset[inside].to_numpy().astype(np.int64)
    rows = codes[inside.to_numpy()]
    values = hourly.loc[inside, value_col].to_numpy(dtype=float)
    good = ~np.isnan(values)
    flat = rows[good] * len(window) + idx[good]
    size = len(series) * len(window)
    total = np.bincount(flat, weights=values[good], minlength=size)
    count = np.bincount(flat, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        matrix = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return matrix.reshape(len(series), len(window)), series


def daily_stats(hourly: pd.DataFrame, keys: list[str], day: dt.date, *, time_base: str, rules: CoverageRules,
                pollutant_col: str | None = "pollutant") -> pd.DataFrame:
    """Daily statistics of hourly series for the local day ``day``.

    Parameters
    ----------
    hourly : DataFrame
        ``[*keys, ts_start_utc, value]``: hour-beginning UTC instants, ``value`` [µg/m³] with
        NaN for missing or invalid hours. Hours of neighbouring days may be present (the O3
        8-h means reach back 7 hours before the day); they are used only for those windows.
    keys : list of str
        Columns identifying a series (e.g. ``["station_id", "pollutant"]``).
    day : datetime.date
        The local day.
    time_base : str
        ``Europe/Paris``, ``CET`` or ``UTC`` (the register's ``day_time_base`` for the
        procedure, ``eu_day_time_base`` for the EU statistics; methods.md §1.1 "Time base").
    rules : CoverageRules
        Coverage rules (methods.md §4.1, W3, W12).
    pollutant_col : str or None
        Key column naming the pollutant; series whose pollutant is ``O3`` also get
        ``day_max_8h_mean``.

    Returns
    -------
    DataFrame ``[*keys, date, statistic, value, n_valid, n_expected, coverage, is_valid,
    time_base]``, one row per series and statistic (see the module docstring for the rules).
    """
    window, n_day_hours = window_hours_utc(day, time_base)
    if hourly.empty:
        return pd.DataFrame(columns=[*keys, *COLUMNS])
    matrix, series = to_window_matrix(hourly, keys, window)
    with_8h = (series[pollutant_col] == O3).to_numpy() if pollutant_col in keys else False
    return stats_frame(stats_from_matrix(matrix, n_day_hours, with_8h, rules), series, day, time_base)
