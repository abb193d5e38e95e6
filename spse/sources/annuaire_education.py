"""## Annuaire de l'éducation: Paris schools, public and private (Ministère de l'Éducation nationale)

* Provider: Ministère de l'Éducation nationale, data.education.gouv.fr (Opendatasoft
  Explore API v2.1), dataset `fr-en-annuaire-education` [R].
* URL: `https://data.education.gouv.fr/api/explore/v2.1/catalog/datasets/fr-en-annuaire-education/exports/csv`
  with `?delimiter=%3B&where=code_departement%3D%22075%22` over HTTP
  (:meth:`AnnuaireEducation.url_for`); a local copy is read as it is.
* Licence: Licence Ouverte / Etalab 2.0 [R].
* Format: CSV `;`, UTF-8 (BOM tolerated), one row per establishment. The header holds the
  field names (`identifiant_de_l_etablissement, nom_etablissement, type_etablissement,
  statut_public_prive, adresse_1, code_postal, code_commune, nom_commune, code_departement,
  latitude, longitude, ecole_maternelle, ecole_elementaire, nombre_d_eleves, etat, …`) [R]
  or, in exports made with labels, the same names capitalised or spelt out; headers are
  matched after folding case, accents and punctuation to `_`.
* CRS: `latitude`/`longitude` in ° WGS84 [R] (`coordx_origine`/`coordy_origine` in
  Lambert-93 are not used).
* Time base: none (a snapshot; partition `vintage=current`, `school_year` NULL).
* Dataset: a producer of the canonical `facilities` (the columns of `paris_facilities`),
  so its schools count in the facility marts and alerts. Its ids, `uai:<UAI>:<category>`,
  never equal another producer's; the Paris open-data school exports (public schools, no
  UAI) list the same schools under other ids, so `paris_facilities` leaves them out while
  this source is configured (:func:`spse.sources.paris_facilities.followed_datasets`).
* Selection: `etat = OUVERT`, `code_departement` 075 and the categories below; other rows
  are out of scope, not errors. It also covers private schools, which the Paris open-data
  school datasets do not.
* Categories (`type_etablissement` folded): `Ecole` → `ecole_maternelle` when
  `ecole_maternelle = 1`, `ecole_elementaire` when `ecole_elementaire = 1`, **both** for an
  école primaire (one row each, as the Paris datasets list "Polyvalent" schools in both);
  `Collège` → `college`; `Lycée` → `lycee` (a category the Paris datasets lack).
* `facility_id` = `uai:<UAI>:<category>`; `zone_id` = `code_commune` when it is an
  arrondissement (751xx) [M: the annuaire uses arrondissement codes for Paris], else from
  the postcode (750dd → 751dd).
* Unconfirmed: the flag values (`1`/`0` [R]; `oui`/`true` also read), the label forms of
  the header [M].

Quarantined rows (`row` = line number, header = 1): wrong field count, invalid UTF-8
bytes, missing or non-numeric coordinates, coordinates outside
:data:`spse.sources.paris_facilities.PARIS_BBOX`, an école with neither flag set, missing
UAI, repeated UAI. A non-numeric `nombre_d_eleves` gives NULL pupils, not a rejection.
`capacity` = `nombre_d_eleves` [pupils] (`capacity_unit` 'pupils'), `postcode` = `code_postal`,
`arrondissement` = French label of `zone_id`.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import ClassVar
from urllib.parse import urlparse

import numpy as np
import pandas as pd

from spse.core.columns import Column
from spse.sources._parsing import (
    RowChecks,
    blank_to_null,
    concat_rejects,
    conform,
    numbers,
    read_delimited,
    reject_non_data,
    resolve_columns,
)
from spse.sources.base import ParseResult, Partition, Source
from spse.sources.paris_facilities import PARIS_BBOX, arrondissement_label, capacity_of

DATASET_ID = "fr-en-annuaire-education"
HTTP_QUERY = "delimiter=%3B&where=code_departement%3D%22075%22"
DEPARTMENT = "075"
OPEN = "OUVERT"

FIELDS = {
    "uai": ("identifiant_de_l_etablissement", "uai", "numero_uai"),
    "name": ("nom_etablissement",),
    "type": ("type_etablissement",),
    "address": ("adresse_1",),
    "postcode": ("code_postal",),
    "commune": ("code_commune",),
    "commune_name": ("nom_commune",),
    "department": ("code_departement",),
    "lat": ("latitude",),
    "lon": ("longitude",),
    "maternelle": ("ecole_maternelle",),
    "elementaire": ("ecole_elementaire",),
    "pupils": ("nombre_d_eleves",),
    "state": ("etat",),
}
REQUIRED = ("uai", "name", "type", "department", "lat", "lon", "maternelle", "elementaire", "state")
TYPES = {"college": "college", "lycee": "lycee"}
SCHOOL = "ecole"
_TRUE = ("1", "true", "oui", "o", "yes")
_PARIS_INSEE = r"^751(?:0[1-9]|1\d|20)$"


def fold(label: str) -> str:
    """``'Identifiant de l'établissement'`` → ``'identifiant_de_l_etablissement'``."""
    ascii_ = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode()
    return re.sub(r"[^0-9a-z]+", "_", ascii_.casefold()).strip("_")


def _fold_values(series: pd.Series) -> pd.Series:
    ascii_ = series.str.normalize("NFKD").str.encode("ascii", "ignore").str.decode("ascii")
    return ascii_.str.casefold().str.replace(r"[^0-9a-z]+", "_", regex=True).str.strip("_")


class AnnuaireEducation(Source):
    """Source ``annuaire_education``: Paris schools from the national Annuaire de l'éducation."""

    name = "annuaire_education"
    dataset = "facilities"
    kind = "reference"
    cadence = "reference"
    schedule = "0 6 * * 1"
    max_age_hours = 192  # weekly schedule, one day of slack
    optional = True
    description = "Paris schools (écoles, collèges, lycées; public and private) from the Annuaire de l'éducation"
    columns: ClassVar[dict[str, Column]] = {
        "facility_id": Column("VARCHAR", "", "'uai:<UAI>:<category>' (UAI = identifiant_de_l_etablissement)",
                              nullable=False),
        "category": Column("VARCHAR", "", "ecole_maternelle, ecole_elementaire, college or lycee", nullable=False),
        "name": Column("VARCHAR", "", "Establishment name (nom_etablissement)"),
        "address": Column("VARCHAR", "", "adresse_1, code_postal nom_commune"),
        "zone_id": Column("VARCHAR", "", "INSEE arrondissement code 751xx (code_commune, else from the postcode)"),
        "lon": Column("DOUBLE", "° (WGS84)", "Longitude (longitude)", nullable=False),
        "lat": Column("DOUBLE", "° (WGS84)", "Latitude (latitude)", nullable=False),
        "dataset_id": Column("VARCHAR", "", "Upstream dataset: 'fr-en-annuaire-education'", nullable=False),
        "school_year": Column("VARCHAR", "", "School year; NULL (the annuaire is a snapshot)"),
        "postcode": Column("VARCHAR", "", "Postcode (code_postal)"),
        "arrondissement": Column("VARCHAR", "", "French label of zone_id, e.g. '18e arrondissement'"),
        "capacity": Column("INTEGER", "capacity_unit", "Capacity: pupils enrolled (nombre_d_eleves, the whole "
                           "establishment, repeated on both rows of an école primaire); NULL when not a whole "
                           "number"),
        "capacity_unit": Column("VARCHAR", "", "'pupils'; NULL when capacity is NULL"),
        "source": Column("VARCHAR", "", "Source that listed the facility: 'annuaire_education'", nullable=False),
    }
    primary_key = ("facility_id",)

    def files(self, day: dt.date) -> list[str]:
        """The dataset's CSV export (one file per vintage)."""
        return [f"{DATASET_ID}/exports/csv"]

    def url_for(self, base: str, relative: str) -> str:
        """The export URL, restricted to Paris (département 075) with ``;`` separators over HTTP(S)."""
        url = super().url_for(base, relative)
        return f"{url}?{HTTP_QUERY}" if urlparse(url).scheme in ("http", "https") else url

    def parse(self, payload: bytes, filename: str, partition: Partition) -> ParseResult:
        """Open Paris schools in the ``facilities`` schema (lon/lat ° WGS84)."""
        reject_non_data(payload, self.name, filename, "CSV")
        text = payload.decode("utf-8-sig", errors="replace")
        table = read_delimited(unicodedata.normalize("NFC", text), ";", self.name, filename)
        header = [fold(h) for h in table.header]
        cols = resolve_columns(header, FIELDS, REQUIRED, self.name, filename)
        f = table.frame.set_axis(header, axis=1)
        get = {k: (f[c] if c else pd.Series("", index=f.index)) for k, c in cols.items()}

        in_scope = ((get["state"].str.upper() == OPEN)
                    & (get["department"].str.lstrip("0") == DEPARTMENT.lstrip("0"))).to_numpy()
        kind = _fold_values(get["type"])
        maternelle = get["maternelle"].str.lower().isin(_TRUE).to_numpy()
        elementaire = get["elementaire"].str.lower().isin(_TRUE).to_numpy()
        school = (kind == SCHOOL).to_numpy()
        other = kind.map(TYPES).to_numpy(dtype=object)
        in_scope = in_scope & (school | pd.notna(other))

        lat, lat_bad = numbers(get["lat"])
        lon, lon_bad = numbers(get["lon"])
        lon_min, lon_max, lat_min, lat_max = PARIS_BBOX
        checks = RowChecks(len(f))
        checks.fail(table.raw.str.contains("\ufffd", regex=False), "invalid UTF-8 bytes (wrong encoding?)")
        checks.fail(get["uai"] == "", "missing identifiant_de_l_etablissement")
        checks.fail(lat_bad | lon_bad, "latitude/longitude are not numbers")
        checks.fail(lat.isna() | lon.isna(), "missing latitude/longitude")
        checks.fail(~lon.between(lon_min, lon_max) | ~lat.between(lat_min, lat_max),
                    "coordinates outside Paris: " + get["lat"] + ", " + get["lon"])
        checks.fail(school & ~maternelle & ~elementaire, "école with neither ecole_maternelle nor ecole_elementaire")
        checks.reason[~in_scope] = None
        candidate = in_scope & ~checks.bad
        repeated = np.zeros(len(f), dtype=bool)
        repeated[candidate] = get["uai"][candidate].duplicated().to_numpy()
        checks.fail(repeated, "UAI of an earlier row repeated: " + get["uai"])
        good = in_scope & ~checks.bad

        pupils, _ = numbers(get["pupils"])
        commune = get["commune"].where(get["commune"].str.match(_PARIS_INSEE), None)
        from_postcode = get["postcode"].str.replace(r"^750(\d\d)$", r"751\1", regex=True)
        zone = commune.fillna(from_postcode.where(from_postcode.str.match(_PARIS_INSEE), None))
        place = (get["postcode"] + " " + get["commune_name"]).str.strip()
        address = (get["address"] + ", " + place).str.strip(" ,")
        base = pd.DataFrame({
            "uai": get["uai"], "name": blank_to_null(get["name"]), "address": blank_to_null(address),
            "zone_id": zone, "lon": lon, "lat": lat, "dataset_id": DATASET_ID, "school_year": None,
            "pupils": pupils.where(pupils % 1 == 0).astype("Int64"),
            "postcode": blank_to_null(get["postcode"]), "arrondissement": arrondissement_label(zone),
            "source": self.name,
        })
        parts = [base.loc[good & school & maternelle].assign(category="ecole_maternelle"),
                 base.loc[good & school & elementaire].assign(category="ecole_elementaire"),
                 base.loc[good & ~school].assign(category=other[good & ~school])]
        out = pd.concat(parts).sort_index(kind="stable")
        out["facility_id"] = "uai:" + out["uai"] + ":" + out["category"]
        out["capacity"], out["capacity_unit"] = capacity_of(out["pupils"], out["category"])
        rejects = checks.rejects(self.name, filename, table.lines, table.raw)
        if not len(out):
            out = self.empty_frame()
        return ParseResult(conform(out, self.columns), concat_rejects(table.rejects, rejects))


SOURCE = AnnuaireEducation()
