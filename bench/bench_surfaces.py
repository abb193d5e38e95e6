"""Benchmark: exposure surfaces at Paris and Île-de-France scale, against a naive baseline.

The baseline is the straightforward implementation the design forbids: a Python loop over
target cells, each computing its weighted mean with numpy. It runs in the same process on
a sample of cells and is scaled linearly to the full count, so both numbers come from the
same machine and the same moment. Memory is the peak traced by ``tracemalloc`` (numpy
allocations are traced).

    uv run python bench/bench_surfaces.py [--quick]

Writes ``bench/out/surfaces.json`` and prints a table. Nothing here is asserted by tests.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

from spse.core import register
from spse.methods import surfaces

RNG = np.random.default_rng(20260115)


def naive_idw(station_xy: np.ndarray, values: np.ndarray, target_xy: np.ndarray, power: float) -> np.ndarray:
    """Reference IDW, one target and one hour at a time: the loop that :func:`surfaces.idw` replaces.

    ``station_xy`` and ``target_xy`` [m, EPSG:3035]; ``values`` (hours × stations) [µg/m³], NaN
    missing; returns estimates (hours × targets) [µg/m³], NaN when an hour has no station.
    """
    out = np.full((values.shape[0], len(target_xy)), np.nan)
    for j, (x, y) in enumerate(target_xy):
        d = np.hypot(station_xy[:, 0] - x, station_xy[:, 1] - y)
        w = d ** -power
        for t in range(values.shape[0]):
            ok = ~np.isnan(values[t])
            if ok.any():
                out[t, j] = np.sum(w[ok] * values[t, ok]) / np.sum(w[ok])
    return out


def measure(fn, *args):
    """Call ``fn(*args)``; return its result, wall-clock time [s] and peak traced memory [MiB]."""
    tracemalloc.start()
    start = time.perf_counter()
    result = fn(*args)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, seconds, peak / 2**20


def scenario(name: str, n_cells: int, n_stations: int, n_hours: int, baseline_sample: int) -> dict:
    """Time vectorised IDW against the loop baseline on random stations and cells; check they agree.

    The baseline runs on ``baseline_sample`` cells and is scaled to ``n_cells``; values are
    uniform 5-80 µg/m³ with 5 % missing.
    """
    extent = np.sqrt(n_cells) * 200.0
    targets = RNG.uniform(0, extent, size=(n_cells, 2))
    stations = RNG.uniform(0, extent, size=(n_stations, 2))
    values = RNG.uniform(5, 80, size=(n_hours, n_stations))
    values[RNG.random(values.shape) < 0.05] = np.nan
    (estimates, _), fast_s, fast_mb = measure(surfaces.idw, stations, values, targets, 2.0)
    sample = targets[:baseline_sample]
    baseline, base_s, _ = measure(naive_idw, stations, values, sample, 2.0)
    np.testing.assert_allclose(estimates[:, :baseline_sample], baseline, rtol=1e-9)
    scaled = base_s * n_cells / baseline_sample
    return {"scenario": name, "cells": n_cells, "stations": n_stations, "hours": n_hours,
            "vectorised_s": round(fast_s, 3), "vectorised_peak_mib": round(fast_mb, 1),
            "baseline_s_scaled": round(scaled, 1), "baseline_sample_cells": baseline_sample,
            "speedup": round(scaled / fast_s, 1)}


def build_surfaces_scenario(n_cells: int, n_stations: int) -> dict:
    """The whole ``build_surfaces`` (hourly, daily stats, LOO) on synthetic E2-shaped input."""
    day = dt.date(2026, 1, 15)
    hours = pd.date_range("2026-01-14 00:00", "2026-01-15 23:00", freq="h", tz="UTC")
    lon = RNG.uniform(2.25, 2.42, n_stations)
    lat = RNG.uniform(48.82, 48.90, n_stations)
    stations = pd.DataFrame({"station_id": [f"S{i:03d}" for i in range(n_stations)], "lon": lon, "lat": lat})
    rows = []
    for pollutant in ("NO2", "PM10", "PM2.5", "O3"):
        frame = pd.DataFrame({"station_id": np.repeat(stations["station_id"], len(hours)),
                              "ts_start_utc": np.tile(hours, n_stations)})
        frame["pollutant"] = pollutant
        frame["value"] = RNG.uniform(5, 80, len(frame))
        rows.append(frame)
    air = pd.concat(rows, ignore_index=True)
    air["is_valid"] = RNG.random(len(air)) > 0.05
    air["station_class"] = "background"
    air["discriminant"], air["procedure"] = "A", "p"
    air["ts_end_utc"] = air["ts_start_utc"] + pd.Timedelta(hours=1)
    side = int(np.sqrt(n_cells))
    xs, ys = np.meshgrid(np.arange(side) * 200 + 3750000, np.arange(side) * 200 + 2880000)
    cells = pd.DataFrame({"cell_id": [f"c{i}" for i in range(xs.size)], "x_3035": xs.ravel().astype(float),
                          "y_3035": ys.ravel().astype(float)})
    tables, seconds, peak = measure(lambda *a: surfaces.build_surfaces(*a, params=register.parameters()),
                                    day, air, stations, cells)
    return {"scenario": f"build_surfaces {len(cells)} cells × {n_stations} stations × 4 pollutants",
            "seconds": round(seconds, 2), "peak_mib": round(peak, 1),
            "rows": {k: len(v) for k, v in tables.items()}}


def main() -> None:
    """Run the scenarios (``--quick``: a smaller Île-de-France case) and write the results to ``bench/out/``."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller Île-de-France case")
    args = parser.parse_args()
    results = [
        scenario("Paris (2 600 cells, 15 stations, 31 h)", 2_600, 15, 31, 2_600),
        scenario("Île-de-France (300 000 cells, 60 stations, 31 h)", 60_000 if args.quick else 300_000, 60, 31,
                 2_000),
        build_surfaces_scenario(2_601, 15),
        build_surfaces_scenario(40_000 if args.quick else 90_000, 40),
    ]
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    (out / "surfaces.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    for row in results:
        print(json.dumps(row, ensure_ascii=False))


if __name__ == "__main__":
    main()
