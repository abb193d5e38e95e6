"""## Atmo Data API: pollution-episode status per département, D-1/D/D+1 (`episodes/3jours`)

* Provider: Atmo France; the prefectoral procedure state announced by each AASQA (Airparif
  for Île-de-France, département 75 for Paris).
* Endpoint: `GET https://admindata.atmo-france.org/api/v2/data/episodes/3jours?format=csv`
  plus filters (default `code_zone=75`; `$SPSE_ATMO_EPISODES_FILTERS` takes a query string
  such as `code_zone=75,92,93,94`). The endpoint always answers the current D-1/D/D+1 and
  takes no day [R: the real calls seen send none], so a past day cannot be re-fetched
  (`episodes/historique` would). Set `SPSE_ATMO_EPISODES_URL=https://admindata.atmo-france.org`
  to enable this optional feed; a folder laid out as `episodes_3jours/YYYY-MM-DD.csv` works too.
* Auth: login then Bearer token, credentials of the connection `atmo_data` (`spse.sources._atmo`).
* Licence: ODbL, cite "Atmo France / AASQA" [R].
* Format: CSV `;` [V] (the 2025-06-27 sample was re-saved with `,`: the delimiter is
  sniffed), header `aasqa;date_maj;etat;lib_zone;lib_pol;date_ech;date_dif;code_zone;code_pol`.
* Time base: `date_ech`/`date_dif` local calendar days; `date_maj` carries its offset [V].
* Codes: `code_pol` 1 SO2, 5 PM10, 7 O3, 8 NO2 [R, Recosanté]; `code_zone` is the
  département without its leading zero (`4` for 04) [V].
* `etat`: `PAS DE DEPASSEMENT` [V]; `ALERTE` [R] and the procedure wordings
  (`PROCEDURE D'INFORMATION-RECOMMANDATION`, `PROCEDURE D'ALERTE`, `… SUR PERSISTANCE`) [M]
  are matched tolerantly (accents, case, spaces): `ALERTE` → 2, else `INFORMATION` → 1,
  else `PAS DE DEPASSEMENT` → 0. An alert wording is checked first so that an alert is
  never read as a lower level.
* Unconfirmed: `is_forecast` = `date_ech` after `date_dif` [R].

Quarantined rows: wrong field count, empty `code_zone`, unknown `code_pol`, unknown `etat`
wording, unreadable dates, a repeated key.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

from spse.core.columns import Column
from spse.sources._atmo import AtmoDataSource, ascii_upper, pad_code, read_atmo_csv, record_dates
from spse.sources._parsing import RowChecks, blank_to_null, numbers
from spse.sources.base import ParseResult, Partition

POLLUTANT_CODES = {1: "SO2", 5: "PM10", 7: "O3", 8: "NO2"}
# (wording fragment, level), first match wins.
LEVEL_WORDINGS = (("ALERTE", 2), ("INFORMATION", 1), ("PAS DE DEPASSEMENT", 0))
WANTED = ("aasqa", "date_maj", "etat", "lib_zone", "lib_pol", "date_ech", "date_dif", "code_zone", "code_pol")
DEPARTMENT_WIDTH = 2


class AtmoEpisodes(AtmoDataSource):
    """Source ``atmo_episodes``: pollution-episode procedure state for Paris, D-1, D and D+1."""

    name = "atmo_episodes"
    dataset = "episode_status"
    kind = "air"
    cadence = "daily"
    schedule = "15 12,17 * * *"
    description = "Atmo Data pollution-episode procedure state per département and pollutant, D-1/D/D+1"
    endpoint = "episodes/3jours"
    folder = "episodes_3jours"
    default_filters = "code_zone=75"
    sends_date = False
    columns: ClassVar[dict[str, Column]] = {
        "aasqa": Column("VARCHAR", "", "AASQA code of the publishing network (11 Airparif, 93 AtmoSud)"),
        "zone_code": Column("VARCHAR", "", "Département code, zero-padded to 2 characters (`code_zone`)",
                            nullable=False),
        "zone_name": Column("VARCHAR", "", "Département name as written (`lib_zone`)"),
        "pollutant": Column("VARCHAR", "", "SO2, PM10, O3 or NO2 (from `code_pol`)", nullable=False),
        "date": Column("DATE", "Europe/Paris", "Local day the state applies to (`date_ech`)", nullable=False),
        "published_date": Column("DATE", "Europe/Paris", "Local day of publication (`date_dif`)", nullable=False),
        "updated_at_utc": Column("TIMESTAMPTZ", "UTC", "Last update of the record (`date_maj`, offset applied)"),
        "state_label": Column("VARCHAR", "", "Procedure state as written (`etat`)", nullable=False),
        "level": Column("INTEGER", "", "0 no exceedance, 1 information-recommendation, 2 alerte (from `etat`)",
                        nullable=False),
        "is_forecast": Column("BOOLEAN", "", "date later than published_date (a forecast when published)",
                              nullable=False),
    }
    primary_key = ("zone_code", "pollutant", "date", "published_date")

    def parse(self, payload: bytes, filename: str, partition: Partition) -> ParseResult:
        """Rows of one `episodes/3jours` CSV export in the ``episode_status`` schema (local days)."""
        table, col = read_atmo_csv(payload, self.name, filename, WANTED)
        f = table.frame
        checks = RowChecks(len(f))
        checks.fail(f[col["code_zone"]] == "", "empty `code_zone`")
        code_pol, _ = numbers(f[col["code_pol"]])
        pollutant = code_pol.map(POLLUTANT_CODES)
        checks.fail(pollutant.isna(), "unknown `code_pol` " + f[col["code_pol"]] + " (`lib_pol` "
                    + f[col["lib_pol"]] + ")")
        level = episode_level(f[col["etat"]])
        checks.fail(level.isna(), "unknown `etat` wording: " + f[col["etat"]])
        date, published, updated = record_dates(f, col, checks)
        out = pd.DataFrame({
            "aasqa": blank_to_null(f[col["aasqa"]]),
            "zone_code": pad_code(f[col["code_zone"]], DEPARTMENT_WIDTH).astype(object),
            "zone_name": blank_to_null(f[col["lib_zone"]]),
            "pollutant": pollutant.astype(object),
            "date": date.dt.date.astype(object),
            "published_date": published.dt.date.astype(object),
            "updated_at_utc": updated,
            "state_label": f[col["etat"]].astype(object),
            "level": level,
            "is_forecast": (date > published).to_numpy(dtype=bool),
        })
        checks.duplicated(out, list(self.primary_key), "key (département, pollutant, date, publication day)")
        frame = out.loc[~checks.bad].reset_index(drop=True)
        frame["level"] = frame["level"].astype("int64")
        rejects = checks.rejects(self.name, filename, table.lines, table.raw)
        return ParseResult(frame, pd.concat([table.rejects, rejects], ignore_index=True)
                           if len(table.rejects) else rejects)


def episode_level(etat: pd.Series) -> pd.Series:
    """Procedure level of each `etat` wording (0, 1, 2), NA when no known fragment occurs."""
    text = ascii_upper(etat.fillna(""))
    level = pd.Series(np.nan, index=etat.index)
    for fragment, value in reversed(LEVEL_WORDINGS):
        level = level.mask(text.str.contains(fragment, regex=False), value)
    return level.astype("Int64")


SOURCE = AtmoEpisodes()
