"""Writing a CAMS-like NetCDF file in the layout of the real ADS files.

Layout of the real samples (ECMWF/Météo-France ensemble, see
``spse.sources.cams_europe_forecast``): NetCDF-3 classic; dimensions longitude, latitude,
level, time (unlimited); float32 coordinates ``time`` (hours, long_name "FORECAST time from
YYYYMMDD"), ``level`` (m), ``latitude``, ``longitude``; float32 variables co_conc … so2_conc
with dims (time, level, latitude, longitude), ``_FillValue`` -999, units "µg/m3"; global
attributes title, institution, source, history, FORECAST, summary, project. Used by the
demo bundle and by the tests' fixture generator.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

VARIABLES = {  # file variable → (species, CF standard name), in the order of the real files
    "co_conc": ("Carbon Monoxide", "mass_concentration_of_carbon_monoxide_in_air"),
    "no2_conc": ("Nitrogen Dioxide", "mass_concentration_of_nitrogen_dioxide_in_air"),
    "o3_conc": ("Ozone", "mass_concentration_of_ozone_in_air"),
    "pm10_conc": ("PM10 Aerosol", "mass_concentration_of_pm10_ambient_aerosol_in_air"),
    "pm2p5_conc": ("PM2.5 Aerosol", "mass_concentration_of_pm2p5_ambient_aerosol_in_air"),
    "so2_conc": ("Sulphur Dioxide", "mass_concentration_of_sulfur_dioxide_in_air"),
}
FILL = -999.0


def write_forecast(path: Path, base: dt.date, leads, lats, lons, values: dict[str, np.ndarray],
                   source: str = "Data from ENSEMBLE model") -> Path:
    """Write one CAMS-like NetCDF-3 classic file; ``values`` are (time, level, lat, lon) [µg/m3]."""
    import netCDF4

    stamp = base.strftime("%Y%m%d")
    last = int(max(leads))
    path.parent.mkdir(parents=True, exist_ok=True)
    with netCDF4.Dataset(path, "w", format="NETCDF3_CLASSIC") as nc:
        nc.setncatts({
            "title": "CO/NO2/O3/PM10/PM25/SO2 Air Pollutant FORECAST at the Surface",
            "institution": "Data produced by Meteo France",
            "source": source,
            "history": f"Model {source.split()[2] if len(source.split()) > 2 else 'ENSEMBLE'} FORECAST",
            "FORECAST": f"Europe, {stamp}+[0H_{last}H]",
            "summary": f"ENSEMBLE model hourly FORECAST of CO/NO2/O3/PM10/PM25/SO2 concentration at the Surface "
                       f"from {stamp}+[0H_{last}H] on Europe",
            "project": "MACC-RAQ (http://macc-raq.gmes-atmosphere.eu)",
        })
        nc.createDimension("longitude", len(lons))
        nc.createDimension("latitude", len(lats))
        nc.createDimension("level", 1)
        nc.createDimension("time", None)
        for name, dims, data, attrs in (
            ("longitude", ("longitude",), lons, {"long_name": "longitude", "units": "degrees_east"}),
            ("latitude", ("latitude",), lats, {"long_name": "latitude", "units": "degrees_north"}),
            ("level", ("level",), [0.0], {"long_name": "level", "units": "m"}),
            ("time", ("time",), leads, {"long_name": f"FORECAST time from {stamp}", "units": "hours"}),
        ):
            var = nc.createVariable(name, "f4", dims)
            var.setncatts(attrs)
            var[:] = np.asarray(data, dtype=np.float32)
        for name, (species, standard_name) in VARIABLES.items():
            if name not in values:
                continue
            var = nc.createVariable(name, "f4", ("time", "level", "latitude", "longitude"), fill_value=FILL)
            var.setncatts({"species": species, "units": "µg/m3", "value": "hourly values",
                           "standard_name": standard_name})
            var.set_auto_maskandscale(False)
            var[:] = np.asarray(values[name], dtype=np.float32)
    return path
