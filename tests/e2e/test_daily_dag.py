"""End to end through Airflow: ``airflow dags test`` on the demo bundle, SQLite metadata, temp homes.

The run of 2026-01-16 06:00 Europe/Paris (05:00 UTC) reports on 2026-01-15 (demo day D2).
The expected alerts are the demo's designed episode (``spse.pipeline.demo``): PM10 and NO2 over
their French information thresholds (R221-1: PM10 daily mean 50 µg/m³, NO2 hourly
200 µg/m³), NO2 peaking at 212 µg/m³ at the traffic station FR04329, and nothing at the
alert level.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("airflow", reason="the airflow extra is not installed (uv sync --extra airflow)")

pytestmark = pytest.mark.airflow

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DAY = dt.date(2026, 1, 15)
DAILY_LOGICAL_DATE = "2026-01-16T05:00:00+00:00"
# 11:20 Paris on D2, one of lcsqa_e2's hourly slots: it ingests local day 2026-01-15.
INGEST_LOGICAL_DATE = "2026-01-15T10:20:00+00:00"
TIMEOUT_S = 900


def _run(args: list[str], env: dict[str, str], log: Path) -> subprocess.CompletedProcess:
    done = subprocess.run(args, env=env, cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    log.write_text(f"$ {' '.join(args)}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}")
    return done


def _tail(done: subprocess.CompletedProcess, log: Path, lines: int = 60) -> str:
    text = (done.stdout + done.stderr).splitlines()
    return f"exit {done.returncode}; full output in {log}\n" + "\n".join(text[-lines:])


@pytest.fixture(scope="module")
def homes(tmp_path_factory):
    """A fresh SPSE_HOME with the demo bundle, and a migrated SQLite AIRFLOW_HOME."""
    root = tmp_path_factory.mktemp("e2e")
    spse_home, airflow_home = root / "spse_home", root / "airflow_home"
    airflow_home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith("SPSE_") and k.endswith("_URL")) and not k.startswith("AIRFLOW")}
    env.update({
        "SPSE_HOME": str(spse_home),
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    })
    done = _run([sys.executable, "-m", "spse.pipeline.cli", "demo"], env, root / "demo.log")
    assert done.returncode == 0, _tail(done, root / "demo.log")
    done = _run([str(BIN / "airflow"), "db", "migrate"], env, root / "db-migrate.log")
    assert done.returncode == 0, _tail(done, root / "db-migrate.log")
    return {"env": env, "spse_home": spse_home, "airflow_home": airflow_home, "root": root}


def test_ingest_dag_lands_a_partition_and_an_asset_event(homes):
    log = homes["root"] / "ingest.log"
    done = _run([str(BIN / "airflow"), "dags", "test", "ingest_lcsqa_e2", INGEST_LOGICAL_DATE], homes["env"], log)
    assert done.returncode == 0, _tail(done, log)
    partition = homes["spse_home"] / "lake" / "air_hourly" / "source=lcsqa_e2" / "date=2026-01-15"
    assert (partition / "data.parquet").is_file()
    with sqlite3.connect(homes["airflow_home"] / "airflow.db") as db:
        events = db.execute(
            "select e.extra from asset_event e join asset a on a.id = e.asset_id where a.uri = ?",
            ["x-spse-lake://air_hourly"]).fetchall()
    assert len(events) == 1
    extra = json.loads(events[0][0])
    assert extra["partition"] == "date=2026-01-15" and extra["day"] == "2026-01-15"
    assert extra["rows"] > 0


def test_daily_dag_on_demo_day(homes):
    import duckdb

    log = homes["root"] / "daily.log"
    done = _run([str(BIN / "airflow"), "dags", "test", "spse_daily", DAILY_LOGICAL_DATE], homes["env"], log)
    assert done.returncode == 0, _tail(done, log)

    warehouse = homes["spse_home"] / "warehouse" / "spse.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select pollutant, level, value_max, station_ids from marts.alerts "
            "where date = ? and kind = 'air_quality'", [DAY]).fetchall()
    alerts = {(pollutant, level): (value_max, station_ids) for pollutant, level, value_max, station_ids in rows}
    assert ("PM10", "information") in alerts
    no2_max, no2_stations = alerts[("NO2", "information")]
    assert no2_max == pytest.approx(212.0)
    assert "FR04329" in [s.strip() for s in no2_stations.split(",")]
    assert not [key for key in alerts if key[1] == "alerte"]
    assert (homes["spse_home"] / "bulletin" / f"{DAY.isoformat()}.html").is_file()
