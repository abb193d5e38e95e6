"""Airflow DAGs ``spse_daily`` and ``spse_daily_watch``.

``spse_daily`` makes the surfaces, alerts, warehouse and bulletin of the day before, one task
per step of ``spse.pipeline.steps.DAILY_STEPS``; it runs at 06:00 Europe/Paris and when the daily
sources' lake datasets are updated. ``spse_daily_watch`` checks at 07:00 that they are out.
See ``spse.pipeline.orchestration``.
"""

from spse.pipeline.orchestration import build_daily_dag, build_watch_dag

build_daily_dag()
build_watch_dag()
