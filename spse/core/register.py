"""The threshold and method-parameter registers.

Thresholds and method parameters are data, not literals: ``registers/thresholds.csv``
(one row per set × pollutant or noise indicator × averaging × level, with its status tag
and reference), ``registers/parameters.csv``, and the data-quality gate's
``registers/plausibility.csv`` (hourly plausible range per quantity and unit) and
``registers/reference_checks.csv`` (what a complete reference vintage holds). Values tagged ``U`` are unconfirmed
(see ``../shared/reference/methods.md`` §10); change them in the file, or point
``SPSE_THRESHOLDS_FILE`` / ``SPSE_PARAMETERS_FILE`` at a corrected copy.

Method parameters are read one way: ``parameters()`` returns the register as a typed,
read-only :class:`Parameters` (``.text``, ``.words``, ``.float``, ``.int``, ``.bool``), read
once per file; pure functions receive it (or the values) from the pipeline.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd

from spse.core import config

_HERE = Path(__file__).resolve().parents[1] / "registers"


def _path(register: str) -> Path:
    return config.register_file(register) or _HERE / f"{register}.csv"


def _stamp(path: Path | str) -> tuple[int, int]:
    """Modification time [ns] and size of a register file: part of the cache key, so an edited file is read again."""
    st = Path(path).stat()
    return st.st_mtime_ns, st.st_size


def files() -> dict[str, Path]:
    """Return the register files in use (after ``SPSE_*_FILE`` overrides), for provenance."""
    return {name: _path(name) for name in ("thresholds", "parameters", "plausibility", "reference_checks")}


def thresholds() -> pd.DataFrame:
    """Return every threshold row; ``value`` is a float, ``consecutive_periods`` an int."""
    path = _path("thresholds")
    return _read_thresholds(str(path), _stamp(path))


@lru_cache(maxsize=4)
def _read_thresholds(path: str, stamp: tuple[int, int]) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype={"allowed_exceedances": "Int64"}, keep_default_na=False,
                        na_values={"allowed_exceedances": [""]})
    frame["value"] = frame["value"].astype(float)
    frame["consecutive_periods"] = frame["consecutive_periods"].astype(int)
    return frame


class Parameters(Mapping[str, str]):
    """The parameter register, read-only: name → value text, with typed readers.

    Built once per file by :func:`parameters`, or from a mapping (tests pin values with
    ``Parameters({**parameters(), "round_before_compare": "true"})``). Each reader raises
    ``KeyError`` naming a parameter that is not in the register, and ``ValueError`` naming
    the parameter whose text is not of the type asked for. Units are those of the register's
    ``unit`` column.

    Parameters
    ----------
    values : mapping of str to str
        Parameter name → value as written in ``registers/parameters.csv``.
    """

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, object]) -> None:
        self._values = MappingProxyType({str(k): str(v) for k, v in values.items()})

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> Parameters:
        """Build the register from its table (columns ``name`` and ``value``)."""
        return cls(dict(zip(frame["name"], frame["value"], strict=True)))

    def __getitem__(self, name: str) -> str:
        """Return the text of ``name``."""
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        """Iterate over the parameter names, in register order."""
        return iter(self._values)

    def __len__(self) -> int:
        """Return the number of parameters."""
        return len(self._values)

    def __repr__(self) -> str:
        """Show every name and value."""
        return f"Parameters({dict(self._values)!r})"

    def text(self, name: str) -> str:
        """Return the value of ``name`` as written in the register."""
        if name not in self._values:
            raise KeyError(f"parameter {name!r} is not in the register")
        return self._values[name]

    def words(self, name: str) -> list[str]:
        """Return the space-separated items of ``name`` (``alert_threshold_sets``, ``no_data_sentinels``)."""
        return self.text(name).split()

    def float(self, name: str) -> float:
        """Return the value of ``name`` as a number, in the register's unit."""
        return self._typed(name, float, "a number")

    def int(self, name: str) -> int:
        """Return the value of ``name`` as an integer, in the register's unit."""
        return self._typed(name, int, "an integer")

    def bool(self, name: str) -> bool:
        """Return the value of ``name`` as a flag: ``true``/``yes``/``1`` or ``false``/``no``/``0`` (any case)."""
        word = self.text(name).strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise ValueError(f"parameter {name!r} is {self.text(name)!r}, not one of {_TRUE + _FALSE}")

    def _typed(self, name: str, kind: type, what: str) -> Any:
        text = self.text(name)
        try:
            return kind(text)
        except ValueError:
            raise ValueError(f"parameter {name!r} is {text!r}, not {what}") from None


_TRUE = ("true", "yes", "1")
_FALSE = ("false", "no", "0")


def parameters() -> Parameters:
    """Return the parameter register in use (``SPSE_PARAMETERS_FILE`` or ``registers/parameters.csv``)."""
    path = files()["parameters"]
    return _parameters_of(str(path), _stamp(path))


def parameters_frame() -> pd.DataFrame:
    """Return the parameter register as a table.

    Columns ``name``, ``value``, ``unit``, ``status``, ``reference``, ``description`` (text).
    """
    path = files()["parameters"]
    return _read_parameters(str(path), _stamp(path)).copy()


@lru_cache(maxsize=4)
def _read_parameters(path: str, stamp: tuple[int, int]) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@lru_cache(maxsize=4)
def _parameters_of(path: str, stamp: tuple[int, int]) -> Parameters:
    return Parameters.from_frame(_read_parameters(path, stamp))


def parameter(name: str) -> str:
    """Shorthand for ``parameters().text(name)``."""
    return parameters().text(name)


def parameter_int(name: str) -> int:
    """Shorthand for ``parameters().int(name)``."""
    return parameters().int(name)


def plausibility() -> pd.DataFrame:
    """Plausible hourly range per ``quantity`` and ``unit`` (``min``/``max`` floats, inclusive).

    ``quantity`` ``*`` is the fallback of its unit for quantities without a row.
    """
    path = files()["plausibility"]
    return _read_ranges(str(path), _stamp(path))


def reference_checks() -> pd.DataFrame:
    """Return what a complete reference vintage holds: ``dataset``, ``measure``, ``min``, ``max``."""
    path = files()["reference_checks"]
    return _read_ranges(str(path), _stamp(path))


@lru_cache(maxsize=8)
def _read_ranges(path: str, stamp: tuple[int, int]) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["min"] = frame["min"].astype(float)
    frame["max"] = frame["max"].astype(float)
    return frame
