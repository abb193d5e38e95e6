"""## Atmo Data API: daily ATMO air-quality index per commune (`indices/atmo`)

* Provider: Atmo France, index computed by each AASQA (Airparif = aasqa 11 [R]; the real
  sample is AtmoSud, aasqa 93 [V]).
* Endpoint: `GET https://admindata.atmo-france.org/api/v2/data/indices/atmo?format=csv&date=YYYY-MM-DD`
  plus filters (default `code_zone=75056`, Paris; `$SPSE_ATMO_INDICES_FILTERS` takes a
  query string such as `aasqa=11`). Set `SPSE_ATMO_INDICES_URL=https://admindata.atmo-france.org`
  to enable this optional feed; a folder laid out as `indices_atmo/YYYY-MM-DD.csv` works too.
* Auth: login then Bearer token, credentials of the connection `atmo_data` (`spse.sources._atmo`).
* Licence: ODbL, cite "Atmo France / AASQA" [R].
* Format: CSV `;` [V] (a `,` copy is read too), header
  `aasqa;date_maj;code_no2;code_o3;code_pm10;code_pm25;code_qual;code_so2;code_zone;coul_qual;date_dif;date_ech;…`.
* Time base: `date_ech` (day the index applies to) and `date_dif` (publication day) are
  local calendar days (Europe/Paris); `date_maj` carries its offset (`+02`/`+01`) [V].
* Index (arrêté du 10 juillet 2020, methods.md §2): 1 Bon … 6 Extrêmement mauvais; 0 absent
  (no data); "événement" is 7 [C2] or 8 (SocialGouv/recosante) [U]. Codes 0, 7 and 8 are
  kept as written but are **not classes**: never rank them with 1–6.
* Quirks: `code_zone` loses its leading zero (`4070` for 04070) [V], re-padded to 5 characters.
* Unconfirmed: the meaning of the `date` filter (one day, or D-1/D/D+1 around it) [R];
  `is_forecast` = `date_ech` after `date_dif` [R].

Quarantined rows: wrong field count, empty `code_zone`, unreadable `date_ech`/`date_dif`/
`date_maj`, an index or sub-index code that is not an integer in 0–8, a repeated key.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

from spse.core.columns import Column
from spse.sources._atmo import AtmoDataSource, pad_code, read_atmo_csv, record_dates
from spse.sources._parsing import RowChecks, blank_to_null, numbers
from spse.sources.base import ParseResult, Partition

# 0 absent, 1-6 the six classes, 7 or 8 "événement" (which one is unconfirmed).
INDEX_CODES = tuple(range(9))
CLASS_CODES = tuple(range(1, 7))
SUB_INDICES = {"code_no2": "NO2", "code_o3": "O3", "code_pm10": "PM10", "code_pm25": "PM2.5", "code_so2": "SO2"}
WANTED = ("aasqa", "date_maj", "code_qual", "lib_qual", "code_zone", "lib_zone", "type_zone", "date_dif",
          "date_ech", *SUB_INDICES)
ZONE_CODE_WIDTH = 5

_CODE_NOTE = "0 absent, 1 Bon … 6 Extrêmement mauvais, 7/8 événement (not a class)"


def _sub_index(pollutant: str) -> Column:
    return Column("INTEGER", "", f"ATMO sub-index of {pollutant} ({_CODE_NOTE})")


class AtmoIndices(AtmoDataSource):
    """Source ``atmo_indices``: ATMO index of Paris, observed D-1 and forecast D and D+1."""

    name = "atmo_indices"
    dataset = "atmo_index_daily"
    kind = "air"
    cadence = "daily"
    schedule = "30 14 * * *"
    refetch_days = 1
    description = "Atmo Data ATMO index per commune, observed D-1 and forecast D/D+1 (local days)"
    endpoint = "indices/atmo"
    folder = "indices_atmo"
    default_filters = "code_zone=75056"
    columns: ClassVar[dict[str, Column]] = {
        "aasqa": Column("VARCHAR", "", "AASQA code of the publishing network (11 Airparif, 93 AtmoSud)"),
        "zone_code": Column("VARCHAR", "", "INSEE code of the commune (5 characters, zero re-padded) or SIREN "
                            "of the EPCI (`code_zone`)", nullable=False),
        "zone_name": Column("VARCHAR", "", "Zone name as written (`lib_zone`)"),
        "zone_type": Column("VARCHAR", "", "commune or EPCI (`type_zone`)", nullable=False),
        "date": Column("DATE", "Europe/Paris", "Local day the index applies to (`date_ech`)", nullable=False),
        "published_date": Column("DATE", "Europe/Paris", "Local day the index was published (`date_dif`)",
                                 nullable=False),
        "updated_at_utc": Column("TIMESTAMPTZ", "UTC", "Last update of the record (`date_maj`, offset applied)"),
        "index_code": Column("INTEGER", "", f"ATMO index, worst sub-index (`code_qual`: {_CODE_NOTE})",
                             nullable=False),
        "index_label": Column("VARCHAR", "", "Index label as written (`lib_qual`: Bon, Moyen, Dégradé, ...)"),
        **{name: _sub_index(pollutant) for name, pollutant in SUB_INDICES.items()},
        "is_forecast": Column("BOOLEAN", "", "date later than published_date (a forecast when published)",
                              nullable=False),
    }
    primary_key = ("zone_code", "zone_type", "date", "published_date")

    def parse(self, payload: bytes, filename: str, partition: Partition) -> ParseResult:
        """Rows of one `indices/atmo` CSV export in the ``atmo_index_daily`` schema (local days)."""
        table, col = read_atmo_csv(payload, self.name, filename, WANTED)
        f = table.frame
        checks = RowChecks(len(f))
        checks.fail(f[col["code_zone"]] == "", "empty `code_zone`")
        checks.fail(f[col["type_zone"]] == "", "empty `type_zone`")
        date, published, updated = record_dates(f, col, checks)
        codes = {"code_qual": _codes(f[col["code_qual"]], checks, "code_qual", required=True)}
        for name in SUB_INDICES:
            codes[name] = _codes(f[col[name]], checks, name, required=False)
        out = pd.DataFrame({
            "aasqa": blank_to_null(f[col["aasqa"]]),
            "zone_code": pad_code(f[col["code_zone"]], ZONE_CODE_WIDTH).astype(object),
            "zone_name": blank_to_null(f[col["lib_zone"]]),
            "zone_type": f[col["type_zone"]].astype(object),
            "date": date.dt.date.astype(object),
            "published_date": published.dt.date.astype(object),
            "updated_at_utc": updated,
            "index_code": codes["code_qual"],
            "index_label": blank_to_null(f[col["lib_qual"]]),
            **{name: codes[name] for name in SUB_INDICES},
            "is_forecast": (date > published).to_numpy(dtype=bool),
        })
        checks.duplicated(out, list(self.primary_key), "key (zone, zone type, date, publication day)")
        frame = out.loc[~checks.bad].reset_index(drop=True)
        frame["index_code"] = frame["index_code"].astype("int64")
        rejects = checks.rejects(self.name, filename, table.lines, table.raw)
        return ParseResult(frame, pd.concat([table.rejects, rejects], ignore_index=True)
                           if len(table.rejects) else rejects)


def _codes(text: pd.Series, checks: RowChecks, label: str, *, required: bool) -> pd.Series:
    """Integer index codes of one column; bad or (when required) empty cells fail the row."""
    values, not_number = numbers(text)
    outside = values.notna() & ~values.isin(INDEX_CODES)
    checks.fail(not_number | outside, f"`{label}` is not an index code 0–8: " + text)
    if required:
        checks.fail(values.isna(), f"empty `{label}`")
    return values.where(~(not_number | outside.to_numpy()), np.nan).round().astype("Int64")


SOURCE = AtmoIndices()
