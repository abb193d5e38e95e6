"""## Bruitparif "Rumeur" permanent noise stations, hourly LAeq

* Provider: Bruitparif (Île-de-France noise observatory), open-data JSON proxy
  `https://opendata.bruitparif.fr/data/rumeur` [R, seen in one third-party script].
* Requests (over HTTP, built by :meth:`BruitparifRumeur.url_for`):
  `SiteListByTags/json?tags=route&lang=fr&host=rumeur.bruitparif.fr` and, per site,
  `PeriodicValues2/json?site_name=<name>&from_day=D&to_day=D&calculations=LAeq&periods=H&lang=fr&host=rumeur.bruitparif.fr`.
  A local or `file://` base holds the same answers as `SiteListByTags.json` and
  `PeriodicValues2/<site>/<YYYY-MM-DD>.json` (the demo bundle and recorded samples).
* Licence: **not confirmed** for the Rumeur API; the legal notices restrict automated
  extraction. Ask Bruitparif before production use [R].
* Format: site list `{"opendata": {"site": [{"site_id", "site_name", "description",
  "latitude", "longitude", "height", "city", "zip_code", "is_active"}]}}` [R]. Hourly
  values `{"opendata": {"H": [{"i": "2026-01-15T00:00:00+01:00", "LAeq": 61.2,
  "weight": 1.0}]}}` [M: shape assumed by analogy with the yearly `periods=Y` answer;
  `periods=H` was never seen].
* Time base: `i` is the hour-beginning local time (Europe/Paris) with its UTC offset [M];
  stored as UTC. A partition is the local day D (23, 24 or 25 hours).
* Units: LAeq in dB(A); `weight` is the data-completeness fraction (0-1) [R].
* Sites followed: :data:`DEFAULT_SITES`, or the comma-separated names in
  `$SPSE_BRUITPARIF_SITES`.

`is_valid` = LAeq not NULL and weight ≥ the register's `noise_min_valid_fraction`.
Quarantined rows: timestamp unparseable or without offset, hour outside the local day
of the file, LAeq or weight not a number, LAeq a no-data sentinel or outside its plausible
range (``registers/plausibility.csv``, quantity ``LAeq``), weight outside 0-1, repeated
hour, site absent from the site list or without coordinates. The gate (:mod:`spse.pipeline.gate`)
then records a day holding fewer site-hours than expected as ``partial``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import PurePosixPath
from typing import ClassVar
from urllib.parse import urlencode

import numpy as np
import pandas as pd

from spse.core import config, register
from spse.core.columns import Column
from spse.core.errors import FeedError, SchemaError
from spse.core.timebase import DEFAULT_TIME_BASE
from spse.sources._gate import check_values
from spse.sources._parsing import RowChecks, as_records, as_text, concat_rejects, conform, load_json, numbers
from spse.sources.base import Measure, ParseResult, Partition, Source, local_day

DEFAULT_SITES = ["PARIS-PERIPHERIQUE-EST", "PARIS-BD-SOULT", "PARIS-RUE-DE-RIVOLI", "PARIS-QUAI-DE-LA-RAPEE"]
SITES_ENV = "SPSE_BRUITPARIF_SITES"
SITE_LIST = "SiteListByTags.json"
HOST = "rumeur.bruitparif.fr"
LAEQ = Measure(("laeq_dba",), quantity="LAeq", unit="dB(A)")

_VALUES_FILE = re.compile(r"^PeriodicValues2/(?P<site>[^/]+)/(?P<day>\d{4}-\d{2}-\d{2})\.json$")
_OFFSET = r"(?:Z|[+-]\d{2}:?\d{2})$"
_INT64 = (-(2**63), 2**63 - 1)


def followed_sites() -> list[str]:
    """Names of the Rumeur sites ingested: ``$SPSE_BRUITPARIF_SITES`` or :data:`DEFAULT_SITES`."""
    configured = [s.strip() for s in config.source_setting(SITES_ENV).split(",") if s.strip()]
    return configured or list(DEFAULT_SITES)


class BruitparifRumeur(Source):
    """Source ``bruitparif_rumeur``: hourly LAeq [dB(A)] of the followed Bruitparif stations."""

    name = "bruitparif_rumeur"
    dataset = "noise_hourly"
    kind = "noise"
    cadence = "daily"
    schedule = "40 6 * * *"
    refetch_days = 1
    description = "Bruitparif Rumeur stations: hourly A-weighted equivalent level LAeq (UTC hours of a local day)"
    columns: ClassVar[dict[str, Column]] = {
        "site_id": Column("VARCHAR", "", "Bruitparif site id (site list `site_id`)", nullable=False),
        "site_name": Column("VARCHAR", "", "Bruitparif site name (e.g. PARIS-BD-SOULT)", nullable=False),
        "lon": Column("DOUBLE", "° (WGS84)", "Longitude of the station", nullable=False),
        "lat": Column("DOUBLE", "° (WGS84)", "Latitude of the station", nullable=False),
        "ts_start_utc": Column("TIMESTAMPTZ", "UTC", "Start of the hour (from the local `i` with its offset)",
                               nullable=False),
        "ts_end_utc": Column("TIMESTAMPTZ", "UTC", "End of the hour, start + 1 h", nullable=False),
        "laeq_dba": Column("DOUBLE", "dB(A)", "A-weighted equivalent continuous level over the hour (LAeq,1h); "
                           "NULL when missing"),
        "coverage": Column("DOUBLE", "fraction 0-1", "Share of the hour with data (`weight`)"),
        "is_valid": Column("BOOLEAN", "", "LAeq not NULL and coverage ≥ noise_min_valid_fraction (register)",
                           nullable=False),
    }
    primary_key = ("site_id", "ts_start_utc")
    measures = (LAEQ,)
    series_key = ("site_id",)

    def day_window(self, day: dt.date):
        """A partition is the local day (23, 24 or 25 hours)."""
        return local_day(day, DEFAULT_TIME_BASE)

    def day_window_label(self, day: dt.date) -> str:
        """``<day> Europe/Paris``: a partition holds the UTC hours of the local day."""
        return f"{day.isoformat()} {DEFAULT_TIME_BASE}"

    def files(self, day: dt.date) -> list[str]:
        """The site list, then one ``PeriodicValues2`` document per followed site for local day ``day``."""
        return [SITE_LIST] + [f"PeriodicValues2/{site}/{day.isoformat()}.json" for site in followed_sites()]

    def url_for(self, base: str, relative: str) -> str:
        """The query URL of the real API over HTTP(S); the relative path for a local base."""
        if not base.startswith(("http://", "https://")):
            return super().url_for(base, relative)
        if relative == SITE_LIST:
            return f"{base.rstrip('/')}/SiteListByTags/json?" + urlencode({"tags": "route", "lang": "fr",
                                                                           "host": HOST})
        match = _VALUES_FILE.match(relative)
        if not match:
            return super().url_for(base, relative)
        day = match.group("day")
        query = {"site_name": match.group("site"), "from_day": day, "to_day": day, "calculations": "LAeq",
                 "periods": "H", "lang": "fr", "host": HOST}
        return f"{base.rstrip('/')}/PeriodicValues2/json?" + urlencode(query)

    def parse(self, payload: bytes, filename: str, partition: Partition) -> ParseResult:
        """The site list, or one site-day of hourly values (joined to the sites by :meth:`combine`)."""
        return self.parse_alone(payload, filename, partition)

    def parse_batch(self, items: list[tuple[bytes, str, Partition]]) -> list[ParseResult | FeedError]:
        """:meth:`parse` of each file: a site list read once per content, the hourly values of all files in one pass."""
        results: list[ParseResult | FeedError | None] = [None] * len(items)
        site_lists: dict[bytes, ParseResult | FeedError] = {}
        hours: list[tuple[int, list, str, dt.date]] = []
        for k, (payload, filename, _) in enumerate(items):
            try:
                opendata = self._opendata(payload, filename)
                if PurePosixPath(filename).name == SITE_LIST:
                    if payload not in site_lists:
                        site_lists[payload] = self._parse_sites(opendata, filename)
                    results[k] = site_lists[payload]
                    continue
                match = _VALUES_FILE.match(filename)
                if not match:
                    raise SchemaError(self.name, "file name is neither the site list nor "
                                      "PeriodicValues2/<site>/<day>.json", file=filename)
                if opendata and "H" not in opendata:
                    raise SchemaError(self.name, f"no hourly `H` list in `opendata` (keys {sorted(opendata)})",
                                      file=filename)
            except FeedError as exc:
                results[k] = exc
                continue
            hours.append((k, as_records(opendata.get("H")), filename, dt.date.fromisoformat(match.group("day"))))
        if hours:
            for (k, *_), result in zip(hours, self._parse_hours(hours), strict=True):
                results[k] = result
        return results

    def _opendata(self, payload: bytes, filename: str) -> dict:
        doc = load_json(payload, self.name, filename)
        opendata = doc.get("opendata") if isinstance(doc, dict) else None
        if not isinstance(opendata, dict):
            raise SchemaError(self.name, "no `opendata` object at the top level", file=filename)
        return opendata

    def _parse_sites(self, opendata: dict, filename: str) -> ParseResult:
        sites = pd.DataFrame(as_records(opendata.get("site")))
        if sites.empty:
            raise SchemaError(self.name, "the site list is empty", file=filename)
        missing = [c for c in ("site_id", "site_name", "latitude", "longitude") if c not in sites.columns]
        if missing:
            raise SchemaError(self.name, f"site records lack {missing}", file=filename)
        lon, lon_bad = numbers(sites["longitude"])
        lat, lat_bad = numbers(sites["latitude"])
        rows = np.arange(1, len(sites) + 1)
        frame = pd.DataFrame({"site_id": sites["site_id"].astype(str), "site_name": sites["site_name"].astype(str),
                              "lon": lon, "lat": lat, "_row": rows})
        checks = RowChecks(len(sites))
        checks.fail(sites["site_id"].isna() | sites["site_name"].isna(), "site without `site_id` or `site_name`")
        checks.fail(lon_bad | lat_bad | lon.isna() | lat.isna(), "site without numeric coordinates")
        raw = ([json.dumps(r, ensure_ascii=False, default=str) for r in sites.to_dict("records")]
               if checks.bad.any() else [])  # quoted by the rejects only
        return ParseResult(frame.loc[~checks.bad].reset_index(drop=True),
                           checks.rejects(self.name, filename, rows, raw))

    def _parse_hours(self, files: list[tuple[int, list, str, dt.date]]) -> list[ParseResult]:
        """Each ``(index, records, file name, local day)``'s hourly values and rejects, the records read together."""
        records = [r for _, file_records, _, _ in files for r in file_records]
        counts = [len(file_records) for _, file_records, _, _ in files]
        part = np.repeat(np.arange(len(files)), counts)
        text, laeq, laeq_bad, weight, weight_bad = _hour_fields(records)
        offset = text.str.contains(_OFFSET).to_numpy(dtype=bool)
        start = pd.to_datetime(text.where(offset, None), utc=True, errors="coerce", format="ISO8601")
        windows = [local_day(day, DEFAULT_TIME_BASE) for *_, day in files]
        first, end = (pd.DatetimeIndex([w[i] for w in windows]).tz_localize(None).to_numpy()[part] for i in (0, 1))
        utc = start.dt.tz_localize(None).to_numpy()
        in_day = (utc >= first) & (utc < end)
        days = pd.Series(np.asarray([day.isoformat() for *_, day in files], dtype=object)[part], dtype="str")
        plausible = check_values(laeq, LAEQ.quantity, LAEQ.unit)
        checks = RowChecks(len(text))
        checks.fail(~offset, lambda: "timestamp `i` without a UTC offset: " + text)
        checks.fail(start.isna(), lambda: "unparseable timestamp `i`: " + text)
        checks.fail(~in_day, lambda: "hour outside the local day " + days + " of the file: " + text)
        checks.fail(laeq_bad, "LAeq is not a number")
        checks.fail(plausible.sentinel, lambda: "LAeq is a no-data sentinel: " + as_text(laeq))
        checks.fail(plausible.outside, lambda: "LAeq outside the plausible range: " + as_text(laeq) + " dB(A)")
        checks.fail(weight_bad | (weight < 0) | (weight > 1), "weight is not a fraction in 0-1")
        threshold = register.parameters().float("noise_min_valid_fraction")
        start = start.astype("datetime64[ns, UTC]")
        names = np.asarray([filename for _, _, filename, _ in files], dtype=object)
        sites = np.asarray([_VALUES_FILE.match(filename).group("site") for _, _, filename, _ in files], dtype=object)
        frame = pd.DataFrame({
            "site_name": sites[part], "ts_start_utc": start,
            "laeq_dba": laeq, "coverage": weight,
            "is_valid": (laeq.notna() & (weight >= threshold)).astype(bool),
            "_file": names[part], "_row": np.concatenate([np.arange(1, n + 1) for n in counts]),
            "_raw": [json.dumps(r, ensure_ascii=False, default=str) for r in records],
            "ts_end_utc": start + pd.Timedelta(hours=1),
            "_part": part,
        })
        # an hour repeats within a file only: the file is part of the key
        checks.duplicated(frame, ["_part", "ts_start_utc"], "hour")
        bad = checks.bad
        kept = frame.loc[~bad].drop(columns="_part")
        bounds = np.searchsorted(part[~bad], np.arange(len(files) + 1))
        return [ParseResult(kept.iloc[bounds[i]:bounds[i + 1]].reset_index(drop=True),
                            checks.rejects(self.name, filename, frame["_row"], frame["_raw"], among=part == i))
                for i, (_, _, filename, _) in enumerate(files)]

    def combine(self, parsed: dict[str, ParseResult]) -> ParseResult:
        """Hourly values of every followed site joined to the site list's id and coordinates."""
        sites = next((r for f, r in parsed.items() if PurePosixPath(f).name == SITE_LIST), None)
        if sites is None:
            raise SchemaError(self.name, f"{SITE_LIST} is needed to place the hourly values", file=",".join(parsed))
        values = [r.frame for f, r in parsed.items() if PurePosixPath(f).name != SITE_LIST and len(r.frame)]
        rejects = [r.rejects for r in parsed.values()]
        if not values:
            return ParseResult(self.empty_frame(), concat_rejects(*rejects))
        hours = pd.concat(values, ignore_index=True)
        site_table = sites.frame.drop_duplicates("site_name")
        at = pd.Index(site_table["site_name"]).get_indexer(hours["site_name"])
        unknown = at < 0
        if unknown.any():
            lost = hours.loc[unknown]
            rejects.append(pd.DataFrame({"source": self.name, "file": lost["_file"], "row": lost["_row"],
                                         "reason": "site " + lost["site_name"] + f" is not in {SITE_LIST} "
                                         "(or has no coordinates)", "raw": lost["_raw"]}))
        placed = site_table[["site_id", "lon", "lat"]].iloc[at[~unknown]].reset_index(drop=True)
        joined = pd.concat([hours.loc[~unknown].reset_index(drop=True), placed], axis=1)
        return ParseResult(conform(joined, self.columns), concat_rejects(*rejects))


def _hour_fields(records: list) -> tuple[pd.Series, pd.Series, np.ndarray, pd.Series, np.ndarray]:
    """Per hourly record: the stripped text of ``i``, LAeq and weight as floats with masks of non-numbers.

    Records that are all objects holding printable ASCII times and JSON numbers (the usual
    answer) are read without a frame of the records; anything else goes through pandas,
    with the same results.
    """
    plain = _plain_hours(records)
    if plain is not None:
        return plain
    hours = pd.DataFrame(records).reindex(columns=["i", "LAeq", "weight"])
    text = hours["i"].astype(object).where(hours["i"].notna(), "").astype(str).str.strip()
    laeq, laeq_bad = numbers(hours["LAeq"])
    weight, weight_bad = numbers(hours["weight"])
    return text, laeq, laeq_bad, weight, weight_bad


def _plain_hours(records: list) -> tuple[pd.Series, pd.Series, np.ndarray, pd.Series, np.ndarray] | None:
    """:func:`_hour_fields` of records that need no pandas to read, else ``None``.

    Printable ASCII holds no other white space than the space, so Python's ``strip`` and
    pandas' (Arrow's) agree on it; JSON numbers (not booleans) are what pandas reads as a
    numeric column.
    """
    if not records or not all(type(r) is dict for r in records):
        return None
    times, levels, weights = [], [], []
    for r in records:
        i, level, weight = r.get("i"), r.get("LAeq"), r.get("weight")
        if i is not None and not (type(i) is str and i.isascii() and i.isprintable()):
            return None
        if any(v is not None and not (type(v) is float or (type(v) is int and _INT64[0] <= v <= _INT64[1]))
               for v in (level, weight)):
            return None
        times.append("" if i is None else i.strip(" "))
        levels.append(np.nan if level is None else level)
        weights.append(np.nan if weight is None else weight)
    laeq = pd.Series(np.array(levels, dtype="float64"))
    weight = np.array(weights, dtype="float64")
    none = np.zeros(len(records), dtype=bool)
    return pd.Series(times, dtype="str"), laeq, none, pd.Series(weight), none


SOURCE = BruitparifRumeur()
