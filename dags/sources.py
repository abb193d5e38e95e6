"""Airflow DAG factory: one ingest DAG per registered source (``ingest_<name>``).

Adding a source (its module and its table in ``spse/sources/registry.toml``) adds its DAG here;
see ``spse.pipeline.orchestration``.
"""

from spse.pipeline.orchestration import build_ingest_dag, source_specs

for _source in source_specs():
    build_ingest_dag(_source)
