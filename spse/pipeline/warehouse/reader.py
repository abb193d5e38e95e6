"""Guarded, read-only access to the published warehouse.

Used by ``spse sql``, ``spse export``, ``spse tables``, the summary and the bulletin.

The file is attached read-only to a fresh in-memory DuckDB instance rather than opened
with ``duckdb.connect(path)``: DuckDB caches one database instance per path inside a
process, so a second ``connect`` would keep reading the file that was published before
the last swap. Attaching opens whatever file the path names now.

Then the instance is closed around it with DuckDB's own settings (DuckDB docs, "Securing
DuckDB"): ``enable_external_access = false`` (no file or network access from SQL: no
``read_text``/``read_csv``/``glob`` on paths, ``COPY``, ``ATTACH``, ``EXPORT DATABASE``,
``INSTALL``/``LOAD``), ``memory_limit``, ``max_temp_directory_size`` on a private temporary
folder, ``threads``, and finally ``lock_configuration = true`` so no statement can set any of
them back. ``allowed_directories`` re-opens the lake folder to the internal readers only
(the ``lake`` views, and the ``staging``/``intermediate`` views over them, read its Parquet
files); DuckDB allows writes there too, so expert SQL never gets it. DuckDB itself adds the
private temporary folder to the allowed ones: it holds nothing but this connection's spill
files and is removed with the connection.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import warnings
import weakref
from pathlib import Path

import duckdb
import pandas as pd

from spse.core.config import settings, sql_limits

CATALOG = "spse"
_COMMENT = re.compile(r"^(?P<description>.*?)\s*\[(?P<unit>[^\[\]]*)\]\s*$", re.DOTALL)


def connect_readonly(path: Path | None = None, *, lake: bool = True,
                     memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """A guarded connection to the published warehouse (or ``path``), attached read-only as ``spse``.

    Any write to it fails with DuckDB's read-only error; any file or network access with a
    ``duckdb.PermissionException``; any ``SET`` with "the configuration has been locked".
    ``lake`` lets SQL read (and, DuckDB being what it is, write) the lake folder: for the
    fixed queries of spse's own readers, never for an expert's query. ``memory_limit`` (a
    DuckDB size, e.g. ``"512MB"``) overrides ``config.sql_limits().memory``. Close it when
    done: while open it keeps reading the file it attached, even after a newer one is published.
    """
    target = Path(path) if path is not None else settings().warehouse
    if not target.exists():
        raise FileNotFoundError(f"no warehouse at {target}: run the daily job (spse run --date ...) first")
    limits = sql_limits()
    con = duckdb.connect(":memory:")
    spill = tempfile.mkdtemp(prefix="spse-sql-")
    weakref.finalize(con, shutil.rmtree, spill, True)
    try:
        con.execute(f"attach {_sql_string(str(target))} as {CATALOG} (read_only)")
        con.execute(f"use {CATALOG}")
        if lake:
            con.execute("set allowed_directories = ?", [[str(settings().lake) + "/"]])
        con.execute("set temp_directory = ?", [spill])
        con.execute("set enable_external_access = false")
        con.execute("set memory_limit = ?", [memory_limit or limits.memory])
        con.execute("set max_temp_directory_size = ?", [limits.temp])
        con.execute("set threads = ?", [limits.threads])
        con.execute("set lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def query(sql: str, path: Path | None = None, params: list | None = None) -> pd.DataFrame:
    """Run spse's own ``sql`` on the published warehouse, through :func:`connect_readonly`.

    ``?`` placeholders in ``sql`` are bound to ``params``. A write statement raises
    ``duckdb.InvalidInputException`` ("... attached in read-only mode").
    Experts' SQL goes through :mod:`spse.pipeline.warehouse.expert` instead.
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


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
