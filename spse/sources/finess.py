"""## FINESS health and social establishments, geolocated extract (Paris hospitals, EHPAD, health centres, PMI)

* Provider: Ministère de la Santé / DREES, data.gouv.fr dataset "FINESS Extraction du
  Fichier des établissements" [R]. The geolocated stock extract is
  `etalab-cs1100507-stock-YYYYMMDD-HHMM.csv` (`cs1100502` has no coordinates) [R].
* URL: the file name carries its extraction time, so set `SPSE_FINESS_URL` to the full URL
  of the file (or to data.gouv's stable `/fr/datasets/r/<resource id>` link, which
  redirects to the latest file): :meth:`Finess.url_for` then fetches it as is. A base URL
  of a folder gets :data:`FILE_NAME` appended (the demo layout).
* Licence: Licence Ouverte / Etalab 2.0 [R].
* Format: `;`-separated, **Latin-1** [R] (Windows-1252 and UTF-8 are also read, see
  :func:`spse.sources._parsing.decode_text`), **no header**, a first metadata line that is
  skipped (its `YYYY-MM-DD` date, when present, is the extraction date recorded in
  `dataset_id`). Two record types, told apart by the first field [R]:
  `structureet` (31 fields, :data:`STRUCTURE_FIELDS`) and `geolocalisation`
  (6 fields, :data:`GEO_FIELDS`), joined on `nofinesset`. No quoting is assumed: `;` never
  occurs inside a field [M].
* CRS: `coordxet`/`coordyet` in Lambert-93 (EPSG:2154) for metropolitan France [R];
  projected here to WGS84 lon/lat [°] with pyproj (always_xy).
* Time base: none (reference data, partition `vintage=current`).
* Dataset: a producer of the canonical `facilities` (the columns of `paris_facilities`),
  so its hospitals, EHPAD, health centres and PMI count in the facility marts and alerts.
  Its ids, `finess:<nofinesset>`, never equal another producer's; `paris_facilities`
  leaves out its own hospital, EHPAD, health-centre and PMI exports while this source is
  configured (:func:`spse.sources.paris_facilities.followed_datasets`), so no establishment
  is listed twice. The `categetab` code and `libcategetab` label are read for the category
  (and the label check) but not stored.
* Selection: `departement = 75` and `categetab` in :data:`CATEGORIES`; other rows are
  out of scope, not errors. Codes and their status ([R] reported by feeds.md §h, [M] from
  memory) are listed with the mapping; they are not yet checked against a real file's
  `libcategetab`, so :meth:`Finess.parse` logs every kept (code, label) pair whose label
  does not look like its category (:data:`LABEL_HINTS`).
* Unconfirmed: the exact metadata line [M]; a 32nd `structureet` field (`numuai`) in
  recent extracts [M], accepted and ignored; `commune` codes of Paris [M], so the
  arrondissement comes from the postcode of `ligneacheminement` (`75012 PARIS`,
  `75116 PARIS`, `75571 PARIS CEDEX 12` → `75112`).

Quarantined lines (`row` = 1-based line number in the file, metadata line = 1): unknown
record type, wrong field count, characters that no Latin-1/Windows-1252 text holds
(C1 control codes: a sign of a wrong encoding), malformed `nofinesset`, repeated
`structureet` or `geolocalisation` of one establishment, and, for kept establishments,
a missing `geolocalisation` record, non-numeric coordinates and coordinates outside Paris
(:data:`spse.sources.paris_facilities.PARIS_BBOX`, the box all facility sources share).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import ClassVar

import numpy as np
import pandas as pd

from spse.core.columns import Column
from spse.core.config import source_base_url
from spse.core.errors import SchemaError
from spse.sources._parsing import RowChecks, blank_to_null, concat_rejects, conform, decode_text, numbers
from spse.sources.base import ParseResult, Partition, Source, reject_rows
from spse.sources.paris_facilities import PARIS_BBOX, arrondissement_label

log = logging.getLogger(__name__)

FILE_NAME = "etalab-cs1100507-stock.csv"
DATASET_ID = "finess:etalab-cs1100507"
DEPARTMENT = "75"
SEP = ";"

STRUCTURE = "structureet"
GEO = "geolocalisation"
STRUCTURE_FIELDS = (
    "structureet", "nofinesset", "nofinessej", "rs", "rslongue", "complrs", "compldistrib", "numvoie", "typvoie",
    "voie", "compvoie", "lieuditbp", "commune", "departement", "libdepartement", "ligneacheminement", "telephone",
    "telecopie", "categetab", "libcategetab", "categagretab", "libcategagretab", "siret", "codeape", "codemft",
    "libmft", "codesph", "libsph", "dateouv", "dateautor", "datemaj",
)
# Recent extracts are said to append `numuai` [M]; it is accepted and not used.
STRUCTURE_OPTIONAL_FIELDS = ("numuai",)
GEO_FIELDS = ("geolocalisation", "nofinesset", "coordxet", "coordyet", "sourcecoordet", "datemaj")

# FINESS `categetab` → facilities category. Status of the code: [R] listed by feeds.md §h
# (from third-party code), [M] from memory. The label is the expected `libcategetab` [M];
# where feeds.md reads the code differently, its reading is quoted. parse() warns on a mismatch.
CATEGORIES = {
    "101": "hospital",      # [R] Centre Hospitalier Régional (C.H.R.)
    "106": "hospital",      # [R] Centre hospitalier, ex Hôpital local
    "355": "hospital",      # [R] Centre Hospitalier (C.H.)
    "128": "hospital",      # [R] Etablissement de Soins Chirurgicaux (feeds.md: "clinics (MCO)")
    "129": "hospital",      # [R] Etablissement de Soins Médicaux (feeds.md: "soins de suite")
    "131": "hospital",      # [R] Centre de Lutte Contre Cancer (feeds.md: "lutte contre les maladies mentales")
    "109": "hospital",      # [M] Etablissement de santé privé autorisé en SSR
    "122": "hospital",      # [M] Etablissement Soins Obstétriques Chirurgico-Gynécologiques
    "292": "hospital",      # [M] Centre Hospitalier Spécialisé lutte Maladies Mentales
    "362": "hospital",      # [M] Etablissement de Soins Longue Durée
    "365": "hospital",      # [M] Etablissement de Soins Pluridisciplinaire
    "500": "ehpad",         # [R] Etablissement d'hébergement pour personnes âgées dépendantes (EHPAD)
    "501": "ehpad",         # [R] EHPA ne percevant pas des crédits d'assurance maladie
    "502": "ehpad",         # [R] EHPA percevant des crédits d'assurance maladie
    "124": "centre_sante",  # [M] Centre de Santé
    "213": "pmi",           # [M] Service de Protection Maternelle et Infantile (P.M.I.)
}

# Words a `libcategetab` of each category is expected to contain (case-insensitive).
LABEL_HINTS = {
    "hospital": r"hospit|soins|cancer|maladies mentales|h[oô]pital|clinique|sant[ée]",
    "ehpad": r"h[ée]bergement|ehpa|personnes [aâ]g[ée]es",
    "centre_sante": r"centre de sant[ée]",
    "pmi": r"maternelle|p\.?m\.?i",
}

FINESS_NUMBER = r"^\d[\dAB]\d{7}$"
_C1_CONTROLS = r"[\x80-\x9f\x00-\x08\x0b\x0c\x0e-\x1f]"
_POSTCODE = re.compile(r"^\s*(75\d{3})\b")
_CEDEX = re.compile(r"CEDEX\s+(\d{1,2})\b", re.IGNORECASE)


class Finess(Source):
    """Source ``finess``: FINESS health and social establishments of Paris, geolocated."""

    name = "finess"
    dataset = "facilities"
    kind = "reference"
    cadence = "reference"
    schedule = "0 6 2 * *"
    max_age_hours = 768  # monthly schedule, one day of slack
    optional = True
    description = "FINESS geolocated establishments in Paris: hospitals, EHPAD, health centres, PMI"
    columns: ClassVar[dict[str, Column]] = {
        "facility_id": Column("VARCHAR", "", "'finess:' + FINESS establishment number (nofinesset)",
                              nullable=False),
        "category": Column("VARCHAR", "", "Facility category from categetab (finess.CATEGORIES): hospital, "
                           "ehpad, centre_sante or pmi", nullable=False),
        "name": Column("VARCHAR", "", "Establishment name (rslongue, else rs)"),
        "address": Column("VARCHAR", "", "Street address: numvoie typvoie voie, then ligneacheminement"),
        "zone_id": Column("VARCHAR", "", "INSEE code of the arrondissement (751xx) from the postcode; "
                          "NULL when the postcode does not tell"),
        "lon": Column("DOUBLE", "° (WGS84)", "Longitude, projected from Lambert-93 coordxet/coordyet",
                      nullable=False),
        "lat": Column("DOUBLE", "° (WGS84)", "Latitude, projected from Lambert-93 coordxet/coordyet",
                      nullable=False),
        "dataset_id": Column("VARCHAR", "", "Upstream dataset, 'finess:etalab-cs1100507' plus '@YYYY-MM-DD' "
                             "(extraction date of the metadata line) when known", nullable=False),
        "school_year": Column("VARCHAR", "", "School year; always NULL for FINESS"),
        "postcode": Column("VARCHAR", "", "Postcode: first 5 digits of ligneacheminement (a CEDEX code such as "
                           "75571 is kept as written)"),
        "arrondissement": Column("VARCHAR", "", "French label of zone_id, e.g. '12e arrondissement'"),
        "capacity": Column("INTEGER", "capacity_unit", "Beds; always NULL: the structureet records carry no "
                           "capacity (installed beds and places are in FINESS's separate equipment extracts, "
                           "not read)"),
        "capacity_unit": Column("VARCHAR", "", "Unit of capacity; always NULL here"),
        "source": Column("VARCHAR", "", "Source that listed the facility: 'finess'", nullable=False),
    }
    primary_key = ("facility_id",)

    def files(self, day: dt.date) -> list[str]:
        """The configured file's own name when the URL names it (raw landing keeps the extraction stamp)."""
        base = source_base_url(self.name)
        return [base.rsplit("/", 1)[-1]] if base.lower().endswith(".csv") else [FILE_NAME]

    def url_for(self, base: str, relative: str) -> str:
        """``base`` itself when it names the file (``….csv`` or a data.gouv ``/datasets/r/<id>`` link)."""
        if base.lower().endswith(".csv") or "/datasets/r/" in base:
            return base
        return super().url_for(base, relative)

    def parse(self, payload: bytes, filename: str, partition: Partition) -> ParseResult:
        """Paris establishments of :data:`CATEGORIES` in the ``facilities`` schema (lon/lat ° WGS84)."""
        if b"\x00" in payload[:65536]:
            raise SchemaError(self.name, "NUL bytes: a binary file, not the FINESS CSV", file=filename)
        text = decode_text(payload, self.name, filename, "FINESS CSV")
        lines = pd.Series(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), dtype=object)
        numbers_ = pd.Series(np.arange(1, len(lines) + 1), index=lines.index)
        lines = lines[lines.str.strip() != ""]
        kind = lines.str.split(SEP, n=1).str[0].str.strip().str.lower()
        extraction = None
        first = lines.index.min() if len(lines) else None
        if first == 0 and kind.iloc[0] not in (STRUCTURE, GEO):
            found = re.search(r"\d{4}-\d{2}-\d{2}", lines.iloc[0])
            extraction = found.group(0) if found else None
            lines, kind = lines.iloc[1:], kind.iloc[1:]
        fields = lines.str.count(SEP) + 1
        encoding_bad = lines.str.contains(_C1_CONTROLS, regex=True)
        n_structure = len(STRUCTURE_FIELDS)
        structure_ok = (kind == STRUCTURE) & fields.isin((n_structure, n_structure + len(STRUCTURE_OPTIONAL_FIELDS)))
        geo_ok = (kind == GEO) & (fields == len(GEO_FIELDS))
        if (kind == STRUCTURE).any() and not structure_ok.any():
            raise SchemaError(self.name, f"no structureet record has {n_structure} fields (found "
                              f"{sorted(fields[kind == STRUCTURE].unique().tolist())[:5]}): the layout changed",
                              file=filename)
        reason = pd.Series(None, index=lines.index, dtype=object)
        reason[~kind.isin((STRUCTURE, GEO))] = "unknown record type " + kind.str.slice(0, 40)
        reason[(kind == STRUCTURE) & ~structure_ok] = ("structureet record with " + fields.astype(str)
                                                       + f" fields, expected {n_structure}")
        reason[(kind == GEO) & ~geo_ok] = ("geolocalisation record with " + fields.astype(str)
                                           + f" fields, expected {len(GEO_FIELDS)}")
        reason[encoding_bad & reason.isna()] = "control characters: not Latin-1/Windows-1252 text (wrong encoding?)"
        line_no = numbers_[lines.index]
        malformed = reject_rows(self.name, filename, line_no[reason.notna()].tolist(),
                                reason[reason.notna()].tolist(), lines[reason.notna()].tolist())
        structures = _split(lines[structure_ok & reason.isna()], STRUCTURE_FIELDS, line_no)
        geos = _split(lines[geo_ok & reason.isna()], GEO_FIELDS, line_no)
        dataset_id = f"{DATASET_ID}@{extraction}" if extraction else DATASET_ID
        frame, rejects = self._establishments(structures, geos, filename, dataset_id)
        return ParseResult(frame, concat_rejects(malformed, rejects))

    def _establishments(self, structures: pd.DataFrame, geos: pd.DataFrame, filename: str,
                        dataset_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        geo_checks = RowChecks(len(geos))
        geo_checks.fail(~geos["nofinesset"].str.match(FINESS_NUMBER), "malformed nofinesset")
        geo_checks.duplicated(geos, ["nofinesset"], "geolocalisation of nofinesset")
        geo_rejects = geo_checks.rejects(self.name, filename, geos["_line"], geos["_raw"])
        geos = geos.loc[~geo_checks.bad, ["nofinesset", "coordxet", "coordyet"]]

        kept = structures[(structures["departement"] == DEPARTMENT) & structures["categetab"].isin(CATEGORIES)]
        kept = kept.merge(geos, on="nofinesset", how="left", validate="many_to_one").reset_index(drop=True)
        x, x_bad = numbers(kept["coordxet"])
        y, y_bad = numbers(kept["coordyet"])
        checks = RowChecks(len(kept))
        checks.fail(~kept["nofinesset"].str.match(FINESS_NUMBER), "malformed nofinesset: " + kept["nofinesset"])
        checks.fail(kept["coordxet"].isna(), "no geolocalisation record for this nofinesset")
        checks.fail(x_bad | y_bad, "coordxet/coordyet are not numbers")
        checks.fail(x.isna() | y.isna(), "empty coordxet/coordyet")
        lon, lat = _lambert93_to_lonlat(x.to_numpy(), y.to_numpy())
        lon_min, lon_max, lat_min, lat_max = PARIS_BBOX
        inside = (lon >= lon_min) & (lon <= lon_max) & (lat >= lat_min) & (lat <= lat_max)
        checks.fail(~inside, "coordinates outside Paris (Lambert-93 " + kept["coordxet"].astype(str) + ", "
                    + kept["coordyet"].astype(str) + ")")
        name = blank_to_null(kept["rslongue"]).fillna(blank_to_null(kept["rs"]))
        out = pd.DataFrame({
            "facility_id": "finess:" + kept["nofinesset"],
            "category": kept["categetab"].map(CATEGORIES),
            "name": name,
            "address": _address(kept),
            "zone_id": _arrondissement(kept["ligneacheminement"]),
            "lon": lon, "lat": lat,
            "dataset_id": dataset_id,
            "school_year": None,
            "finess_category_code": kept["categetab"],
            "finess_category_label": blank_to_null(kept["libcategetab"]),
            "postcode": kept["ligneacheminement"].str.extract(_POSTCODE, expand=False),
            "capacity": pd.array([pd.NA] * len(kept), dtype="Int64"),
            "capacity_unit": None,
            "source": self.name,
        })
        out["arrondissement"] = arrondissement_label(out["zone_id"])
        checks.duplicated(out, ["facility_id"], "structureet of nofinesset")
        good = out.loc[~checks.bad]
        _warn_on_labels(good)
        rejects = checks.rejects(self.name, filename, kept["_line"], kept["_raw"])
        return conform(good, self.columns), concat_rejects(geo_rejects, rejects)


def _split(lines: pd.Series, names: tuple[str, ...], line_no: pd.Series) -> pd.DataFrame:
    """Fields of same-type records as stripped strings, with their line number and raw text."""
    parts = lines.str.split(SEP, expand=True) if len(lines) else pd.DataFrame(columns=range(len(names)))
    parts = parts.iloc[:, :len(names)].reindex(columns=range(len(names)))
    parts.columns = list(names)
    parts = parts.apply(lambda col: col.astype(object).where(col.notna(), "").astype(str).str.strip())
    parts["_line"] = line_no[lines.index].to_numpy()
    parts["_raw"] = lines.to_numpy()
    return parts.reset_index(drop=True)


def _lambert93_to_lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from pyproj import Transformer

    lon, lat = Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True).transform(x, y)
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def _address(frame: pd.DataFrame) -> pd.Series:
    street = (frame["numvoie"] + " " + frame["typvoie"] + " " + frame["voie"]).str.split().str.join(" ")
    joined = (street + ", " + frame["ligneacheminement"]).str.strip(" ,")
    return joined.where(joined != "", None)


def _arrondissement(ligne: pd.Series) -> pd.Series:
    """``751dd`` from ``750dd``/``751dd`` postcodes (dd in 01–20; 75116 is the 16e) or ``CEDEX dd``."""
    postcode = ligne.str.extract(_POSTCODE, expand=False)
    number = pd.to_numeric(postcode.str.slice(3), errors="coerce")
    number = number.where(postcode.str.slice(0, 3).isin(("750", "751")))
    cedex = pd.to_numeric(ligne.str.extract(_CEDEX, expand=False), errors="coerce")
    number = number.where(number.between(1, 20), cedex.where(ligne.str.contains(r"\bPARIS\b", case=False)))
    return ("751" + number.astype("Int64").astype(str).str.zfill(2)).where(number.between(1, 20), None)


def _warn_on_labels(frame: pd.DataFrame) -> None:
    pairs = frame[["category", "finess_category_code", "finess_category_label"]].drop_duplicates()
    hint = pairs["category"].map(LABEL_HINTS)
    odd = pairs[[not re.search(h, str(label), re.IGNORECASE)
                 for h, label in zip(hint, pairs["finess_category_label"], strict=True)]]
    if len(odd):
        log.warning("finess: categetab codes whose libcategetab does not look like their category: %s",
                    "; ".join(f"{r.finess_category_code} {r.finess_category_label!r} → {r.category}"
                              for r in odd.itertuples()))


SOURCE = Finess()
