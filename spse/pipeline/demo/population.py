"""The INSEE Filosofi 2017 200 m grid file of the demo bundle (feeds.md §g1).

One row per populated 200 m cell whose centre lies inside the Paris outline, outside the
woods, parks and cemeteries (``geometry.unpopulated``). Each arrondissement's cells sum
exactly to its ``household_population`` [persons]; cells are weighted by seeded lognormal
draws, about 5 % of them being sparse (a few persons). As in Filosofi, a cell with fewer
than 11 households is imputed (``I_est_200 = 1``) and carries fractional values; other
cells carry whole numbers written as floats. Age bands sum to ``Ind`` in every cell.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from spse.pipeline.demo import facts, geometry
from spse.pipeline.demo.files import csv_text
from spse.pipeline.demo.files import write as write_file

RELATIVE_PATH = "insee_filosofi_200m/Filosofi2017_carreaux_200m_met.csv"
COLUMNS = ["Idcar_200m", "I_est_200", "Idcar_1km", "I_est_1km", "Idcar_nat", "Groupe", "Ind", "Men", "Men_pauv",
           "Men_1ind", "Men_5ind", "Men_prop", "Men_fmp", "Ind_snv", "Men_surf", "Men_coll", "Men_mais",
           "Log_av45", "Log_45_70", "Log_70_90", "Log_ap90", "Log_inc", "Log_soc", "Ind_0_3", "Ind_4_5",
           "Ind_6_10", "Ind_11_17", "Ind_18_24", "Ind_25_39", "Ind_40_54", "Ind_55_64", "Ind_65_79", "Ind_80p",
           "Ind_inc"]
MIN_HOUSEHOLDS = 11  # INSEE secrecy rule: fewer households → imputed values
SPARSE_SHARE = 0.05
WEIGHT_SIGMA = 0.35  # spread of the lognormal cell weights
BASE_PERSONS = 2  # every populated cell holds at least this many persons
HOUSING_ERA_SHARES = (0.62, 0.13, 0.15, 0.10)  # before 1945, 1945-70, 1970-90, after 1990


def allocate_rows(units: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Split each ``units[i]`` (integers) over the columns of ``shares[i]`` by largest remainder.

    Returns integers of the shape of ``shares`` whose rows sum to ``units``.
    """
    shares = shares / shares.sum(axis=1, keepdims=True)
    raw = shares * units[:, None]
    whole = np.floor(raw)
    missing = (units - whole.sum(axis=1)).astype(int)
    order = np.argsort(-(raw - whole), axis=1, kind="stable")
    rank = np.argsort(order, axis=1, kind="stable")
    return (whole + (rank < missing[:, None])).astype(np.int64)


def allocate_groups(totals: np.ndarray, weights: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Split ``totals[g]`` (integers) over the items of each group ``g`` by weight, largest remainder."""
    weight_sum = np.bincount(group, weights=weights)
    raw = weights / weight_sum[group] * totals[group]
    whole = np.floor(raw)
    missing = totals - np.bincount(group, weights=whole, minlength=len(totals)).astype(np.int64)
    frac_rank = pd.Series(raw - whole).groupby(group).rank(method="first", ascending=False).to_numpy()
    return (whole + (frac_rank <= missing[group])).astype(np.int64)


def populated_cells() -> pd.DataFrame:
    """SW corners [m, EPSG:3035] and arrondissement index of the cells that hold residents."""
    x, y = geometry.cell_corners_in_outline()
    cx, cy = x + geometry.CELL_M / 2, y + geometry.CELL_M / 2
    zone = geometry.zone_index(cx, cy)
    if (zone < 0).any():
        raise RuntimeError("a cell centre inside the outline lies in no arrondissement")
    keep = ~shapely.contains_xy(geometry.unpopulated(), cx, cy)
    return pd.DataFrame({"x": x[keep], "y": y[keep], "zone": zone[keep]})


def _paired_tenths(rng: np.random.Generator, group: np.ndarray) -> np.ndarray:
    """±0.1-0.4 offsets that cancel in pairs within each group (a lone last item gets 0)."""
    k = pd.Series(group).groupby(group).cumcount().to_numpy()
    size = np.bincount(group)[group]
    step = rng.integers(1, 5, len(group)) / 10
    partner = np.where(k % 2 == 1, np.arange(len(group)) - 1, np.arange(len(group)))
    offset = step[partner] * np.where(k % 2 == 0, 1.0, -1.0)
    return np.where((k % 2 == 0) & (k == size - 1), 0.0, offset)


def filosofi_frame(rng: np.random.Generator) -> pd.DataFrame:
    """The Filosofi-format table of the demo grid (persons, households, dwellings, € per year)."""
    cells = populated_cells().sort_values(["zone", "y", "x"], ignore_index=True)
    zone = cells["zone"].to_numpy()
    n = len(cells)
    arr = facts.ARRONDISSEMENTS

    def pick(attr: str) -> np.ndarray:
        return np.array([getattr(a, attr) for a in arr], dtype=float)[zone]

    def noise(sigma: float) -> np.ndarray:
        return np.exp(rng.normal(0, sigma, n))

    weights = rng.lognormal(0.0, WEIGHT_SIGMA, n) * np.where(rng.random(n) < SPARSE_SHARE, 0.004, 1.0)
    targets = np.array([a.household_population for a in arr], dtype=np.int64)
    spread = targets - BASE_PERSONS * np.bincount(zone, minlength=len(arr))
    persons = BASE_PERSONS + allocate_groups(spread, weights, zone)

    size = pick("household_size") * np.exp(rng.normal(0, 0.08, n))
    imputed = persons / size < MIN_HOUSEHOLDS
    order = np.flatnonzero(imputed)
    ind = persons.astype(float)
    ind[order] += _paired_tenths(rng, zone[order])
    ind = np.round(ind, 1)
    scale = np.where(imputed, 10, 1)  # imputed cells are counted in tenths
    men = np.where(imputed, np.minimum(np.round(ind / size, 1), MIN_HOUSEHOLDS - 0.1),
                   np.maximum(np.round(ind / size), MIN_HOUSEHOLDS))

    def count(share: np.ndarray) -> np.ndarray:
        return np.round(men * np.clip(share, 0.0, 1.0) * scale) / scale

    profile = np.array(facts.PARIS_AGE_PROFILE)
    modifier = np.ones((n, len(profile)))
    child = np.isin(facts.AGE_BANDS, facts.CHILD_BANDS)
    elderly = np.isin(facts.AGE_BANDS, facts.ELDERLY_BANDS)
    modifier[:, child] = pick("child_factor")[:, None]
    modifier[:, elderly] = pick("elderly_factor")[:, None]
    shares = profile * modifier * np.exp(rng.normal(0, 0.12, (n, len(profile))))
    bands = allocate_rows(np.round(ind * scale).astype(np.int64), shares) / scale[:, None]

    eras = np.array(HOUSING_ERA_SHARES) * np.exp(rng.normal(0, 0.2, (n, 4)))
    dwellings = allocate_rows(np.round(men * scale).astype(np.int64), eras) / scale[:, None]
    poverty = pick("poverty_rate")
    living = pick("living_standard_eur")
    men_coll = count(0.985 * noise(0.01))

    frame = pd.DataFrame({
        "x": cells["x"], "y": cells["y"],
        "I_est_200": imputed.astype(int),
        "I_est_1km": 0,
        "Ind": ind,
        "Men": men,
        "Men_pauv": count(poverty * noise(0.35)),
        "Men_1ind": count(0.5 * noise(0.12)),
        "Men_5ind": count(0.03 * size / 1.9 * noise(0.3)),
        "Men_prop": count(pick("owners") * noise(0.2)),
        "Men_fmp": count(0.085 * (1 + poverty) * noise(0.3)),
        "Ind_snv": np.round(ind * living * noise(0.15), 1),
        "Men_surf": np.round(men * 62.0 * (living / 34000.0) ** 0.3 * noise(0.1), 1),
        "Men_coll": men_coll,
        "Men_mais": np.round(men - men_coll, 1),
        "Log_av45": dwellings[:, 0], "Log_45_70": dwellings[:, 1], "Log_70_90": dwellings[:, 2],
        "Log_ap90": dwellings[:, 3], "Log_inc": 0.0,
        "Log_soc": count(pick("social_housing") * noise(0.5)),
        **{f"Ind_{band}": bands[:, i] for i, band in enumerate(facts.AGE_BANDS)},
        "Ind_inc": 0.0,
    })
    x, y = frame["x"].astype(str), frame["y"].astype(str)
    frame["Idcar_200m"] = "CRS3035RES200mN" + y + "E" + x
    frame["Idcar_1km"] = ("CRS3035RES1000mN" + (frame["y"] // 1000 * 1000).astype(str)
                          + "E" + (frame["x"] // 1000 * 1000).astype(str))
    frame["Idcar_nat"] = frame["Idcar_200m"].where(~imputed, frame["Idcar_1km"])
    frame = frame.sort_values("Idcar_200m", ignore_index=True)
    frame["Groupe"] = pd.factorize(frame["Idcar_nat"])[0] + 1
    return frame[COLUMNS]


def write(root, rng: np.random.Generator) -> list[str]:
    """Write the Filosofi CSV (comma-separated, UTF-8) under ``root``."""
    return [str(write_file(root, RELATIVE_PATH, csv_text(filosofi_frame(rng), ",")))]
