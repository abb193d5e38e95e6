"""Reading a published warehouse with plain duckdb, independently of ``spse.pipeline.warehouse``."""

from __future__ import annotations

import duckdb
import pandas as pd


def read_warehouse(path, sql: str) -> pd.DataFrame:
    """Run ``sql`` (naming ``marts.<table>``) on the warehouse file at ``path``, read-only."""
    con = duckdb.connect(":memory:")
    con.execute(f"attach '{path}' as w (read_only)")
    try:
        return con.execute(sql.replace("marts.", "w.marts.")).df()
    finally:
        con.close()
