"""Airflow DAG ``spse_daily``: surfaces, alerts, warehouse and bulletin for the day before.

Runs at 06:00 Europe/Paris and when a daily source's lake dataset is updated; see
``spse.orchestration``.
"""

from spse.orchestration import build_daily_dag

build_daily_dag()
