"""Methods layer: numpy / pandas / xarray functions that receive their parameters.

Imports only :mod:`spse.core`.
"""
