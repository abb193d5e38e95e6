"""Airflow DAG ``spse_backfill``: build a range of past days in bulk, triggered by hand.

See ``spse.pipeline.orchestration.build_backfill_dag`` and ``spse.pipeline.backfill``.
"""

from spse.pipeline.orchestration import build_backfill_dag

build_backfill_dag()
