"""Benchmark: the period step (year, season and month of one day) on a synthetic year at Paris scale.

Writes a year of ``surface_daily`` (``--cells`` cells × NO2, PM10, PM2.5, O3, SO2 × day_mean and
day_max_1h, plus O3 day_max_8h_mean), ``station_daily`` and hourly ``air_hourly`` for ``--stations``
stations into a temporary SPSE_HOME, then times :func:`spse.pipeline.periods.build_periods` for
15 June (year 2025, summer 2025, June 2025) and reports the peak resident memory of the process.

    uv run python bench/bench_periods.py [--cells 2200] [--stations 40]

Writes ``bench/out/periods.json`` and prints it. Nothing here is asserted by tests.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

POLLUTANTS = ("NO2", "PM10", "PM2.5", "O3", "SO2")


def _daily(keys: dict, day: dt.date, pollutants, rng) -> pd.DataFrame:
    parts = []
    n = len(next(iter(keys.values())))
    for pollutant in pollutants:
        for statistic in ("day_mean", "day_max_1h") + (("day_max_8h_mean",) if pollutant == "O3" else ()):
            parts.append(pd.DataFrame({**keys, "date": day, "pollutant": pollutant, "statistic": statistic,
                                       "value": rng.gamma(4.0, 8.0, n), "n_valid": 24, "n_expected": 24,
                                       "coverage": 1.0, "is_valid": True, "time_base": "Europe/Paris"}))
    return pd.concat(parts, ignore_index=True)


def write_year(cells: int, stations: int) -> None:
    """Write the synthetic year 2025 into the lake of ``SPSE_HOME`` (values in µg/m³, days Europe/Paris)."""
    from spse.pipeline import lake

    rng = np.random.default_rng(0)
    cell_ids = [f"c{i:05d}" for i in range(cells)]
    station_ids = [f"FR{i:05d}" for i in range(stations)]
    for day in pd.date_range("2025-01-01", "2025-12-31", freq="D").date:
        partition = lake.date_partition(day)
        lake.write_partition("surface_daily", partition, _daily({"cell_id": cell_ids}, day, POLLUTANTS, rng))
        lake.write_partition("station_daily", partition, _daily(
            {"station_id": station_ids, "station_class": ["background"] * stations}, day, ("NO2", "PM10", "O3"), rng))
        hours = pd.date_range(pd.Timestamp(day, tz="UTC"), periods=24, freq="h")
        n = stations * 3 * 24
        lake.write_partition("air_hourly", partition, pd.DataFrame({
            "station_id": np.repeat(station_ids, 72), "station_class": "background",
            "pollutant": np.tile(np.repeat(["NO2", "PM10", "O3"], 24), stations),
            "ts_start_utc": np.tile(hours, stations * 3), "value": rng.gamma(4.0, 8.0, n), "is_valid": True}))


def main() -> None:
    """Build the lake, time the step and write ``bench/out/periods.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=2200)
    parser.add_argument("--stations", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        os.environ["SPSE_HOME"] = home
        write_year(args.cells, args.stations)
        from spse.pipeline import periods

        start = time.perf_counter()
        counts = periods.build_periods(dt.date(2025, 6, 15))
        seconds = time.perf_counter() - start
    result = {"cells": args.cells, "stations": args.stations, "rows": counts, "seconds": round(seconds, 2),
              "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    (out / "periods.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
