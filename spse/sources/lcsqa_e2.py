"""## LCSQA / Geod'air "E2" real-time hourly concentrations

* Provider: LCSQA (INERIS, IMT Nord Europe, LNE) from the Geod'air database; values
  measured by the AASQA (Airparif in Île-de-France).
* URL: `https://files.data.gouv.fr/lcsqa/concentrations-de-polluants-atmospheriques-reglementes/temps-reel/{YYYY}/FR_E2_{YYYY-MM-DD}.csv`
  (302 redirect to object storage), one file per UTC day, rewritten during the day and
  corrected later, hence ``refetch_days = 2``.
* Licence: Licence Ouverte / Etalab 2.0, attribution "LCSQA / Geod'air" and the AASQA [R].
* Format: CSV `;`, decimal point, UTF-8 (possibly with a BOM), header of exactly 23
  columns [V], one row per station × pollutant × series × hour.
* Time base: `Date de début` / `Date de fin` are naive `YYYY/MM/DD HH:MM:SS` and read as
  UTC [R: no offset in the file; LCSQA/EEA metadata give UTC for French networks].
* Units: `µg-m3`, CO in `mg-m3` [R]; stored as `µg/m³` / `mg/m³`.
* Quirks: `validité` -1 with an empty `valeur` marks an invalid hour (kept, `is_valid`
  false); `code qualité` `R` is undocumented [V, meaning unconfirmed]; `NOX as NO2` is
  stored as `NOX`; several series (`discriminant`, `procédure de mesure`) can exist for
  one site and pollutant, so the key is (site, pollutant, discriminant, procedure, start).
* Unconfirmed: UTC time base [R], CO unit [R], validity codes 2, 3, -99 [M],
  `moyenne horaire brute` for non-validated rows [R].

Quarantined rows: wrong field count, missing key field, unparseable dates, end ≠ start
+ 1 h, unknown unit, non-numeric value or validity, a no-data sentinel, a unit that is not
the pollutant's or a value outside its plausible range (``registers/plausibility.csv``,
:func:`spse.sources._gate.value_reasons`), unknown `type de valeur`, repeated key; then, in the
gate (:mod:`spse.pipeline.gate`), rows dated outside the file's UTC day. A day holding fewer
station-hours than expected is recorded ``partial``.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

import numpy as np
import pandas as pd

from spse.core.columns import Column
from spse.core.errors import FeedError, SchemaError
from spse.sources._gate import value_reasons
from spse.sources._parsing import (
    Delimited,
    DelimitedLines,
    RowChecks,
    blank_to_null,
    concat_rejects,
    conform,
    decode_text,
    join_delimited,
    normalise_label,
    numbers,
    split_delimited,
)
from spse.sources.base import Measure, ParseResult, Partition, Source, utc_day

HEADER = ("Date de début", "Date de fin", "Organisme", "code zas", "Zas", "code site", "nom site",
          "type d'implantation", "Polluant", "type d'influence", "discriminant", "Réglementaire",
          "type d'évaluation", "procédure de mesure", "type de valeur", "valeur", "valeur brute",
          "unité de mesure", "taux de saisie", "couverture temporelle", "couverture de données",
          "code qualité", "validité")

TIME_FORMAT = "%Y/%m/%d %H:%M:%S"

UNITS = {"µg-m3": "µg/m³", "μg-m3": "µg/m³", "ug-m3": "µg/m³", "µg/m3": "µg/m³", "µg/m³": "µg/m³",
         "mg-m3": "mg/m³", "mg/m3": "mg/m³", "mg/m³": "mg/m³"}

POLLUTANTS = {"nox as no2": "NOX"}
STATION_CLASSES = {"fond": "background", "trafic": "traffic", "industrielle": "industrial"}
VALUE_TYPES = {"moyenne horaire validée": "validated", "moyenne horaire brute": "raw"}
REGULATORY = {"oui": True, "non": False}
VALID_CODES = (1, 2, 3)


class LcsqaE2(Source):
    """Source ``lcsqa_e2``: real-time hourly concentrations of the French stations, E2 files [µg/m³; CO mg/m³]."""

    name = "lcsqa_e2"
    dataset = "air_hourly"
    kind = "air"
    cadence = "daily"
    schedule = "20 * * * *"
    refetch_days = 2
    description = "LCSQA/Geod'air E2 hourly concentrations of regulated pollutants (UTC, not finally validated)"
    columns: ClassVar[dict[str, Column]] = {
        "station_id": Column("VARCHAR", "", "EU station code (E2 `code site`, e.g. FR04055)", nullable=False),
        "station_name": Column("VARCHAR", "", "Station name (E2 `nom site`)"),
        "organisation": Column("VARCHAR", "", "AASQA operating the station (E2 `Organisme`)"),
        "zas_code": Column("VARCHAR", "", "Zone administrative de surveillance code (E2 `code zas`)"),
        "area_type": Column("VARCHAR", "", "Station setting as written in E2 `type d'implantation` (Urbaine, ...)"),
        "influence": Column("VARCHAR", "", "Station influence as written in E2 `type d'influence` (Fond, Trafic, ...)"),
        "station_class": Column("VARCHAR", "", "background, traffic or industrial (from `type d'influence`); "
                                "NULL when unknown"),
        "pollutant": Column("VARCHAR", "", "Pollutant: NO2, PM10, PM2.5, O3, SO2, CO, NO, NOX (E2 `NOX as NO2`); "
                            "other E2 names kept", nullable=False),
        "discriminant": Column("VARCHAR", "", "E2 series discriminant (A, B, ...) for several series of one site "
                               "and pollutant", nullable=False),
        "procedure": Column("VARCHAR", "", "Measurement procedure / instrument (E2 `procédure de mesure`)",
                            nullable=False),
        "is_regulatory": Column("BOOLEAN", "", "Counts for regulatory assessment (E2 `Réglementaire` Oui/Non)"),
        "ts_start_utc": Column("TIMESTAMPTZ", "UTC", "Start of the hour (E2 `Date de début`, read as UTC)",
                               nullable=False),
        "ts_end_utc": Column("TIMESTAMPTZ", "UTC", "End of the hour, start + 1 h (E2 `Date de fin`)", nullable=False),
        "value": Column("DOUBLE", "µg/m³ (CO: mg/m³)", "Hourly mean after validation (E2 `valeur`); NULL when "
                        "invalid"),
        "value_raw": Column("DOUBLE", "µg/m³ (CO: mg/m³)", "Raw hourly mean with more decimals (E2 `valeur brute`)"),
        "unit": Column("VARCHAR", "", "Unit of value and value_raw: µg/m³ or mg/m³"),
        "value_type": Column("VARCHAR", "", "validated (`moyenne horaire validée`) or raw (`moyenne horaire "
                             "brute`)"),
        "quality_code": Column("VARCHAR", "", "E2 `code qualité`: A valid, N not valid, R undocumented"),
        "validity": Column("INTEGER", "", "E2 `validité`: 1 valid, 2/3 valid below detection limit, -1 invalid, "
                           "-99 maintenance"),
        "is_valid": Column("BOOLEAN", "", "validity in (1, 2, 3) and value not NULL", nullable=False),
        "source_file": Column("VARCHAR", "", "Upstream file, relative to the feed's base URL", nullable=False),
        "source_row": Column("INTEGER", "", "1-based line of the row in source_file (header = 1)", nullable=False),
    }
    primary_key = ("station_id", "pollutant", "discriminant", "procedure", "ts_start_utc")
    measures = (Measure(("value", "value_raw"), quantity_column="pollutant", unit_column="unit"),)
    series_key = ("station_id", "pollutant", "discriminant", "procedure")

    def files(self, day: dt.date) -> list[str]:
        """One CSV per UTC day, ``<year>/FR_E2_<day>.csv``."""
        return [f"{day:%Y}/FR_E2_{day.isoformat()}.csv"]

    def day_window(self, day: dt.date):
        """``FR_E2_<day>.csv`` holds the hours starting on ``day``, UTC."""
        return utc_day(day)

    def day_window_label(self, day: dt.date) -> str:
        """``<day> UTC``: a partition holds the hours of the UTC day."""
        return f"{day.isoformat()} UTC"

    def parse(self, payload: bytes, filename: str, partition: Partition) -> ParseResult:
        """Rows of one E2 day file in the ``air_hourly`` schema; timestamps UTC."""
        return self.parse_alone(payload, filename, partition)

    def parse_batch(self, items: list[tuple[bytes, str, Partition]]) -> list[ParseResult | FeedError]:
        """:meth:`parse` of each E2 file, the rows of the files read and checked in one pass."""
        results: list[ParseResult | FeedError | None] = [None] * len(items)
        readable: list[tuple[int, DelimitedLines]] = []
        for k, (payload, filename, _) in enumerate(items):
            try:
                lines = split_delimited(decode_text(payload, self.name, filename, "CSV"), ";", self.name, filename)
                _check_header(lines.header, self.name, filename)
            except FeedError as exc:
                results[k] = exc
                continue
            lines.header = list(HEADER)  # the same labels, maybe in another case or spacing
            readable.append((k, lines))
        if not readable:
            return results
        files = [items[k][1] for k, _ in readable]
        try:
            table = join_delimited([lines for _, lines in readable], ";", self.name, ",".join(files))
        except FeedError as exc:  # read_csv, for a file with quotes, found other records: file by file
            if len(readable) == 1:
                results[readable[0][0]] = exc
                return results
            for k, _ in readable:
                results[k] = self.parse_batch([items[k]])[0]
            return results
        own = [lines.rejects for _, lines in readable]
        for (k, _), result in zip(readable, self._rows(table, files, own), strict=True):
            results[k] = result
        return results

    def _rows(self, table: Delimited, files: list[str], own: list[pd.DataFrame]) -> list[ParseResult]:
        """Each file's rows in the ``air_hourly`` schema and rejects, from the files' text columns read together.

        ``own``: each file's rows rejected when split into fields (:func:`split_delimited`).
        """
        f = table.frame
        checks = RowChecks(len(f))
        for label in ("code site", "Polluant", "discriminant", "procédure de mesure"):
            checks.fail(f[label] == "", f"empty key field `{label}`")
        start = pd.to_datetime(f["Date de début"], format=TIME_FORMAT, errors="coerce", utc=True)
        end = pd.to_datetime(f["Date de fin"], format=TIME_FORMAT, errors="coerce", utc=True)
        checks.fail(start.isna(), lambda: "unparseable `Date de début`: " + f["Date de début"])
        checks.fail(end.isna(), lambda: "unparseable `Date de fin`: " + f["Date de fin"])
        checks.fail(end - start != pd.Timedelta(hours=1), "`Date de fin` is not `Date de début` + 1 h")
        unit = f["unité de mesure"].map(UNITS)
        checks.fail(unit.isna(), lambda: "unknown unit: " + f["unité de mesure"])
        value, value_bad = numbers(f["valeur"])
        value_raw, raw_bad = numbers(f["valeur brute"])
        validity, validity_bad = numbers(f["validité"])
        checks.fail(value_bad, lambda: "`valeur` is not a number: " + f["valeur"])
        checks.fail(raw_bad, lambda: "`valeur brute` is not a number: " + f["valeur brute"])
        checks.fail(validity_bad | (validity.notna() & (validity % 1 != 0)), lambda: "`validité` is not an integer: "
                    + f["validité"])
        pollutant = f["Polluant"].str.casefold().map(POLLUTANTS).fillna(f["Polluant"])
        for col, series in (("valeur", value), ("valeur brute", value_raw)):
            why = value_reasons(col, series, pollutant, unit)
            checks.fail(pd.notna(why), why)
        value_type = f["type de valeur"].str.casefold().map(VALUE_TYPES)
        checks.fail(value_type.isna(), lambda: "unknown `type de valeur`: " + f["type de valeur"])
        out = pd.DataFrame({
            "station_id": f["code site"],
            "station_name": blank_to_null(f["nom site"]),
            "organisation": blank_to_null(f["Organisme"]),
            "zas_code": blank_to_null(f["code zas"]),
            "area_type": blank_to_null(f["type d'implantation"]),
            "influence": blank_to_null(f["type d'influence"]),
            "station_class": f["type d'influence"].str.casefold().map(STATION_CLASSES).astype(object),
            "pollutant": pollutant,
            "discriminant": f["discriminant"],
            "procedure": f["procédure de mesure"],
            "is_regulatory": f["Réglementaire"].str.casefold().map(REGULATORY).astype("boolean"),
            "ts_start_utc": start.astype("datetime64[ns, UTC]"),
            "ts_end_utc": end.astype("datetime64[ns, UTC]"),
            "value": value,
            "value_raw": value_raw,
            "unit": unit.astype(object),
            "value_type": value_type.astype(object),
            "quality_code": blank_to_null(f["code qualité"]),
            "validity": validity.round().astype("Int64"),
            "is_valid": (validity.isin(VALID_CODES) & value.notna()).astype(bool),
            "source_file": np.asarray(files, dtype=object)[table.part],
            "source_row": table.lines.astype("int64"),
            "_file": table.part,
        })
        # a key repeats within a file only: the file is part of the key
        checks.duplicated(out, [*self.primary_key, "_file"], "key (site, pollutant, discriminant, procedure, start)")
        bad = checks.bad
        kept = conform(out.loc[~bad] if bad.any() else out, self.columns)
        bounds = np.searchsorted(table.part[~bad], np.arange(len(files) + 1))
        results = []
        for k, filename in enumerate(files):
            mine = table.part == k
            rejects = checks.rejects(self.name, filename, table.lines, table.raw, among=mine)
            results.append(ParseResult(kept.iloc[bounds[k]:bounds[k + 1]].reset_index(drop=True),
                                       concat_rejects(own[k], rejects)))
        return results


def _check_header(header: list[str], feed: str, filename: str) -> None:
    got = [normalise_label(h) for h in header]
    want = [normalise_label(h) for h in HEADER]
    if got == want:
        return
    missing = [h for h, n in zip(HEADER, want, strict=True) if n not in got]
    extra = [h for h, n in zip(header, got, strict=True) if n not in want]
    problem = (f"missing {missing}, unexpected {extra}" if missing or extra
               else "the same columns in another order")
    raise SchemaError(feed, f"header is not the {len(HEADER)}-column E2 header: {problem}", file=filename, row=1)


SOURCE = LcsqaE2()

