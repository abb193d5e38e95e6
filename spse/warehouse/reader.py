"""Read-only access to the published warehouse (``spse sql``, ``spse tables``, the bulletin).

The file is attached read-only to a fresh in-memory DuckDB instance rather than opened
with ``duckdb.connect(path)``: DuckDB caches one database instance per path inside a
process, so a second ``connect`` would keep reading the file that was published before
the last swap. Attaching opens whatever file the path names now.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import duckdb
import pandas as pd

from spse.config import settings

CATALOG = "spse"
_COMMENT = re.compile(r"^(?P<description>.*?)\s*\[(?P<unit>[^\[\]]*)\]\s*$", re.DOTALL)


def connect_readonly(path: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A connection to the published warehouse (or ``path``), attached read-only as ``spse``.

    Any write to it fails with DuckDB's read-only error. Close it when done: while open it
    keeps reading the file it attached, even after a newer one is published.
    """
    target = Path(path) if path is not None else settings().warehouse
    if not target.exists():
        raise FileNotFoundError(f"no warehouse at {target}: run the daily job (spse run --date ...) first")
    con = duckdb.connect(":memory:")
    try:
        escaped = str(target).replace("'", "''")
        con.execute(f"attach '{escaped}' as {CATALOG} (read_only)")
        con.execute(f"use {CATALOG}")
    except BaseException:
        con.close()
        raise
    return con


def query(sql: str, path: Path | None = None, params: list | None = None) -> pd.DataFrame:
    """Run ``sql`` (with ``?`` placeholders bound to ``params``) on the published warehouse, read-only.

    A write statement raises ``duckdb.InvalidInputException`` ("... attached in read-only mode").
    """
    con = connect_readonly(path)
    try:
        return fetch_frame(con, sql, params)
    finally:
        con.close()


def fetch_frame(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pd.DataFrame:
    """``con.execute(sql, params).df()`` without duckdb 1.5.5's pandas 3.1 deprecation warning."""
    with warnings.catch_warnings():
        # duckdb 1.5.5 converts TIMESTAMPTZ columns with DataFrame.drop(inplace=True), deprecated in pandas 3.1
        warnings.filterwarnings("ignore", message="The inplace keyword in DataFrame.drop")
        return con.execute(sql, params).df() if params is not None else con.execute(sql).df()


def describe_tables(path: Path | None = None) -> pd.DataFrame:
    """Every column of the warehouse's tables and views, with its documented definition and unit.

    Columns: ``schema``, ``table``, ``column``, ``type``, ``description``, ``unit``
    (parsed from the ``COMMENT ON COLUMN`` text ``"<description> [<unit>]"``; ``-`` for
    identifiers and dimensionless values; description ``""`` and unit ``None`` where
    undocumented, e.g. the ``lake`` views).
    """
    frame = query(f"""
        select schema_name as schema, table_name as "table", column_name as "column", data_type as type, comment
        from duckdb_columns()
        where database_name = '{CATALOG}' and schema_name not in ('information_schema', 'pg_catalog')
        order by schema_name, table_name, column_index""", path)
    parts = frame["comment"].str.extract(_COMMENT)
    unit = parts["unit"].astype(object)
    return frame.drop(columns="comment").assign(
        description=parts["description"].fillna(frame["comment"]).fillna(""),
        unit=unit.where(unit.notna(), None))
