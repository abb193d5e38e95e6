"""Alerts: threshold rules → affected cells, population and facilities → lifecycle → outbox.

``AlertInputs`` bundles the frames an alert run reads (``AlertInputs.from_lake(day)``,
``spse.alerts.inputs``); ``evaluate`` is the pure evaluation of one local day
(``spse.alerts.evaluate``) and ``evaluate_forecast`` raises the forecast alerts of J and
J+1 and the persistence alerts (``spse.alerts.forecast``, ``spse.alerts.persistence``),
both from an ``AlertInputs`` and the registers; ``run`` reads the lake, evaluates, writes the
``alerts`` partition and the outbox (``spse.alerts.job``); ``write_outbox`` writes the day's
JSON notifications (``spse.alerts.outbox``). Columns of the ``alerts`` dataset, with units
and definitions: ``spse.alerts.schema.ALERT_COLUMNS``.
"""

from spse.alerts.evaluate import evaluate
from spse.alerts.forecast import evaluate_forecast
from spse.alerts.inputs import AlertInputs
from spse.alerts.job import run
from spse.alerts.outbox import write_outbox
from spse.alerts.recommendations import recommendations
from spse.alerts.schema import ALERT_COLUMNS, alert_id

__all__ = ["ALERT_COLUMNS", "AlertInputs", "alert_id", "evaluate", "evaluate_forecast", "recommendations", "run",
           "write_outbox"]
