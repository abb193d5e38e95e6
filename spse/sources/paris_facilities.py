"""## Sensitive facilities in Paris (Ville de Paris open data, ODS CSV exports)

* Provider: Ville de Paris, opendata.paris.fr (Opendatasoft Explore API v2.1), one full
  export per dataset: `https://opendata.paris.fr/api/explore/v2.1/catalog/datasets/{dataset_id}/exports/csv`.
* Licence: ODbL (Paris open data) [V].
* Format: CSV `;`, UTF-8 with BOM, **field labels** as header, `geo_point_2d` = "lat, lon"
  (WGS84) [V].
* Datasets (:data:`DATASETS`):
  * verified [V]: `etablissements-scolaires-maternelles`, `-ecoles-elementaires`,
    `-colleges`, header `Type d'établissement - Année scolaire;Libellé établissement;
    Adresse;Arrondissement;Code INSEE;Année scolaire;Type établissement;geo_shape;geo_point_2d`.
    Each school appears once per school year: only the latest year of the file is kept.
    Quirk: some "Polyvalent" rows have an empty `Année scolaire`; the year is then read
    from the first column ("MATERNELLES (année scolaire 2022/2023)").
  * **unverified** [M]: the dataset ids `etablissements-petite-enfance` (crèches),
    `centres-pmi`, `ehpad`, `hopitaux`, `centres-de-sante` and their header
    `Identifiant;Nom;Catégorie;Adresse;Code postal;Arrondissement;Code INSEE;geo_point_2d`
    are assumptions to check against the catalog before production use. A 404 on one of
    them fails the ingest: restrict the set with `$SPSE_PARIS_FACILITIES_DATASETS`
    (comma-separated ids).
* Time base: none (reference data, partition `vintage=current`).
* Dataset: the first producer of the canonical `facilities`; `finess` and
  `annuaire_education` feed it too (`[datasets.facilities]` of the registry). Ids of the
  three never collide (`finess:…`, `uai:…` there). The same school or hospital would
  still be listed twice under two ids, so while one of them is configured the exports it
  lists again are not fetched (:data:`LISTED_BY`: the school exports for the annuaire, the
  PMI, EHPAD, hospital and health-centre ones for FINESS), unless
  `$SPSE_PARIS_FACILITIES_DATASETS` names them.

`facility_id` = `Identifiant` when present, else `<category>:<sha1(name|address)[:12]>`;
`zone_id` = `Code INSEE` (751xx), else derived from the postcode (750xx → 751xx);
`postcode` = `Code postal`, else derived from `zone_id` (751dd → 750dd: the school datasets
have no postcode, and the 16e's second postcode 75116 is then written 75016);
`arrondissement` = French label of `zone_id` ("1er arrondissement", "19e arrondissement").
Capacity (:data:`CAPACITY_UNITS`): the school datasets carry none (NULL; the Annuaire de
l'éducation has the pupils). The other datasets are read for a capacity column
(:data:`CAPACITY_ALIASES`, **unverified** [M]: feeds.md §h expects "nombre de places" in a
Paris crèche export, and Hauts-de-Seine's EAJE export has `capacite` [V]); a blank,
non-integer or negative value gives NULL capacity, not a rejection.
A facility listed twice in one dataset (same id: real quirk, 9 "Polyvalent" schools
appear twice in the 2025-2026 maternelles) is kept once; the same id in two datasets is
quarantined.
Quarantined rows: missing or unparseable `geo_point_2d`, coordinates outside
:data:`PARIS_BBOX`, school rows without a readable school year.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import PurePosixPath
from typing import ClassVar

import numpy as np
import pandas as pd

from spse.core import config
from spse.core.columns import Column
from spse.core.errors import SchemaError
from spse.sources._parsing import (
    RowChecks,
    as_text,
    blank_to_null,
    concat_rejects,
    conform,
    decode_text,
    numbers,
    read_delimited,
    resolve_columns,
)
from spse.sources.base import ParseResult, Partition, Source

DATASETS = {
    "etablissements-scolaires-maternelles": "ecole_maternelle",
    "etablissements-scolaires-ecoles-elementaires": "ecole_elementaire",
    "etablissements-scolaires-colleges": "college",
    "etablissements-petite-enfance": "creche",
    "centres-pmi": "pmi",
    "ehpad": "ehpad",
    "hopitaux": "hospital",
    "centres-de-sante": "centre_sante",
}
SCHOOL_DATASETS = ("etablissements-scolaires-maternelles", "etablissements-scolaires-ecoles-elementaires",
                   "etablissements-scolaires-colleges")
DATASETS_ENV = "SPSE_PARIS_FACILITIES_DATASETS"
# The national registries that also feed `facilities`, and the exports here they list again
# under their own ids (UAI, FINESS number; these exports carry neither): left out while the
# registry is configured ($SPSE_<NAME>_URL set), so a facility is never counted twice.
LISTED_BY = {
    "annuaire_education": SCHOOL_DATASETS,
    "finess": ("centres-pmi", "ehpad", "hopitaux", "centres-de-sante"),
}
# Paris intra-muros with the two woods, in ° WGS84: (lon_min, lon_max, lat_min, lat_max).
PARIS_BBOX = (2.22, 2.47, 48.81, 48.91)

# Capacity column of a non-school export [M], first match wins (labels matched case-insensitively).
CAPACITY_ALIASES = ("Nombre de places", "Nb places", "Places", "Capacité", "Capacite", "Nombre de lits", "Lits")
# Unit of `capacity` per category; a category not listed has no capacity (NULL).
CAPACITY_UNITS = {"creche": "places", "ecole_maternelle": "pupils", "ecole_elementaire": "pupils",
                  "college": "pupils", "lycee": "pupils", "ehpad": "beds", "hospital": "beds"}

SCHOOL_FIELDS = {
    "year_label": ("Type d'établissement - Année scolaire",),
    "name": ("Libellé établissement",),
    "address": ("Adresse",),
    "insee": ("Code INSEE",),
    "year": ("Année scolaire",),
    "point": ("geo_point_2d",),
}
OTHER_FIELDS = {
    "id": ("Identifiant",),
    "name": ("Nom",),
    "address": ("Adresse",),
    "postcode": ("Code postal",),
    "insee": ("Code INSEE",),
    "point": ("geo_point_2d",),
    "capacity": CAPACITY_ALIASES,
}
_YEAR = r"(\d{4})\s*[/-]\s*(\d{4})"
_PARIS_INSEE = r"^751(?:0[1-9]|1\d|20)$"


def followed_datasets() -> list[str]:
    """Dataset ids fetched: ``$SPSE_PARIS_FACILITIES_DATASETS`` (a subset of :data:`DATASETS`) or the default.

    The default is every dataset but those a configured national registry lists again
    (:data:`LISTED_BY`).
    """
    configured = [d.strip() for d in config.source_setting(DATASETS_ENV).split(",") if d.strip()]
    unknown = [d for d in configured if d not in DATASETS]
    if unknown:
        raise ValueError(f"{DATASETS_ENV} names unknown datasets {unknown}; known: {list(DATASETS)}")
    if configured:
        return configured
    elsewhere = {d for name, listed in LISTED_BY.items() if not config.is_demo(name) for d in listed}
    return [d for d in DATASETS if d not in elsewhere]


class ParisFacilities(Source):
    """Source ``paris_facilities``: sensitive facilities of Paris open data (schools, crèches, ...)."""

    name = "paris_facilities"
    dataset = "facilities"
    kind = "reference"
    cadence = "reference"
    schedule = "0 5 * * 1"
    max_age_hours = 192  # weekly schedule, one day of slack
    description = "Sensitive facilities of Paris (schools, crèches, PMI, EHPAD, hospitals, health centres)"
    columns: ClassVar[dict[str, Column]] = {
        "facility_id": Column("VARCHAR", "", "Upstream `Identifiant`, else '<category>:<sha1(name|address)[:12]>'",
                              nullable=False),
        "category": Column("VARCHAR", "", "creche, ecole_maternelle, ecole_elementaire, college, pmi, ehpad, "
                           "hospital or centre_sante", nullable=False),
        "name": Column("VARCHAR", "", "Facility name (`Libellé établissement` / `Nom`)"),
        "address": Column("VARCHAR", "", "Street address (`Adresse`)"),
        "zone_id": Column("VARCHAR", "", "INSEE arrondissement code 751xx (`Code INSEE`, else from the postcode)"),
        "lon": Column("DOUBLE", "° (WGS84)", "Longitude (from `geo_point_2d`)", nullable=False),
        "lat": Column("DOUBLE", "° (WGS84)", "Latitude (from `geo_point_2d`)", nullable=False),
        "dataset_id": Column("VARCHAR", "", "opendata.paris.fr dataset the row comes from", nullable=False),
        "school_year": Column("VARCHAR", "", "School year of the row (e.g. 2025-2026), the latest of the file; "
                              "NULL for non-school facilities"),
        "postcode": Column("VARCHAR", "", "Postcode (`Code postal`; for schools, 750dd derived from zone_id)"),
        "arrondissement": Column("VARCHAR", "", "French label of zone_id, e.g. '19e arrondissement'"),
        "capacity": Column("INTEGER", "capacity_unit", "Capacity where the export has it (crèche places, EHPAD "
                           "or hospital beds; column among CAPACITY_ALIASES [M]); NULL for schools, PMI and "
                           "health centres and when blank or not a whole number"),
        "capacity_unit": Column("VARCHAR", "", "Unit of capacity (places, beds); NULL when capacity is NULL"),
        "source": Column("VARCHAR", "", "Source that listed the facility: 'paris_facilities'", nullable=False),
    }
    primary_key = ("facility_id",)

    def files(self, day: dt.date) -> list[str]:
        """One CSV export per followed Paris open-data dataset."""
        return [f"{dataset_id}/exports/csv" for dataset_id in followed_datasets()]

    def parse(self, payload: bytes, filename: str, partition: Partition) -> ParseResult:
        """Facilities of one dataset export in the ``facilities`` schema (lon/lat ° WGS84)."""
        dataset_id = PurePosixPath(filename).parts[0]
        if dataset_id not in DATASETS:
            raise SchemaError(self.name, f"unknown dataset {dataset_id!r}; known: {list(DATASETS)}", file=filename)
        category = DATASETS[dataset_id]
        table = read_delimited(decode_text(payload, self.name, filename, "CSV"), ";", self.name, filename)
        school = dataset_id in SCHOOL_DATASETS
        fields = SCHOOL_FIELDS if school else OTHER_FIELDS
        required = tuple(k for k in fields if k not in ("id", "postcode", "capacity"))
        cols = resolve_columns(table.header, fields, required, self.name, filename)
        f = table.frame
        checks = RowChecks(len(f))
        point = f[cols["point"]].str.split(",", n=1, expand=True).reindex(columns=[0, 1]).astype(object)
        lat = pd.to_numeric(point[0].astype(str).str.strip().where(point[0].notna()), errors="coerce")
        lon = pd.to_numeric(point[1].astype(str).str.strip().where(point[1].notna()), errors="coerce")
        lon_min, lon_max, lat_min, lat_max = PARIS_BBOX
        checks.fail(lat.isna() | lon.isna(), "missing or unparseable geo_point_2d: " + f[cols["point"]])
        checks.fail(~lon.between(lon_min, lon_max) | ~lat.between(lat_min, lat_max),
                    "coordinates outside Paris: " + f[cols["point"]])
        name, address = blank_to_null(f[cols["name"]]), blank_to_null(f[cols["address"]])
        if school:
            year = _school_year(f[cols["year"]], f[cols["year_label"]])
            checks.fail(year.isna(), "no readable school year: " + f[cols["year_label"]])
            latest = year[~checks.bad].max()
            current = (year == latest).to_numpy()
        else:
            year = pd.Series(None, index=f.index, dtype=object)
            current = np.ones(len(f), dtype=bool)
        upstream_id = f[cols["id"]] if cols.get("id") else pd.Series("", index=f.index)
        digest = (name.fillna("") + "|" + address.fillna("")).map(lambda s: hashlib.sha1(s.encode()).hexdigest()[:12])
        facility_id = upstream_id.where(upstream_id != "", category + ":" + digest)
        postcode = f[cols["postcode"]] if cols.get("postcode") else pd.Series("", index=f.index)
        from_postcode = postcode.str.replace(r"^750(\d\d)$", r"751\1", regex=True)
        zone = f[cols["insee"]].where(f[cols["insee"]].str.match(_PARIS_INSEE),
                                      from_postcode.where(from_postcode.str.match(_PARIS_INSEE), None))
        capacity = (f[cols["capacity"]] if cols.get("capacity") else pd.Series("", index=f.index))
        capacity, unit = capacity_of(capacity, pd.Series(category, index=f.index))
        out = pd.DataFrame({"facility_id": facility_id, "category": category, "name": name, "address": address,
                            "zone_id": zone, "lon": lon, "lat": lat, "dataset_id": dataset_id, "school_year": year,
                            "postcode": postcode.where(postcode.str.match(r"^75\d{3}$"), postcode_of(zone)),
                            "arrondissement": arrondissement_label(zone), "capacity": capacity,
                            "capacity_unit": unit, "source": self.name})
        keep = ~checks.bad & current
        repeated = np.zeros(len(out), dtype=bool)
        repeated[keep] = out.loc[keep, "facility_id"].duplicated().to_numpy()
        keep &= ~repeated
        rejects = checks.rejects(self.name, filename, table.lines, table.raw)
        frame = conform(out.loc[keep], self.columns)
        frame.attrs["source_rows"] = table.lines[keep].tolist()
        return ParseResult(frame, concat_rejects(table.rejects, rejects))

    def combine(self, parsed: dict[str, ParseResult]) -> ParseResult:
        """Stack the datasets; a facility id already used by an earlier dataset is quarantined."""
        frames = [r.frame.assign(_file=f, _row=r.frame.attrs.get("source_rows", [0] * len(r.frame)))
                  for f, r in parsed.items() if len(r.frame)]
        rejects = concat_rejects(*[r.rejects for r in parsed.values()]) if parsed else ParseResult(
            self.empty_frame()).rejects
        if not frames:
            return ParseResult(self.empty_frame(), rejects)
        stacked = pd.concat(frames, ignore_index=True)
        stacked.attrs = {}
        dup = stacked["facility_id"].duplicated()
        if not dup.any():
            return ParseResult(conform(stacked, self.columns), rejects)
        lost = stacked.loc[dup]
        extra = pd.DataFrame({"source": self.name, "file": lost["_file"], "row": lost["_row"],
                              "reason": "facility id already used by another dataset: " + lost["facility_id"],
                              "raw": lost[list(self.columns)].apply(as_text).agg(";".join, axis=1)})
        return ParseResult(conform(stacked.loc[~dup], self.columns), concat_rejects(rejects, extra))


def arrondissement_label(zone_id: pd.Series) -> pd.Series:
    """French label of INSEE arrondissement codes: ``75101`` → ``1er arrondissement``, ``75119`` → ``19e …``."""
    number = pd.to_numeric(zone_id.where(zone_id.astype(str).str.match(_PARIS_INSEE)).astype(object).str.slice(3),
                           errors="coerce")
    label = number.map(lambda n: None if pd.isna(n) else f"{int(n)}{'er' if n == 1 else 'e'} arrondissement")
    return label.astype(object)


def postcode_of(zone_id: pd.Series) -> pd.Series:
    """Postcode ``750dd`` of INSEE arrondissement codes ``751dd`` (NULL otherwise)."""
    code = zone_id.astype(object).where(zone_id.astype(str).str.match(_PARIS_INSEE))
    return ("750" + code.str.slice(3)).astype(object).where(code.notna(), None)


def capacity_of(raw: pd.Series, category: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Capacity [:data:`CAPACITY_UNITS` unit] from a text column, and its unit.

    A blank, non-numeric, fractional or negative value, or a category without a capacity
    unit, gives NULL capacity and NULL unit.
    """
    values, _ = numbers(raw)
    unit = category.map(CAPACITY_UNITS)
    whole = values.notna() & (values % 1 == 0) & (values >= 0) & unit.notna()
    capacity = values.where(whole).astype("Int64")
    return capacity, unit.astype(object).where(whole, None)


def _school_year(year: pd.Series, label: pd.Series) -> pd.Series:
    """'YYYY-YYYY' from `Année scolaire`, else from the first column's '(année scolaire YYYY/YYYY)'."""
    own = year.str.extract(_YEAR)
    from_label = label.str.extract(_YEAR)
    parts = own.where(own[0].notna(), from_label)
    return (parts[0] + "-" + parts[1]).astype(object).where(parts[0].notna(), None)


SOURCE = ParisFacilities()
