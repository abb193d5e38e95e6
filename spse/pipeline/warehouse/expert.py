"""Experts' SQL (``spse sql``, ``spse export``): one read statement, with a time and a memory limit.

Two independent barriers. First the statement, parsed by DuckDB's own parser
(``duckdb.extract_statements``): exactly one, of type ``SELECT`` (which includes ``FROM``,
``VALUES``, ``WITH``, ``DESCRIBE``, ``SHOW``, ``SUMMARIZE`` and ``PRAGMA table_info``, all
rewritten by DuckDB into selects) or ``EXPLAIN [ANALYZE]`` of such a select. Every other type
is refused before anything runs: ``COPY``, ``EXPORT``, ``ATTACH``/``DETACH``, ``INSTALL``/
``LOAD``, ``SET``/``RESET``/``USE``, ``PRAGMA`` with side effects, ``CALL`` (e.g. ``checkpoint``),
``CREATE``, ``INSERT``, ``UPDATE``, ``DELETE``, ``DROP``, ``ALTER``, transactions, ``VACUUM``.
Then the connection itself (:func:`spse.pipeline.warehouse.reader.connect_readonly` with ``lake=False``):
read-only attach, no file or network access, locked configuration, ``memory_limit``; and a
timer that interrupts the query after ``timeout_s`` seconds (wall clock).

The ``lake`` views, and the ``staging`` and ``intermediate`` views over them, read the lake's
Parquet files: experts query the ``marts`` and ``meta`` tables.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import duckdb
import pandas as pd

from spse.core.config import settings, sql_limits
from spse.core.errors import Refused  # re-exported: callers import it from here too
from spse.pipeline.warehouse.reader import connect_readonly, fetch_frame

T = TypeVar("T")
_KEYWORD = re.compile(r"\s*([a-z]+)", re.IGNORECASE)
_EXPLAIN = re.compile(r"^\s*explain\s+(analyze\s+)?", re.IGNORECASE)


def read_statement(sql: str) -> str:
    """The single read statement in ``sql``, or :class:`Refused` naming what is wrong."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise Refused(f"the query does not parse: {_first_line(exc)}") from exc
    if len(statements) != 1:
        raise Refused(f"exactly one statement is allowed, got {len(statements)}")
    statement = statements[0]
    if statement.type == duckdb.StatementType.EXPLAIN:
        inner = _EXPLAIN.sub("", statement.query, count=1)
        if inner == statement.query:
            raise Refused("EXPLAIN is allowed only as 'explain [analyze] <select>'")
        read_statement(inner)
    elif statement.type != duckdb.StatementType.SELECT:
        keyword = _KEYWORD.match(statement.query)
        name = keyword[1].upper() if keyword else statement.type.name
        raise Refused(f"{name} is not a read statement ({statement.type.name}): spse sql is read-only "
                      "(one SELECT, DESCRIBE, SHOW, SUMMARIZE or EXPLAIN)")
    return statement.query


def run(sql: str, reader: Callable[[duckdb.DuckDBPyConnection, str], T], *, timeout_s: float | None = None,
        memory_limit: str | None = None, path: Path | None = None) -> T:
    """Run one expert read statement on the published warehouse (or ``path``): ``reader(con, statement)``.

    ``reader`` executes ``statement`` on the guarded connection ``con`` (and may read ``meta``
    tables of the same file). ``timeout_s`` (seconds, wall clock, default
    ``config.sql_limits().timeout_s``) and ``memory_limit`` (DuckDB size string, default
    ``config.sql_limits().memory``) bound it; past either, or on a refused statement, a
    write, a file access or a ``SET``, raises :class:`Refused`.
    """
    statement = read_statement(sql)
    timeout_s = sql_limits().timeout_s if timeout_s is None else timeout_s
    if timeout_s <= 0:
        raise Refused(f"the time limit must be positive, got {timeout_s:g} s")
    try:
        con = connect_readonly(path, lake=False, memory_limit=memory_limit)
    except (duckdb.InvalidInputException, duckdb.ParserException) as exc:
        raise Refused(f"invalid memory limit {memory_limit!r}: {_first_line(exc)}") from exc
    timer = threading.Timer(timeout_s, con.interrupt)
    timer.start()
    try:
        return reader(con, statement)
    except duckdb.InterruptException as exc:
        raise Refused(f"stopped at the time limit of {timeout_s:g} s (--timeout)") from exc
    except duckdb.OutOfMemoryException as exc:
        limit = memory_limit or sql_limits().memory
        raise Refused(f"the query needs more than the memory limit of {limit} (--memory-limit)") from exc
    except duckdb.PermissionException as exc:
        raise Refused(_permission_message(exc)) from exc
    except duckdb.InvalidInputException as exc:
        text = _first_line(exc)
        if "read-only" in text:
            raise Refused(f"the warehouse is read-only ({text})") from exc
        if "configuration has been locked" in text:
            raise Refused(f"settings cannot be changed from spse sql ({text})") from exc
        raise
    finally:
        timer.cancel()
        con.close()


def frame(sql: str, **limits) -> pd.DataFrame:
    """:func:`run` returning the rows as a DataFrame (``spse sql``)."""
    return run(sql, fetch_frame, **limits)


def _permission_message(exc: duckdb.PermissionException) -> str:
    text = _first_line(exc)
    if str(settings().lake) in text:
        return ("the lake, staging and intermediate views read the lake's files, which spse sql "
                "does not open: query the marts and meta tables (spse tables)")
    return f"no file or network access from spse sql ({text})"


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
