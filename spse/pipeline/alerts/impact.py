"""Who and what the affected cells hold: population by group, arrondissements, facilities.

Input is a long frame of (``rule``, ``cell_id``) pairs, one per affected cell of each
alert rule; output is one row per rule. Populations are INSEE Filosofi 200 m counts
[persons] summed over whole cells (``grid_cells``); zones are the arrondissements whose
crosswalk (``zone_cells`` rows of level arrondissement, never IRIS or quartiers) touches an
affected cell; facilities are those located in an affected cell (``facility_cells``), listed
with name, address, postcode, arrondissement, category and capacity, most sensitive first
(register ``facility_sensitivity_order``, after methods.md §8). Children in crèches = sum of
the capacities [places] of the crèches concerned. Reference: methods.md §1.2, §6.5 and §8.
"""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from collections.abc import Sequence

import pandas as pd

from spse.core import register
from spse.methods.footprint import CELL_AREA_KM2
from spse.methods.grid import ZONE_LEVELS
from spse.pipeline.alerts.schema import frame_records, missing

POPULATION_COLUMNS = ["population", "pop_0_5", "pop_65p", "pop_poor_households"]
ARRONDISSEMENT = ZONE_LEVELS["zones"]
# Fields of each facility in an alert's ``facilities`` list, in this order.
FACILITY_FIELDS = ["facility_id", "name", "category", "address", "postcode", "zone_id", "arrondissement",
                   "capacity", "capacity_unit"]
CRECHE = "creche"
# Alert columns :func:`summarise` fills, which the evaluations copy onto each alert row.
SUMMARY_COLUMNS = ("n_cells", "area_km2", "population_total", "pop_0_5", "pop_65p", "pop_poor_households",
                   "zone_ids", "zone_names", "facility_count", "facility_ids", "facilities_by_category",
                   "facilities", "children_in_creches", "creches_without_capacity")
# Values of the facility columns for a row without affected cells.
EMPTY_FACILITIES = {"facilities": "[]", "children_in_creches": 0, "creches_without_capacity": 0}


def summarise(affected: pd.DataFrame, grid_cells: pd.DataFrame, zone_cells: pd.DataFrame, zones: pd.DataFrame,
              facility_cells: pd.DataFrame, facilities: pd.DataFrame, *,
              sensitivity: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per ``rule``: cells, area [km²], population by group [persons], zones, facilities.

    ``sensitivity`` lists the facility categories most sensitive first (default: the
    register's ``facility_sensitivity_order``); it orders each rule's ``facilities`` JSON.
    ``children_in_creches`` [places] sums the capacities of the crèches concerned; those
    without a capacity are counted in ``creches_without_capacity``.
    """
    affected = affected[["rule", "cell_id"]].drop_duplicates()
    if affected.empty:
        return pd.DataFrame(columns=["rule", *SUMMARY_COLUMNS])
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
    order = sensitivity_order() if sensitivity is None else list(sensitivity)
    out = out.merge(_facilities(affected, facility_cells, facilities, order), on="rule", how="left")
    return out.fillna({"zone_ids": "", "zone_names": "", "facility_ids": "", "facility_count": 0,
                       "facilities_by_category": "{}", **EMPTY_FACILITIES})


def _zones(affected: pd.DataFrame, zone_cells: pd.DataFrame, zones: pd.DataFrame) -> pd.DataFrame:
    # zone_ids name arrondissements only; a crosswalk without zone_level predates the IRIS and quartier levels
    level = zone_cells.get("zone_level", pd.Series(index=zone_cells.index, dtype="str")).fillna(ARRONDISSEMENT)
    crosswalk = zone_cells[(zone_cells["area_fraction"] > 0) & (level == ARRONDISSEMENT)][["zone_id", "cell_id"]]
    hit = affected.merge(crosswalk, on="cell_id")[["rule", "zone_id"]]
    by_rule: dict[int, set] = {}
    for rule, zone_id in zip(hit["rule"].tolist(), hit["zone_id"].tolist(), strict=True):
        by_rule.setdefault(rule, set()).add(zone_id)
    names = {z: n for z, n in zones[["zone_id", "zone_name"]].drop_duplicates("zone_id").itertuples(index=False)
             if not missing(n)}
    rules = sorted(by_rule)
    ids = [sorted(by_rule[rule]) for rule in rules]
    return pd.DataFrame({"rule": pd.Series(rules, dtype="int64"),
                         "zone_ids": pd.Series([",".join(z) for z in ids], dtype="str"),
                         "zone_names": pd.Series([", ".join(names.get(z, z) for z in zone_ids) for zone_ids in ids],
                                                 dtype="str")})


def sensitivity_order() -> list[str]:
    """Facility categories, most sensitive first (register ``facility_sensitivity_order``)."""
    return register.parameters().words("facility_sensitivity_order")


def ordered(facilities: pd.DataFrame, order: Sequence[str]) -> pd.DataFrame:
    """``facilities`` with :data:`FACILITY_FIELDS` (missing ones NULL), most sensitive category first.

    Categories in ``order`` come in that order, any other after them; then by name (ignoring
    case and accents), then id.
    """
    rows = _with_fields(facilities)
    rank = rows["category"].map({c: i for i, c in enumerate(order)}).fillna(len(order))
    name = rows["name"].fillna("").astype(str).str.normalize("NFKD").str.encode("ascii", "ignore").str.decode(
        "ascii").str.casefold()
    rows = rows.assign(_rank=rank.to_numpy(), _name=name.to_numpy())
    return rows.sort_values(["_rank", "_name", "facility_id"], kind="stable").drop(columns=["_rank", "_name"])


def _with_fields(facilities: pd.DataFrame) -> pd.DataFrame:
    """``facilities`` with :data:`FACILITY_FIELDS` (missing ones NULL) and ``facility_id`` as text."""
    rows = facilities.reindex(columns=list(dict.fromkeys([*facilities.columns, *FACILITY_FIELDS])))
    return rows.assign(facility_id=rows["facility_id"].astype(str))


def _sort_key(row: dict, rank: dict[str, int], unranked: int) -> tuple:
    """The place of a facility in :func:`ordered`: category rank (``unranked`` if none), plain name, id."""
    name = "" if missing(row["name"]) else str(row["name"])
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").casefold()
    return rank.get(row["category"], unranked), plain, row["facility_id"]


def records(facilities: pd.DataFrame) -> list[dict]:
    """:data:`FACILITY_FIELDS` of each row as JSON-ready dicts (capacity an int or None)."""
    return [_record(row) for row in facilities[FACILITY_FIELDS].to_dict("records")]


def _record(row: dict) -> dict:
    item = {k: (None if missing(row[k]) else row[k]) for k in FACILITY_FIELDS}
    item = {k: (v if k == "capacity" or v is None else str(v)) for k, v in item.items()}
    item["capacity"] = None if item["capacity"] is None else int(item["capacity"])
    return item


def _facilities(affected: pd.DataFrame, facility_cells: pd.DataFrame, facilities: pd.DataFrame,
                order: Sequence[str]) -> pd.DataFrame:
    """Per rule: facilities in its cells, their ids, counts by category, listing (:func:`ordered`) and crèche places.

    A rule has a few hundred facilities at most: each one's rows are gathered in Python, not grouped as frames.
    """
    columns = ["rule", "facility_count", "facility_ids", "facilities_by_category", "facilities",
               "children_in_creches", "creches_without_capacity"]
    hit = affected.merge(facility_cells[["facility_id", "cell_id"]], on="cell_id")[["rule", "facility_id"]]
    known = _with_fields(facilities.drop_duplicates("facility_id")).drop(columns=["cell_id"], errors="ignore")
    hit = hit.drop_duplicates().assign(facility_id=lambda f: f["facility_id"].astype(str))
    hit = hit.merge(known, on="facility_id", how="left")
    if hit.empty:
        return pd.DataFrame(columns=columns)
    hit = hit.assign(category=hit["category"].fillna("unknown"))
    by_rule: dict[int, list[dict]] = {}
    for row in frame_records(hit):
        by_rule.setdefault(row["rule"], []).append(row)
    rank = {c: i for i, c in enumerate(order)}
    out = {name: [] for name in columns}
    for rule in sorted(by_rule):
        rows = by_rule[rule]
        listed = sorted(rows, key=lambda row: _sort_key(row, rank, len(order)))
        creches = [row["capacity"] for row in rows if row["category"] == CRECHE]
        capacity = pd.to_numeric(pd.Series(creches, dtype=object), errors="coerce")
        categories = Counter(str(row["category"]) for row in rows)
        out["rule"].append(rule)
        out["facility_count"].append(len(rows))
        out["facility_ids"].append(",".join(sorted(row["facility_id"] for row in rows)))
        out["facilities_by_category"].append(json.dumps(dict(categories), sort_keys=True, ensure_ascii=False))
        out["facilities"].append(json.dumps([_record(row) for row in listed], ensure_ascii=False))
        out["children_in_creches"].append(int(capacity.sum()))
        out["creches_without_capacity"].append(int(capacity.isna().sum()))
    return pd.DataFrame(out).astype({"rule": "int64", "facility_count": "int64", "children_in_creches": "int64",
                                     "creches_without_capacity": "int64"})


def facility_details(facility_ids: str, facilities: pd.DataFrame, order: Sequence[str] | None = None) -> list[dict]:
    """:data:`FACILITY_FIELDS` of the comma-separated ``facility_ids``, most sensitive first.

    ``order`` defaults to the register's ``facility_sensitivity_order``; an id missing from
    ``facilities`` comes last with NULL fields.
    """
    ids = [i for i in facility_ids.split(",") if i]
    rows = facilities.assign(facility_id=facilities["facility_id"].astype(str))
    rows = rows[rows["facility_id"].isin(ids)].drop_duplicates("facility_id")
    found = records(ordered(rows, sensitivity_order() if order is None else order))
    seen = {r["facility_id"] for r in found}
    return found + [{**dict.fromkeys(FACILITY_FIELDS), "facility_id": i} for i in ids if i not in seen]
