"""DAG integrity: the DAG folder parses, one ingest DAG per source, the daily graph, team policies.

Airflow *Testing a Dag* (DagBag import errors, structure dict) and the Astronomer policy tests
(tags, owner, retries); the schedule checks go through the serialized DAG, as the scheduler
sees it, with Europe/Paris cron times worked out by hand.
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from spse import sources
from spse.sources.base import Source

pytest.importorskip("airflow", reason="the airflow extra is not installed (uv sync --extra airflow)")

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "dags"
PARIS = ZoneInfo("Europe/Paris")



def _expected_daily_graph() -> dict[str, set[str]]:
    """Downstream task ids of each task of spse_daily, written from the step list."""
    from spse.pipeline.steps import daily_steps, last_steps

    daily = daily_steps()
    graph = {step.name: {later.name for later in daily if step.name in later.after} for step in daily}
    for name in last_steps(daily):
        graph[name].add("summary")
    return {**graph, "summary": set()}


class _FakeDaily(Source):
    name = "fake_feed"
    dataset = "fake_hourly"
    kind = "air"
    cadence = "daily"
    schedule = "20 * * * *"
    description = "a fake feed"


@functools.cache
def _dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


@pytest.fixture
def dagbag():
    return _dagbag()


def _serialized(dag):
    from airflow.serialization.serialized_objects import DagSerialization

    return DagSerialization.from_dict(DagSerialization.to_dict(dag))


def _next_run(timetable, after_utc: dt.datetime) -> dt.datetime:
    """Logical date of the first run strictly after ``after_utc``, as the scheduler computes it."""
    import pendulum
    from airflow.timetables.base import DataInterval, TimeRestriction

    after_utc = pendulum.instance(after_utc)
    info = timetable.next_dagrun_info(
        last_automated_data_interval=DataInterval(after_utc, after_utc),
        restriction=TimeRestriction(earliest=dt.datetime(2020, 1, 1, tzinfo=dt.UTC), latest=None, catchup=True))
    return info.logical_date


def test_dag_folder_has_no_import_errors(dagbag):
    assert dagbag.import_errors == {}, dagbag.import_errors


def test_one_ingest_dag_per_registered_source(dagbag):
    expected = {f"ingest_{s.name}" for s in sources.discover()}
    found = {dag_id for dag_id in dagbag.dag_ids if dag_id.startswith("ingest_")}
    assert found == expected
    assert set(dagbag.dag_ids) == expected | {"spse_daily", "spse_daily_watch", "spse_backfill"}


@pytest.mark.parametrize("source", sources.discover(), ids=lambda s: s.name)
def test_ingest_dag_matches_its_source(dagbag, source):
    from spse.pipeline.orchestration import lake_asset

    dag = dagbag.dags[f"ingest_{source.name}"]
    assert dag.timetable.expression == source.schedule
    assert str(dag.timetable.timezone) == "Europe/Paris"
    assert dag.tags == {"spse", "ingest", source.kind}
    assert dag.doc_md and dag.doc_md == inspect.cleandoc(sys.modules[type(source).__module__].__doc__)
    (task,) = dag.tasks
    assert list(task.outlets) == [lake_asset(source.dataset)]


def test_ingest_factory_on_a_new_source():
    """A source added to spse/sources gets this DAG with no other change."""
    from airflow.sdk import Asset

    from spse.pipeline.orchestration import SourceSpec, build_ingest_dag

    dag = build_ingest_dag(SourceSpec.of(_FakeDaily()))
    assert dag.dag_id == "ingest_fake_feed"
    assert dag.tags == {"spse", "ingest", "air"}
    assert dag.doc_md.startswith("DAG integrity")  # this module's docstring
    assert dag.max_active_runs == 1 and dag.catchup is False
    assert dag.default_args["owner"] == "spse-data" and dag.default_args["retries"] == 3
    (task,) = dag.tasks
    assert task.task_id == "ingest"
    assert list(task.outlets) == [Asset(name="lake.fake_hourly", uri="x-spse-lake://fake_hourly", group="spse-lake")]
    # 20 past each hour, Paris time; in UTC that is also minute 20.
    timetable = _serialized(dag).timetable
    assert _next_run(timetable, dt.datetime(2026, 1, 15, 9, 20, tzinfo=dt.UTC)) == dt.datetime(
        2026, 1, 15, 10, 20, tzinfo=dt.UTC)


def test_source_specs_match_discover():
    """The DAG files read the registry without importing sources; it must be what discover() finds."""
    from spse.pipeline.orchestration import SourceSpec, source_specs

    assert source_specs() == [SourceSpec.of(s) for s in sources.discover()]


def test_daily_task_graph(dagbag):
    dag = dagbag.dags["spse_daily"]
    assert {t.task_id: set(t.downstream_task_ids) for t in dag.tasks} == _expected_daily_graph()
    upstream = {t.task_id: set(t.upstream_task_ids) for t in dag.tasks}
    assert upstream["ensure_inputs"] == set()
    assert upstream["build_grid"] == {"ensure_inputs"}
    # surfaces and forecast read the grid, noise only its stations' hourly levels; none waits
    # for another, so they run in parallel, and the alerts wait for all three
    parallel = {"build_surfaces", "build_noise", "build_forecast"}
    assert upstream["build_surfaces"] == upstream["build_forecast"] == {"build_grid"}
    assert upstream["build_noise"] == {"ensure_inputs"}
    assert upstream["raise_alerts"] == parallel
    assert upstream["build_periods"] == {"build_surfaces"}
    assert upstream["build_health"] == {"build_periods"}
    assert upstream["build_warehouse"] == {"raise_alerts", "build_periods", "build_health"}
    assert upstream["publish"] == {"build_warehouse"}
    assert upstream["render_bulletin"] == {"publish"}
    assert upstream["notify_alerts"] == {"render_bulletin"}
    assert upstream["summary"] == {"notify_alerts"}
    assert not dag.get_task("summary").downstream_task_ids
    # publish is passed build_warehouse's build path (an XCom)
    assert [arg.operator.task_id for arg in dag.get_task("publish").op_args] == ["build_warehouse"]


def test_daily_schedule_is_six_paris_time_and_asset_aware(dagbag):
    from airflow.sdk import AssetAll, AssetOrTimeSchedule, CronTriggerTimetable

    from spse.pipeline.orchestration import lake_asset

    dag = dagbag.dags["spse_daily"]
    # only the daily sources this deployment runs: an unconfigured optional one never updates
    daily = [s for s in sources.active() if s.cadence == "daily"]
    if daily:
        assert isinstance(dag.timetable, AssetOrTimeSchedule)
        cron = dag.timetable.timetable
        condition = dag.timetable.asset_condition
        if len(daily) > 1:
            assert isinstance(condition, AssetAll)  # every daily input updated triggers a run
        assert set(getattr(condition, "objects", [condition])) == {lake_asset(s.dataset) for s in daily}
    else:
        cron = dag.timetable
    assert isinstance(cron, CronTriggerTimetable)
    assert (cron.expression, str(cron.timezone)) == ("0 6 * * *", "Europe/Paris")


def test_daily_asset_trigger_waits_only_on_the_sources_that_run(monkeypatch):
    """Unconfigured optional daily feeds are left out; configuring one adds its asset."""
    from spse.pipeline.orchestration import _daily_schedule, lake_asset, source_specs

    for key in [k for k in os.environ if k.startswith("SPSE_") and k.endswith("_URL")]:
        monkeypatch.delenv(key)
    specs = source_specs()
    optional = {s.name for s in specs if s.cadence == "daily" and s.optional}
    assert {"atmo_indices", "atmo_episodes", "eea_aq", "airparif_indices"} <= optional  # read from the registry
    assert not {"lcsqa_e2", "bruitparif_rumeur", "cams_europe_forecast"} & optional

    def assets(schedule):
        condition = schedule.asset_condition
        return set(getattr(condition, "objects", [condition]))

    assert assets(_daily_schedule(specs)) == {lake_asset(d) for d in ("air_hourly", "noise_hourly", "forecast_cams")}
    monkeypatch.setenv("SPSE_ATMO_INDICES_URL", "https://example.invalid/atmo")
    assert assets(_daily_schedule(specs)) == {lake_asset(d) for d in
                                              ("air_hourly", "noise_hourly", "forecast_cams", "atmo_index_daily")}


def test_daily_asset_trigger_leaves_out_a_replaced_source(monkeypatch):
    """A configured stand-in replaces a source: the replaced one's dataset never updates, so it is not waited on."""
    from spse.pipeline.orchestration import SourceSpec, _daily_schedule, lake_asset

    for key in [k for k in os.environ if k.startswith("SPSE_") and k.endswith("_URL")]:
        monkeypatch.delenv(key)
    old = SourceSpec("old_feed", "old_hourly", "air", "daily", "0 * * * *", "")
    new = SourceSpec("regional_feed", "regional_hourly", "air", "daily", "0 * * * *", "", optional=True,
                     replaces=("old_feed",))
    assert _daily_schedule([old, new]).asset_condition == lake_asset("old_hourly")
    monkeypatch.setenv("SPSE_REGIONAL_FEED_URL", "https://example.invalid/regional")
    assert _daily_schedule([old, new]).asset_condition == lake_asset("regional_hourly")


@pytest.mark.parametrize(("after_utc", "expected_utc"), [
    # Winter (CET, UTC+1): 06:00 Paris = 05:00 UTC.
    (dt.datetime(2026, 1, 15, 5, 0, tzinfo=dt.UTC), dt.datetime(2026, 1, 16, 5, 0, tzinfo=dt.UTC)),
    # Across the spring change (29 March 2026): 06:00 CEST = 04:00 UTC, 23 hours after the day before.
    (dt.datetime(2026, 3, 28, 5, 0, tzinfo=dt.UTC), dt.datetime(2026, 3, 29, 4, 0, tzinfo=dt.UTC)),
    # Across the autumn change (25 October 2026): back to 05:00 UTC, 25 hours later.
    (dt.datetime(2026, 10, 24, 4, 0, tzinfo=dt.UTC), dt.datetime(2026, 10, 25, 5, 0, tzinfo=dt.UTC)),
])
def test_daily_runs_at_six_paris_wall_clock(dagbag, after_utc, expected_utc):
    timetable = _serialized(dagbag.dags["spse_daily"]).timetable
    timetable = getattr(timetable, "timetable", timetable)  # the time part of AssetOrTimeSchedule
    assert _next_run(timetable, after_utc) == expected_utc


@pytest.mark.parametrize(("instant", "daily_day", "ingest_day"), [
    # The run of 2026-01-16 06:00 Paris reports on 2026-01-15.
    (dt.datetime(2026, 1, 16, 5, 0, tzinfo=dt.UTC), dt.date(2026, 1, 15), dt.date(2026, 1, 16)),
    # 23:30 UTC on the 15th is already 00:30 on the 16th in Paris.
    (dt.datetime(2026, 1, 15, 23, 30, tzinfo=dt.UTC), dt.date(2026, 1, 15), dt.date(2026, 1, 16)),
    # Summer (CEST): 22:30 UTC on 14 July is 00:30 on the 15th.
    (dt.datetime(2026, 7, 14, 22, 30, tzinfo=dt.UTC), dt.date(2026, 7, 14), dt.date(2026, 7, 15)),
    # The 23-hour day: 06:00 CEST on 29 March reports on 28 March.
    (dt.datetime(2026, 3, 29, 6, 0, tzinfo=PARIS), dt.date(2026, 3, 28), dt.date(2026, 3, 29)),
])
def test_run_days_are_paris_days(instant, daily_day, ingest_day):
    from spse.pipeline.daily import target_day
    from spse.pipeline.orchestration import local_day, resolve_day

    assert resolve_day(target_day(instant), None) == daily_day
    assert local_day(instant) == ingest_day


def test_target_date_param_and_runs_without_logical_date():
    from spse.pipeline.orchestration import reference_instant, resolve_day

    run_after = dt.datetime(2026, 1, 16, 5, 0, tzinfo=dt.UTC)
    assert reference_instant(None, run_after) == run_after  # asset-triggered runs have no logical date
    assert reference_instant(run_after - dt.timedelta(hours=1), run_after) == run_after - dt.timedelta(hours=1)
    assert resolve_day(dt.date(2026, 1, 15), "2026-01-14") == dt.date(2026, 1, 14)
    assert resolve_day(dt.date(2026, 1, 15), "") == dt.date(2026, 1, 15)


def test_daily_param_rejects_malformed_dates(dagbag):
    from airflow.sdk.exceptions import ParamValidationError

    param = dagbag.dags["spse_daily"].params.get_param("target_date")
    assert param.resolve("2026-01-15") == "2026-01-15"
    assert param.resolve(None) is None
    with pytest.raises(ParamValidationError):
        param.resolve("15/01/2026")


def _policy_dags():
    return sorted(_dagbag().dags.values(), key=lambda d: d.dag_id)


@pytest.mark.parametrize("dag", _policy_dags(), ids=lambda d: d.dag_id)
def test_team_policies(dag):
    where = f"{dag.dag_id} ({dag.fileloc})"
    assert dag.tags and "spse" in dag.tags, where
    assert dag.default_args.get("owner") == "spse-data", where
    assert dag.default_args.get("retries", 0) >= 2, where
    assert dag.doc_md and dag.doc_md.strip(), where
    assert dag.catchup is False, where
    assert dag.max_active_runs == 1, where
    assert dag.start_date is not None and dag.start_date.utcoffset() is not None, where
    for task in dag.tasks:
        assert task.retries >= 2, f"{where}: task {task.task_id}"


def test_parsing_the_dag_folder_imports_neither_pandas_nor_duckdb():
    """Parse the folder in a fresh interpreter and look at sys.modules (Airflow: top-level code)."""
    code = (
        "import json, sys\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        f"bag = DagBag(dag_folder={str(DAGS)!r})\n"
        "heavy = sorted(m for m in ('pandas', 'duckdb', 'pyarrow', 'scipy', 'xarray') if m in sys.modules)\n"
        "print(json.dumps({'dags': len(bag.dags), 'errors': len(bag.import_errors), 'heavy': heavy}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300,
                         check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["errors"] == 0 and result["dags"] >= 1
    assert result["heavy"] == [], f"parsing dags/ imported {result['heavy']}: import them inside functions"


def test_daily_writing_steps_run_one_at_a_time_and_every_step_has_a_timeout(dagbag):
    """Issue item 5: the alert state, build and publish tasks share a one-slot pool across runs;
    retries come after one minute, not ten; no try runs forever."""
    dag = dagbag.dags["spse_daily"]
    pools = {t.task_id: t.pool for t in dag.tasks}
    assert {task_id for task_id, pool in pools.items() if pool == "spse_writer"} == {
        "raise_alerts", "build_warehouse", "publish"}
    assert set(pools.values()) == {"spse_writer", "default_pool"}
    for task in dag.tasks:
        assert task.retries == 2, task.task_id
        assert task.retry_delay == dt.timedelta(minutes=1), task.task_id
        assert task.execution_timeout is not None, task.task_id
        assert dt.timedelta(0) < task.execution_timeout <= dt.timedelta(hours=1), task.task_id
    # A writing step waits up to 600 s for the writer lock (spse.core.config.lock_timeout_s): its
    # try must outlast that wait, so the lock's error (naming the holder) is what fails it.
    for task_id in ("raise_alerts", "build_warehouse", "publish"):
        assert dag.get_task(task_id).execution_timeout > dt.timedelta(seconds=600), task_id
    serialized = _serialized(dag)
    assert {t.task_id: t.pool for t in serialized.tasks} == pools


def test_a_failed_daily_run_is_posted_to_the_alert_webhook(dagbag, httpserver, monkeypatch):
    from types import SimpleNamespace

    from spse.pipeline.orchestration import RunEventNotifier

    dag = dagbag.dags["spse_daily"]
    (notifier,) = [c for c in dag.on_failure_callback if isinstance(c, RunEventNotifier)]
    monkeypatch.setenv("SPSE_ALERT_WEBHOOK_URL", httpserver.url_for("/ops"))
    monkeypatch.delenv("SPSE_ALERT_WEBHOOK_TOKEN", raising=False)
    httpserver.expect_oneshot_request("/ops", method="POST").respond_with_data("ok")
    run_id = "scheduled__2026-01-16T05:00:00+00:00"
    # What the DAG processor passes to a DAG's on_failure_callback (context of the last task).
    notifier({"dag": dag, "run_id": run_id, "reason": "task_failure", "ti": SimpleNamespace(task_id="publish"),
              "dag_run": SimpleNamespace(dag_id="spse_daily", run_id=run_id,
                                         logical_date=dt.datetime(2026, 1, 16, 5, tzinfo=dt.UTC))})
    (request, _response), = httpserver.log
    body = request.get_json()
    assert request.headers["Idempotency-Key"] == f"spse_daily:{run_id}:failed"
    assert body["type"] == "spse_run_failed" and body["run_id"] == run_id
    assert body["logical_date"] == "2026-01-16T05:00:00+00:00"
    assert body["message"].startswith("Échec du traitement quotidien spse_daily (run scheduled__2026-01-16")
    assert "Dernière tâche : publish." in body["message"] and "Motif : task_failure." in body["message"]


def test_failure_and_lateness_are_mailed_when_an_address_is_configured(monkeypatch):
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    from spse.pipeline.orchestration import RunEventNotifier, build_daily_dag, build_watch_dag

    monkeypatch.setenv("SPSE_ALERT_EMAIL_TO", "sante-environnement@example.org")
    daily, watch = build_daily_dag(), build_watch_dag()
    kinds = [type(c) for c in daily.on_failure_callback]
    assert kinds == [RunEventNotifier, SmtpNotifier]
    (mail,) = watch.on_failure_callback
    assert mail.to == "sante-environnement@example.org" and mail.subject.startswith("[spse] Retard")
    monkeypatch.delenv("SPSE_ALERT_EMAIL_TO")
    assert [type(c) for c in build_daily_dag().on_failure_callback] == [RunEventNotifier]


def test_watch_runs_at_seven_paris_and_checks_the_day_before(dagbag):
    from airflow.sdk import CronTriggerTimetable

    dag = dagbag.dags["spse_daily_watch"]
    assert isinstance(dag.timetable, CronTriggerTimetable)
    assert (dag.timetable.expression, str(dag.timetable.timezone)) == ("0 7 * * *", "Europe/Paris")
    # Winter: 07:00 Paris = 06:00 UTC, one hour after spse_daily's 05:00 UTC slot.
    assert _next_run(_serialized(dag).timetable, dt.datetime(2026, 1, 15, 6, 0, tzinfo=dt.UTC)) == dt.datetime(
        2026, 1, 16, 6, 0, tzinfo=dt.UTC)
    assert [t.task_id for t in dag.tasks] == ["check_published"]
