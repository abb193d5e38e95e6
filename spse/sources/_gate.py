"""The per-value checks of the data-quality gate, which parsers call too.

A value is checked where it is read, so it is quarantined with its line: against
``registers/plausibility.csv`` (the hourly plausible range of its quantity in its unit) and
the register's ``no_data_sentinels`` (:func:`check_values`, :func:`value_reasons`); an
instant against the file's day (:func:`day_reasons`). These functions read the register
only, never the lake: the gate that passes a whole partition, and compares it with the
previous day or vintage in the lake, is :mod:`spse.pipeline.gate`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from spse.core import register


@dataclass
class Plausibility:
    """Per value: a no-data sentinel, a unit that is not the quantity's, outside its range."""

    sentinel: np.ndarray
    wrong_unit: np.ndarray
    no_range: np.ndarray
    outside: np.ndarray
    expected_unit: pd.Series
    low: np.ndarray
    high: np.ndarray

    @property
    def bad(self) -> np.ndarray:
        """Values refused for any reason: sentinel, wrong unit, no plausible range, or outside it."""
        return self.sentinel | self.wrong_unit | self.no_range | self.outside


def sentinels() -> frozenset[float]:
    """The no-data sentinel values of the register (``no_data_sentinels``)."""
    return frozenset(float(v) for v in register.parameters().words("no_data_sentinels"))


def _per_value(value, n: int) -> np.ndarray:
    """``value`` (a Series, or one value for all) as an object array of ``n`` values, by position."""
    if isinstance(value, pd.Series):
        return value.astype(object).to_numpy()
    out = np.empty(n, dtype=object)
    out[:] = [value] * n
    return out


def _as_series(value, n: int, index) -> pd.Series:
    if isinstance(value, pd.Series):
        return value.astype(object).reset_index(drop=True).set_axis(index)
    return pd.Series([value] * n, index=index, dtype=object)


def check_values(values: pd.Series, quantity, unit=None, *, with_sentinels: bool = True) -> Plausibility:
    """Check hourly ``values`` of ``quantity`` (a name or one per value) in ``unit``.

    ``unit`` is a unit or one per value (canonical spelling: µg/m³, mg/m³, dB(A)); ``None``
    means the values are already in the register's unit of their quantity. Ranges are
    inclusive; a quantity without its own row uses the ``*`` row of its unit. NULL values
    pass (an invalid hour carries no value).
    """
    values = pd.Series(values, dtype="float64").reset_index(drop=True)
    n, v = len(values), values.to_numpy()
    ranges = _Ranges.of(register.plausibility())
    q_codes, q_names = pd.factorize(_per_value(quantity, n), use_na_sentinel=False)
    units = np.array([ranges.units.get(q, np.nan) for q in q_names], dtype=object)
    expected = units[q_codes]
    used = expected if unit is None else _per_value(unit, n)
    present = ~np.isnan(v)
    wrong_unit = present & ~pd.isna(expected) & ~pd.isna(used) & (used != expected).astype(bool)
    low, high = ranges.bounds_of(q_codes, q_names, used)
    sentinel = present & np.isin(v, list(sentinels())) if with_sentinels else np.zeros(n, dtype=bool)
    no_range = present & ~wrong_unit & np.isnan(low)
    with np.errstate(invalid="ignore"):
        outside = present & ~wrong_unit & ~no_range & ((v < low) | (v > high))
    expected_unit = pd.Series(expected, index=values.index, dtype=object)
    return Plausibility(sentinel, wrong_unit, no_range, outside, expected_unit, low, high)


@dataclass(frozen=True)
class _Ranges:
    """The plausibility register as lookups: each quantity's unit, each (quantity, unit)'s [min, max]."""

    table: pd.DataFrame
    units: dict
    bounds: dict

    @staticmethod
    def of(table: pd.DataFrame) -> _Ranges:
        """The lookups of ``table``, built once per register version (the register returns one frame per file)."""
        if not _RANGES or _RANGES[0].table is not table:
            own = table[table["quantity"] != "*"]
            _RANGES[:] = [_Ranges(table, dict(zip(own["quantity"], own["unit"], strict=True)),
                                  {(q, u): (lo, hi) for q, u, lo, hi in
                                   table[["quantity", "unit", "min", "max"]].itertuples(index=False, name=None)})]
        return _RANGES[0]

    def bounds_of(self, q_codes: np.ndarray, q_names, unit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """[min, max] of each value: its (quantity, unit) row, else the ``*`` row of its unit, else NaN.

        ``q_codes``, ``q_names`` are the factorised quantities; looked up once per distinct pair.
        """
        u_codes, u_names = pd.factorize(np.asarray(unit, dtype=object), use_na_sentinel=False)
        pairs, codes = np.unique(q_codes.astype(np.int64) * len(u_names) + u_codes, return_inverse=True)
        none = (np.nan, np.nan)
        found = np.array([self.bounds.get((q, u), self.bounds.get(("*", u), none)) for q, u in
                          ((q_names[pair // len(u_names)], u_names[pair % len(u_names)]) for pair in pairs)],
                         dtype=float).reshape(-1, 2)
        return found[codes.reshape(-1), 0], found[codes.reshape(-1), 1]


_RANGES: list[_Ranges] = []


def value_reasons(label: str, values: pd.Series, quantity, unit=None, *,
                  with_sentinels: bool = True) -> np.ndarray:
    """Quarantine reason of each value (``None`` when plausible); see :func:`check_values`."""
    values = pd.Series(values, dtype="float64").reset_index(drop=True)
    p = check_values(values, quantity, unit, with_sentinels=with_sentinels)
    why = np.full(len(values), None, dtype=object)
    if not p.bad.any():
        return why
    quantity = _as_series(quantity, len(values), values.index)
    unit = p.expected_unit if unit is None else _as_series(unit, len(values), values.index)
    for i in np.flatnonzero(p.bad):
        v, q, u = _number(values.iloc[i]), quantity.iloc[i], unit.iloc[i]
        if p.sentinel[i]:
            why[i] = f"no-data sentinel {v} in `{label}` ({q})"
        elif p.wrong_unit[i]:
            why[i] = f"unit {u} is not the unit of {q} ({p.expected_unit.iloc[i]})"
        elif p.no_range[i]:
            why[i] = f"no plausible range for {q} in {u} in registers/plausibility.csv"
        else:
            why[i] = (f"`{label}` outside the physical range of {q} in {u} "
                      f"[{_number(p.low[i])}, {_number(p.high[i])}]: {v}")
    return why


def _number(x: float) -> str:
    return f"{x:g}"


def day_reasons(ts: pd.Series, window: tuple[pd.Timestamp, pd.Timestamp], what: str) -> np.ndarray:
    """Reason for each instant outside ``window`` = [start, end) (``what`` names the day)."""
    ts = pd.Series(ts).reset_index(drop=True)
    start, end = window
    outside = (ts.notna() & ((ts < start) | (ts >= end))).to_numpy()
    why = np.full(len(ts), None, dtype=object)
    for i in np.flatnonzero(outside):
        why[i] = f"hour {ts.iloc[i]:%Y-%m-%d %H:%M} UTC is outside the file's day ({what})"
    return why


