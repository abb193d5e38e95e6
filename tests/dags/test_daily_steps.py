"""Adding a daily step is one entry in ``spse.pipeline.steps.DAILY_STEPS``: run_day, the DAG, its doc follow.

Also the ``summary`` task's XCom, gathered from the steps' outputs as ``run_day`` gathers them.
"""

from __future__ import annotations

import datetime as dt
import sys

import pytest

from spse.pipeline import daily as pipeline
from spse.pipeline import health, orchestration, periods, steps
from spse.pipeline.steps import Step

pytest.importorskip("airflow", reason="the airflow extra is not installed (uv sync --extra airflow)")

DAY = dt.date(2026, 1, 15)
# What each step of the list returns in these tests (made up, small).
OUTPUTS = {
    "ensure_inputs": ["lcsqa_e2:date=2026-01-15", "bruitparif_rumeur:date=2026-01-15"],
    "build_grid": {"grid_cells": 2640},
    "build_surfaces": {"surface_daily": 2640, "station_daily": 12},
    "build_periods": {"period_cell": 900, "period_station": 30},
    "build_health": {"health_impact_zone_year": 160},
    "build_noise": {"noise_station_daily": 4},
    "build_forecast": {"forecast_cell_daily": 5280},
    "raise_alerts": 3,
    "build_warehouse": "/spse/warehouse/builds/run.duckdb",
    "publish": "/spse/warehouse/spse.duckdb",
    "render_bulletin": "/spse/bulletin/2026-01-15.html",
    "notify_alerts": {"sent": 2},
}


def dummy_indicators(day: dt.date) -> dict[str, int]:
    """The added step's function: one made-up row count, the day of the month."""
    return {"dummy_daily": day.day}


DUMMY = Step("build_dummy", f"{__name__}:dummy_indicators", "Dummy period indicators per zone; row counts.",
             after=("build_surfaces", "build_noise"), timeout=dt.timedelta(minutes=7), report="counts")


@pytest.fixture
def recorded(monkeypatch) -> list[tuple]:
    """Each pipeline step function replaced by one that records its call and returns OUTPUTS[step]."""
    calls: list[tuple] = []
    for name, value in OUTPUTS.items():
        def record(*args, _name=name, _value=value):
            calls.append((_name, *args))
            return _value
        module = {"build_periods": periods, "build_health": health}.get(name, pipeline)
        monkeypatch.setattr(module, name, record)
    return calls


def test_a_step_appended_to_the_list_runs_in_run_day_the_dag_and_its_doc(monkeypatch, recorded):
    monkeypatch.setattr(steps, "DAILY_STEPS", (*steps.DAILY_STEPS, DUMMY))
    real = dummy_indicators

    def recorded_dummy(day):
        recorded.append(("build_dummy", day))
        return real(day)

    monkeypatch.setattr(sys.modules[__name__], "dummy_indicators", recorded_dummy)

    summary = pipeline.run_day(DAY)
    assert [call[0] for call in recorded] == [*OUTPUTS, "build_dummy"]  # the list's order, then the new step
    assert recorded[-1] == ("build_dummy", DAY)
    assert summary.counts == {"grid_cells": 2640, "surface_daily": 2640, "station_daily": 12,
                              "period_cell": 900, "period_station": 30, "health_impact_zone_year": 160,
                              "noise_station_daily": 4,
                              "forecast_cell_daily": 5280, "dummy_daily": 15}

    dag = orchestration.build_daily_dag()
    task = dag.get_task("build_dummy")
    assert task.upstream_task_ids == {"build_surfaces", "build_noise"}
    assert task.downstream_task_ids == {"summary"}
    assert dag.get_task("summary").upstream_task_ids == {"notify_alerts", "build_dummy"}
    assert task.execution_timeout == dt.timedelta(minutes=7) and task.pool == "default_pool"
    assert task.doc_md == "Dummy period indicators per zone; row counts."
    assert "| `build_dummy` | `build_surfaces`, `build_noise` | Dummy period indicators per zone; row counts. |" \
        in dag.doc_md
    # the task calls the step's function with the run's day
    monkeypatch.setattr(orchestration, "_daily_day", lambda: DAY)
    assert task.python_callable(*task.op_args) == {"dummy_daily": 15}


class _TaskInstance:
    def __init__(self, outputs):
        self.outputs = outputs

    def xcom_pull(self, task_ids):
        return self.outputs[task_ids]


def test_the_tasks_call_their_functions_and_summary_returns_the_run_record(monkeypatch, recorded):
    dag = orchestration.build_daily_dag()
    monkeypatch.setattr(orchestration, "_daily_day", lambda: DAY)
    assert dag.get_task("build_grid").python_callable() == {"grid_cells": 2640}
    assert dag.get_task("raise_alerts").python_callable() == 3
    assert dag.get_task("publish").python_callable("/spse/warehouse/builds/run.duckdb") == "/spse/warehouse/spse.duckdb"
    assert recorded == [("build_grid",), ("raise_alerts", DAY), ("publish", "/spse/warehouse/builds/run.duckdb")]

    monkeypatch.setattr(orchestration, "get_current_context", lambda: {"ti": _TaskInstance(OUTPUTS)})
    assert dag.get_task("summary").python_callable() == {
        "day": "2026-01-15",
        "ingested": ["lcsqa_e2:date=2026-01-15", "bruitparif_rumeur:date=2026-01-15"],
        "rows": {"grid_cells": 2640, "surface_daily": 2640, "station_daily": 12, "period_cell": 900,
                 "period_station": 30, "health_impact_zone_year": 160, "noise_station_daily": 4,
                 "forecast_cell_daily": 5280},
        "alerts": 3,
        "warehouse": "/spse/warehouse/spse.duckdb",
        "bulletin": "/spse/bulletin/2026-01-15.html",
        "notifications": {"sent": 2},
    }
