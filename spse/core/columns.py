"""The canonical column: DuckDB type, unit and definition, and the pandas dtype of each DuckDB type.

Every dataset the pipeline writes (sources' ``columns``, grid, statistics, surfaces, noise,
forecast, alerts) declares its columns with :class:`Column`; the contract checks
(:meth:`spse.sources.base.Source.check`) use :data:`TYPE_CHECKS` and empty frames use
:data:`EMPTY_DTYPES`. Instants are ``TIMESTAMPTZ`` in UTC. Rows a source rejects are kept
with :data:`QUARANTINE_COLUMNS`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Column:
    """A canonical column: DuckDB type, unit (``""`` when none) and definition."""

    type: str
    unit: str
    description: str
    nullable: bool = True


def _is_text(series: pd.Series) -> bool:
    return pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)


# DuckDB type names used in ``Column.type``, and the pandas dtype check for each.
TYPE_CHECKS = {
    "VARCHAR": _is_text,
    "DOUBLE": pd.api.types.is_float_dtype,
    "INTEGER": pd.api.types.is_integer_dtype,
    "BIGINT": pd.api.types.is_integer_dtype,
    "BOOLEAN": pd.api.types.is_bool_dtype,
    "TIMESTAMPTZ": lambda s: isinstance(s.dtype, pd.DatetimeTZDtype) and str(s.dtype.tz) == "UTC",
    "DATE": lambda s: pd.api.types.is_object_dtype(s) or pd.api.types.is_datetime64_any_dtype(s),
}

# The pandas dtype of an empty column of each DuckDB type.
EMPTY_DTYPES = {
    "VARCHAR": "object", "DOUBLE": "float64", "INTEGER": "int64", "BIGINT": "int64",
    "BOOLEAN": "bool", "TIMESTAMPTZ": "datetime64[ns, UTC]", "DATE": "object",
}

# The columns of a quarantine file (``quarantine/<source>/<partition>/rejects.parquet``): the
# feed, the file relative to its base URL, the 1-based line (header = 1), why, the row as received.
QUARANTINE_COLUMNS = ["source", "file", "row", "reason", "raw"]
