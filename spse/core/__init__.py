"""Core layer: columns, errors, configuration, secrets, register, time base, HTTP fetch.

``config`` is the only reader of ``SPSE_*``. Imports nothing else from spse.
"""
