"""E2 hourly files of the demo year before the two designed days (UTC files 2025-01-15 … 2026-01-13).

Values are invented (µg/m³, hour-beginning UTC instants as in E2) from their own random
stream, so the files of ``DEMO_DAYS`` (``spse.pipeline.demo.air``) keep their bytes. Every
design rule below is stated on local days in Europe/Paris (``timeline.DEMO_YEAR``) and is
listed with dates, stations and values in ``docs/demo.md`` ("The year before").

* Seasons: PM10 and PM2.5 peak in late winter and early spring (``PM_SEASON_PEAK``), NO2 in
  winter, O3 in summer; a regional day-to-day weather factor moves all stations together.
  ``CALM_WEEKS`` lower everything.
* Ceilings (hourly, so that they also bound every daily mean): PM10 ``PM10_MAX`` (no day
  mean above 45 or 50), PM2.5 ``PM25_MAX`` (no day mean above 25), O3 ``O3_ORDINARY_MAX``
  outside the designed hours (no 8-h mean above 100), NO2 day means below 25 at background
  stations outside ``NO2_WHO_DAYS`` and below 50 at traffic stations.
* NO2 (WHO 2021, day mean > 25): every background station exceeds it on exactly the local
  days of ``NO2_WHO_BLOCKS`` (day means between ``NO2_HIGH`` bounds), never on another day.
* O3: on each day of ``O3_HIGH_DAYS``, local hours 10-19 at every O3 station form a plateau
  between ``O3_PLATEAU`` bounds, so its daily maximum 8-h mean exceeds 120 (EU target value);
  ``O3_INFO`` lists the station-days whose local 15:00 hour exceeds 180 (information
  threshold), with 170.0 at 14:00 and 16:00; the episode of 2025-06-30 to 2025-07-02 lasts
  three consecutive days.
* PM2.5 annual levels follow ``PM25_LEVEL`` (a north-east to south-west gradient).
* ``OUTAGE``: one background station with no valid value for six local days;
  ``SHORT_DAY``: a series with 16 valid hours on one local day.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from spse.pipeline.demo import air, timeline
from spse.pipeline.demo.files import write as write_file

_D = dt.date

PM_SEASON_PEAK = _D(2025, 3, 1)
PM10_MAX = 44.9
PM25_MAX = 24.9
# Design annual level of PM2.5 [µg/m³] (before the seasonal and weather factors, whose year mean is about 1).
PM25_LEVEL: dict[str, float] = {"FR04329": 16.0, "FR04031": 14.0, "FR04004": 12.0, "FR04055": 10.0, "FR04034": 8.0}
# Local-day ranges (inclusive) with the WHO NO2 24-h guideline (25 µg/m³) exceeded at every background station.
NO2_WHO_BLOCKS: tuple[tuple[dt.date, dt.date], ...] = (
    (_D(2025, 1, 20), _D(2025, 1, 24)), (_D(2025, 2, 10), _D(2025, 2, 14)), (_D(2025, 11, 17), _D(2025, 11, 21)),
    (_D(2025, 12, 8), _D(2025, 12, 12)), (_D(2026, 1, 5), _D(2026, 1, 9)),
)
NO2_WHO_DAYS: tuple[dt.date, ...] = tuple(a + dt.timedelta(days=i) for a, b in NO2_WHO_BLOCKS
                                          for i in range((b - a).days + 1))
NO2_HIGH = (29.0, 33.0)  # background day-mean target on NO2_WHO_DAYS [µg/m³]
NO2_BACKGROUND_DAY_MAX = 21.0  # background day-mean target on other days
NO2_TRAFFIC_DAY_MAX = 44.0
NO2_TRAFFIC_HIGH_DAY_MAX = 47.0
# Local days with the O3 daily maximum 8-h mean above 120 at every O3 station (20 days).
O3_HIGH_DAYS: tuple[dt.date, ...] = (
    _D(2025, 6, 13), _D(2025, 6, 14), _D(2025, 6, 19), _D(2025, 6, 20), _D(2025, 6, 21), _D(2025, 6, 30),
    _D(2025, 7, 1), _D(2025, 7, 2), _D(2025, 7, 3), _D(2025, 7, 11), _D(2025, 7, 12), _D(2025, 7, 18),
    _D(2025, 7, 24), _D(2025, 7, 25), _D(2025, 8, 8), _D(2025, 8, 9), _D(2025, 8, 11), _D(2025, 8, 12),
    _D(2025, 8, 13), _D(2025, 8, 22),
)
O3_PLATEAU_HOURS = tuple(range(10, 20))  # local hours 10:00-19:00 (hour-beginning)
O3_PLATEAU = (125.5, 150.0)
O3_ORDINARY_MAX = 95.0
O3_SHOULDER = 170.0  # local 14:00 and 16:00 of an O3_INFO station-day
# (local day, station) → O3 at local 15:00 [µg/m³], the only hours above 180 in the bundle.
O3_INFO: dict[tuple[dt.date, str], float] = {
    (_D(2025, 6, 30), "FR04004"): 183.6, (_D(2025, 6, 30), "FR04037"): 186.2,
    (_D(2025, 7, 1), "FR04004"): 196.4, (_D(2025, 7, 1), "FR04017"): 188.0, (_D(2025, 7, 1), "FR04034"): 191.7,
    (_D(2025, 7, 1), "FR04037"): 203.5, (_D(2025, 7, 1), "FR04055"): 194.8,
    (_D(2025, 7, 2), "FR04037"): 184.9, (_D(2025, 7, 2), "FR04055"): 181.6,
    (_D(2025, 8, 12), "FR04004"): 188.3, (_D(2025, 8, 12), "FR04034"): 182.2, (_D(2025, 8, 12), "FR04055"): 185.0,
}
CALM_WEEKS: tuple[tuple[dt.date, dt.date], ...] = ((_D(2025, 4, 21), _D(2025, 4, 27)),
                                                   (_D(2025, 8, 25), _D(2025, 8, 31)))
CALM_FACTOR = 0.6
OUTAGE = {"station": "FR04060", "first": _D(2025, 10, 6), "last": _D(2025, 10, 11)}
SHORT_DAY = {"station": "FR04099", "pollutant": "PM10", "day": _D(2025, 9, 17),
             "invalid_local_hours": (0, 1, 2, 3, 4, 5, 6, 7)}
DST_DAYS = (_D(2025, 3, 30), _D(2025, 10, 26))  # 23 and 25 local hours


def _in_ranges(day: np.ndarray, ranges) -> np.ndarray:
    return np.logical_or.reduce([(day >= np.datetime64(a)) & (day <= np.datetime64(b)) for a, b in ranges])


def _ar1(rng: np.random.Generator, size: int, sigma: float, phi: float) -> np.ndarray:
    """A stationary AR(1) series of standard deviation ``sigma``."""
    shocks = rng.normal(0, sigma * np.sqrt(1 - phi**2), size)
    out = np.empty(size)
    out[0] = rng.normal(0, sigma)
    for i in range(1, size):
        out[i] = phi * out[i - 1] + shocks[i]
    return out


def _cycle(day: np.ndarray, peak: dt.date) -> np.ndarray:
    """Cosine of the phase from ``peak`` over a 365.25-day year: 1 at the peak, −1 half a year away."""
    age = (day - np.datetime64(peak)).astype(float)
    return np.cos(2 * np.pi * age / 365.25)


def _pm_profile(hour: np.ndarray) -> np.ndarray:
    """Diurnal PM shape by local hour (mean about 1): morning and evening maxima."""
    return 1 + 0.12 * np.exp(-(((hour - 9) / 2.5) ** 2)) + 0.15 * np.exp(-(((hour - 21) / 3) ** 2)) - 0.08


def _o3_profile(hour: np.ndarray) -> np.ndarray:
    """O3 shape by local hour: afternoon maximum near 15:00, titrated at the morning rush."""
    return 0.55 + 0.9 * np.exp(-(((hour - 15) / 3.5) ** 2)) - 0.15 * np.exp(-(((hour - 8.5) / 2.0) ** 2))


def hourly_values(rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray, pd.DatetimeIndex]:
    """Hourly values of every series over the history files (``timeline.history_file_days``).

    Parameters
    ----------
    rng : numpy.random.Generator
        The year's own stream (``spse.pipeline.demo._rng("air_year")``).

    Returns
    -------
    series : DataFrame
        One row per series (``station``, ``pollutant``, ``traffic``), as ``air._series``.
    values : ndarray
        Hourly means [µg/m³], shape (series, 24 × files), rounded to 0.1; NaN marks an
        invalid hour. The design rules of the module docstring apply to local days
        (Europe/Paris).
    utc : DatetimeIndex
        Hour-beginning UTC instants of the columns.
    """
    series = air._series()
    utc = timeline.history_hours_utc()
    local = utc.tz_convert(timeline.TIME_ZONE)
    hour = np.asarray(local.hour)
    day = np.asarray(local.tz_localize(None).normalize(), dtype="datetime64[D]")
    days = np.unique(day)
    k = np.searchsorted(days, day)  # local-day index of each hour
    nd = len(days)
    codes = series["station"].to_numpy()
    pol = series["pollutant"].to_numpy()
    traffic = series["traffic"].to_numpy()
    n, t = len(series), len(utc)
    values = np.full((n, t), np.nan)

    calm = np.where(_in_ranges(days, CALM_WEEKS), CALM_FACTOR, 1.0)
    weather = np.exp(_ar1(rng, nd, 0.18, 0.7))
    pm_season = 1 + 0.3 * _cycle(days, PM_SEASON_PEAK)

    pm10 = pol == "PM10"
    level = rng.uniform(18, 24, pm10.sum()) * np.where(traffic[pm10], 1.3, 1.0)
    daily = level[:, None] * (pm_season * weather * calm)[None, :] * np.exp(rng.normal(0, 0.05, (pm10.sum(), nd)))
    values[pm10] = daily[:, k] * _pm_profile(hour) * np.exp(rng.normal(0, 0.12, (pm10.sum(), t)))
    values[pm10] = np.clip(values[pm10], 3.0, PM10_MAX)

    pm25 = pol == "PM2.5"
    level = np.array([PM25_LEVEL[c] for c in codes[pm25]])
    daily = level[:, None] * (pm_season * weather * calm)[None, :] * np.exp(rng.normal(0, 0.05, (pm25.sum(), nd)))
    values[pm25] = daily[:, k] * _pm_profile(hour) * np.exp(rng.normal(0, 0.12, (pm25.sum(), t)))
    values[pm25] = np.clip(values[pm25], 2.0, PM25_MAX)

    no2 = pol == "NO2"
    high = np.isin(days, np.array(NO2_WHO_DAYS, dtype="datetime64[D]"))
    base = 17 * (1 + 0.3 * _cycle(days, _D(2025, 1, 15))) * weather**0.6 * calm
    factor = rng.uniform(0.9, 1.1, no2.sum())[:, None]
    background = np.where(high, rng.uniform(*NO2_HIGH, (no2.sum(), nd)),
                          np.minimum(base * factor, NO2_BACKGROUND_DAY_MAX))
    road = np.minimum(2.0 * base * factor * np.where(high, 1.3, 1.0),
                      np.where(high, NO2_TRAFFIC_HIGH_DAY_MAX, NO2_TRAFFIC_DAY_MAX))
    target = np.where(traffic[no2][:, None], road, background)
    shape = air._no2_profile(hour) / air._no2_profile(np.arange(24)).mean()
    values[no2] = target[:, k] * shape * np.exp(rng.normal(0, 0.06, (no2.sum(), t)))

    o3 = pol == "O3"
    o3_base = (40 + 20 * _cycle(days, _D(2025, 7, 10))) * np.exp(_ar1(rng, nd, 0.12, 0.7)) * np.where(calm < 1, 0.7, 1)
    raw = o3_base[k] * _o3_profile(hour) * np.exp(rng.normal(0, 0.08, (o3.sum(), t)))
    raw = np.clip(raw, 2.0, O3_ORDINARY_MAX)
    plateau_day = np.isin(day, np.array(O3_HIGH_DAYS, dtype="datetime64[D]")) & np.isin(hour, O3_PLATEAU_HOURS)
    plateau = (rng.uniform(126, 134, (o3.sum(), nd))[:, k] * (1 + 0.1 * np.exp(-(((hour - 15) / 2) ** 2)))
               * np.exp(rng.normal(0, 0.01, (o3.sum(), t))))
    raw = np.where(plateau_day, np.clip(plateau, *O3_PLATEAU), raw)
    o3_codes = codes[o3]
    for (when, station), peak in O3_INFO.items():
        row = np.flatnonzero(o3_codes == station)[0]
        on = day == np.datetime64(when)
        raw[row, on & np.isin(hour, (14, 16))] = O3_SHOULDER
        raw[row, on & (hour == 15)] = peak
    values[o3] = raw

    out = (codes == OUTAGE["station"])[:, None] & ((day >= np.datetime64(OUTAGE["first"]))
                                                   & (day <= np.datetime64(OUTAGE["last"])))[None, :]
    values[out] = np.nan
    short = (codes == SHORT_DAY["station"]) & (pol == SHORT_DAY["pollutant"])
    values[np.ix_(short, (day == np.datetime64(SHORT_DAY["day"])) & np.isin(hour, SHORT_DAY["invalid_local_hours"]))] \
        = np.nan
    return series, np.round(values, 1), utc


def write(root: Path, rng: np.random.Generator) -> list[str]:
    """Write ``lcsqa_e2/<year>/FR_E2_<day>.csv`` for every history file under ``root``; return the paths.

    The lines of the whole year are built at once (rows by file day, then series, then
    hour, as ``air.write`` orders a day; ``air.e2_lines``) and cut into files of 24 rows
    per series.
    """
    series, values, utc = hourly_values(rng)
    n, t = values.shape
    files = t // 24
    # Rows day by day, then series, then hour, as in the files of air.write.
    row_series = np.tile(np.repeat(np.arange(n), 24), files)
    row_hour = (np.arange(files)[:, None, None] * 24 + np.arange(24)[None, None, :]
                + np.zeros((1, n, 1), dtype=int)).ravel()
    jitter = np.round(rng.uniform(-0.049, 0.049, n * t), 3)
    header = ";".join(air.E2_HEADER)
    lines = air.e2_lines(series, values, utc, row_series, row_hour, jitter)
    per_file = n * 24
    written = []
    for i, day in enumerate(timeline.history_file_days()):
        chunk = "\n".join(lines[i * per_file:(i + 1) * per_file])
        relative = f"lcsqa_e2/{day:%Y}/FR_E2_{day.isoformat()}.csv"
        written.append(str(write_file(root, relative, f"{header}\n{chunk}\n")))
    return written
