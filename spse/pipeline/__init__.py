"""Pipeline layer: the steps that read and write (ingest, warehouse, alerts, bulletin, orchestration, CLI).

Kept import-light: DAG parsing imports this package.
"""
