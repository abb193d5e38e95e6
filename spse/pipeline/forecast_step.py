"""The forecast step's lake I/O: CAMS runs in, ``forecast_cell_daily`` out.

The methods (:func:`spse.methods.forecast.forecast_daily`) are pure; this module reads the
``forecast_cams`` partitions and the latest ``grid_cells``, passes the register's time base
and coverage rules, and writes the partition of J.
"""

from __future__ import annotations

import datetime as dt
import logging

import pandas as pd

from spse.core import register
from spse.methods import forecast, stats
from spse.pipeline import lake

log = logging.getLogger(__name__)


def build_forecast(day: dt.date, time_base: str | None = None,
                   params: register.Parameters | None = None) -> dict[str, pd.DataFrame]:
    """Forecast daily statistics on the grid for J = ``day`` and J+1, written to the lake.

    Reads ``forecast_cams`` partitions of ``day`` and the ``LOOKBACK_DAYS`` days before (the
    latest base time on or before ``day`` is used) and the latest ``grid_cells``; writes
    ``forecast_cell_daily/date=<day>`` (replacing it). Nothing is written when there is no
    forecast (the feed is optional): the result is then empty and a warning is logged.

    Parameters
    ----------
    day : datetime.date
        J, the local day of the run.
    time_base : str, optional
        Time zone of the days; default the register's ``day_time_base`` (Europe/Paris).
    params : register.Parameters, optional
        The parameter register (coverage rules, time base); default ``register.parameters()``.

    Returns
    -------
    ``{"forecast_cell_daily": DataFrame}`` (columns :data:`spse.methods.forecast.COLUMNS`).
    """
    params = register.parameters() if params is None else params
    time_base = time_base or params.text("day_time_base")
    runs = [day - dt.timedelta(days=back) for back in range(forecast.LOOKBACK_DAYS + 1)]
    hourly = lake.read_days(forecast.SOURCE_DATASET, runs)
    frame = (forecast.forecast_daily(hourly, lake.read_latest("grid_cells"), day, time_base,
                                     stats.CoverageRules.from_params(params))
             if not hourly.empty else forecast.empty_frame())
    if frame.empty:
        log.warning("no CAMS forecast run on or before %s in the lake (%s): %s not written",
                    day, forecast.SOURCE_DATASET, forecast.DATASET)
        return {forecast.DATASET: frame}
    lake.write_partition(forecast.DATASET, lake.date_partition(day), frame)
    return {forecast.DATASET: frame}
