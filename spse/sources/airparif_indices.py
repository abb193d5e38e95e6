"""## Airparif API: forecast ATMO classes per commune, D and D+1 (`indices/prevision/commune`)

* Provider: Airparif (AASQA of Île-de-France).
* Endpoint: `GET https://api.airparif.fr/indices/prevision/commune?insee=<codes>` (also
  `api.airparif.asso.fr`) [R for the endpoint, V for the answer]. One request per day with
  the configured codes joined by commas (default the 20 arrondissements 75101–75120;
  `$SPSE_AIRPARIF_INDICES_INSEE` takes another comma-separated list). Single codes are
  verified [V]; a comma-separated list is assumed from the answer being keyed by code [R].
  Set `SPSE_AIRPARIF_INDICES_URL=https://api.airparif.fr` to enable this optional feed; a
  folder laid out as `indices_prevision_commune/YYYY-MM-DD.json` works too.
* Auth: header `X-Api-Key`, from `spse.core.secrets.get("airparif", "api_key")`
  (`SPSE_AIRPARIF_API_KEY` or the Airflow connection `airparif`, extra `api_key`); a key is
  free by form on airparif.fr. Sent only to http(s) bases, never logged.
* Licence: ODbL / attribution "Airparif" [M].
* Format: JSON `{"75104": [{"date", "no2", "o3", "pm10", "pm25", "so2", "indice"}, …]}` [V];
  the values are ATMO class labels (`Bon`, `Moyen`, `Dégradé`, `Mauvais`, `Très Mauvais`,
  `Extrêmement Mauvais`), matched without regard to case or accents.
* Time base: `date` is a local calendar day (Europe/Paris). The answer usually covers D and
  D+1; early in the day it holds only D [V], which is a valid answer.

Quarantined rows (one per commune × day × pollutant; `row` = 1-based record number in the
file): a missing or unknown label, an unreadable date, an entry that is not a record.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import ClassVar

import numpy as np
import pandas as pd

from spse.core import config, secrets
from spse.core.columns import Column
from spse.core.errors import FeedError, SchemaError
from spse.core.http import join_url
from spse.sources._atmo import ascii_upper, day_of, is_http
from spse.sources._parsing import RowChecks, load_json
from spse.sources.base import ParseResult, Partition, Source, reject_rows

CONN_ID = "airparif"
UPSTREAM_URL = "https://api.airparif.fr"
ENDPOINT = "indices/prevision/commune"
FOLDER = "indices_prevision_commune"
DEFAULT_INSEE = tuple(f"751{n:02d}" for n in range(1, 21))
POLLUTANT_KEYS = {"no2": "NO2", "o3": "O3", "pm10": "PM10", "pm25": "PM2.5", "so2": "SO2", "indice": "ALL"}
ATMO_LABELS = {"Bon": 1, "Moyen": 2, "Dégradé": 3, "Mauvais": 4, "Très mauvais": 5, "Extrêmement mauvais": 6}
LABEL_CODES = dict(zip(ascii_upper(pd.Series(list(ATMO_LABELS))), ATMO_LABELS.values(), strict=True))


def insee_codes() -> list[str]:
    """Communes requested: ``$SPSE_AIRPARIF_INDICES_INSEE`` (comma-separated) or the 20 arrondissements."""
    configured = config.source_setting("SPSE_AIRPARIF_INDICES_INSEE")
    codes = [c.strip() for c in configured.split(",") if c.strip()]
    return codes or list(DEFAULT_INSEE)


class AirparifIndices(Source):
    """Source ``airparif_indices``: Airparif forecast ATMO classes per commune, D and D+1."""

    name = "airparif_indices"
    dataset = "airparif_index_forecast"
    kind = "air"
    cadence = "daily"
    schedule = "0 12,18 * * *"
    optional = True
    description = "Airparif forecast ATMO classes per commune and pollutant for D and D+1 (local days)"
    columns: ClassVar[dict[str, Column]] = {
        "insee": Column("VARCHAR", "", "INSEE code of the commune or Paris arrondissement (key of the answer)",
                        nullable=False),
        "date": Column("DATE", "Europe/Paris", "Local day the class applies to (`date`)", nullable=False),
        "pollutant": Column("VARCHAR", "", "NO2, O3, PM10, PM2.5, SO2, or ALL for the overall index (`indice`)",
                            nullable=False),
        "label": Column("VARCHAR", "", "ATMO class label as written (Bon, Moyen, Dégradé, ...)", nullable=False),
        "index_code": Column("INTEGER", "", "ATMO class 1 Bon … 6 Extrêmement mauvais, from the label",
                             nullable=False),
        "fetched_for_date": Column("DATE", "Europe/Paris", "Day whose run requested the forecast (the partition)",
                                   nullable=False),
    }
    primary_key = ("insee", "date", "pollutant")

    def files(self, day: dt.date) -> list[str]:
        """One answer per day, ``indices_prevision_commune/<day>.json``."""
        return [f"{FOLDER}/{day.isoformat()}.json"]

    def url_for(self, base: str, relative: str) -> str:
        """The API query for the followed INSEE codes over HTTP(S); the relative path for a local base."""
        if not is_http(base):
            return join_url(base, relative)
        return f"{join_url(base, ENDPOINT)}?insee={','.join(insee_codes())}"

    def auth_headers(self, base: str) -> dict[str, str]:
        """``X-Api-Key`` from the secret ``airparif``/``api_key`` over HTTP(S); none for a local base.

        Raises :class:`FeedError` naming the source when the key is not configured.
        """
        if not is_http(base):
            return {}
        try:
            return {"X-Api-Key": secrets.get(CONN_ID, "api_key").reveal()}
        except secrets.MissingSecret as exc:
            raise FeedError(self.name, str(exc)) from None

    def parse(self, payload: bytes, filename: str, partition: Partition) -> ParseResult:
        """Long rows (commune × day × pollutant) of one answer in the ``airparif_index_forecast`` schema."""
        doc = load_json(payload, self.name, filename)
        if not isinstance(doc, dict):
            raise SchemaError(self.name, f"expected an object keyed by INSEE code, found {type(doc).__name__}",
                              file=filename)
        fetched_for = day_of(filename)
        records, shape_rejects = [], []
        for number, (insee, entry) in enumerate(((k, e) for k, v in doc.items()
                                                 for e in (v if isinstance(v, list) else [v])), start=1):
            if isinstance(entry, dict):
                records.append({**entry, "insee": str(insee), "record": number,
                                "raw": json.dumps({insee: entry}, ensure_ascii=False)})
            else:
                shape_rejects.append((number, f"commune {insee}: not a record", json.dumps(entry)[:500]))
        wide = pd.DataFrame(records, columns=["insee", "date", "record", "raw", *POLLUTANT_KEYS])
        long = wide.melt(id_vars=["insee", "date", "record", "raw"], value_vars=list(POLLUTANT_KEYS),
                         var_name="key", value_name="label")
        checks = RowChecks(len(long))
        date = pd.to_datetime(long["date"].astype(str), format="%Y-%m-%d", errors="coerce")
        checks.fail(date.isna(), "unreadable `date`: " + long["date"].astype(str))
        text = long["label"].fillna("").astype(str)
        code = ascii_upper(text).map(LABEL_CODES)
        checks.fail(code.isna(), "unknown ATMO label for `" + long["key"] + "`: " + text.where(text != "", "(none)"))
        out = pd.DataFrame({
            "insee": long["insee"].astype(object),
            "date": date.dt.date.astype(object),
            "pollutant": long["key"].map(POLLUTANT_KEYS).astype(object),
            "label": text.astype(object),
            "index_code": code,
            "fetched_for_date": np.full(len(long), fetched_for, dtype=object),
        })
        checks.duplicated(out, list(self.primary_key), "key (commune, date, pollutant)")
        frame = out.loc[~checks.bad].reset_index(drop=True)
        frame["index_code"] = frame["index_code"].astype("int64")
        rejects = checks.rejects(self.name, filename, long["record"], long["raw"])
        if shape_rejects:
            rows, reasons, raw = zip(*shape_rejects, strict=True)
            rejects = pd.concat([reject_rows(self.name, filename, list(rows), list(reasons), list(raw)), rejects],
                                ignore_index=True)
        return ParseResult(frame, rejects)


SOURCE = AirparifIndices()
