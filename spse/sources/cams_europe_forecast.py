"""## Copernicus CAMS European air-quality forecasts (ADS `cams-europe-air-quality-forecasts`)

* Provider: Copernicus Atmosphere Monitoring Service (CAMS), regional ensemble run by
  Météo-France; distributed by the ECMWF Atmosphere Data Store (ADS) [R, feeds.md §e].
* Product: the **ensemble median** of the CAMS regional models, regular 0.1° × 0.1°
  latitude/longitude grid (grid points on x.x5°), surface level (0 m), one run a day at
  00 UTC, hourly lead times 0-96 h [R]. Paris is about 4 × 3 grid points.
* Access: the 2024 ADS retrieve API (the one `cdsapi` ≥ 0.7 and `ecmwf-datastores-client`
  use): `POST {base}/retrieve/v1/processes/cams-europe-air-quality-forecasts/execution`
  with `{"inputs": <request>}` → a job whose `monitor` link is polled until `status` is
  `successful` (`accepted`/`running` meanwhile, `failed` on error), then
  `GET <monitor>/results` → `asset.value.href`, the file to download (sent without the key,
  as the reference client does). Header `PRIVATE-TOKEN: <key>`, from
  `spse.core.secrets.get("cams_ads", "key")` (`SPSE_CAMS_ADS_KEY` or the Airflow connection
  `cams_ads`, extra `key`); the account must have accepted the dataset licence (HTTP 403
  otherwise). Set `SPSE_CAMS_EUROPE_FORECAST_URL=https://ads.atmosphere.copernicus.eu/api` to
  enable this optional feed. The request (feeds.md §e): model `ensemble`, level `0`, type
  `forecast`, time `00:00`, the day's date, lead times 0-96 h, the six variables below,
  area N, W, S, E = `$SPSE_CAMS_EUROPE_FORECAST_AREA` (default `49.0,2.1,48.7,2.6`, Paris),
  `data_format` `netcdf_zip`. ADS names `sulphur_dioxide` and `carbon_monoxide` are [M].
* A local or `file://` base holds `YYYY-MM-DD/cams_europe_ensemble_forecast.nc`. A zip
  answer is landed as `YYYY-MM-DD/cams_europe_ensemble_forecast.zip`; ``parse`` reads
  every `.nc` member.
* Cadence: one 00 UTC run a day, published during the morning [M]; the ingest DAG runs at
  10:30 Europe/Paris and the lake partition `date=` is the run's (base) date.
* Licence: Copernicus licence, free use with attribution "Copernicus Atmosphere Monitoring
  Service information [year]" [M].
* Format [V, `data/cams/cams_europe_ensemble_forecast_antwerp_point_2023-10-*.nc`]:
  NetCDF (classic; NetCDF-4 is read too). Variables `no2_conc`, `o3_conc`, `pm10_conc`,
  `pm2p5_conc`, `so2_conc`, `co_conc`, float32, dims `(time, level, latitude, longitude)`,
  units `µg/m3`, `_FillValue -999`. `time` is the lead time in hours, `long_name
  "FORECAST time from YYYYMMDD"` (the 00 UTC base time; `units "hours since …"` is read
  too); `level` in m; global attribute `source "Data from ENSEMBLE model"`.
* Time base: UTC. A value is the model's hourly value at the valid time
  `ts_start_utc = base_time_utc + lead_hours`, used as the hour starting then.
* Units: µg/m³, except **CO converted to mg/m³** (file value / 1000) as everywhere in spse.
  Coordinates are float32 in the file and rounded to 1e-4° (≈ 10 m).

Quarantined values (NetCDF has no lines: `row` is the 1-based position of the value in the
file, variables in file order then time, level, latitude, longitude in C order; `raw`
names the variable, lead time, level and grid point): the fill value (`_FillValue` or
`missing_value`) or NaN, and a concentration below −`cams_negative_tolerance` (register;
values between that and 0 are read as 0).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import ClassVar
from urllib.parse import urljoin

import numpy as np
import pandas as pd

from spse.core import config, register, secrets
from spse.core.columns import Column
from spse.core.errors import FeedError, FetchError, SchemaError
from spse.core.http import Fetched, FetchPolicy, Http, join_url
from spse.sources._atmo import is_http
from spse.sources._bounded import check_netcdf, open_zip, read_member
from spse.sources._parsing import load_json, reject_non_data
from spse.sources.base import Measure, ParseResult, Partition, Source, reject_rows

log = logging.getLogger(__name__)

UPSTREAM_URL = "https://ads.atmosphere.copernicus.eu/api"
DATASET_ID = "cams-europe-air-quality-forecasts"
CONN_ID = "cams_ads"
FILE_STEM = "cams_europe_ensemble_forecast"
AREA_ENV = "SPSE_CAMS_EUROPE_FORECAST_AREA"
DEFAULT_AREA = (49.0, 2.1, 48.7, 2.6)  # N, W, S, E: Paris, feeds.md §e
MAX_LEAD_HOURS = 96
# File variable → (canonical pollutant, ADS request name, factor from the file's µg/m³ to the stored unit).
VARIABLES = {
    "no2_conc": ("NO2", "nitrogen_dioxide", 1.0),
    "o3_conc": ("O3", "ozone", 1.0),
    "pm10_conc": ("PM10", "particulate_matter_10um", 1.0),
    "pm2p5_conc": ("PM2.5", "particulate_matter_2.5um", 1.0),
    "so2_conc": ("SO2", "sulphur_dioxide", 1.0),
    "co_conc": ("CO", "carbon_monoxide", 1e-3),
}
MICROGRAM_UNITS = {"ug/m3", "ugm-3", "ug.m-3", "ugm**-3", "microg/m3"}
DIMS = ("time", "level", "latitude", "longitude")
COORD_DECIMALS = 4
# ADS job polling [s]: first wait, growth ×1.5 up to the cap, give up after the timeout.
POLL_FIRST_S = 1.0
POLL_MAX_S = 60.0
POLL_TIMEOUT_S = 3600.0
PENDING = ("accepted", "running")
_FORECAST_FROM = re.compile(r"FORECAST\s+time\s+from\s+(\d{8})(?:\s*[T ]?(\d{2}))?", re.IGNORECASE)
_HOURS_SINCE = re.compile(r"^\s*hours?\s+since\s+(.+?)\s*$", re.IGNORECASE)
_MODEL = re.compile(r"from\s+(\S+)\s+model", re.IGNORECASE)
_NETCDF_MAGIC = (b"CDF\x01", b"CDF\x02", b"CDF\x05", b"\x89HDF")
_ZIP_MAGIC = b"PK\x03\x04"


def area() -> list[float]:
    """Requested box ``[N, W, S, E]`` [° WGS84]: ``$SPSE_CAMS_EUROPE_FORECAST_AREA`` or Paris."""
    configured = config.source_setting(AREA_ENV).strip()
    if not configured:
        return list(DEFAULT_AREA)
    try:
        north, west, south, east = (float(v) for v in configured.split(","))
    except ValueError:
        raise FeedError("cams_europe_forecast", f"{AREA_ENV}={configured!r} is not 'N,W,S,E' in degrees") from None
    return [north, west, south, east]


def request_body(day: dt.date) -> dict:
    """The ADS request (feeds.md §e) for the 00 UTC ensemble run of ``day``."""
    return {
        "variable": [ads for _, ads, _ in VARIABLES.values()],
        "model": ["ensemble"],
        "level": ["0"],
        "type": ["forecast"],
        "time": ["00:00"],
        "leadtime_hour": [str(h) for h in range(MAX_LEAD_HOURS + 1)],
        "date": [f"{day.isoformat()}/{day.isoformat()}"],
        "area": area(),
        "data_format": "netcdf_zip",
    }


class CamsEuropeForecast(Source):
    """Source ``cams_europe_forecast``: CAMS European ensemble forecast of the 00 UTC run."""

    name = "cams_europe_forecast"
    dataset = "forecast_cams"
    kind = "air"
    cadence = "daily"
    schedule = "30 10 * * *"
    optional = False
    uses_previous_day = False
    backfilled = False
    description = ("CAMS European air-quality forecast, ensemble median, 0.1° grid, hourly lead times of the 00 UTC "
                   "run (NO2, O3, PM10, PM2.5, SO2, CO)")
    columns: ClassVar[dict[str, Column]] = {
        "base_time_utc": Column("TIMESTAMPTZ", "UTC", "Start of the forecast run (`time` long_name 'FORECAST time "
                                                      "from YYYYMMDD', 00 UTC)", nullable=False),
        "lead_hours": Column("INTEGER", "h", "Lead time: hours from base_time_utc to the valid time (`time`)",
                             nullable=False),
        "ts_start_utc": Column("TIMESTAMPTZ", "UTC", "Valid time, base_time_utc + lead_hours, used as the start of "
                                                     "the hour", nullable=False),
        "lon": Column("DOUBLE", "° WGS84", "Longitude of the model grid point (0.1° grid, rounded to 1e-4°)",
                      nullable=False),
        "lat": Column("DOUBLE", "° WGS84", "Latitude of the model grid point (0.1° grid, rounded to 1e-4°)",
                      nullable=False),
        "pollutant": Column("VARCHAR", "", "NO2, O3, PM10, PM2.5, SO2 or CO (from no2_conc … co_conc)",
                            nullable=False),
        "value": Column("DOUBLE", "µg/m³; CO mg/m³", "Forecast concentration at the grid point; CO converted from "
                                                      "the file's µg/m3 to mg/m³; negatives within the register's "
                                                      "cams_negative_tolerance read as 0", nullable=False),
        "model": Column("VARCHAR", "", "Model from the global attribute `source` ('Data from ENSEMBLE model' → "
                                       "ENSEMBLE, the ensemble median)", nullable=False),
        "level_m": Column("DOUBLE", "m", "Height above the surface of the model level (`level`; 0 = surface)",
                          nullable=False),
    }
    primary_key = ("model", "base_time_utc", "lead_hours", "level_m", "lat", "lon", "pollutant")
    # Values are converted to the register unit of their pollutant (CO mg/m³).
    measures = (Measure(("value",), quantity_column="pollutant"),)

    def files(self, day: dt.date) -> list[str]:
        """One NetCDF file per run, ``<day>/cams_europe_ensemble_forecast.nc``."""
        return [f"{day.isoformat()}/{FILE_STEM}.nc"]

    def auth_headers(self, base: str) -> dict[str, str]:
        """``PRIVATE-TOKEN`` from the secret ``cams_ads``/``key`` over HTTP(S); none for a local base.

        Raises :class:`FeedError` naming the source when the key is not configured.
        """
        if not is_http(base):
            return {}
        try:
            return {"PRIVATE-TOKEN": secrets.get(CONN_ID, "key").reveal()}
        except secrets.MissingSecret as exc:
            raise FeedError(self.name, str(exc)) from None

    def fetch_files(self, base: str, day: dt.date, policy: FetchPolicy, previous: dict[str, dict],
                    http: Http) -> Iterator[tuple[str, Fetched]]:
        """Local bases: the day's file. HTTP bases: one ADS job (submit, poll, download) through ``http``."""
        if not is_http(base):
            yield from super().fetch_files(base, day, policy, previous, http)
            return
        got = self.retrieve(base, day, policy, http)
        suffix = ".zip" if got.content.startswith(_ZIP_MAGIC) else ".nc"
        yield f"{day.isoformat()}/{FILE_STEM}{suffix}", got

    def retrieve(self, base: str, day: dt.date, policy: FetchPolicy, http: Http) -> Fetched:
        """Submit the day's request to the ADS retrieve API, wait for the job, download its result (through ``http``).

        Raises :class:`FetchError` naming the feed and the URL (never the key) when the key is
        refused (401), the licence is not accepted (403), the job fails or outlasts
        ``POLL_TIMEOUT_S``, or the download is shorter than announced.
        """
        submit_url = join_url(base, f"retrieve/v1/processes/{DATASET_ID}/execution")
        reply = self._json(self._call(http, submit_url, policy, method="POST", json_body={"inputs": request_body(day)}),
                           submit_url)
        job_id = str(reply.get("jobID", "?"))
        monitor = _link(reply, "monitor") or _link(reply, "self") or join_url(base, f"retrieve/v1/jobs/{job_id}")
        waited, wait = 0.0, POLL_FIRST_S
        while reply.get("status") in PENDING:
            if waited >= POLL_TIMEOUT_S:
                raise FetchError(self.name, f"ADS job {job_id} still {reply.get('status')} after {waited:.0f} s",
                                 url=monitor)
            time.sleep(wait)
            waited += wait
            wait = min(wait * 1.5, POLL_MAX_S)
            reply = self._json(self._call(http, monitor, policy), monitor)
        status = reply.get("status")
        results_url = _link(reply, "results") or join_url(monitor, "results")
        if status == "failed":
            raise FetchError(self.name, f"ADS job {job_id} failed: {self._failure(http, monitor, results_url, policy)}",
                             url=monitor)
        if status != "successful":
            raise FetchError(self.name, f"ADS job {job_id} ended with status {status!r}", url=monitor)
        results = self._json(self._call(http, results_url, policy), results_url)
        try:
            asset = results["asset"]["value"]
            href = urljoin(results_url, asset["href"])
        except (KeyError, TypeError):
            raise FetchError(self.name, "results answer has no asset.value.href", url=results_url) from None
        got = http(href, replace(policy, headers={}))
        size = asset.get("file:size")
        if size is not None and int(size) != len(got.content):
            raise FetchError(self.name, f"download of {len(got.content)} bytes, the job announced {size}", url=href)
        log.info("%s: ADS job %s downloaded (%d bytes)", self.name, job_id, len(got.content))
        return got

    def _call(self, http: Http, url: str, policy: FetchPolicy, **kwargs) -> Fetched:
        try:
            return http(url, policy, **kwargs)
        except FetchError as exc:
            hints = {401: "the ADS refused the key (HTTP 401): check SPSE_CAMS_ADS_KEY or the Airflow connection "
                          f"{CONN_ID}",
                     403: "the ADS refused the request (HTTP 403): accept the dataset licence on the ADS web site "
                          "with this account"}
            if exc.status in hints:
                raise FetchError(self.name, hints[exc.status], url=url, status=exc.status) from None
            raise

    def _json(self, got: Fetched, url: str) -> dict:
        try:
            doc = load_json(got.content, self.name, url)
        except SchemaError as exc:
            raise FetchError(self.name, f"answer is not usable JSON: {exc.problem}", url=url) from None
        if not isinstance(doc, dict):
            raise FetchError(self.name, f"answer is a JSON {type(doc).__name__}, expected an object", url=url)
        return doc

    def _failure(self, http: Http, monitor: str, results_url: str, policy: FetchPolicy) -> str:
        """Why the ADS says a job failed: ``title``/``detail`` of its results, else the job's log."""
        details = []
        for url in (results_url, f"{monitor}?log=true"):
            try:
                doc = self._json(http(url, policy), url)
            except FetchError:
                continue
            details += [str(doc[k]) for k in ("title", "detail") if doc.get(k)]
            details += [str(entry[-1]) for entry in (doc.get("metadata") or {}).get("log") or []
                        if isinstance(entry, list | tuple) and entry]
        return " | ".join(details)[:500] or "the ADS gave no error detail"

    def parse(self, payload: bytes, filename: str, partition: Partition) -> ParseResult:
        """Long rows (grid point × lead time × pollutant) of one NetCDF file or zip of them."""
        reject_non_data(payload, self.name, filename, "NetCDF")
        if payload.startswith(_ZIP_MAGIC):
            members = _zip_members(payload, self.name, filename)
        else:
            members = [("", payload)]
        frames, rejects, offset = [], [], 0
        for member, content in members:
            frame, bad, n_values = self._parse_netcdf(content, filename, member, offset)
            frames.append(frame)
            rejects.append(bad)
            offset += n_values
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        return ParseResult(frame.reset_index(drop=True), pd.concat(rejects, ignore_index=True))

    def _parse_netcdf(self, content: bytes, filename: str, member: str,
                      offset: int) -> tuple[pd.DataFrame, pd.DataFrame, int]:
        where = f"{filename}!{member}" if member else filename
        ds = open_netcdf(content, self.name, where)
        try:
            base_time = base_time_utc(ds, self.name, where)
            model = model_name(ds)
            found = [v for v in ds.data_vars if v in VARIABLES]
            if not found:
                raise SchemaError(self.name, f"none of the variables {sorted(VARIABLES)} in the file "
                                             f"(found {sorted(ds.data_vars)})", file=where)
            parts = [self._variable_rows(ds, var, where) for var in found]
        finally:
            ds.close()
        long = pd.concat(parts, ignore_index=True)
        long["row"] = offset + np.arange(1, len(long) + 1)
        tolerance = register.parameters().float("cams_negative_tolerance")
        reason = np.full(len(long), None, dtype=object)
        missing = long["is_fill"].to_numpy()
        reason[missing] = "missing value (fill value or NaN)"
        negative = ~missing & (long["file_value"].to_numpy() < -tolerance)
        reason[negative] = ("negative concentration below −" + f"{tolerance:g}" + " µg/m³ (register "
                            "cams_negative_tolerance)")
        bad = pd.notna(reason)
        quoted = long.loc[bad]  # the raw text of a value is written for the rejected ones only
        raw = (quoted["variable"] + "[time=" + quoted["lead"].map("{:g} h".format) + ", level="
               + quoted["level"].map("{:g} m".format) + ", latitude=" + quoted["lat"].map("{:g}".format)
               + ", longitude=" + quoted["lon"].map("{:g}".format) + "] = "
               + quoted["file_value"].map("{:g}".format))
        if member:
            raw = member + ": " + raw
        rejects = reject_rows(self.name, filename, quoted["row"].tolist(), reason[bad].tolist(), raw.tolist())
        good = long.loc[~bad].reset_index(drop=True)
        lead = good["lead"].to_numpy()
        factor = good["variable"].map({v: f for v, (_, _, f) in VARIABLES.items()}).to_numpy(dtype=float)
        frame = pd.DataFrame({
            "base_time_utc": pd.Series(base_time, index=good.index, dtype="datetime64[ns, UTC]"),
            "lead_hours": lead.astype(np.int32),
            "ts_start_utc": base_time + pd.to_timedelta(lead, unit="h"),
            "lon": good["lon"].to_numpy(dtype=float),
            "lat": good["lat"].to_numpy(dtype=float),
            "pollutant": good["variable"].map({v: p for v, (p, _, _) in VARIABLES.items()}).astype(object),
            "value": np.maximum(good["file_value"].to_numpy(dtype=float), 0.0) * factor,
            "model": np.full(len(good), model, dtype=object),
            "level_m": good["level"].to_numpy(dtype=float),
        })
        frame["ts_start_utc"] = frame["ts_start_utc"].astype("datetime64[ns, UTC]")
        return frame[list(self.columns)], rejects, len(long)

    def _variable_rows(self, ds, var: str, where: str) -> pd.DataFrame:
        """One row per value of ``var``: variable, coordinates, file value [µg/m³] and fill flag."""
        da = ds[var]
        if set(da.dims) != set(DIMS):
            raise SchemaError(self.name, f"variable {var} has dims {da.dims}, expected {DIMS}", file=where)
        unit = str(da.attrs.get("units", ""))
        if _unit_key(unit) not in MICROGRAM_UNITS:
            raise SchemaError(self.name, f"variable {var} has units {unit!r}, expected µg/m3", file=where)
        da = da.transpose(*DIMS)
        values = np.asarray(da.values, dtype=float)
        fills = [float(np.asarray(da.attrs[k]).ravel()[0]) for k in ("_FillValue", "missing_value") if k in da.attrs]
        is_fill = np.isnan(values) | np.isin(values, fills)
        values = values * float(da.attrs.get("scale_factor", 1.0)) + float(da.attrs.get("add_offset", 0.0))
        lead = lead_hours(ds, self.name, where)
        level = np.asarray(ds["level"].values, dtype=float)
        lat = np.round(np.asarray(ds["latitude"].values, dtype=float), COORD_DECIMALS)
        lon = np.round(np.asarray(ds["longitude"].values, dtype=float), COORD_DECIMALS)
        lon = np.where(lon > 180.0, lon - 360.0, lon)
        grids = np.meshgrid(lead, level, lat, lon, indexing="ij")
        return pd.DataFrame({
            "variable": pd.Series(np.full(values.size, var, dtype=object), dtype=object),
            "lead": grids[0].ravel(), "level": grids[1].ravel(), "lat": grids[2].ravel(), "lon": grids[3].ravel(),
            "file_value": values.ravel(), "is_fill": is_fill.ravel(),
        })


def _link(doc: dict, rel: str) -> str | None:
    links = [link.get("href") for link in doc.get("links") or [] if isinstance(link, dict) and link.get("rel") == rel]
    return links[0] if len(links) == 1 and links[0] else None


def _unit_key(unit: str) -> str:
    return re.sub(r"\s+", "", unit.replace("µ", "u").replace("μ", "u")).lower()


def _zip_members(payload: bytes, feed: str, filename: str) -> list[tuple[str, bytes]]:
    """The ``.nc`` members of a zip answer, each decompressed under the register's caps."""
    with open_zip(payload, feed, filename) as archive:
        names = sorted(n for n in archive.namelist() if n.lower().endswith(".nc"))
        if not names:
            raise SchemaError(feed, f"zip without a .nc member (holds {archive.namelist()})", file=filename)
        return [(name, read_member(archive, name, feed, filename)) for name in names]


def open_netcdf(content: bytes, feed: str, where: str):
    """An ``xarray.Dataset`` over NetCDF bytes (classic or NetCDF-4), values as stored (no masking).

    Refused before any value is loaded when its variables hold more values than the
    register's ``max_decoded_values`` (:func:`spse.sources._bounded.check_netcdf`).
    """
    import netCDF4
    import xarray as xr

    if not content.startswith(_NETCDF_MAGIC):
        raise SchemaError(feed, f"not a NetCDF file (starts {content[:16]!r})", file=where)
    try:
        handle = netCDF4.Dataset("cams.nc", mode="r", memory=content)
    except OSError as exc:
        raise SchemaError(feed, f"unreadable NetCDF ({exc})", file=where) from None
    try:
        check_netcdf(handle, feed, where)
    except SchemaError:
        handle.close()
        raise
    store = xr.backends.NetCDF4DataStore(handle)
    return xr.open_dataset(store, decode_times=False, decode_timedelta=False, mask_and_scale=False)


def base_time_utc(ds, feed: str, where: str) -> pd.Timestamp:
    """Start of the run: ``time`` long_name 'FORECAST time from YYYYMMDD' or units 'hours since …'."""
    if "time" not in ds.variables:
        raise SchemaError(feed, "no `time` variable", file=where)
    attrs = ds["time"].attrs
    match = _FORECAST_FROM.search(str(attrs.get("long_name", "")))
    if match:
        base = pd.Timestamp(dt.datetime.strptime(match.group(1) + "+0000", "%Y%m%d%z"))
        return base + pd.Timedelta(hours=int(match.group(2) or 0))
    since = _HOURS_SINCE.match(str(attrs.get("units", "")))
    if since:
        try:
            stamp = pd.Timestamp(since.group(1))
        except ValueError:
            stamp = None
        if stamp is not None and not pd.isna(stamp):
            return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    raise SchemaError(feed, f"`time` gives no forecast base time (long_name {attrs.get('long_name')!r}, "
                            f"units {attrs.get('units')!r})", file=where)


def lead_hours(ds, feed: str, where: str) -> np.ndarray:
    """Lead times [h] of ``time``; they must be whole hours."""
    unit = str(ds["time"].attrs.get("units", "hours")).strip().lower()
    if not unit.startswith("hour"):
        raise SchemaError(feed, f"`time` units {unit!r}, expected hours", file=where)
    lead = np.asarray(ds["time"].values, dtype=float)
    if np.isnan(lead).any() or (lead != np.round(lead)).any():
        raise SchemaError(feed, f"`time` has lead times that are not whole hours: {lead.tolist()[:10]}", file=where)
    return lead


def model_name(ds) -> str:
    """'ENSEMBLE' from ``source = "Data from ENSEMBLE model"`` (else ``history``, else the raw text)."""
    for attribute in ("source", "history"):
        text = str(ds.attrs.get(attribute, ""))
        match = _MODEL.search(text) or re.search(r"Model\s+(\S+)", text)
        if match:
            return match.group(1).upper()
    return str(ds.attrs.get("source", "unknown")).strip() or "unknown"


SOURCE = CamsEuropeForecast()
