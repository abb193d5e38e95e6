"""The daily step list (``spse.pipeline.steps``) and ``spse.pipeline.daily.run_day``, which walks it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from spse.pipeline import daily as pipeline
from spse.pipeline import health, periods, steps
from spse.pipeline.steps import RunSummary, Step

REPO = Path(__file__).resolve().parents[1]
DAY = dt.date(2026, 1, 15)
MINUTE = dt.timedelta(minutes=1)


def _recording(monkeypatch) -> list[tuple]:
    """Replace each step function of spse.pipeline.daily by one that records its call and returns a value."""
    calls: list[tuple] = []
    returns = {
        "ensure_inputs": ["lcsqa_e2:date=2026-01-15"],
        "build_grid": {"grid_cells": 2640, "zone_cells": 2700},
        "build_surfaces": {"surface_hourly": 63360, "surface_daily": 2640},
        "build_periods": {"period_cell": 900, "period_station": 30},
        "build_health": {"health_impact_zone_year": 160},
        "build_noise": {"noise_station_daily": 4},
        "build_forecast": {},
        "raise_alerts": 3,
        "build_warehouse": "/home/warehouse/builds/a.duckdb",
        "publish": "/home/warehouse/spse.duckdb",
        "render_bulletin": "/home/bulletin/2026-01-15.html",
        "notify_alerts": {"sent": 2, "skipped": 1},
    }
    for name, value in returns.items():
        def record(*args, _name=name, _value=value):
            calls.append((_name, *args))
            return _value
        module = {"build_periods": periods, "build_health": health}.get(name, pipeline)
        monkeypatch.setattr(module, name, record)
    return calls


def test_run_day_walks_the_list_in_order_and_passes_the_build_to_publish(monkeypatch):
    calls = _recording(monkeypatch)
    summary = pipeline.run_day(DAY)
    assert calls == [
        ("ensure_inputs", DAY), ("build_grid",), ("build_surfaces", DAY), ("build_periods", DAY),
        ("build_health", DAY), ("build_noise", DAY),
        ("build_forecast", DAY), ("raise_alerts", DAY), ("build_warehouse", DAY),
        ("publish", "/home/warehouse/builds/a.duckdb"), ("render_bulletin", DAY), ("notify_alerts", DAY),
    ]
    assert summary == RunSummary(
        day=DAY, ingested=["lcsqa_e2:date=2026-01-15"],
        counts={"grid_cells": 2640, "zone_cells": 2700, "surface_hourly": 63360, "surface_daily": 2640,
                "period_cell": 900, "period_station": 30, "health_impact_zone_year": 160, "noise_station_daily": 4},
        alerts=3, warehouse="/home/warehouse/spse.duckdb", bulletin="/home/bulletin/2026-01-15.html",
        notifications={"sent": 2, "skipped": 1})


def test_the_list_runs_in_its_order():
    names = [s.name for s in steps.daily_steps()]
    assert names == ["ensure_inputs", "build_grid", "build_surfaces", "build_periods", "build_health", "build_noise",
                     "build_forecast", "raise_alerts", "build_warehouse", "publish", "render_bulletin", "notify_alerts"]
    for step in steps.daily_steps():
        assert all(names.index(before) < names.index(step.name) for before in step.after), step.name
    assert steps.last_steps(steps.daily_steps()) == ["notify_alerts"]


def test_writers_and_timeouts():
    by_name = {s.name: s for s in steps.daily_steps()}
    assert {s.name for s in by_name.values() if s.writer} == {"raise_alerts", "build_warehouse", "publish"}
    assert by_name["ensure_inputs"].timeout == dt.timedelta(minutes=45)
    assert by_name["publish"].timeout == dt.timedelta(minutes=15)
    for step in by_name.values():
        assert dt.timedelta(0) < step.timeout <= dt.timedelta(hours=1), step.name


def _step(name: str, func: str = "spse.pipeline.daily:publish", **fields) -> Step:
    return Step(name, func, "d", timeout=MINUTE, **fields)


@pytest.mark.parametrize(("bad", "message"), [
    (_step("late", after=("nowhere",)), "after ['nowhere'], not listed before it"),
    (_step("publish"), "its name is taken"),
    (_step("x", uses=("publish",)), "uses ['publish'], not in its after"),
    (_step("x", report="rows"), "reports to 'rows', not a RunSummary field"),
    (_step("x", "publish"), "func 'publish' is not 'module:function'"),
])
def test_a_wrong_entry_is_refused_naming_the_step(monkeypatch, bad, message):
    monkeypatch.setattr(steps, "DAILY_STEPS", (*steps.DAILY_STEPS, bad))
    with pytest.raises(ValueError, match=rf"daily step {re.escape(repr(bad.name))}: .*{re.escape(message)}"):
        steps.daily_steps()


def test_run_summary_merges_dict_fields_and_skips_missing_outputs():
    listed = (_step("a", report="counts"), _step("b", report="counts"), _step("c", report="alerts"), _step("d"))
    summary = steps.run_summary(DAY, {"a": {"x": 1}, "b": {"y": 2}, "c": None, "d": "ignored"}, listed)
    assert summary == RunSummary(DAY, counts={"x": 1, "y": 2}, alerts=0)
    assert dataclasses.asdict(summary)["warehouse"] == ""


def test_the_list_imports_neither_pandas_nor_duckdb():
    """The DAG files read the list at parse time (Airflow best-practices: top-level code)."""
    code = ("import json, sys\nimport spse.pipeline.steps\n"
            "print(json.dumps(sorted(m for m in ('pandas', 'duckdb', 'pyarrow') if m in sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120,
                         check=True)
    assert json.loads(out.stdout) == []
