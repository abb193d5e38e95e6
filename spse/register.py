"""The threshold and method-parameter registers.

Thresholds and method parameters are data, not literals: ``registers/thresholds.csv``
(one row per set × pollutant or noise indicator × averaging × level, with its status tag
and reference), ``registers/parameters.csv``, and the data-quality gate's
``registers/plausibility.csv`` (hourly plausible range per quantity and unit) and
``registers/reference_checks.csv`` (what a complete reference vintage holds). Values tagged ``U`` are unconfirmed
(see ``../shared/reference/methods.md`` §10); change them in the file, or point
``SPSE_THRESHOLDS_FILE`` / ``SPSE_PARAMETERS_FILE`` at a corrected copy.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import pandas as pd

_HERE = Path(__file__).parent / "registers"


def _path(env: str, default: str) -> Path:
    return Path(os.environ.get(env) or _HERE / default)


def files() -> dict[str, Path]:
    """The register files in use (after ``SPSE_*_FILE`` overrides), for provenance."""
    return {"thresholds": _path("SPSE_THRESHOLDS_FILE", "thresholds.csv"),
            "parameters": _path("SPSE_PARAMETERS_FILE", "parameters.csv"),
            "plausibility": _path("SPSE_PLAUSIBILITY_FILE", "plausibility.csv"),
            "reference_checks": _path("SPSE_REFERENCE_CHECKS_FILE", "reference_checks.csv")}


def thresholds() -> pd.DataFrame:
    """Every threshold row. ``value`` is a float; ``consecutive_periods`` an int."""
    return _read_thresholds(str(_path("SPSE_THRESHOLDS_FILE", "thresholds.csv")))


@lru_cache(maxsize=4)
def _read_thresholds(path: str) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype={"allowed_exceedances": "Int64"}, keep_default_na=False,
                        na_values={"allowed_exceedances": [""]})
    frame["value"] = frame["value"].astype(float)
    frame["consecutive_periods"] = frame["consecutive_periods"].astype(int)
    return frame


@lru_cache(maxsize=4)
def _read_parameters(path: str) -> dict[str, str]:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return dict(zip(frame["name"], frame["value"], strict=True))


def parameters_frame() -> pd.DataFrame:
    return pd.read_csv(_path("SPSE_PARAMETERS_FILE", "parameters.csv"), dtype=str, keep_default_na=False)


def parameter(name: str) -> str:
    values = _read_parameters(str(_path("SPSE_PARAMETERS_FILE", "parameters.csv")))
    if name not in values:
        raise KeyError(f"parameter {name!r} is not in the register")
    return values[name]


def parameter_float(name: str) -> float:
    return float(parameter(name))


def parameter_int(name: str) -> int:
    return int(parameter(name))


def parameter_bool(name: str) -> bool:
    return parameter(name).strip().lower() in ("1", "true", "yes")


def plausibility() -> pd.DataFrame:
    """Plausible hourly range per ``quantity`` and ``unit`` (``min``/``max`` floats, inclusive).

    ``quantity`` ``*`` is the fallback of its unit for quantities without a row.
    """
    return _read_ranges(str(files()["plausibility"]))


def reference_checks() -> pd.DataFrame:
    """What a complete reference vintage holds: ``dataset``, ``measure``, ``min``, ``max``."""
    return _read_ranges(str(files()["reference_checks"]))


@lru_cache(maxsize=8)
def _read_ranges(path: str) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["min"] = frame["min"].astype(float)
    frame["max"] = frame["max"].astype(float)
    return frame
