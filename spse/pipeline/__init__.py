"""Pipeline layer: the steps that read and write (lake, ingest, warehouse, alerts, bulletin, orchestration, CLI).

Kept import-light: DAG parsing imports this package.
"""
