"""The daily bulletin, rendered from a small hand-made warehouse file."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re

import duckdb
import pandas as pd
import pytest

from spse.core.config import settings
from spse.pipeline import bulletin
from spse.pipeline.alerts.schema import COLUMNS, storage_frame

DAY = dt.date(2025, 7, 2)
X0, Y0 = 3_760_000, 2_860_000


def square(x: int, y: int, size: int = 1000) -> str:
    return f"POLYGON (({x} {y}, {x + size} {y}, {x + size} {y + size}, {x} {y + size}, {x} {y}))"


ALERT = {
    "alert_id": "76e9af6069c10127", "date": DAY, "kind": "air_quality", "pollutant": "NO2", "level": "information",
    "set_id": "FR_R221-1", "averaging": "1h", "threshold_value": 200.0, "unit": "µg/m³", "value_max": 212.0,
    "basis": "station", "station_ids": "FR04TRAF", "zone_ids": "75111,75112",
    "zone_names": "Paris 11e <Arrondissement>, Paris 12e Arrondissement", "n_cells": 4, "area_km2": 0.16,
    "population_total": 1100.0, "pop_0_5": 65.0, "pop_65p": 195.0, "pop_poor_households": 220.0,
    "facility_count": 3, "facility_ids": "F1,F2,F3",
    "facilities_by_category": '{"creche": 1, "ecole_maternelle": 1, "ehpad": 1}',
    "facilities": json.dumps([
        {"facility_id": "F1", "name": "Crèche Oberkampf", "category": "creche", "address": "12 RUE OBERKAMPF",
         "postcode": "75011", "zone_id": "75111", "arrondissement": "11e arrondissement", "capacity": 60,
         "capacity_unit": "places"},
        {"facility_id": "F2", "name": "École <Voltaire>", "category": "ecole_maternelle", "address": "6 CITE VOLTAIRE",
         "postcode": "75011", "zone_id": "75111", "arrondissement": "11e arrondissement", "capacity": None,
         "capacity_unit": None},
        {"facility_id": "F3", "name": "EHPAD Belleville", "category": "ehpad", "address": None, "postcode": None,
         "zone_id": None, "arrondissement": None, "capacity": 84, "capacity_unit": "beds"}], ensure_ascii=False),
    "children_in_creches": 60, "creches_without_capacity": 0,
    "recommendation": "Personnes vulnérables et sensibles : Évitez les zones à fort trafic.", "status": "opened",
    "episode_start_date": DAY, "meets_episode_criteria": False, "triggered_by": "{}", "time_base": "Europe/Paris"}
DATA_QUALITY = {**{c: None for c in COLUMNS}, "alert_id": "1", "date": DAY, "kind": "data_quality",
                "pollutant": "noise_hourly", "level": "data_quality", "set_id": "DQ_MISSING_PARTITION",
                "recommendation": "Partition noise_hourly/date=2025-07-02 absente", "status": "opened",
                "n_cells": 0, "facility_count": 0, "meets_episode_criteria": False, "time_base": "Europe/Paris"}


def exposure_rows() -> pd.DataFrame:
    rows = []
    # 75111: PM10 52.0 (> 50, information class); 75112: PM10 45.0 (not > 45: WHO guideline class)
    for zone, name, level, pm10 in (("75111", "Paris 11e <Arrondissement>", "arrondissement", 52.0),
                                    ("75112", "Paris 12e Arrondissement", "arrondissement", 45.0),
                                    ("75056", "Paris", "commune", 48.5)):
        for pollutant, statistic, value in (("PM10", "day_mean", pm10), ("PM2.5", "day_mean", 21.0),
                                            ("NO2", "day_max_1h", 180.0), ("O3", "day_max_8h_mean", 95.0)):
            rows.append({"zone_id": zone, "zone_level": level, "zone_name": name, "date": DAY,
                         "pollutant": pollutant, "statistic": statistic, "time_base": "Europe/Paris",
                         "population": 150_000.0, "pop_weighted_mean_ug_m3": value})
    return pd.DataFrame(rows)


@pytest.fixture
def warehouse(tmp_path) -> str:
    path = tmp_path / "spse.duckdb"
    con = duckdb.connect(str(path))
    for schema in ("lake", "marts", "meta"):
        con.execute(f"create schema {schema}")
    alerts = storage_frame(pd.DataFrame([ALERT, DATA_QUALITY]))
    zones = pd.DataFrame({"zone_id": ["75111", "75112"], "zone_name": ["Paris 11e <Arrondissement>",
                                                                      "Paris 12e Arrondissement"],
                          "zone_label": ["11e", "12e"],
                          "geometry_wkt": [square(X0, Y0), square(X0 + 1000, Y0)]})
    above = pd.DataFrame([{"zone_id": "75056", "zone_level": "commune", "zone_name": "Paris", "date": DAY,
                           "pollutant": "PM10", "statistic": "day_mean", "set_id": "FR_R221-1",
                           "level": "information", "threshold_value": 50.0, "pop_total_above": 150_000.0,
                           "pop_0_5_above": 9000.0, "pop_65p_above": 25_000.0, "pop_poor_households_above": 20_000.0}])
    stations = pd.DataFrame([{"station_id": "FR04TRAF", "station_name": "Bd Voltaire", "station_class": "traffic",
                              "date": DAY, "pollutant": "NO2", "statistic": "day_max_1h", "value": 212.0,
                              "is_valid": True}])
    exposure = exposure_rows()
    for name, frame in (("marts.alerts", alerts), ("lake.zones", zones), ("marts.exposure_zone_daily", exposure),
                        ("marts.population_above_threshold_daily", above), ("marts.station_daily", stations)):
        con.register("frame", frame)
        con.execute(f"create table {name} as select * from frame")
        con.unregister("frame")
    con.execute("create table meta.lake_partitions as select 'air_hourly' as dataset, 'date=2025-07-02' as partition")
    con.close()
    return str(path)


def test_bulletin_holds_the_alert_the_map_and_no_network_resource(warehouse, spse_home):
    before = hashlib.sha256(open(warehouse, "rb").read()).hexdigest()
    path = bulletin.render(DAY, warehouse_path=warehouse)
    assert path == settings().bulletin / "2025-07-02.html"
    page = path.read_text(encoding="utf-8")
    assert "mercredi 2 juillet 2025" in page
    assert "NO2 : Information-recommandation (information, FR_R221-1)" in page
    assert "1\u202f100 habitants, dont 65 enfants" in page and "195 personnes de 65 ans" in page
    assert "crèches : 1, écoles maternelles : 1, EHPAD : 1" in page
    # named, most sensitive first, with category, capacity and address
    first, second, third = (page.index(t) for t in ("Crèche Oberkampf", "École &lt;Voltaire&gt;", "EHPAD Belleville"))
    assert first < second < third
    assert ("Crèche Oberkampf (crèche, 60 places) : 12 RUE OBERKAMPF, 75011, 11e arrondissement" in page)
    assert "École &lt;Voltaire&gt; (école maternelle) : 6 CITE VOLTAIRE" in page
    assert "EHPAD Belleville (EHPAD, 84 lits)</li>" in page
    assert "Enfants accueillis en crèche dans la zone concernée : 60 places (capacité de la crèche)." in page
    assert "Évitez les zones à fort trafic" in page
    assert "noise_hourly" in page  # the data-quality alert is listed
    assert "Paris 11e &lt;Arrondissement&gt;" in page and "<Arrondissement>" not in page
    assert "<svg" in page and page.count("<path ") == 2
    assert "http" not in page and "url(" not in page and "<script" not in page and "<link" not in page
    assert hashlib.sha256(open(warehouse, "rb").read()).hexdigest() == before  # read-only


def test_map_classes_follow_the_threshold_register(warehouse, spse_home):
    page = bulletin.render(DAY, warehouse_path=warehouse).read_text(encoding="utf-8")
    fills = dict(re.findall(r'fill="(#[0-9a-f]{6})"[^>]*><title>([^<:]+) :', page))
    by_zone = {zone.strip(): colour for colour, zone in fills.items()}
    assert by_zone["Paris 11e &lt;Arrondissement&gt;"] == bulletin.MAP_COLOURS[2]  # 52 > 50 (information)
    assert by_zone["Paris 12e Arrondissement"] == bulletin.MAP_COLOURS[0]  # 45.0 is not above 45
    assert [value for value, _ in bulletin.legend_classes()] == [45.0, 50.0, 80.0]
    for text in ("≤ 45", "&gt; 45 (ligne directrice OMS 2021)", "&gt; 50 (seuil d&#x27;information)",
                 "&gt; 80 (seuil d&#x27;alerte)"):
        assert text in page


def test_key_numbers_and_population_above_thresholds(warehouse, spse_home):
    page = bulletin.render(DAY, warehouse_path=warehouse).read_text(encoding="utf-8")
    row = re.search(r"<tr><td>Paris 12e Arrondissement</td>(.*?)</tr>", page).group(1)
    assert re.findall(r'<td class="n">([^<]*)</td>', row) == ["45,0", "21,0", "180,0", "95,0", "150\u202f000"]
    assert "Paris (ensemble)" in page
    assert "150\u202f000</td><td class=\"n\">9\u202f000" in page
    assert "1 / 1" in page and "Bd Voltaire" in page
    assert "air_hourly/date=2025-07-02" in page


def test_rerender_is_identical(warehouse, spse_home):
    first = bulletin.render(DAY, warehouse_path=warehouse).read_bytes()
    assert bulletin.render(DAY, warehouse_path=warehouse).read_bytes() == first


def test_station_of_the_maximum_is_named_even_without_a_name(warehouse, spse_home):
    """A station missing from the station list (no name) holding the maximum is named by its id."""
    con = duckdb.connect(warehouse)
    con.execute("insert into marts.station_daily (station_id, station_name, station_class, date, pollutant, "
                "statistic, value, is_valid) values ('FR04LOST', null, 'traffic', ?, 'NO2', 'day_max_1h', 251.0, true)",
                [DAY])
    con.close()
    page = bulletin.render(DAY, warehouse_path=warehouse).read_text(encoding="utf-8")
    row = re.search(r"<tr><td>NO2</td><td>day_max_1h</td>(.*?)</tr>", page).group(1)
    assert re.findall(r"<td[^>]*>([^<]*)</td>", row) == ["2 / 2", "251,0", "FR04LOST"]


def test_bulletin_says_what_the_figures_lack(warehouse, spse_home):
    page = bulletin.render(DAY, warehouse_path=warehouse).read_text(encoding="utf-8")
    section = page.split("<h2>Ce qui manque aux chiffres du jour</h2>")[1].split("<h2>")[0]
    assert re.findall(r"<li>(.*?)</li>", section) == ["bruit (noise_hourly) : pas de données le 2025-07-02"]


def _facility(i: int, category: str, capacity: int | None) -> dict:
    return {"facility_id": f"F{i}", "name": f"Établissement {i:02d}", "category": category, "address": None,
            "postcode": None, "zone_id": None, "arrondissement": None, "capacity": capacity,
            "capacity_unit": "places" if capacity is not None else None}


def test_named_facilities_are_capped_with_the_rest_counted():
    listed = [_facility(i, "creche", 30 if i < 3 else None) for i in range(1, 4)] + [
        _facility(i, "college", None) for i in range(4, 11)]
    row = {"facilities": json.dumps(listed), "children_in_creches": 60, "creches_without_capacity": 1}
    text = bulletin.facility_list(row, shown=8)
    names = re.findall(r"Établissement (\d\d)", text)
    assert names == [f"{i:02d}" for i in range(1, 9)]
    assert "<li>et 2 autres</li>" in text
    # crèches F1, F2 (30 places each) and F3 (unknown)
    assert "60 places (somme des capacités des 3 crèches ; 1 crèche de capacité inconnue, non comptée)" in text
    assert "et 1 autre</li>" in bulletin.facility_list(row, shown=9)
    assert bulletin.facility_list({"facilities": None}) == ""
    assert bulletin.facility_list({"facilities": json.dumps(listed[3:])}).count("Enfants") == 0
