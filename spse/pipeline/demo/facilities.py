"""Sensitive facilities of the demo bundle, as Paris open-data CSV exports (feeds.md §h).

School datasets use the verified export header and carry two school years (2024-2025 and
2025-2026, rows shuffled, like the real export): two schools are new in 2025-2026 and one
closed after 2024-2025. The other datasets use ``OTHER_HEADER``. Counts are scaled down
from Paris, spread over the arrondissements in proportion to their population, and placed
at random inside their arrondissement polygon, outside woods and parks. Names and
addresses are invented and unique within a dataset.

Designed rows (``docs/demo.md``):

* a crèche (``CRE-0001``) and an école maternelle in the 200 m cell of the traffic station
  FR04329, within 100 m of it, so that the NO2 alert of D2 names them;
* one crèche row (``CRE-0061``) with an empty ``geo_point_2d``, which the connector must
  quarantine.

Capacities: the crèche export has a ``Nombre de places`` column and the EHPAD export a
``Nombre de lits`` column (:data:`CAPACITY_COLUMNS`, before ``geo_point_2d``; the real
labels are unverified, feeds.md §h). They are drawn from their own generator
(:func:`capacities`), so every other value of the bundle is the one drawn without them.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from spse.pipeline.demo import facts, geometry
from spse.pipeline.demo.files import csv_text
from spse.pipeline.demo.files import write as write_file

SCHOOL_HEADER = ["Type d'établissement - Année scolaire", "Libellé établissement", "Adresse", "Arrondissement",
                 "Code INSEE", "Année scolaire", "Type établissement", "geo_shape", "geo_point_2d"]
OTHER_HEADER = ["Identifiant", "Nom", "Catégorie", "Adresse", "Code postal", "Arrondissement", "Code INSEE",
                "geo_point_2d"]
SCHOOL_YEARS = ("2024-2025", "2025-2026")
NEW_SCHOOLS = 2
CLOSED_SCHOOLS = 1
NEAR_STATION = "FR04329"
NEAR_DISTANCES_M = (45.0, 75.0)  # crèche, maternelle
EMPTY_POINT_ID = "CRE-0061"
MAX_STREET_NUMBER = 120  # invented addresses are unique within a dataset
# Capacity column of a non-school export and the range its values are drawn from (inclusive):
# Paris crèches hold a few dozen places, EHPAD some 60 to 150 beds.
CAPACITY_COLUMNS = {"etablissements-petite-enfance": ("Nombre de places", 20, 90), "ehpad": ("Nombre de lits", 60, 150)}


@dataclass(frozen=True)
class Dataset:
    """One Paris open-data facility dataset of the demo bundle and how its rows are drawn.

    ``count`` rows in all, at least ``min_per_zone`` per arrondissement; ``prefix`` is the label
    suffix of a school dataset (``MAT``, ``ELEM``) or the ``Identifiant`` prefix of the others;
    ``kind`` the school type, or the ``|``-separated categories of the others; ``school_label``
    the first column of a school export (empty for the others).
    """

    dataset_id: str
    count: int
    min_per_zone: int
    prefix: str  # school datasets: label suffix (MAT, ELEM) or "" ; others: Identifiant prefix
    kind: str  # Type établissement (schools) or the category names (others, "|"-separated)
    school_label: str = ""  # first column, e.g. "MATERNELLES"

    @property
    def is_school(self) -> bool:
        """Whether the dataset uses the school export header (``SCHOOL_HEADER``), two school years."""
        return bool(self.school_label)


DATASETS: tuple[Dataset, ...] = (
    Dataset("etablissements-scolaires-maternelles", 80, 1, "MAT", "Maternelle", "MATERNELLES"),
    Dataset("etablissements-scolaires-ecoles-elementaires", 80, 1, "ELEM", "Elémentaire", "ELEMENTAIRES"),
    Dataset("etablissements-scolaires-colleges", 25, 0, "", "Collège", "COLLEGES"),
    Dataset("etablissements-petite-enfance", 60, 1, "CRE", "Crèche collective|Multi-accueil|Crèche familiale"),
    Dataset("centres-pmi", 20, 0, "PMI", "Centre de PMI"),
    Dataset("ehpad", 20, 0, "EHP", "EHPAD"),
    Dataset("hopitaux", 12, 0, "HOP", "Hôpital"),
    Dataset("centres-de-sante", 12, 0, "CDS", "Centre de santé"),
)


def relative_path(dataset_id: str) -> str:
    """Path of the dataset's CSV export in the demo bundle, as the Paris open-data API names it."""
    return f"paris_facilities/{dataset_id}/exports/csv"


def counts_per_zone(total: int, minimum: int) -> np.ndarray:
    """``total`` facilities over the arrondissements: ``minimum`` each, the rest by population."""
    population = np.array([a.household_population for a in facts.ARRONDISSEMENTS], dtype=float)
    rest = total - minimum * len(population)
    raw = population / population.sum() * rest
    whole = np.floor(raw).astype(int)
    extra = np.argsort(-(raw - whole), kind="stable")[: rest - whole.sum()]
    whole[extra] += 1
    return whole + minimum


def _short(street: str) -> str:
    return re.sub(r"^(RUE|AVENUE|BOULEVARD) (DE LA |DE L'|DES |DU |D')?", "", street)


def near_station_points() -> tuple[np.ndarray, np.ndarray]:
    """Two points [m, EPSG:3035] in the 200 m cell of ``NEAR_STATION``, near the station.

    In Paris, outside the woods, at about ``NEAR_DISTANCES_M`` from the station and at least
    25 m apart.
    """
    station = next(s for s in facts.STATIONS if s.code == NEAR_STATION)
    sx, sy = geometry.to_3035(station.lon, station.lat)
    x0, y0 = np.floor(sx / geometry.CELL_M) * geometry.CELL_M, np.floor(sy / geometry.CELL_M) * geometry.CELL_M
    gx, gy = (a.ravel() for a in np.meshgrid(np.arange(x0 + 5, x0 + 200, 5.0), np.arange(y0 + 5, y0 + 200, 5.0)))
    ok = shapely.contains_xy(geometry.outline(), gx, gy) & ~shapely.contains_xy(geometry.unpopulated(), gx, gy)
    gx, gy = gx[ok], gy[ok]
    dist = np.hypot(gx - sx, gy - sy)
    first = int(np.argmin(np.abs(dist - NEAR_DISTANCES_M[0])))
    apart = np.hypot(gx - gx[first], gy - gy[first]) >= 25.0
    second = int(np.argmin(np.where(apart, np.abs(dist - NEAR_DISTANCES_M[1]), np.inf)))
    return gx[[first, second]], gy[[first, second]]


def _places(dataset: Dataset, rng: np.random.Generator) -> pd.DataFrame:
    """Positions [lon/lat], arrondissement, invented name and address of each facility."""
    counts = counts_per_zone(dataset.count, dataset.min_per_zone)
    habitable = [shapely.difference(p, geometry.unpopulated()) for p in geometry.arrondissements()]
    xs, ys, zones = [], [], []
    for zone, (poly, k) in enumerate(zip(habitable, counts, strict=True)):
        if k:
            x, y = geometry.sample_points(poly, int(k), rng)
            xs.append(x)
            ys.append(y)
            zones.append(np.full(int(k), zone))
    x, y, zone = np.concatenate(xs), np.concatenate(ys), np.concatenate(zones)
    address = rng.choice(len(facts.STREETS) * MAX_STREET_NUMBER, size=len(x), replace=False)
    streets = np.array(facts.STREETS)[address // MAX_STREET_NUMBER]
    numbers = address % MAX_STREET_NUMBER + 1
    frame = pd.DataFrame({"x": x, "y": y, "zone": zone, "street": streets, "number": numbers})
    if dataset.dataset_id in ("etablissements-petite-enfance", "etablissements-scolaires-maternelles"):
        nx, ny = near_station_points()
        pick = 0 if dataset.dataset_id == "etablissements-petite-enfance" else 1
        near = pd.DataFrame({"x": [nx[pick]], "y": [ny[pick]], "zone": geometry.zone_index(nx[[pick]], ny[[pick]]),
                             "street": ["BOULEVARD SOULT"], "number": [88 + 2 * pick]})
        frame = pd.concat([near, frame.iloc[:-1]], ignore_index=True)
    lon, lat = geometry.to_wgs84(frame["x"].to_numpy(), frame["y"].to_numpy())
    frame["lon"], frame["lat"] = np.round(lon, 8), np.round(lat, 8)
    zone = frame["zone"].to_numpy()
    frame["code"] = np.array([a.code for a in facts.ARRONDISSEMENTS])[zone]
    frame["label"] = np.array([a.label for a in facts.ARRONDISSEMENTS])[zone]
    frame["postcode"] = np.array([f"750{a.number:02d}" for a in facts.ARRONDISSEMENTS])[zone]
    frame["address"] = frame["number"].astype(str) + " " + frame["street"]
    frame["short"] = frame["street"].map(_short)
    return frame


def _point_text(frame: pd.DataFrame) -> pd.Series:
    return frame["lat"].astype(str) + ", " + frame["lon"].astype(str)


def school_frame(dataset: Dataset, rng: np.random.Generator) -> pd.DataFrame:
    """The school export of ``dataset``: both school years, new and closed schools, rows shuffled."""
    places = _places(dataset, rng)
    names = np.array(facts.PERSON_NAMES)[rng.integers(0, len(facts.PERSON_NAMES), len(places))]
    places["name"] = (places["short"] + " (" + places["number"].astype(str) + ") " + dataset.prefix
                      if dataset.prefix else pd.Series(names))
    current = places.iloc[: len(places) - CLOSED_SCHOOLS]
    previous = pd.concat([places.iloc[: len(places) - CLOSED_SCHOOLS - NEW_SCHOOLS],
                          places.iloc[len(places) - CLOSED_SCHOOLS:]])
    rows = []
    for year, schools in zip(SCHOOL_YEARS, (previous, current), strict=True):
        rows.append(pd.DataFrame({
            SCHOOL_HEADER[0]: f"{dataset.school_label} (année scolaire {year.replace('-', '/')})",
            SCHOOL_HEADER[1]: schools["name"],
            SCHOOL_HEADER[2]: schools["address"],
            SCHOOL_HEADER[3]: schools["label"],
            SCHOOL_HEADER[4]: schools["code"],
            SCHOOL_HEADER[5]: year,
            SCHOOL_HEADER[6]: dataset.kind,
            SCHOOL_HEADER[7]: ('{"coordinates": [' + schools["lon"].astype(str) + ", " + schools["lat"].astype(str)
                               + '], "type": "Point"}'),
            SCHOOL_HEADER[8]: _point_text(schools),
        }))
    table = pd.concat(rows, ignore_index=True)
    return table.iloc[rng.permutation(len(table))].reset_index(drop=True)


def other_frame(dataset: Dataset, rng: np.random.Generator) -> pd.DataFrame:
    """The export of a non-school ``dataset`` (``OTHER_HEADER``), plus the crèche without a point."""
    places = _places(dataset, rng)
    categories = np.array(dataset.kind.split("|"))
    category = categories[rng.integers(0, len(categories), len(places))]
    category[0] = categories[0]
    table = pd.DataFrame({
        "Identifiant": [f"{dataset.prefix}-{i:04d}" for i in range(1, len(places) + 1)],
        "Nom": pd.Series(category) + " " + places["short"].str.title(),
        "Catégorie": category,
        "Adresse": places["address"],
        "Code postal": places["postcode"],
        "Arrondissement": places["label"],
        "Code INSEE": places["code"],
        "geo_point_2d": _point_text(places),
    })
    if dataset.dataset_id in CAPACITY_COLUMNS:
        label = CAPACITY_COLUMNS[dataset.dataset_id][0]
        table.insert(len(table.columns) - 1, label, capacities(dataset.dataset_id, len(table)).astype(str))
    if dataset.dataset_id == "etablissements-petite-enfance":
        broken = table.iloc[[-1]].assign(Identifiant=EMPTY_POINT_ID, Nom="Crèche collective Tilleuls",
                                         Catégorie=categories[0],
                                         Adresse="12 AVENUE DES TILLEULS", geo_point_2d="")
        table = pd.concat([table, broken], ignore_index=True)
    return table


def capacities(dataset_id: str, n: int) -> np.ndarray:
    """``n`` capacities [places or beds] of ``dataset_id``, from a generator seeded by its id alone.

    Independent of the bundle's generator, so adding them leaves every other drawn value as it was.
    """
    _, low, high = CAPACITY_COLUMNS[dataset_id]
    return np.random.default_rng(zlib.crc32(dataset_id.encode())).integers(low, high + 1, n)


def frame(dataset: Dataset, rng: np.random.Generator) -> pd.DataFrame:
    """The CSV table of ``dataset``, school or other layout, drawn with ``rng``."""
    return school_frame(dataset, rng) if dataset.is_school else other_frame(dataset, rng)


def write(root: Path, rng: np.random.Generator) -> list[str]:
    """One ``;``-separated UTF-8 CSV with BOM per dataset, as the Opendatasoft export."""
    return [str(write_file(root, relative_path(d.dataset_id), csv_text(frame(d, rng), ";"), bom=True))
            for d in DATASETS]
