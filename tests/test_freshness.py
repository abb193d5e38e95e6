import datetime as dt
from pathlib import Path

from spse import sources
from spse.pipeline import freshness
from spse.pipeline.ingest import ingest

SAMPLES = Path(__file__).parent / "fixtures" / "sources"


def _ingest_sample(name, monkeypatch):
    folder = SAMPLES / name
    day = dt.date.fromisoformat((folder / "SAMPLE_DAY").read_text().strip())
    monkeypatch.setenv(f"SPSE_{name.upper()}_URL", str(folder))
    source = sources.get(name)
    ingest(source, day)
    return source, day


def test_daily_source_is_fresh_then_stale_by_age_or_missing_day(spse_home, monkeypatch):
    source, day = _ingest_sample("lcsqa_e2", monkeypatch)
    fetched = dt.datetime.fromisoformat(freshness.status(source, dt.datetime.now(dt.UTC))["last_fetch_utc"])
    assert freshness.status(source, fetched + dt.timedelta(hours=1), day)["status"] == "fresh"
    assert freshness.status(source, fetched + dt.timedelta(hours=37), day)["status"] == "stale"  # > 36 h
    assert freshness.status(source, fetched + dt.timedelta(hours=1), day + dt.timedelta(days=1))["status"] == "stale"
    # the alerts' lighter test says the same
    assert freshness.stale_datasets([source], day, fetched + dt.timedelta(hours=1)) == set()
    assert freshness.stale_datasets([source], day, fetched + dt.timedelta(hours=37)) == {"air_hourly"}
    assert freshness.stale_datasets([source], day + dt.timedelta(days=1), fetched) == {"air_hourly"}


def test_never_ingested_source(spse_home):
    row = freshness.status(sources.get("lcsqa_e2"), dt.datetime.now(dt.UTC))
    assert (row["status"], row["rows"], row["latest_partition"]) == ("never", 0, None)


def test_stale_source_reaches_the_alert_inputs(spse_home, monkeypatch):
    from spse.pipeline.alerts.inputs import stale_inputs

    _, day = _ingest_sample("lcsqa_e2", monkeypatch)
    assert "air_hourly" not in stale_inputs(day)
    assert "air_hourly" in stale_inputs(day + dt.timedelta(days=1))


def test_weekly_station_list_is_fetched_again_after_eight_days(spse_home, monkeypatch):
    source, day = _ingest_sample("lcsqa_stations", monkeypatch)
    fetched = dt.datetime.fromisoformat(freshness.status(source, dt.datetime.now(dt.UTC))["last_fetch_utc"])
    # its upstream list is refreshed weekly (ingest on Mondays): 7 days + 1 day of slack = 192 h
    assert not freshness.needs_refetch(source, day, fetched + dt.timedelta(hours=191))
    assert freshness.needs_refetch(source, day, fetched + dt.timedelta(hours=193))
    assert freshness.status(source, fetched + dt.timedelta(hours=193))["status"] == "stale"


def test_a_forecast_run_is_missing_only_after_the_latest_run(spse_home, monkeypatch):
    # forecast runs are not backfilled: days before the latest run lack theirs by design, a later day does not
    source, day = _ingest_sample("cams_europe_forecast", monkeypatch)
    now = dt.datetime.fromisoformat(freshness.status(source, dt.datetime.now(dt.UTC))["last_fetch_utc"])
    assert not source.backfilled
    assert freshness.status(source, now, day)["status"] == "fresh"
    assert freshness.status(source, now, day - dt.timedelta(days=30))["status"] == "fresh"
    assert freshness.status(source, now, day + dt.timedelta(days=1))["status"] == "stale"
