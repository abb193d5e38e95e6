"""The quality log and the data-quality alerts it raises."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from spse.pipeline import qualitylog
from spse.pipeline.alerts.quality import input_problem_alerts
from spse.pipeline.alerts.recommendations import recommendations


class _Daily:
    name, dataset, cadence = "feed_a", "air_hourly", "daily"

    def partition_for(self, day):
        return f"date={day.isoformat()}"


class _Reference:
    name, dataset, cadence = "ref_b", "zones", "reference"

    def partition_for(self, day):
        return "vintage=current"


def test_records_are_replaced_by_the_last_attempt(spse_home):
    qualitylog.record("feed_a", "air_hourly", "date=2026-01-15", "failed",
                      [{"check": "FetchError", "file": "x.csv", "row": None, "detail": "HTTP 500"}])
    qualitylog.record("feed_a", "air_hourly", "date=2026-01-15", "ok", rows=10)
    assert qualitylog.read("feed_a", "date=2026-01-15")["outcome"] == "ok"
    with pytest.raises(ValueError, match="outcome"):
        qualitylog.record("feed_a", "air_hourly", "date=2026-01-15", "fine")


def test_concerning_keeps_problems_of_the_day_and_day_before_and_reference(spse_home):
    day = dt.date(2026, 1, 15)
    qualitylog.record("feed_a", "air_hourly", "date=2026-01-14", "partial",
                      [{"check": "completeness", "file": "FR_E2_2026-01-14.csv", "detail": "12 of 24 hours"}])
    qualitylog.record("feed_a", "air_hourly", "date=2026-01-15", "ok", rows=5)
    qualitylog.record("feed_a", "air_hourly", "date=2026-01-10", "failed", [])
    qualitylog.record("ref_b", "zones", "vintage=current", "refused",
                      [{"check": "feature_count", "file": "arr.geojson", "detail": "19 features, expected 20"}])
    found = qualitylog.concerning(day, [_Daily(), _Reference()])
    assert [(e["source"], e["partition"], e["outcome"]) for e in found] == [
        ("feed_a", "date=2026-01-14", "partial"), ("ref_b", "vintage=current", "refused")]


def test_input_problem_alerts_name_feed_file_row_and_why(spse_home):
    refused = qualitylog.record("ref_b", "zones", "vintage=current", "refused",
                                [{"check": "feature_count", "file": "arr.geojson", "row": None,
                                  "detail": "19 entités au lieu de 20"}])
    quarantined = qualitylog.record("feed_a", "air_hourly", "date=2026-01-15", "ok", quarantined=1,
                                    problems=[{"check": "quarantine", "file": "FR_E2_2026-01-15.csv", "row": 7,
                                               "detail": "`valeur` is a no-data sentinel: 9999"}])
    frame = input_problem_alerts([refused, quarantined], recommendations())
    assert list(frame["set_id"]) == ["DQ_INPUT_QUARANTINE", "DQ_INPUT_REFUSED"]
    assert set(frame["kind"]) == {"data_quality"} and set(frame["level"]) == {"data_quality"}
    text = frame.loc[frame["set_id"] == "DQ_INPUT_QUARANTINE", "recommendation"].iloc[0]
    assert "feed_a" in text and "fichier FR_E2_2026-01-15.csv, ligne 7" in text and "9999" in text
    assert "(1 ligne(s))" in text
    refused_text = frame.loc[frame["set_id"] == "DQ_INPUT_REFUSED", "recommendation"].iloc[0]
    assert "version précédente est conservée" in refused_text and "19 entités au lieu de 20" in refused_text
    kept = json.loads(frame.loc[frame["set_id"] == "DQ_INPUT_REFUSED", "triggered_by"].iloc[0])
    assert kept["records"][0]["problems"][0]["check"] == "feature_count"


def test_no_record_no_alert():
    assert input_problem_alerts([], recommendations()).empty
