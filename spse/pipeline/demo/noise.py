"""Bruitparif "Rumeur" station files of the demo bundle (feeds.md §f1).

``SiteListByTags.json`` lists the sites; ``PeriodicValues2/<site_name>/<day>.json`` holds
one entry per local hour of the local day: ``i`` the hour-beginning local time with its
offset, ``LAeq`` [dB(A)] and ``weight`` (share of the hour covered, 0-1).

Designed levels (French periods from the parameter register, day 06-18, evening 18-22,
night 22-06 local; ``docs/demo.md``):

* PARIS-PERIPHERIQUE-EST: constant Ld 76.0, Le 74.0, Ln 71.0 on both days, weight 1.
* PARIS-QUAI-DE-LA-RAPEE: constant Ld 65.0, Le 62.0, Ln 57.0 (methods.md W4) on both days;
  on D2 the local hours 02:00 and 03:00 read 75.0 with weight 0.5.
* PARIS-RUE-DE-RIVOLI, PARIS-BD-SOULT: seeded levels around per-period means; Rivoli has
  weight 0.4 at local 19:00 and 20:00 on D2, Soult weight 0.5 at 11:00 and 0.9 at 03:00 on D1.
* The other local days of ``timeline.DEMO_YEAR`` (``write_year``, its own random stream): every
  site around its ``PERIOD_LEVELS`` (a daily offset of σ 0.5 and an hourly one of σ 0.8 dB),
  weight 1 at every hour; the DST days have 23 and 25 entries.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from spse.core import register
from spse.pipeline.demo import facts, timeline
from spse.pipeline.demo.files import json_text
from spse.pipeline.demo.files import write as write_file

SITE_LIST_PATH = "bruitparif_rumeur/SiteListByTags.json"
D1, D2 = timeline.DEMO_DAYS

# site → (Ld, Le, Ln) [dB(A)]; ``constant`` sites have exactly these levels at every valid hour.
PERIOD_LEVELS: dict[str, tuple[float, float, float]] = {
    "PARIS-PERIPHERIQUE-EST": (76.0, 74.0, 71.0),
    "PARIS-QUAI-DE-LA-RAPEE": (65.0, 62.0, 57.0),
    "PARIS-RUE-DE-RIVOLI": (70.0, 68.0, 62.0),
    "PARIS-BD-SOULT": (72.0, 70.0, 66.0),
}
CONSTANT_SITES = ("PARIS-PERIPHERIQUE-EST", "PARIS-QUAI-DE-LA-RAPEE")
# (site, day, local hour) → (LAeq or None to keep the level, weight)
PARTIAL_HOURS: dict[tuple[str, dt.date, int], tuple[float | None, float]] = {
    ("PARIS-QUAI-DE-LA-RAPEE", D2, 2): (75.0, 0.5),
    ("PARIS-QUAI-DE-LA-RAPEE", D2, 3): (75.0, 0.5),
    ("PARIS-RUE-DE-RIVOLI", D2, 19): (None, 0.4),
    ("PARIS-RUE-DE-RIVOLI", D2, 20): (None, 0.4),
    ("PARIS-BD-SOULT", D1, 11): (None, 0.5),
    ("PARIS-BD-SOULT", D1, 3): (None, 0.9),
}


def period_of_hour(hour: np.ndarray) -> np.ndarray:
    """0 day, 1 evening, 2 night for each local clock hour (bounds from the parameter register)."""
    params = register.parameters()
    day_start = params.int("noise_day_start_hour")
    evening_start = params.int("noise_evening_start_hour")
    night_start = params.int("noise_night_start_hour")
    return np.where((hour >= day_start) & (hour < evening_start), 0,
                    np.where((hour >= evening_start) & (hour < night_start), 1, 2))


def hourly(site: str, day: dt.date, rng: np.random.Generator) -> dict:
    """The ``PeriodicValues2`` document of ``site`` for the local day ``day``."""
    stamps = timeline.local_hours(day)
    hour = np.asarray(stamps.hour)
    level = np.array(PERIOD_LEVELS[site])[period_of_hour(hour)]
    if site not in CONSTANT_SITES:
        level = level + rng.normal(0, 0.8, len(hour))
    weight = np.ones(len(hour))
    for (name, when, at), (laeq, share) in PARTIAL_HOURS.items():
        if name == site and when == day:
            level[hour == at] = level[hour == at] if laeq is None else laeq
            weight[hour == at] = share
    level = np.round(level, 1)
    return {"opendata": {"H": [{"i": ts.isoformat(), "LAeq": float(v), "weight": float(w)}
                               for ts, v, w in zip(stamps, level, weight, strict=True)]}}


def site_list() -> dict:
    """The Bruitparif RUMEUR site list document (``opendata.site``) of the demo noise sites."""
    return {"opendata": {"site": [{
        "site_id": s.site_id, "site_name": s.name, "description": s.description, "latitude": s.lat,
        "longitude": s.lon, "height": s.height_m, "city": s.city, "zip_code": s.zip_code, "is_active": True,
    } for s in facts.NOISE_SITES]}}


def write(root: Path, rng: np.random.Generator) -> list[str]:
    """Write the site list and one hourly document per site and demo day under ``root``; return the paths."""
    written = [write_file(root, SITE_LIST_PATH, json_text(site_list()))]
    for site in facts.NOISE_SITES:
        for day in timeline.DEMO_DAYS:
            relative = f"bruitparif_rumeur/PeriodicValues2/{site.name}/{day.isoformat()}.json"
            written.append(write_file(root, relative, json_text(hourly(site.name, day, rng))))
    return [str(p) for p in written]


def year_days() -> list[dt.date]:
    """Local days of ``timeline.DEMO_YEAR`` other than ``timeline.DEMO_DAYS``."""
    first, last = timeline.DEMO_YEAR
    every = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    return [d for d in every if d not in timeline.DEMO_DAYS]


def write_year(root: Path, rng: np.random.Generator) -> list[str]:
    """Write one ``PeriodicValues2`` document per site and local day of ``year_days``; return the paths."""
    days = year_days()
    start = pd.Timestamp(days[0]).tz_localize(timeline.TIME_ZONE)
    end = pd.Timestamp(days[-1] + dt.timedelta(days=1)).tz_localize(timeline.TIME_ZONE)
    stamps = pd.date_range(start, end, freq="h", inclusive="left")
    local_day = np.asarray(stamps.tz_localize(None).normalize(), dtype="datetime64[D]")
    keep = np.isin(local_day, np.array(days, dtype="datetime64[D]"))
    stamps, local_day = stamps[keep], local_day[keep]
    period = period_of_hour(np.asarray(stamps.hour))
    text = [ts.isoformat() for ts in stamps]
    bounds = np.flatnonzero(np.r_[True, local_day[1:] != local_day[:-1], True])
    written = []
    for site in facts.NOISE_SITES:
        daily = rng.normal(0, 0.5, len(days))
        level = np.array(PERIOD_LEVELS[site.name])[period] + np.repeat(daily, np.diff(bounds)) \
            + rng.normal(0, 0.8, len(stamps))
        level = np.round(level, 1).tolist()
        for i, day in enumerate(days):
            a, b = bounds[i], bounds[i + 1]
            doc = {"opendata": {"H": [{"i": text[j], "LAeq": level[j], "weight": 1.0} for j in range(a, b)]}}
            relative = f"bruitparif_rumeur/PeriodicValues2/{site.name}/{day.isoformat()}.json"
            written.append(str(write_file(root, relative, json_text(doc))))
    return written
