"""One writer at a time, crashes and readers (issue item 5 and the concurrency part of item 6).

- the writer lock (:mod:`spse.pipeline.locking`) excludes a second process, names its holder when it
  times out, and is freed by the kernel (file lock) or the server (PostgreSQL advisory lock)
  when its holder is killed;
- ``publish`` never replaces a newer warehouse with an older build;
- two ``spse run`` processes at once end with the newer build published and the alerts of a
  clean run, once each;
- ``kill -9`` inside each step of the daily job, then ``spse run`` again: every mart equals a
  clean run's;
- 20 readers querying while builds are published: no error, every read sees a whole file.

The demo day (2026-01-15) is prepared once per module: the demo bundle, the lake after
``ensure_inputs``, and a clean run's marts as the reference.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import multiprocessing
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from spse.core.config import settings
from spse.pipeline import locking, warehouse
from spse.pipeline.warehouse.reader import fetch_frame

DAY = dt.date(2026, 1, 15)
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
RUN_TIMEOUT_S = 300
STEPS = ("ensure_inputs", "build_grid", "build_surfaces", "build_periods", "build_health", "build_noise",
         "build_forecast", "raise_alerts", "build_warehouse", "publish", "render_bulletin", "notify_alerts")
_CTX = multiprocessing.get_context("spawn")


# ---------------------------------------------------------------- helpers

def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPSE_") and not k.startswith("AIRFLOW_CTX_")}
    env.update({"SPSE_HOME": str(home), **extra})
    return env


def _spse(home: Path, *args: str, log: Path, **extra: str) -> subprocess.Popen:
    with open(log, "w") as out:
        return subprocess.Popen([sys.executable, "-m", "spse.pipeline.cli", "-v", *args], env=_env(home, **extra),
                                stdout=out, stderr=subprocess.STDOUT)


def _wait(proc: subprocess.Popen, log: Path) -> None:
    code = proc.wait(timeout=RUN_TIMEOUT_S)
    assert code == 0, f"exit {code}:\n" + "\n".join(log.read_text().splitlines()[-30:])


def _python(home: Path, code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], env=_env(home), capture_output=True,
                          text=True, timeout=RUN_TIMEOUT_S, check=False)


# When an input was checked (quality log, quoted in data_quality alerts' ``triggered_by``): a
# re-run re-ingests what the kill interrupted, at another time. Not a figure.
_CHECKED_AT = re.compile(r'"checked_at_utc": "[^"]*"')


def _marts(path: Path) -> dict[str, pd.DataFrame]:
    """Every mart table of a warehouse file, rows in a canonical order, check times blanked."""
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [r[0] for r in con.execute("select table_name from duckdb_tables() where schema_name = 'marts' "
                                            "order by table_name").fetchall()]
        marts = {t: fetch_frame(con, f"select * from marts.{t} order by all") for t in tables}
    for frame in marts.values():
        for column in frame.select_dtypes(include=["object", "string"]).columns:
            frame[column] = frame[column].map(lambda v: _CHECKED_AT.sub('"checked_at_utc": ""', v)
                                              if isinstance(v, str) else v)
    return marts


def _outbox(home: Path) -> list[str]:
    return sorted(p.name for p in (home / "outbox" / "alerts" / DAY.isoformat()).glob("*.json"))


def _assert_same_marts(actual: dict[str, pd.DataFrame], expected: dict[str, pd.DataFrame]) -> None:
    assert sorted(actual) == sorted(expected)
    for table, frame in expected.items():
        pd.testing.assert_frame_equal(actual[table], frame, check_exact=False, rtol=1e-9, obj=f"marts.{table}")


def _build_started(path: Path) -> dt.datetime:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("select build_started_utc from meta.build_info").fetchone()[0].astimezone(dt.UTC)


_LOCK_LOG = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) INFO spse\.locking: lock writer "
                       r"(acquired|released) by pid (\d+)", re.MULTILINE)


def _lock_intervals(log: str) -> list[tuple[str, str]]:
    """(acquired, released) of each hold of the writer lock logged by ``spse -v``, as the log's
    local timestamps (same clock and format for both runs, so they compare as strings). The
    lock is taken before "acquired" is logged and released after "released" is."""
    intervals, start = [], ""
    for at, event, _pid in _LOCK_LOG.findall(log):
        if event == "acquired":
            start = at
        else:
            intervals.append((start, at))
    return intervals


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _hold(home: str, lock_url: str | None, what: str, acquired, release) -> None:
    """Child process: hold the writer lock until ``release`` is set."""
    os.environ["SPSE_HOME"] = home
    if lock_url:
        os.environ["SPSE_LOCK_DATABASE_URL"] = lock_url
    with locking.writer_lock(what, timeout_s=30):
        acquired.set()
        release.wait(60)


def _holder(home: Path, lock_url: str | None = None, what: str = "publish spse-holder.duckdb"):
    acquired, release = _CTX.Event(), _CTX.Event()
    child = _CTX.Process(target=_hold, args=(str(home), lock_url, what, acquired, release))
    child.start()
    assert acquired.wait(30), "the child process did not get the lock"
    return child, release


def _pg_reachable() -> bool:
    try:
        import psycopg
    except ImportError:
        return False
    try:
        psycopg.connect(PG_URL, connect_timeout=3).close()
    except psycopg.Error:
        return False
    return True


@pytest.fixture
def pg_lock(monkeypatch):
    """The PostgreSQL variant against the local server (.ci/run starts it); skipped outside CI without it."""
    if not _pg_reachable():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL not reachable at {PG_URL} in CI")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    monkeypatch.setenv("SPSE_LOCK_DATABASE_URL", PG_URL)
    monkeypatch.delenv("SPSE_LOCK_DATABASE_PASSWORD", raising=False)
    return PG_URL


# ---------------------------------------------------------------- module fixtures: the demo day

@pytest.fixture(scope="module")
def demo_day(tmp_path_factory):
    """Homes of the demo day: ``demo`` (bundle only), ``ingested`` (after ensure_inputs) and
    ``clean`` (after a full ``spse run``), with the clean run's marts."""
    root = tmp_path_factory.mktemp("demo_day")
    demo = root / "demo"
    done = subprocess.run([sys.executable, "-m", "spse.pipeline.cli", "demo"], env=_env(demo), capture_output=True,
                          text=True, timeout=RUN_TIMEOUT_S, check=False)
    assert done.returncode == 0, done.stderr
    ingested = root / "ingested"
    shutil.copytree(demo, ingested)
    done = _python(ingested, "import datetime, sys; from spse.pipeline import daily as pipeline; "
                             "pipeline.ensure_inputs(datetime.date.fromisoformat(sys.argv[1]))", DAY.isoformat())
    assert done.returncode == 0, done.stderr
    clean = root / "clean"
    shutil.copytree(ingested, clean)
    _wait(_spse(clean, "run", "--date", DAY.isoformat(), "--quiet", log=root / "clean.log"), root / "clean.log")
    marts = _marts(clean / "warehouse" / "spse.duckdb")
    assert len(marts["alerts"]) > 0
    return {"demo": demo, "ingested": ingested, "clean": clean, "marts": marts, "root": root}


# ---------------------------------------------------------------- the lock

def test_file_lock_excludes_a_second_process_and_names_the_holder(spse_home, monkeypatch):
    child, release = _holder(spse_home)
    try:
        started = time.monotonic()
        with pytest.raises(locking.LockTimeout) as error, locking.writer_lock("raise_alerts 2026-01-15", timeout_s=0.6):
            pytest.fail("acquired a lock another process holds")
        assert time.monotonic() - started >= 0.6
        message = str(error.value)
        assert f"pid {child.pid} on host {socket.gethostname()}" in message
        assert "step 'publish spse-holder.duckdb'" in message and "for step 'raise_alerts 2026-01-15'" in message
        assert str(spse_home / "locks" / "writer.lock") in message
        # The pipeline's writing steps take the same lock: publish fails on it before looking at its file.
        monkeypatch.setenv("SPSE_LOCK_TIMEOUT_S", "0.3")
        from spse.pipeline import daily as pipeline

        with pytest.raises(locking.LockTimeout, match=rf"for step 'publish nowhere\.duckdb'.*held by pid {child.pid}"):
            pipeline.publish(str(spse_home / "nowhere.duckdb"))
    finally:
        release.set()
        child.join(30)
    assert child.exitcode == 0
    with locking.writer_lock("after", timeout_s=5):
        pass


def test_file_lock_is_freed_when_its_holder_is_killed(spse_home):
    child, _release = _holder(spse_home)
    os.kill(child.pid, signal.SIGKILL)
    child.join(30)
    assert child.exitcode == -signal.SIGKILL
    started = time.monotonic()
    with locking.writer_lock("re-run after kill -9", timeout_s=5):
        assert time.monotonic() - started < 1.0
        assert f'"pid": {os.getpid()}' in (spse_home / "locks" / "writer.lock").read_text()


def test_lock_is_reentrant_in_its_thread_and_excludes_other_threads(spse_home):
    outcome: list[str] = []

    def other() -> None:
        try:
            with locking.writer_lock("other thread", timeout_s=0.4):
                outcome.append("acquired")
        except locking.LockTimeout as exc:
            outcome.append(str(exc))

    with locking.writer_lock("publish outer"), locking.writer_lock("publish inner", timeout_s=0):
        thread = threading.Thread(target=other)
        thread.start()
        thread.join(10)
    assert len(outcome) == 1 and f"held by pid {os.getpid()}" in outcome[0] and "'publish outer'" in outcome[0]
    with locking.writer_lock("released", timeout_s=0):
        pass


def test_postgres_advisory_lock_excludes_another_process_and_names_it(spse_home, pg_lock):
    child, release = _holder(spse_home, pg_lock)
    try:
        with pytest.raises(locking.LockTimeout) as error, locking.writer_lock("build_warehouse 2026-01-15",
                                                                                timeout_s=0.6):
            pytest.fail("acquired an advisory lock another session holds")
        message = str(error.value)
        assert "PostgreSQL advisory lock" in message and "127.0.0.1:5432/test" in message
        assert f"'spse {child.pid}@{socket.gethostname()}" in message
    finally:
        release.set()
        child.join(30)
    assert child.exitcode == 0
    assert not (spse_home / "locks" / "writer.lock").exists()  # the file lock was not used
    with locking.writer_lock("after", timeout_s=5):
        pass


def test_postgres_advisory_lock_is_freed_when_its_holder_is_killed(spse_home, pg_lock):
    child, _release = _holder(spse_home, pg_lock)
    os.kill(child.pid, signal.SIGKILL)
    child.join(30)
    assert child.exitcode == -signal.SIGKILL
    # The server ends the dead client's session when its socket closes; allow it a few seconds.
    with locking.writer_lock("re-run after kill -9", timeout_s=10):
        pass


def test_an_unreachable_lock_database_fails_clearly_without_its_password(spse_home, monkeypatch):
    monkeypatch.setenv("SPSE_LOCK_DATABASE_URL", "postgresql+psycopg2://spse:canary-4b1d@127.0.0.1:1/locks")
    with pytest.raises(RuntimeError) as error, locking.writer_lock("raise_alerts 2026-01-15", timeout_s=1):
        pytest.fail("no lock without its database")
    message = str(error.value)
    assert message.startswith("PostgreSQL advisory lock (")
    assert "on postgresql+psycopg2://spse:***@127.0.0.1:1/locks: cannot connect" in message
    assert "canary-4b1d" not in message and "canary-4b1d" not in repr(error.value.__cause__)


# ---------------------------------------------------------------- newer wins

def test_publish_refuses_a_build_older_than_the_published_one(spse_home, caplog):
    older = warehouse.build(DAY)
    newer = warehouse.build(DAY)
    assert _build_started(older) < _build_started(newer)
    assert warehouse.publish_build(newer).replaced
    published = settings().warehouse
    before = _sha256(published)
    result = warehouse.publish_build(older)
    assert result.path == published and result.replaced is False
    assert "the published warehouse is newer and stays" in result.reason
    assert _sha256(published) == before  # byte for byte
    assert older.exists()  # left in warehouse/build/ for inspection
    assert "warehouse NOT published" in caplog.text
    assert warehouse.build_started(published) == _build_started(published)
    again = warehouse.build(DAY)
    assert warehouse.publish_build(again).replaced and _sha256(published) != before


def test_a_retried_publish_of_an_already_published_build_succeeds(spse_home):
    """A worker killed right after the swap: Airflow retries ``publish`` with a build path that
    is gone because it is the published file now."""
    build = warehouse.build(DAY)
    assert warehouse.publish_build(build).replaced and not build.exists()
    before = _sha256(settings().warehouse)
    again = warehouse.publish_build(build)
    assert (again.path, again.replaced) == (settings().warehouse, False)
    assert "already the published warehouse" in again.reason
    assert _sha256(settings().warehouse) == before
    with pytest.raises(FileNotFoundError, match=r"spse-19990101T000000000000Z-1\.duckdb does not exist"):
        warehouse.publish_build(build.with_name("spse-19990101T000000000000Z-1.duckdb"))


def test_two_concurrent_spse_runs_publish_the_newer_build_once(demo_day, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(demo_day["ingested"], home)
    logs = [tmp_path / "run-a.log", tmp_path / "run-b.log"]
    runs = [_spse(home, "run", "--date", DAY.isoformat(), "--quiet", log=log) for log in logs]
    for proc, log in zip(runs, logs, strict=True):
        _wait(proc, log)
    # The writing steps of the two runs never overlap: each log's lock intervals (acquired,
    # released, by that process) are disjoint from the other's.
    held = [_lock_intervals(log.read_text()) for log in logs]
    # raise_alerts, build_warehouse, publish, and notify_alerts (`spse demo` installs the demo's subscribers)
    assert [len(h) for h in held] == [4, 4]
    for start_a, end_a in held[0]:
        for start_b, end_b in held[1]:
            assert end_a <= start_b or end_b <= start_a, (held[0], held[1])
    text = "".join(log.read_text() for log in logs)
    built = re.findall(r"warehouse built: \S+/spse-(\d{8}T\d{12})Z-\d+\.duckdb", text)
    assert len(built) == 2
    newest = max(dt.datetime.strptime(stamp, "%Y%m%dT%H%M%S%f").replace(tzinfo=dt.UTC) for stamp in built)
    published = home / "warehouse" / "spse.duckdb"
    assert _build_started(published) == newest
    marts = _marts(published)
    assert not marts["alerts"]["alert_id"].duplicated().any()
    _assert_same_marts(marts, demo_day["marts"])
    assert _outbox(home) == _outbox(demo_day["clean"]) != []


def test_two_runs_delivering_the_same_day_post_each_alert_once(spse_home, httpserver, monkeypatch):
    import json

    from werkzeug import Response

    from spse.pipeline import notify

    folder = settings().outbox / "alerts" / DAY.isoformat()
    folder.mkdir(parents=True)
    for alert_id in ("a1", "a2", "a3"):
        (folder / f"{alert_id}.json").write_text(json.dumps({"alert_id": alert_id}))
    monkeypatch.setenv("SPSE_ALERT_WEBHOOK_URL", httpserver.url_for("/hook"))
    monkeypatch.delenv("SPSE_ALERT_WEBHOOK_TOKEN", raising=False)
    posted: list[str] = []

    def slow(request):
        time.sleep(0.2)  # a slow receiver widens the read-post-record window of the ledger
        posted.append(request.get_json()["alert_id"])
        return Response("ok")

    httpserver.expect_request("/hook", method="POST").respond_with_handler(slow)
    results: list[dict] = []
    runs = [threading.Thread(target=lambda: results.append(notify.deliver(DAY))) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join(60)
    assert sorted(posted) == ["a1", "a2", "a3"]
    assert sorted(r["sent"] for r in results) == [0, 3]


# ---------------------------------------------------------------- kill -9 at each step

KILLER = """
    import datetime as dt, importlib, os, signal, sys
    from spse.pipeline import daily as pipeline, steps
    from spse.pipeline.warehouse import builder

    step = sys.argv[1]
    inside = False

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    real_replace = os.replace
    def replace(*args, **kwargs):  # the step's first file swap: killed just before it
        if inside:
            die()
        return real_replace(*args, **kwargs)
    os.replace = replace

    real_model, models_run = builder.run_model, []
    def run_model(*args, **kwargs):  # the warehouse build: killed halfway through its models
        models_run.append(1)
        if inside and len(models_run) == 10:
            die()
        return real_model(*args, **kwargs)
    builder.run_model = run_model

    module_name, _, attribute = next(s for s in steps.daily_steps() if s.name == step).func.partition(":")
    module = importlib.import_module(module_name)  # the step's own module (daily, periods, health...)
    original = getattr(module, attribute)
    def killed(*args, **kwargs):
        global inside
        inside = True
        original(*args, **kwargs)
        die()  # a step without any kill point above dies before the run records it
    setattr(module, attribute, killed)
    pipeline.run_day(dt.date.fromisoformat(sys.argv[2]))
"""


@pytest.mark.parametrize("step", STEPS)
def test_kill_9_in_a_step_then_rerun_gives_the_clean_marts(demo_day, tmp_path, step):
    home = tmp_path / "home"
    shutil.copytree(demo_day["demo" if step == "ensure_inputs" else "ingested"], home)
    killed = _python(home, KILLER, step, DAY.isoformat())
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    published = home / "warehouse" / "spse.duckdb"
    assert published.exists() == (STEPS.index(step) > STEPS.index("publish"))
    assert (home / "bulletin" / f"{DAY}.html").exists() == (step == "notify_alerts")
    log = tmp_path / "rerun.log"
    _wait(_spse(home, "run", "--date", DAY.isoformat(), "--quiet", log=log), log)
    _assert_same_marts(_marts(published), demo_day["marts"])
    assert _outbox(home) == _outbox(demo_day["clean"])


# ---------------------------------------------------------------- readers during publishes

def test_twenty_readers_during_publishes_see_no_error(demo_day, spse_home):
    clean = demo_day["clean"] / "warehouse" / "spse.duckdb"
    expected_alerts = len(demo_day["marts"]["alerts"])
    target = settings().warehouse
    target.parent.mkdir(parents=True)
    shutil.copy(clean, target)
    builds = settings().warehouse_dir / "build"
    builds.mkdir()
    stop = threading.Event()
    errors: list[str] = []
    reads: list[int] = []

    def reader() -> None:
        count = 0
        while not stop.is_set():
            try:
                frame = warehouse.query("select (select count(*) from marts.alerts) as n, "
                                        "(select count(*) from meta.build_info) as info")
                if (frame["n"].iloc[0], frame["info"].iloc[0]) != (expected_alerts, 1):
                    errors.append(f"partial read: {frame.to_dict('records')}")
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
            count += 1
        reads.append(count)

    threads = [threading.Thread(target=reader) for _ in range(20)]
    for thread in threads:
        thread.start()
    published = 0
    try:
        for index in range(6):
            build = builds / f"spse-20260116T05000{index}000000Z-{os.getpid()}.duckdb"
            shutil.copy(clean, build)
            assert warehouse.publish_build(build).replaced
            published += 1
            time.sleep(0.3)
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    assert published == 6
    assert errors == []
    assert len(reads) == 20 and min(reads) >= 1 and sum(reads) >= 100
