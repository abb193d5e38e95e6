"""Multi-exposure and equity marts on a hand-made lake (docs/health-impact.md; classes [U] by design).

Five 200 m cells in one row (x from X0, EPSG:3035), 1000 residents each (100 aged 0-5, 200 aged
65+), 500 households; arrondissement 75101 = cells a, b, c and 75102 = cells d, e. The register is
the project's own (its values are sourced there): air cut-offs day_mean PM2.5 15 / 25, PM10 45 /
45 / 50, NO2 25 / 50; year_mean PM2.5 5 / 10 / 25, NO2 10 / 20 / 40; road Lden 53 / 68 dB(A);
band level = lower bound + 2.5 dB; hotspot = air ≥ 2 and noise ≥ 2.

    cell                 a          b                   c          d          e
    standard of living   15 000     20 000              30 000     40 000     60 000  €/CU/year
    income quintile      1          2                   3          4          5   (midpoints .1 .3 .5 .7 .9)
    poor households      150        100                 50         25         0
    road Lden band       [70;75[    [60;65[ on half     [65;70[    none       none
    band level           72.5       62.5 / unmapped     67.5       -          -
    noise class          2          1 (½), 0 (½)        1          0          0
    dominant noise       2          1 (tie → louder)    1          0          0
    day: PM2.5/PM10/NO2  10/20/60   -/46/30             26/51/-    15/-/20    16/-/(99 invalid); O3 200
    day air class        2 (NO2)    2 (PM10)            3 (PM10)   0          1 (PM2.5)
    year: PM2.5/NO2      12/45      9/18                11/15      5/10       7/(25, coverage unmet)
    year air class       3 (NO2)    1 (NO2, PM2.5)      2 (PM2.5)  0          1 (PM2.5)

Facilities: a crèche in a, a school in c, an EHPAD in d. Expected values are worked out here.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest

from spse.methods import equity, grid
from spse.pipeline import daily as pipeline
from spse.pipeline import lake, warehouse
from spse.pipeline.warehouse import EMPTY_SCHEMAS, models
from tests.test_warehouse_incremental import assert_same_marts
from tests.test_zone_levels import strip, write, write_zones

DAY = dt.date(2025, 6, 12)
X0, Y0 = 3_760_000, 2_886_000
NAMES = ["a", "b", "c", "d", "e"]
SNV = [15_000.0, 20_000.0, 30_000.0, 40_000.0, 60_000.0]
POOR = [150.0, 100.0, 50.0, 25.0, 0.0]
DAY_VALUES = {  # cell → {pollutant: (value, is_valid)}
    "a": {"PM2.5": (10.0, True), "PM10": (20.0, True), "NO2": (60.0, True)},
    "b": {"PM10": (46.0, True), "NO2": (30.0, True)},
    "c": {"PM2.5": (26.0, True), "PM10": (51.0, True)},
    "d": {"PM2.5": (15.0, True), "NO2": (20.0, True)},
    "e": {"PM2.5": (16.0, True), "NO2": (99.0, False), "O3": (200.0, True)},
}
YEAR_VALUES = {  # cell → {pollutant: (annual mean, coverage_met)}
    "a": {"PM2.5": (12.0, True), "NO2": (45.0, True)},
    "b": {"PM2.5": (9.0, True), "NO2": (18.0, True)},
    "c": {"PM2.5": (11.0, True), "NO2": (15.0, True)},
    "d": {"PM2.5": (5.0, True), "NO2": (10.0, True)},
    "e": {"PM2.5": (7.0, True), "NO2": (25.0, False)},
}


def cell(name: str) -> str:
    return str(grid.cell_id([X0 + 200 * NAMES.index(name)], [Y0])[0])


def centre(name: str) -> tuple[float, float]:
    lon, lat = grid.xy3035_to_lonlat([X0 + 200 * NAMES.index(name) + 100.0], [Y0 + 100.0])
    return float(lon[0]), float(lat[0])


def write_lake() -> None:
    n = len(NAMES)
    lake.write_partition("population", "vintage=current", pd.DataFrame({
        "cell_id": [cell(c) for c in NAMES], "x_3035": [X0 + 200 * i for i in range(n)], "y_3035": [Y0] * n,
        "population": [1000.0] * n, "pop_0_3": [60.0] * n, "pop_4_5": [40.0] * n, "pop_0_5": [100.0] * n,
        "pop_65_79": [150.0] * n, "pop_80p": [50.0] * n, "pop_65p": [200.0] * n, "households": [500.0] * n,
        "households_poor": POOR, "pop_poor_households": [1000.0 * p / 500.0 for p in POOR],
        "standard_of_living": SNV, "is_imputed": [False] * n}))
    write_zones("zones", [("75101", "Paris 1er", 0, 600), ("75102", "Paris 2e", 600, 1000)])
    facilities = [("F1", "creche", "a"), ("F2", "ecole_maternelle", "c"), ("F3", "ehpad", "d")]
    write("facilities", facility_id=[f[0] for f in facilities], category=[f[1] for f in facilities],
          name=[f[0] for f in facilities], lon=[centre(f[2])[0] for f in facilities],
          lat=[centre(f[2])[1] for f in facilities])
    write("air_stations", station_id=[])
    write("noise_map_bands", band_id=["L70", "L60", "L65"], indicator=["Lden"] * 3, source_type=["road"] * 3,
          db_low=[70.0, 60.0, 65.0], db_high=[75.0, 65.0, 70.0], label=["70-75", "60-65", "65-70"],
          geometry_wkt=[strip(0, 200), strip(200, 300), strip(400, 600)])
    rows = [(c, p, v, ok) for c, values in DAY_VALUES.items() for p, (v, ok) in values.items()]
    write("surface_daily", lake.date_partition(DAY), cell_id=[cell(r[0]) for r in rows], date=[DAY] * len(rows),
          pollutant=[r[1] for r in rows], statistic=["day_mean"] * len(rows), value=[r[2] for r in rows],
          n_valid=[24] * len(rows), n_expected=[24] * len(rows), coverage=[1.0] * len(rows),
          is_valid=[r[3] for r in rows], time_base=["Europe/Paris"] * len(rows))
    write_period_cell(YEAR_VALUES)
    # the health step's cell deaths (hand-made): who_2021 PM2.5 per cell, plus rows the mart must not add
    deaths = {"a": 0.5, "b": 0.25, "c": 0.1, "d": 0.0, "e": 0.2}
    zone = {"a": "75101", "b": "75101", "c": "75101", "d": "75102", "e": "75102"}
    rows = ([(c, "PM2.5", "who_2021", d) for c, d in deaths.items()]
            + [("a", "PM2.5", "eu_2030", 9.0), ("a", "NO2", "who_2021", 0.3)])
    write("health_impact_cell_year", "date=2025-01-01", zone_id=[zone[r[0]] for r in rows],
          cell_id=[cell(r[0]) for r in rows], year=[2025] * len(rows), pollutant=[r[1] for r in rows],
          counterfactual=[r[2] for r in rows], pop_30p=[600.0] * len(rows),
          attributable_deaths=[r[3] for r in rows], attributable_deaths_low=[r[3] / 2 for r in rows],
          attributable_deaths_high=[r[3] * 2 for r in rows])


def write_period_cell(year_values: dict[str, dict[str, tuple[float, bool]]]) -> None:
    """The 2025 annual means of ``year_values`` and a December month row, in the partition date=2025-12-31."""
    rows = [(c, p, v, ok) for c, values in year_values.items() for p, (v, ok) in values.items()]
    rows.append(("a", "PM2.5", 999.0, True))  # a month row, never an annual mean
    kinds = ["year"] * (len(rows) - 1) + ["month"]
    write("period_cell", "date=2025-12-31", cell_id=[cell(r[0]) for r in rows], pollutant=[r[1] for r in rows],
          period=["2025"] * (len(rows) - 1) + ["2025-12"], period_kind=kinds,
          period_start=[dt.date(2025, 1, 1)] * (len(rows) - 1) + [dt.date(2025, 12, 1)],
          period_end=[dt.date(2025, 12, 31)] * len(rows), time_base=["UTC"] * len(rows),
          indicator=["mean"] * len(rows), statistic=["day_mean"] * len(rows), value=[r[2] for r in rows],
          unit=["µg/m³"] * len(rows), n_valid=[360] * len(rows), n_expected=[365] * len(rows),
          coverage=[0.986] * len(rows), coverage_met=[r[3] for r in rows])


@pytest.fixture
def built(spse_home):
    write_lake()
    pipeline.build_grid()
    warehouse.publish(warehouse.build(DAY))
    return spse_home


def test_cell_daily_classes(built):
    got = warehouse.query("select * from marts.multiexposure_cell_daily").set_index("cell_id")
    assert len(got) == 5
    expected = {"a": (2, "NO2", 2, 4, True, 1000.0), "b": (2, "PM10", 1, 3, False, 0.0),
                "c": (3, "PM10", 1, 4, False, 0.0), "d": (0, None, 0, 0, False, 0.0),
                "e": (1, "PM2.5", 0, 1, False, 0.0)}
    for name, (air, pollutants, noise, combined, hotspot, in_hotspot) in expected.items():
        row = got.loc[cell(name)]
        assert (row["air_class"], row["noise_class"], row["combined_class"]) == (air, noise, combined), name
        assert (row["air_pollutants"] if isinstance(row["air_pollutants"], str) else None) == pollutants, name
        assert bool(row["is_hotspot"]) is hotspot and row["pop_in_hotspot"] == pytest.approx(in_hotspot), name
    b = got.loc[cell("b")]
    assert (b["share_noise_class_1_plus"], b["share_noise_class_2"]) == pytest.approx((0.5, 0.0))
    assert got.loc[cell("a"), "class_label"] == "tres_degrade"
    assert got.loc[cell("d"), "class_label"] == "tres_peu_expose"


def test_zone_daily_residents_and_facilities_per_class(built):
    got = warehouse.query("select * from marts.multiexposure_zone_daily")
    key = got.set_index(["zone_id", "air_class", "noise_class"]).sort_index()
    # 75101: a (2, 2) 1000; b split (2, 1) 500 + (2, 0) 500; c (3, 1) 1000
    first = key.loc["75101"]
    assert sorted(first.index) == [(2, 0), (2, 1), (2, 2), (3, 1)]
    assert first.loc[(2, 2), "population"] == pytest.approx(1000.0) and bool(first.loc[(2, 2), "is_hotspot"])
    assert first.loc[(2, 1), "population"] == pytest.approx(500.0)
    assert first.loc[(2, 1), "pop_0_5"] == pytest.approx(50.0) and first.loc[(2, 1), "pop_65p"] == pytest.approx(100.0)
    assert first.loc[(2, 1), "pop_poor_households"] == pytest.approx(500.0 * 200.0 / 1000.0)  # b: 1000 × 100/500
    assert first.loc[(2, 2), "share_of_zone_population"] == pytest.approx(1000.0 / 3000.0)
    assert first.loc[(2, 2), "facility_count"] == 1 and first.loc[(2, 2), "facilities_by_category"] == '{"creche":1}'
    assert first.loc[(3, 1), "facilities_by_category"] == '{"ecole_maternelle":1}'
    assert first.loc[(2, 0), "facility_count"] == 0
    second = key.loc["75102"]
    assert sorted(second.index) == [(0, 0), (1, 0)]
    assert second.loc[(0, 0), "facilities_by_category"] == '{"ehpad":1}'
    paris = key.loc["75056"]
    assert paris["population"].sum() == pytest.approx(5000.0)
    assert paris.loc[paris["is_hotspot"], "population"].sum() == pytest.approx(1000.0)
    assert paris["facility_count"].sum() == 3


def test_year_classes_from_the_annual_means_meeting_coverage(built):
    cells = warehouse.query("select * from marts.multiexposure_cell_year").set_index("cell_id")
    assert cells["calendar_year"].unique().tolist() == [2025]
    assert {n: int(cells.loc[cell(n), "air_class"]) for n in NAMES} == {"a": 3, "b": 1, "c": 2, "d": 0, "e": 1}
    assert cells.loc[cell("b"), "air_pollutants"] == "NO2,PM2.5"
    zones = warehouse.query("select * from marts.multiexposure_zone_year where zone_id = '75056'")
    by_class = zones.groupby("combined_class")["population"].sum()
    # a 3+2; b 1+1 (500) and 1+0 (500); c 2+1; d 0+0; e 1+0
    assert by_class.to_dict() == pytest.approx({0: 1000.0, 1: 1500.0, 2: 500.0, 3: 1000.0, 5: 1000.0})


def test_year_marts_follow_a_changed_annual_mean_incrementally(built):
    # cell a's NO2 annual mean drops from 45 to 15 µg/m³ (class 3 → 1): PM2.5 12 (class 2) now sets its class
    values = {**YEAR_VALUES, "a": {"PM2.5": (12.0, True), "NO2": (15.0, True)}}
    write_period_cell(values)
    incremental = warehouse.build(DAY)
    con = duckdb.connect(str(incremental), read_only=True)
    try:
        assert con.execute("select build_mode, days_rebuilt from meta.build_info").fetchone() == ("incremental", 1)
        assert con.execute("select air_class, air_pollutants from marts.multiexposure_cell_year "
                           "where cell_id = ?", [cell("a")]).fetchone() == (2, "PM2.5")
        # a is now 2 (air) + 2 (noise) = 4 for its 1000 residents instead of 5
        zones = con.execute("select combined_class, sum(population) from marts.multiexposure_zone_year "
                            "where zone_id = '75056' group by all").fetchall()
        assert dict(zones) == pytest.approx({0: 1000.0, 1: 1500.0, 2: 500.0, 3: 1000.0, 4: 1000.0})
    finally:
        con.close()
    assert_same_marts(incremental, warehouse.build(DAY, full=True))


def test_equity_by_income_quintile(built):
    got = (warehouse.query("select * from marts.equity_zone_year")
           .set_index(["zone_id", "indicator", "income_quintile"]).sort_index())
    pm = got.loc[("75056", "PM2.5")]
    assert pm["pop_weighted_mean"].to_dict() == pytest.approx({1: 12.0, 2: 9.0, 3: 11.0, 4: 5.0, 5: 7.0})
    assert pm["pop_above_guideline"].to_dict() == pytest.approx({1: 1000.0, 2: 1000.0, 3: 1000.0, 4: 0.0, 5: 1000.0})
    assert pm["pop_above_limit"].to_dict() == pytest.approx({1: 1000.0, 2: 0.0, 3: 1000.0, 4: 0.0, 5: 0.0})
    assert pm["poverty_share"].to_dict() == pytest.approx({1: 0.3, 2: 0.2, 3: 0.1, 4: 0.05, 5: 0.0})
    assert pm.loc[1, "pwm_ratio_q1_q5"] == pytest.approx(12.0 / 7.0)
    assert pm.loc[1, "pwm_difference_q1_q5"] == pytest.approx(5.0)
    assert pm.loc[1, "share_above_guideline_difference_q1_q5"] == pytest.approx(0.0)
    assert (pm.loc[1, "guideline_value"], pm.loc[1, "limit_value"]) == (5.0, 10.0)
    assert pm.loc[1, "standard_of_living_mean"] == pytest.approx(15_000.0)
    no2 = got.loc[("75056", "NO2")]
    assert 5 not in no2.index  # e's NO2 year does not meet coverage: no Q5, no gap
    assert no2["pwm_ratio_q1_q5"].isna().all()
    lden = got.loc[("75056", "Lden_road")]
    assert lden.loc[1, "pop_weighted_mean"] == pytest.approx(72.5)
    assert (lden.loc[2, "population"], lden.loc[2, "population_with_value"]) == pytest.approx((1000.0, 500.0))
    assert lden.loc[2, "pop_weighted_mean"] == pytest.approx(62.5)
    assert lden["pop_above_guideline"].to_dict() == pytest.approx({1: 1000.0, 2: 500.0, 3: 1000.0, 4: 0.0, 5: 0.0})
    assert lden["pop_above_limit"].to_dict() == pytest.approx({1: 1000.0, 2: 0.0, 3: 0.0, 4: 0.0, 5: 0.0})
    assert (lden.loc[1, "guideline_value"], lden.loc[1, "limit_value"]) == (53.0, 68.0)
    assert pm["attributable_deaths"].to_dict() == pytest.approx({1: 0.5, 2: 0.25, 3: 0.1, 4: 0.0, 5: 0.2})
    assert pm.loc[1, "attributable_deaths_high"] == pytest.approx(1.0) and pm.loc[1, "pop_30p"] == 600.0
    assert pm.loc[1, "attributable_deaths_per_100k_30p"] == pytest.approx(0.5 / 600 * 1e5)
    assert no2.loc[1, "attributable_deaths"] == pytest.approx(0.3) and lden["attributable_deaths"].isna().all()
    assert got.loc[("75102", "PM2.5", 5), "attributable_deaths"] == pytest.approx(0.2)
    arrondissement = got.loc[("75101", "PM2.5")]
    assert sorted(arrondissement.index) == [1, 2, 3] and arrondissement["pwm_ratio_q1_q5"].isna().all()


def test_equity_agrees_with_the_method_functions(built):
    """The mart's quintiles and PM2.5 means are those of spse.methods.equity on the same cells."""
    frame = pd.DataFrame({"population": [1000.0] * 5, "exposure": [YEAR_VALUES[c]["PM2.5"][0] for c in NAMES],
                          "standard_of_living": SNV, "households": [500.0] * 5, "households_poor": POOR})
    expected = equity.exposure_by_quintile(frame, threshold=5.0)
    got = warehouse.query("select * from marts.equity_zone_year where zone_id = '75056' and indicator = 'PM2.5'")
    got = got.set_index("income_quintile")
    for column, mart in [("pop_weighted_mean", "pop_weighted_mean"), ("population_above", "pop_above_guideline"),
                         ("poverty_share", "poverty_share")]:
        assert got[mart].to_dict() == pytest.approx(expected[column].to_dict()), column


def _cells_table(con, rows: pd.DataFrame) -> None:
    con.execute("create schema if not exists staging")
    con.register("rows", rows)
    con.execute("create table staging.stg_grid_cells as select cell_id, population, standard_of_living, "
                "households, households_poor from rows")
    con.execute("create table staging.stg_zone_cells as select '75101' as zone_id, 'arrondissement' as zone_level, "
                "cell_id, fraction as area_fraction from rows")


def test_income_quintile_cuts_on_population_midpoints():
    # populations 100, 300, 600 (and an empty cell, a cell without income, a cell half in Paris):
    # midpoints (50, 250, 700) / 1000 = 0.05, 0.25, 0.70 → quintiles 1, 2, 4 (never split)
    rows = pd.DataFrame({"cell_id": ["c1", "c2", "c3", "c4", "c5", "c6"],
                         "population": [100.0, 600.0, 300.0, 0.0, 50.0, 1200.0],
                         "standard_of_living": [10.0, 30.0, 20.0, 5.0, np.nan, 30.0],
                         "households": 1.0, "households_poor": 0.0,
                         "fraction": [1.0, 1.0, 1.0, 1.0, 1.0, 0.5]})
    con = duckdb.connect(":memory:")
    _cells_table(con, rows.iloc[:5])
    model = models.Model("intermediate", "int_cell_income_ranked",
                         models.sql_dir() / "intermediate" / "int_cell_income_ranked.sql")
    got = con.execute(f"select * from ({model.select()}) order by cell_id").df().set_index("cell_id")
    assert got["income_quintile"].to_dict() == {"c1": 1, "c2": 4, "c3": 2, "c4": 0, "c5": 0}
    assert got["income_quintile"].tolist() == [*equity.income_quintile(rows["standard_of_living"].iloc[:5],
                                                                         rows["population"].iloc[:5])]
    # half of a 1200-resident cell lies in Paris: it weighs 600, like c2, and ranks after it (cell id)
    con = duckdb.connect(":memory:")
    _cells_table(con, rows.drop(index=1))
    got = con.execute(f"select * from ({model.select()}) order by cell_id").df().set_index("cell_id")
    assert got.loc["c6", "paris_population"] == 600.0 and got.loc["c6", "income_quintile"] == 4


def test_without_noise_map_the_noise_class_is_unknown(spse_home):
    write_lake()
    lake.write_partition("noise_map_bands", "vintage=current", pd.DataFrame(
        {name: pd.Series(dtype="str" if t == "VARCHAR" else "float64")
         for name, t in EMPTY_SCHEMAS["noise_map_bands"].columns.items()}))
    pipeline.build_grid()
    warehouse.publish(warehouse.build(DAY))
    cells = warehouse.query("select * from marts.multiexposure_cell_daily")
    assert cells["noise_class"].isna().all() and cells["combined_class"].isna().all()
    assert cells["air_class"].notna().all()
    zones = warehouse.query("select * from marts.multiexposure_zone_daily where zone_id = '75056'")
    assert zones["population"].sum() == pytest.approx(5000.0) and zones["noise_class"].isna().all()


def test_the_docs_health_queries_run_and_answer(built):
    from spse.pipeline.warehouse import expert

    doc = (models.sql_dir().parent / "docs" / "expert-queries-health.md").read_text(encoding="utf-8")
    blocks = [block.split("```", 1)[0] for block in doc.split("```sql\n")[1:]]
    assert len(blocks) == 4
    expert.frame(blocks[0])  # the health query runs (its values: tests/test_health.py)
    hotspots = expert.frame(blocks[1]).set_index("zone_id")
    # year: only cell a (air 3, noise 2) is a hotspot: 1000 residents of 75101 and Paris, its crèche
    assert hotspots.index.tolist() == ["75056", "75101", "75102"]
    assert hotspots.loc["75056", ["residents_in_hotspot", "children_0_5", "aged_65p", "facilities"]].tolist() == [
        1000, 100, 200, 1]
    assert (hotspots.loc["75056", "pct_of_residents"], hotspots.loc["75101", "pct_of_residents"]) == (20.0, 33.3)
    assert hotspots.loc["75102", "residents_in_hotspot"] == 0
    days = expert.frame(blocks[2])
    assert days.iloc[0][["residents_in_hotspot", "residents_above_eu_2030_daily", "facilities_in_hotspot"]].tolist() \
        == [1000, 3000, 1]
    quintiles = expert.frame(blocks[3])
    assert quintiles["pm25_ug_m3"].tolist() == [12.0, 9.0, 11.0, 5.0, 7.0]
    assert quintiles["pct_above_eu_2030"].tolist() == [100.0, 0.0, 100.0, 0.0, 0.0]
    assert quintiles["pct_poor_households"].tolist() == [30.0, 20.0, 10.0, 5.0, 0.0]
    assert quintiles["ratio_q1_q5"].iloc[0] == round(12 / 7, 3)


def test_bulletin_health_section(built):
    from spse.pipeline import bulletin

    page = bulletin.render(DAY).read_text(encoding="utf-8")
    start = page.index("<h2>Effets sur la santé (année 2025)</h2>")
    part = page[start:page.index("<h2>Sources et licences</h2>")]
    # no baseline mortality nor noise effects in this lake: the table says so instead of zeros
    assert "Pas de chiffre de santé pour cette année" in part
    # the year's hotspot: cell a, 1000 residents (100 aged 0-5, 200 aged 65+) and its crèche; 20 % of Paris
    assert ("Paris : 1\u202f000 habitants en point chaud (20,0 %), dont 100 enfants de 0 à 5 ans et 200 personnes "
            "de 65 ans et plus ; 1 établissement sensible.") in part
    assert part.count("<image ") == 1 and "point chaud air-bruit" in part and "5 point noir" in part
    # quintile 1 = cell a: 15 000 €, 30 % poor households, PM2.5 12, NO2 45, Lden 72.5, above the EU 2030 limit
    assert ("<tr><td>1 (les plus modestes)</td><td class=\"n\">15\u202f000</td><td class=\"n\">30,0</td>"
            "<td class=\"n\">12,0</td><td class=\"n\">45,0</td><td class=\"n\">72,5</td>"
            "<td class=\"n\">100,0</td>") in part
    assert "Rapport PM2,5 des plus modestes aux plus aisés (Q1/Q5) : 1,71." in part


def test_bulletin_health_section_without_yearly_figures():
    from spse.pipeline import bulletin_health

    empty = pd.DataFrame()
    html = bulletin_health.section_html(2025, pd.DataFrame(columns=["zone_id", "zone_name"]), empty,
                                        pd.DataFrame(columns=["cell_id", "combined_class", "is_hotspot"]), empty,
                                        empty, empty)
    assert "Pas de chiffre de santé" in html and "Pas de classe de multi-exposition" in html
    assert "Pas de niveau de vie par carreau" in html
