"""Alerts: threshold rules → affected cells, population and facilities → lifecycle → outbox.

``AlertInputs`` bundles the frames an alert run reads (``AlertInputs.from_lake(day)``,
``spse.pipeline.alerts.inputs``); ``evaluate`` is the pure evaluation of one local day
(``spse.pipeline.alerts.evaluate``) and ``evaluate_forecast`` raises the forecast alerts of J and
J+1 and the persistence alerts (``spse.pipeline.alerts.forecast``, ``spse.pipeline.alerts.persistence``),
both from an ``AlertInputs`` and the registers; ``run`` reads the lake, evaluates, writes the
``alerts`` partition and the outbox (``spse.pipeline.alerts.job``); ``write_outbox`` writes the day's
JSON notifications (``spse.pipeline.alerts.outbox``). Three kinds of alert, never confused
(regulatory episode, local exceedance, health advisory) and the episode criteria:
``spse.pipeline.alerts.kinds``; forecast revisions: ``spse.pipeline.alerts.versions``; see
docs/alerts.md. Columns of the ``alerts`` dataset, with units and definitions:
``spse.pipeline.alerts.schema.ALERT_COLUMNS``.
"""

from spse.pipeline.alerts.evaluate import evaluate
from spse.pipeline.alerts.forecast import evaluate_forecast
from spse.pipeline.alerts.inputs import AlertInputs
from spse.pipeline.alerts.job import run
from spse.pipeline.alerts.outbox import write_outbox
from spse.pipeline.alerts.recommendations import recommendations
from spse.pipeline.alerts.schema import ALERT_COLUMNS, alert_id

__all__ = ["ALERT_COLUMNS", "AlertInputs", "alert_id", "evaluate", "evaluate_forecast", "recommendations", "run",
           "write_outbox"]
