"""The demo's CAMS forecasts: two ensemble runs over Paris, base times 2026-01-14 and 2026-01-15 00 UTC.

Written in the layout of the real ADS files (``spse.sources.cams_europe_forecast``):
NetCDF-3 classic, dimensions ``longitude``, ``latitude``, ``level``, ``time`` (unlimited),
float32 variables ``co_conc`` … ``so2_conc`` of dims (time, level, latitude, longitude) in
µg/m3 with ``_FillValue`` -999, ``time`` the lead time in hours with long_name
"FORECAST time from <base day>", latitudes north → south, global attribute ``source`` "Data
from ENSEMBLE model". Grid: the 0.1° points on x.x5° of the default Paris area (N 49.0, W
2.1, S 48.7, E 2.6): latitudes 48.95, 48.85, 48.75, longitudes 2.15 … 2.55; hourly lead
times 0–96 h.

Design (docs/demo.md "CAMS forecast"): values are constant within a local day
(Europe/Paris) except a ±2 µg/m³ alternation by local hour (+ on even, − on odd hours) that
cancels over the 24 hours of a January day, so a local-day mean is exactly the design value.
PM10 is high over the north-east grid points (latitude ≥ 48.85 and longitude ≥ 2.35), 30
elsewhere. The run of 2026-01-15 (the demo run's) gives 55 on 2026-01-16 (J) and 52 on
2026-01-17 (J+1); the run of the day before, read by the last day of the backfill, gave 45 on
2026-01-15 and 52 on 2026-01-16, so the demo run revises the alert of 2026-01-16 (updated,
escalated to persistence) and opens the one of 2026-01-17. Nothing else comes near an R221-1
threshold (NO2 ≤ 55, O3 ≤ 50, SO2 3, PM2.5 = 0.6 × PM10, CO 300 µg/m3). No random draw: the
files are fixed by this design.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from spse.pipeline.demo.cams_netcdf import VARIABLES, write_forecast
from spse.pipeline.demo.timeline import TIME_ZONE

SOURCE = "cams_europe_forecast"
BASE_DAY = dt.date(2026, 1, 15)
FILE_NAME = "cams_europe_ensemble_forecast.nc"
RELATIVE_PATH = f"{BASE_DAY.isoformat()}/{FILE_NAME}"
LEAD_HOURS = np.arange(0, 97)
LATITUDES = (48.95, 48.85, 48.75)  # north → south, as in ADS files
LONGITUDES = (2.15, 2.25, 2.35, 2.45, 2.55)
# The north-east grid points carry the PM10 episode.
NORTH_EAST = (48.85, 2.35)  # latitude ≥, longitude ≥
# PM10 local-day mean at the north-east points [µg/m³], by run (base day) and local day.
PM10_NORTH_EAST = {
    dt.date(2026, 1, 14): {dt.date(2026, 1, 14): 40.0, dt.date(2026, 1, 15): 45.0, dt.date(2026, 1, 16): 52.0,
                           dt.date(2026, 1, 17): 48.0, dt.date(2026, 1, 18): 40.0},
    BASE_DAY: {dt.date(2026, 1, 15): 45.0, dt.date(2026, 1, 16): 55.0, dt.date(2026, 1, 17): 52.0,
               dt.date(2026, 1, 18): 40.0, dt.date(2026, 1, 19): 30.0},
}
PM10_ELSEWHERE = 30.0
HOURLY_SWING = 2.0  # µg/m³, + on even and − on odd local hours (PM10 and PM2.5)
NO2_BASE, NO2_RUSH, NO2_NORTH_EAST = 30.0, 15.0, 10.0  # µg/m³; rush = local 07-09 h and 17-19 h
O3_BASE, O3_RUSH_DIP = 45.0, 15.0
SO2_LEVEL = 3.0
PM25_SHARE = 0.6
CO_LEVEL = 300.0  # µg/m3 in the file (0.3 mg/m³ once read)
RUSH_HOURS = (7, 8, 9, 17, 18, 19)


def fields(base_day: dt.date = BASE_DAY) -> dict[str, np.ndarray]:
    """(time, level, latitude, longitude) arrays [µg/m3] of the run of ``base_day`` 00 UTC, by file variable."""
    valid = pd.Timestamp(base_day, tz="UTC") + pd.to_timedelta(LEAD_HOURS, unit="h")
    local = valid.tz_convert(TIME_ZONE)
    hour = np.asarray(local.hour)
    swing = np.where(hour % 2 == 0, HOURLY_SWING, -HOURLY_SWING)[:, None, None, None]
    rush = np.isin(hour, RUSH_HOURS).astype(float)[:, None, None, None]
    lat = np.asarray(LATITUDES)[None, None, :, None]
    lon = np.asarray(LONGITUDES)[None, None, None, :]
    north_east = (lat >= NORTH_EAST[0]) & (lon >= NORTH_EAST[1])
    high = np.array([PM10_NORTH_EAST[base_day][d] for d in local.date])[:, None, None, None]
    shape = (len(LEAD_HOURS), 1, len(LATITUDES), len(LONGITUDES))
    pm10 = np.where(north_east, high, PM10_ELSEWHERE) + swing
    values = {
        "co_conc": np.full(shape, CO_LEVEL),
        "no2_conc": NO2_BASE + NO2_RUSH * rush + NO2_NORTH_EAST * north_east,
        "o3_conc": O3_BASE - O3_RUSH_DIP * rush,
        "pm10_conc": pm10,
        "pm2p5_conc": PM25_SHARE * pm10,
        "so2_conc": np.full(shape, SO2_LEVEL),
    }
    return {name: np.broadcast_to(values[name], shape).astype(np.float32) for name in VARIABLES}


def write(root: Path) -> list[Path]:
    """Write each run's file at ``root/cams_europe_forecast/<base day>/…`` and return their paths."""
    return [write_forecast(root / SOURCE / base_day.isoformat() / FILE_NAME, base_day, LEAD_HOURS, LATITUDES,
                           LONGITUDES, fields(base_day))
            for base_day in PM10_NORTH_EAST]
