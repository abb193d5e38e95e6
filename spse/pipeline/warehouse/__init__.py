"""The DuckDB warehouse: SQL models over the lake, built into a new file, published atomically.

``build(day)`` makes a complete file under ``warehouse/build/``; ``publish(path)`` swaps it
onto ``settings().warehouse`` by atomic rename; ``query``, ``connect_readonly`` and
``describe_tables`` read the published file read-only, also while a run builds the next one,
on a connection with no file or network access and locked limits; ``expert`` runs experts'
SQL (one read statement, time and memory limits); ``report`` holds the queries the bulletin
and the summary share.
See docs/architecture.md (Warehouse, Marts) and ``sql/``.
"""

from spse.core.errors import WarehouseError
from spse.pipeline.warehouse.builder import build
from spse.pipeline.warehouse.models import sql_dir
from spse.pipeline.warehouse.publisher import Published, build_started, prune_builds, publish, publish_build
from spse.pipeline.warehouse.reader import connect_readonly, describe_tables, query
from spse.pipeline.warehouse.schemas import EMPTY_SCHEMAS, DatasetSchema

__all__ = ["EMPTY_SCHEMAS", "DatasetSchema", "Published", "WarehouseError", "build", "build_started",
           "connect_readonly", "describe_tables", "prune_builds", "publish", "publish_build", "query", "sql_dir"]
