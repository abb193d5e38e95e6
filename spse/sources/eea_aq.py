"""## EEA Air Quality Download Service: hourly E2a/E1a values as Parquet (`ParquetFile/urls`)

* Provider: European Environment Agency, from the data the AASQA report through LCSQA.
* Endpoint: `POST https://eeadmz1-downloads-api-appservice.azurewebsites.net/ParquetFile/urls`
  with the JSON body of feeds.md §d (countries, cities, pollutants, dataset,
  dateTimeStart/End of the UTC day, aggregationType `hour`) answers a CSV list
  (`ParquetFileUrl`) of blob URLs, one Parquet file per sampling point [V]; each is then
  fetched with GET (conditional when the ingest passes its last ETag in ``previous``). No
  authentication. Settings (read at run time): `$SPSE_EEA_AQ_DATASET` (1 = E2a up-to-date,
  unverified, the default; 2 = E1a verified), `$SPSE_EEA_AQ_COUNTRIES` (`FR`),
  `$SPSE_EEA_AQ_CITIES` (`;`-separated, `Paris (greater city)` [R]),
  `$SPSE_EEA_AQ_POLLUTANTS` (`NO2,PM10,PM2.5,O3,SO2`).
  Set `SPSE_EEA_AQ_URL=https://eeadmz1-downloads-api-appservice.azurewebsites.net` to enable
  this optional feed. A recorded folder holds `parquet_urls/YYYY-MM-DD.csv` (the list as
  received) and each listed file as `parquet/YYYY-MM-DD/<country>/<file>.parquet`.
* Licence: EEA reuse policy, CC BY 4.0 [M].
* Parquet columns [R, no real file seen]: `Samplingpoint` (`FR/SPO-FR04024_6001`, the
  station code `FR04024` inside), `Pollutant` (1 SO2, 5 PM10, 7 O3, 8 NO2, 9 NOX as NO2,
  10 CO, 38 NO, 6001 PM2.5), `Start`, `End`, `Value` (-999/-9999/NaN missing), `Unit`
  (`ug.m-3`, `mg.m-3`), `AggType`, `Validity` (1 valid, 2/3 valid below detection limit,
  -1 invalid, -99 maintenance) [M], `Verification` (1 verified, 2 preliminary, 3 not
  verified) [M], `ResultTime`, `DataCapture`, `FkObservationLog` (the last three not kept).
* Time base: `Start`/`End` are naive; their offset from UTC is the register parameter
  `eea_timestamp_offset` (default `+01:00`, status U: the EEA metadata give `UTC+01` for
  French stations but nobody has compared a Paris file with E2). A file may cover more than
  the requested day [M]: only the hours starting in the partition's UTC day are kept
  (:meth:`EeaAq.day_window`, as E2), the others are not errors.
* Units: stored in µg/m³, CO in mg/m³ (converted when the file uses the other one).
* Dataset: a producer of the canonical `air_hourly` (E2's columns), after `lcsqa_e2` in
  `[datasets.air_hourly]` of the registry: a station-hour both report is E2's, the EEA row
  is kept for comparison (`marts.air_hourly_overlaps`); the EEA rows count where E2 has no
  row (a station or an hour E2 lacks, a day E2 failed). The series is named by the sampling
  point: `discriminant` = `Samplingpoint` as written, `procedure` = `EEA` (the files give no
  procedure). `quality_code` and `is_regulatory` are NULL.
* Station metadata: the Parquet has none. Name, organisation, ZAS, setting and influence come
  from the crosswalk `crosswalks/eea_aq_stations.csv` (EU station code → E2's station
  columns, :func:`station_metadata`; its rows are the 13 Paris stations of Airparif's E2
  files of 2024-08-05 and 2024-09-02, `code site`, `nom site`, `Organisme`, `code zas`,
  `type d'implantation`, `type d'influence`), the class from the influence as E2 reads it
  (`lcsqa_e2.STATION_CLASSES`); a station the crosswalk lacks keeps its rows with NULL
  metadata and class (not interpolated as a background station). Positions are
  the `air_stations` rows of `lcsqa_stations` (the same EU codes); the EEA files give none,
  so this source writes no `air_stations` rows.

Quarantined rows: unknown pollutant code or unit, non-hourly aggregation, unreadable
`Start`/`End` or End ≠ Start + 1 h, non-numeric value or validity, a value outside the
physical range of its unit, a repeated (sampling point, start).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import ClassVar
from urllib.parse import urlparse

import numpy as np
import pandas as pd

from spse.core import config, register
from spse.core.columns import Column
from spse.core.errors import SchemaError
from spse.core.http import Fetched, FetchPolicy, Http, join_url
from spse.sources._atmo import is_http
from spse.sources._bounded import check_parquet
from spse.sources._gate import value_reasons
from spse.sources._parsing import RowChecks, decode_text, numbers, reject_non_data, resolve_columns
from spse.sources.base import Measure, ParseResult, Partition, Source, read_crosswalk, utc_day
from spse.sources.lcsqa_e2 import SOURCE as E2
from spse.sources.lcsqa_e2 import STATION_CLASSES

UPSTREAM_URL = "https://eeadmz1-downloads-api-appservice.azurewebsites.net"
URLS_ENDPOINT = "ParquetFile/urls"
URLS_FOLDER = "parquet_urls"
PARQUET_FOLDER = "parquet"
URLS_HEADER = "ParquetFileUrl"
OFFSET_PARAMETER = "eea_timestamp_offset"

POLLUTANT_CODES = {1: "SO2", 5: "PM10", 7: "O3", 8: "NO2", 9: "NOX", 10: "CO", 38: "NO", 6001: "PM2.5"}
UNITS = {"ug.m-3": "µg/m³", "µg.m-3": "µg/m³", "ug/m3": "µg/m³", "µg/m3": "µg/m³", "µg/m³": "µg/m³",
         "mg.m-3": "mg/m³", "mg/m3": "mg/m³", "mg/m³": "mg/m³"}
MG_POLLUTANTS = ("CO",)
TO_TARGET = {("µg/m³", "µg/m³"): 1.0, ("mg/m³", "mg/m³"): 1.0, ("mg/m³", "µg/m³"): 1000.0, ("µg/m³", "mg/m³"): 0.001}
MISSING_VALUES = (-999.0, -9999.0)
VALID_CODES = (1, 2, 3)
VERIFIED = 1
HOURLY = "hour"
WANTED = ("Samplingpoint", "Pollutant", "Start", "End", "Value", "Unit", "AggType", "Validity", "Verification")
STATION_META = ("station_name", "organisation", "zas_code", "area_type", "influence", "station_class")
PROCEDURE = "EEA"
_STATION_IN_POINT = re.compile(r"^(?:[A-Z]{2}/)?SPO[-_.]?(?P<station>[A-Z]{2}\d{3,})(?:_|$)")
_OFFSET = re.compile(r"^(?P<sign>[+-])(?P<h>\d{2}):?(?P<m>\d{2})$")

def settings() -> dict[str, object]:
    """The request settings, from ``$SPSE_EEA_AQ_*`` or their defaults."""
    def listed(name: str, default: str, sep: str = ",") -> list[str]:
        return [v.strip() for v in config.source_setting(name, default).split(sep) if v.strip()]

    return {"countries": listed("SPSE_EEA_AQ_COUNTRIES", "FR"),
            "cities": listed("SPSE_EEA_AQ_CITIES", "Paris (greater city)", ";"),
            "pollutants": listed("SPSE_EEA_AQ_POLLUTANTS", "NO2,PM10,PM2.5,O3,SO2"),
            "dataset": int(config.source_setting("SPSE_EEA_AQ_DATASET", "1"))}


def timestamp_offset() -> dt.timezone:
    """The fixed offset of the naive Parquet timestamps (register ``eea_timestamp_offset``)."""
    text = register.parameters().text(OFFSET_PARAMETER).strip()
    if text.upper() in ("Z", "UTC"):
        return dt.UTC
    match = _OFFSET.match(text)
    if not match:
        raise ValueError(f"register parameter {OFFSET_PARAMETER} = {text!r} is not an offset like +01:00")
    minutes = int(match["h"]) * 60 + int(match["m"])
    return dt.timezone(dt.timedelta(minutes=-minutes if match["sign"] == "-" else minutes))


def station_ids(sampling_points: pd.Series) -> pd.Series:
    """EU station code inside each sampling point id (``FR/SPO-FR04024_6001`` → ``FR04024``).

    A sampling point of another shape keeps its id without the country prefix.
    """
    found = sampling_points.str.extract(_STATION_IN_POINT)["station"]
    return found.fillna(sampling_points.str.replace(r"^[A-Z]{2}/", "", regex=True))


class EeaAq(Source):
    """Source ``eea_aq``: EEA hourly values of the Paris stations, E2a or E1a, as Parquet."""

    name = "eea_aq"
    dataset = "air_hourly"
    kind = "air"
    cadence = "daily"
    schedule = "0 7 * * *"
    refetch_days = 2
    optional = True
    description = "EEA Air Quality Download Service hourly values (E2a up-to-date or E1a verified), Paris"
    columns: ClassVar[dict[str, Column]] = E2.columns
    primary_key = E2.primary_key
    measures = (Measure(("value", "value_raw"), quantity_column="pollutant", unit_column="unit"),)

    def day_window(self, day: dt.date):
        """A partition holds the hours starting on ``day``, UTC (as E2's)."""
        return utc_day(day)

    def day_window_label(self, day: dt.date) -> str:
        """``<day> UTC``."""
        return f"{day.isoformat()} UTC"

    def files(self, day: dt.date) -> list[str]:
        """The list of Parquet URLs for ``day`` (the Parquet files follow from it)."""
        return [f"{URLS_FOLDER}/{day.isoformat()}.csv"]

    def request_body(self, day: dt.date) -> dict[str, object]:
        """JSON body of ``POST ParquetFile/urls`` for the UTC day ``day`` (feeds.md §d)."""
        return {**settings(), "dateTimeStart": f"{day.isoformat()}T00:00:00Z",
                "dateTimeEnd": f"{(day + dt.timedelta(days=1)).isoformat()}T00:00:00Z",
                "aggregationType": HOURLY, "email": "", "source": "API"}

    def fetch_files(self, base: str, day: dt.date, policy: FetchPolicy, previous: dict[str, dict],
                    http: Http) -> Iterator[tuple[str, Fetched]]:
        """POST for the list of Parquet URLs, then GET each listed file."""
        listing_name = self.files(day)[0]
        if is_http(base):
            listing = http(join_url(base, URLS_ENDPOINT), policy, method="POST", json_body=self.request_body(day))
        else:
            listing = http(join_url(base, listing_name), policy)
        yield listing_name, listing
        for url in parquet_urls(listing.content, self.name, listing_name):
            relative = parquet_name(url, day)
            last = previous.get(relative) or {}
            conditional = {k: v for k, v in (("If-None-Match", last.get("etag")),
                                             ("If-Modified-Since", last.get("last_modified"))) if v}
            target = url if is_http(base) else join_url(base, relative)
            yield relative, http(target, replace(policy, headers={**policy.headers, **conditional}))

    def parse(self, payload: bytes, filename: str, partition: Partition) -> ParseResult:
        """Hourly rows of ``partition``'s UTC day in one Parquet file (``air_hourly``); the URL list gives none."""
        if filename.startswith(URLS_FOLDER + "/"):
            parquet_urls(payload, self.name, filename)
            return ParseResult(self.empty_frame())
        table = read_parquet(payload, self.name, filename)
        col = resolve_columns(list(table.columns), {c: (c,) for c in WANTED}, WANTED, self.name, filename)
        offset = timestamp_offset()
        start = _instants(table[col["Start"]], offset)
        end = _instants(table[col["End"]], offset)
        keep = (start.isna() | partition.holds(start)).to_numpy()
        table, start, end = table.loc[keep], start[keep], end[keep]
        rows = table.index.to_numpy() + 1
        f = table.reset_index(drop=True)
        start, end = start.reset_index(drop=True), end.reset_index(drop=True)
        checks = RowChecks(len(f))
        point = f[col["Samplingpoint"]].astype(str).str.strip()
        checks.fail(f[col["Samplingpoint"]].isna() | (point == ""), "empty `Samplingpoint`")
        code = pd.to_numeric(f[col["Pollutant"]].astype(str).str.extract(r"(\d+)\s*$")[0], errors="coerce")
        pollutant = code.map(POLLUTANT_CODES)
        checks.fail(pollutant.isna(), "unknown `Pollutant` code: " + f[col["Pollutant"]].astype(str))
        aggregation = f[col["AggType"]].astype(str).str.strip().str.casefold()
        checks.fail(aggregation != HOURLY, "`AggType` is not hourly: " + f[col["AggType"]].astype(str))
        checks.fail(start.isna(), "unreadable `Start`: " + f[col["Start"]].astype(str))
        checks.fail(end.isna(), "unreadable `End`: " + f[col["End"]].astype(str))
        checks.fail((end - start) != pd.Timedelta(hours=1), "`End` is not `Start` + 1 h")
        unit_in = f[col["Unit"]].astype(str).str.strip().map(UNITS)
        checks.fail(unit_in.isna(), "unknown `Unit`: " + f[col["Unit"]].astype(str))
        unit = pd.Series(np.where(pollutant.isin(MG_POLLUTANTS), "mg/m³", "µg/m³"), dtype=object)
        factor = pd.Series(list(zip(unit_in, unit, strict=True)), dtype=object).map(TO_TARGET).astype(float)
        value_in, value_bad = numbers(f[col["Value"]])
        checks.fail(value_bad, "`Value` is not a number: " + f[col["Value"]].astype(str))
        value_raw = value_in.where(~value_in.isin(MISSING_VALUES)) * factor
        why = value_reasons("Value", value_raw, pollutant, unit)
        checks.fail(pd.notna(why), why)
        validity, validity_bad = numbers(f[col["Validity"]])
        checks.fail(validity_bad | (validity % 1 != 0), "`Validity` is not an integer: "
                    + f[col["Validity"]].astype(str))
        verification, verification_bad = numbers(f[col["Verification"]])
        checks.fail(verification_bad | (verification % 1 != 0), "`Verification` is not an integer: "
                    + f[col["Verification"]].astype(str))
        is_valid = (validity.isin(VALID_CODES) & value_raw.notna()).to_numpy(dtype=bool)
        station = station_ids(point)
        meta = station_metadata().reindex(station.to_numpy())
        out = pd.DataFrame({
            "station_id": station.astype(object),
            **{name: meta[name].set_axis(f.index) for name in STATION_META},
            "pollutant": pollutant.astype(object),
            "discriminant": point.astype(object),
            "procedure": PROCEDURE,
            "is_regulatory": pd.Series(pd.NA, index=f.index, dtype="boolean"),
            "ts_start_utc": start,
            "ts_end_utc": end,
            "value": value_raw.where(is_valid),
            "value_raw": value_raw,
            "unit": unit,
            "value_type": np.where(verification == VERIFIED, "validated", "raw").astype(object),
            "quality_code": _no_text(f.index),
            "validity": validity.round().astype("Int64"),
            "is_valid": is_valid,
            "source_file": filename,
            "source_row": rows.astype("int64"),
        })
        checks.duplicated(out, list(self.primary_key), "key (sampling point, start)")
        raw = pd.Series("", index=f.index, dtype=object)
        if checks.bad.any():
            raw[checks.bad] = f.loc[checks.bad].to_json(orient="records", lines=True, date_format="iso").splitlines()
        rejects = checks.rejects(self.name, filename, rows, raw)
        return ParseResult(out.loc[~checks.bad].reset_index(drop=True), rejects)


def parquet_urls(payload: bytes, feed: str, filename: str) -> list[str]:
    """URLs of the answer of ``POST ParquetFile/urls`` (a one-column CSV headed ``ParquetFileUrl``)."""
    lines = [line.strip().strip('"') for line in decode_text(payload, feed, filename, "CSV").splitlines()]
    lines = [line for line in lines if line]
    if lines[0].casefold() != URLS_HEADER.casefold():
        raise SchemaError(feed, f"expected the header {URLS_HEADER!r}, found {lines[0][:80]!r}", file=filename,
                          row=1)
    return lines[1:]


def parquet_name(url: str, day: dt.date) -> str:
    """Relative name of a listed Parquet file: ``parquet/<day>/<country folder>/<file>``."""
    parts = [p for p in urlparse(url).path.split("/") if p not in ("", ".", "..")]
    return "/".join([PARQUET_FOLDER, day.isoformat(), *parts[-2:]])


def read_parquet(payload: bytes, feed: str, filename: str) -> pd.DataFrame:
    """The table of a Parquet payload, bounded in size.

    :class:`SchemaError` when the bytes are not Parquet, or when its footer announces more
    cells or bytes than the register allows (:func:`check_parquet`).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    reject_non_data(payload, feed, filename, "Parquet")
    check_parquet(payload, feed, filename)
    try:
        return pq.read_table(io.BytesIO(payload)).to_pandas()
    except (pa.ArrowException, OSError) as exc:
        raise SchemaError(feed, f"not a readable Parquet file ({exc.__class__.__name__})", file=filename) from None


def station_metadata() -> pd.DataFrame:
    """E2's station columns of the EU station codes of ``crosswalks/eea_aq_stations.csv``, by ``station_id``.

    ``station_class`` follows from ``influence`` as in :mod:`spse.sources.lcsqa_e2` (NULL
    when the influence is not one E2 classes).
    """
    listed = read_crosswalk("eea_aq", "stations").set_index("station_id")
    out = listed.reindex(columns=[c for c in STATION_META if c != "station_class"])
    out["station_class"] = listed["influence"].str.casefold().map(STATION_CLASSES)
    return out.astype("str")


def _no_text(index: pd.Index) -> pd.Series:
    """An all-NULL text column that Parquet still types as a string (not as NULL/INTEGER)."""
    return pd.Series(None, index=index, dtype="str")


def _instants(values: pd.Series, offset: dt.tzinfo) -> pd.Series:
    """UTC instants of naive local timestamps at ``offset`` (aware ones are only converted)."""
    if not pd.api.types.is_datetime64_any_dtype(values):
        values = pd.to_datetime(values.astype(str), format="ISO8601", errors="coerce")
    if getattr(values.dt, "tz", None) is None:
        values = values.dt.tz_localize(offset)
    return values.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")


SOURCE = EeaAq()
