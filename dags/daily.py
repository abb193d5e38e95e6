"""Airflow DAGs ``spse_daily`` (surfaces, alerts, warehouse and bulletin for the day before) and
``spse_daily_watch`` (are they out by 07:00?).

Runs at 06:00 Europe/Paris and when a daily source's lake dataset is updated; see
``spse.orchestration``.
"""

from spse.orchestration import build_daily_dag, build_watch_dag

build_daily_dag()
build_watch_dag()
