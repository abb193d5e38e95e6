"""Airflow DAG factory: one ingest DAG per registered source (``ingest_<name>``).

Adding a module to ``spse/sources/`` adds its DAG here; see ``spse.pipeline.orchestration``.
"""

from spse.pipeline.orchestration import build_ingest_dag, source_specs

for _source in source_specs():
    build_ingest_dag(_source)
