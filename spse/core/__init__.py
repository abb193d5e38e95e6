"""Core layer: columns, errors, configuration, secrets, register, time base, HTTP types.

``config`` is the only reader of ``SPSE_*``. Imports nothing else from spse. Reads the
environment, the register's files and secrets (environment or Airflow connection), never
the lake nor an upstream feed: the pipeline does (``spse.pipeline.lake``, ``.fetch``).
"""
