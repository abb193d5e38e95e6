"""Who and what the affected cells hold: population by group, arrondissements, facilities.

Input is a long frame of (``rule``, ``cell_id``) pairs, one per affected cell of each
alert rule; output is one row per rule. Populations are INSEE Filosofi 200 m counts
[persons] summed over whole cells (``grid_cells``); zones are the arrondissements whose
crosswalk (``zone_cells`` rows of level arrondissement, never IRIS or quartiers) touches an
affected cell; facilities are those located in an affected cell (``facility_cells``).
Reference: methods.md §1.2 and §6.5.
"""

from __future__ import annotations

import json

import pandas as pd

from spse.methods.grid import ZONE_LEVELS
from spse.pipeline.alerts.footprint import CELL_AREA_KM2

POPULATION_COLUMNS = ["population", "pop_0_5", "pop_65p", "pop_poor_households"]
ARRONDISSEMENT = ZONE_LEVELS["zones"]


def summarise(affected: pd.DataFrame, grid_cells: pd.DataFrame, zone_cells: pd.DataFrame, zones: pd.DataFrame,
              facility_cells: pd.DataFrame, facilities: pd.DataFrame) -> pd.DataFrame:
    """One row per ``rule``: cells, area [km²], population by group [persons], zones, facilities."""
    affected = affected[["rule", "cell_id"]].drop_duplicates()
    if affected.empty:
        return pd.DataFrame(columns=["rule", "n_cells", "population_total", *POPULATION_COLUMNS[1:], "area_km2",
                                     "zone_ids", "zone_names", "facility_count", "facility_ids",
                                     "facilities_by_category"])
    affected = affected.astype({"rule": "int64"})
    rules = pd.DataFrame({"rule": sorted(affected["rule"].unique())})
    cells = affected.merge(grid_cells[["cell_id", *POPULATION_COLUMNS]], on="cell_id", how="left")
    totals = (cells.fillna({c: 0.0 for c in POPULATION_COLUMNS})
              .groupby("rule", as_index=False)
              .agg(n_cells=("cell_id", "nunique"), **{c: (c, "sum") for c in POPULATION_COLUMNS}))
    out = rules.merge(totals, on="rule", how="left")
    out["area_km2"] = out["n_cells"] * CELL_AREA_KM2
    out = out.rename(columns={"population": "population_total"})
    out = out.merge(_zones(affected, zone_cells, zones), on="rule", how="left")
    out = out.merge(_facilities(affected, facility_cells, facilities), on="rule", how="left")
    return out.fillna({"zone_ids": "", "zone_names": "", "facility_ids": "", "facility_count": 0,
                       "facilities_by_category": "{}"})


def _zones(affected: pd.DataFrame, zone_cells: pd.DataFrame, zones: pd.DataFrame) -> pd.DataFrame:
    # zone_ids name arrondissements only; a crosswalk without zone_level predates the IRIS and quartier levels
    level = zone_cells.get("zone_level", pd.Series(index=zone_cells.index, dtype="str")).fillna(ARRONDISSEMENT)
    crosswalk = zone_cells[(zone_cells["area_fraction"] > 0) & (level == ARRONDISSEMENT)][["zone_id", "cell_id"]]
    hit = affected.merge(crosswalk, on="cell_id")[["rule", "zone_id"]].drop_duplicates()
    hit = hit.merge(zones[["zone_id", "zone_name"]].drop_duplicates("zone_id"), on="zone_id", how="left")
    hit = hit.assign(zone_name=hit["zone_name"].fillna(hit["zone_id"])).sort_values(["rule", "zone_id"])
    return hit.groupby("rule", as_index=False).agg(zone_ids=("zone_id", ",".join),
                                                    zone_names=("zone_name", ", ".join))


def _facilities(affected: pd.DataFrame, facility_cells: pd.DataFrame, facilities: pd.DataFrame) -> pd.DataFrame:
    columns = ["rule", "facility_count", "facility_ids", "facilities_by_category"]
    hit = affected.merge(facility_cells[["facility_id", "cell_id"]], on="cell_id")[["rule", "facility_id"]]
    hit = hit.drop_duplicates().merge(facilities[["facility_id", "category"]].drop_duplicates("facility_id"),
                                      on="facility_id", how="left")
    if hit.empty:
        return pd.DataFrame(columns=columns)
    hit = hit.assign(category=hit["category"].fillna("unknown"), facility_id=hit["facility_id"].astype(str))
    hit = hit.sort_values(["rule", "facility_id"])
    ids = hit.groupby("rule", as_index=False).agg(facility_count=("facility_id", "size"),
                                                  facility_ids=("facility_id", ",".join))
    counts = hit.groupby(["rule", "category"]).size()
    by_category = pd.DataFrame({"facilities_by_category": {
        rule: json.dumps({str(k): int(v) for k, v in group.droplevel("rule").items()}, sort_keys=True,
                         ensure_ascii=False)
        for rule, group in counts.groupby(level="rule")}})
    by_category.index.name = "rule"
    return ids.merge(by_category.reset_index(), on="rule")[columns]


def facility_details(facility_ids: str, facilities: pd.DataFrame) -> list[dict]:
    """(id, name, category, and address when ``facilities`` has one) of the comma-separated ``facility_ids``."""
    ids = [i for i in facility_ids.split(",") if i]
    rows = facilities.assign(facility_id=facilities["facility_id"].astype(str))
    rows = rows[rows["facility_id"].isin(ids)].drop_duplicates("facility_id").sort_values("facility_id")
    columns = ["facility_id", "name", "category", *(["address"] if "address" in rows.columns else [])]
    known = {r["facility_id"]: {k: v for k, v in r.items() if k != "address" or (isinstance(v, str) and v)}
             for r in rows[columns].to_dict("records")}
    return [known.get(i, {"facility_id": i, "name": None, "category": None}) for i in ids]
