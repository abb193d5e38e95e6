"""Hourly surfaces as gridded arrays: one CF-NetCDF file per local day.

``$SPSE_HOME/surfaces/hourly/date=YYYY-MM-DD.nc`` holds the background surface of the local
day (register ``day_time_base``, Europe/Paris by default) on the 200 m grid: ``value``
(float32, µg/m³, NaN where no background station was valid) over ``pollutant`` × ``time``
(UTC hour-beginning, 23, 24 or 25 hours) × ``cell`` (int32 index into ``grid_cells`` in the
order of the build, with the string coordinate ``cell_id``), and ``n_stations`` (int16,
stations used each hour). ``value`` is stored uncompressed: zlib (level 1 to 4, with shuffle)
made a Paris day's file 0.7 MB instead of 1.05 MB but tripled its writing time (27 ms instead of
8 ms, most of the backfill's surface files), and zstd or blosc would need filter plugins in every
reader. A year of Paris is 365 files of about 1 MB instead of 77 M long rows.

A file is written to a temporary name then renamed, so a reader sees the old day or the
new one, never half of it (:func:`spse.pipeline.lake.write_bytes_atomic` does the same for the lake).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

import pandas as pd
import xarray as xr

from spse.core.config import settings

CONVENTIONS = "CF-1.10"
# How write_day encodes the UTC hours (as xarray writes them back), which read_values decodes itself.
TIME_UNITS = "hours since 1970-01-01"


def folder() -> Path:
    """Where the hourly surface files are."""
    return settings().surfaces / "hourly"


def path(day: dt.date) -> Path:
    """The file of the local day ``day``."""
    return folder() / f"date={day.isoformat()}.nc"


def days() -> list[dt.date]:
    """The local days that have a file, in order."""
    return sorted(dt.date.fromisoformat(p.stem.removeprefix("date=")) for p in folder().glob("date=*.nc"))


def write_day(day: dt.date, surface: xr.Dataset) -> Path:
    """Write the hourly surface of ``day`` (a :func:`spse.methods.surfaces.build_surfaces_days` output sliced to it)."""
    target = path(day)
    target.parent.mkdir(parents=True, exist_ok=True)
    surface = surface.assign_attrs(
        Conventions=CONVENTIONS, title=f"spse hourly background surface, local day {day.isoformat()}",
        institution="spse", source="IDW of background stations (spse.methods.surfaces), methods.md §6.4",
        local_day=day.isoformat())
    surface["value"].attrs.update(long_name="hourly mean concentration at the cell centre", units="ug m-3")
    surface["n_stations"].attrs.update(long_name="background stations valid in the hour", units="1")
    surface["time"].attrs.update(long_name="start of the hour (hour-beginning)", standard_name="time")
    surface["cell"].attrs.update(long_name="index of the 200 m cell in grid_cells")
    surface["cell_id"].attrs.update(long_name="INSEE/INSPIRE 200 m cell id (EPSG:3035)")
    encoding = {"value": {"zlib": False, "dtype": "float32", "_FillValue": float("nan")},
                "n_stations": {"zlib": True, "dtype": "int16"},
                "time": {"units": TIME_UNITS, "calendar": "standard", "dtype": "int64"}}
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        surface.to_netcdf(tmp, engine="netcdf4", encoding=encoding)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def read_day(day: dt.date) -> xr.Dataset | None:
    """The hourly surface of ``day`` loaded in memory, or ``None`` when the day has no file."""
    target = path(day)
    if not target.exists():
        return None
    with xr.open_dataset(target, engine="netcdf4") as data:
        return data.load()


def read_values(day: dt.date) -> xr.Dataset | None:
    """The ``value`` of ``day``'s hourly surface with its coordinates (``pollutant``, ``time`` UTC, ``cell_id``).

    What the alert rules read (:class:`spse.pipeline.alerts.hourly_surface.HourlySurface`), read
    with netCDF4 and decoded here (:data:`TIME_UNITS`, as :func:`write_day` encodes them;
    ``_FillValue`` is NaN, so the float32 values need no masking): a quarter of
    :func:`read_day`'s time, which a backfill pays for every day. ``None`` when the day has no file;
    a file with other time units is read by :func:`read_day`.
    """
    import netCDF4
    import numpy as np

    target = path(day)
    if not target.exists():
        return None
    with netCDF4.Dataset(target) as data:
        data.set_auto_mask(False)
        if data["time"].units != TIME_UNITS:
            return read_day(day)
        hours = np.asarray(data["time"][:], dtype="int64")
        return xr.Dataset({"value": (("pollutant", "time", "cell"), data["value"][:])},
                          coords={"pollutant": np.asarray(data["pollutant"][:], dtype=str),
                                  "time": np.datetime64("1970-01-01T00:00:00", "ns") + hours.astype("timedelta64[h]"),
                                  "cell_id": ("cell", np.asarray(data["cell_id"][:], dtype=str))})


def read_frame(day: dt.date) -> pd.DataFrame:
    """The hourly surface of ``day`` as the long ``surface_hourly`` frame (empty when the day has no file)."""
    from spse.methods import surfaces

    data = read_day(day)
    return surfaces.hourly_frame(data) if data is not None else surfaces.hourly_frame(xr.Dataset())


def split_days(surface: xr.Dataset, local_days: list[dt.date], time_base: str) -> dict[dt.date, xr.Dataset]:
    """One dataset per local day out of a multi-day surface."""
    from spse.core.timebase import day_bounds_utc

    out = {}
    times = pd.DatetimeIndex(surface["time"].to_numpy()).tz_localize("UTC")
    for day in local_days:
        start, end = day_bounds_utc(day, time_base)
        out[day] = surface.isel(time=(times >= start) & (times < end))
    return out
