"""``spse backfill``: many days in one pass give what the day-by-day job gives, resumably."""

from __future__ import annotations

import datetime as dt
import shutil

import numpy as np
import pandas as pd
import pytest

D1, D2 = dt.date(2026, 1, 14), dt.date(2026, 1, 15)


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory):
    home = tmp_path_factory.mktemp("spse_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPSE_HOME", str(home))
        from spse.pipeline import backfill, demo

        demo.ensure()
        first = backfill.backfill(D1, D2, progress=False)
        again = backfill.backfill(D1, D2, progress=False)
        yield {"home": home, "first": first, "again": again}


def test_backfill_builds_every_day_then_skips_them(backfilled):
    first, again = backfilled["first"], backfilled["again"]
    assert first.built == [D1, D2] and not first.missing
    assert first.warehouse is not None
    assert again.built == [] and again.skipped == [D1, D2]


def test_the_command_says_the_days_were_already_built(backfilled, monkeypatch, capsys):
    monkeypatch.setenv("SPSE_HOME", str(backfilled["home"]))
    from spse.pipeline import cli

    assert cli.main(["backfill", "--from", D1.isoformat(), "--to", D2.isoformat(), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "0 jours construits, 2 déjà construits" in out and "entrepôt inchangé" in out
    assert "durées" not in out  # nothing was built, nothing was timed


def test_one_pass_over_many_days_equals_the_day_by_day_surfaces(backfilled, monkeypatch):
    """The multi-day interpolation against the single-day one (the previous implementation), same inputs."""
    monkeypatch.setenv("SPSE_HOME", str(backfilled["home"]))
    from spse.core import register
    from spse.methods import surfaces
    from spse.pipeline import lake

    params = register.parameters()
    air = lake.read_days("air_hourly", [D1, D2])
    stations, cells = lake.read_latest("air_stations"), lake.read_latest("grid_cells")
    both = surfaces.build_surfaces_days([D1, D2], air, stations, cells, params=params)
    keys = ["cell_id", "date", "pollutant", "statistic"]
    for day in (D1, D2):
        alone = surfaces.build_surfaces(day, air, stations, cells, params=params)
        got = both["surface_daily"][both["surface_daily"]["date"] == day].sort_values(keys).reset_index(drop=True)
        want = alone["surface_daily"].sort_values(keys).reset_index(drop=True)
        pd.testing.assert_frame_equal(got, want, check_dtype=False)
        hourly = surfaces.hourly_frame(both["surface_hourly"])
        hourly = hourly[hourly["ts_start_utc"].isin(alone["surface_hourly"]["ts_start_utc"])]
        merged = alone["surface_hourly"].merge(hourly, on=["cell_id", "pollutant", "ts_start_utc"], how="outer",
                                               indicator=True)
        assert (merged["_merge"] == "both").all()
        np.testing.assert_allclose(merged["value_x"], merged["value_y"], rtol=1e-6)  # float32 storage


def test_hourly_surface_file_holds_the_day_as_float32_arrays(backfilled, monkeypatch):
    monkeypatch.setenv("SPSE_HOME", str(backfilled["home"]))
    from spse.pipeline import lake, surfacestore

    data = surfacestore.read_day(D2)
    assert data["value"].dtype == np.float32 and data["cell"].dtype == np.int32
    assert data.sizes["time"] == 24  # 2026-01-15 is a 24-hour day in Europe/Paris
    first_hour = pd.Timestamp(data["time"].values[0])
    assert first_hour == pd.Timestamp("2026-01-14 23:00")  # local midnight, CET = UTC+1
    assert list(data["cell_id"].values) == list(lake.read_latest("grid_cells")["cell_id"])
    # the PM10 surface of D2 averages (a + b) / 2 of the design at a background station's cell
    daily = lake.read_days("surface_daily", [D2])
    assert set(daily["time_base"]) == {"Europe/Paris", "UTC"}


def test_a_day_without_air_observations_is_reported_and_the_others_are_built(tmp_path, monkeypatch):
    monkeypatch.setenv("SPSE_HOME", str(tmp_path))
    from spse.core.config import settings
    from spse.pipeline import backfill, demo

    root = demo.ensure()
    shutil.rmtree(root / "lcsqa_e2")
    (root / "lcsqa_e2" / "2026").mkdir(parents=True)
    shutil.copy(demo.generate(tmp_path / "copy") / "lcsqa_e2" / "2026" / "FR_E2_2026-01-15.csv",
                root / "lcsqa_e2" / "2026")
    report = backfill.backfill(D1, D2, progress=False)
    assert list(report.missing) == [D1]
    assert "FR_E2_2026-01-14.csv" in report.missing[D1]
    assert report.built == [D2]
    assert settings().warehouse.exists()


def test_force_rebuilds_the_days(backfilled, monkeypatch):
    monkeypatch.setenv("SPSE_HOME", str(backfilled["home"]))
    from spse.pipeline import backfill

    report = backfill.backfill(D2, D2, force=True, progress=False, publish=False)
    assert report.built == [D2] and report.skipped == []


def test_days_between_refuses_a_reversed_range():
    from spse.pipeline.backfill import days_between

    assert days_between(D1, D2) == [D1, D2]
    with pytest.raises(ValueError, match="before"):
        days_between(D2, D1)


def test_alerts_raised_by_worker_processes_are_those_of_the_daily_run(tmp_path, monkeypatch):
    """Days raised in two spawned workers, then walked in order, give the rows ``alerts.run`` gives day after day.

    2026-01-11..15 hold the demo's January PM10 episode: alerts opened, ongoing and closed.
    """
    monkeypatch.setenv("SPSE_HOME", str(tmp_path))
    monkeypatch.setenv("SPSE_BACKFILL_WORKERS", "2")
    from spse.pipeline import alerts, backfill, demo, lake

    demo.ensure()
    days = backfill.days_between(dt.date(2026, 1, 11), D2)
    assert backfill.backfill(days[0], days[-1], progress=False, publish=False).built == days
    built = {day: lake.read_days("alerts", [day]) for day in days}
    assert {"opened", "ongoing"} <= set(pd.concat(built.values())["status"])
    for day in days:  # in order: each day's lifecycle reads the partition of the day before
        alerts.run(day, outbox=False)
        pd.testing.assert_frame_equal(lake.read_days("alerts", [day]), built[day])
