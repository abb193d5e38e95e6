"""The daily bulletin, rendered from a small hand-made warehouse file."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import struct
import zlib

import duckdb
import numpy as np
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
    "alert_id": "76e9af6069c10127", "date": DAY, "kind": "air_quality", "alert_type": "local_exceedance",
    "label": "Dépassement local : station de proximité (trafic ou industrielle), abords immédiats de la voie ; pas de "
             "procédure préfectorale", "pollutant": "NO2", "level": "information",
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
    # 75111: PM10 52.0 (> 50, information class); 75112: PM10 45.0 (not > 45: WHO guideline class);
    # the day before, PM10 is 10 µg/m³ lower everywhere
    for day, shift in ((DAY - dt.timedelta(days=1), -10.0), (DAY, 0.0)):
        for zone, name, level, pm10 in (("75111", "Paris 11e <Arrondissement>", "arrondissement", 52.0),
                                        ("75112", "Paris 12e Arrondissement", "arrondissement", 45.0),
                                        ("75056", "Paris", "commune", 48.5)):
            for pollutant, statistic, value in (("PM10", "day_mean", pm10 + shift), ("PM2.5", "day_mean", 21.0),
                                                ("NO2", "day_max_1h", 180.0), ("O3", "day_max_8h_mean", 95.0)):
                rows.append({"zone_id": zone, "zone_level": level, "zone_name": name, "date": day,
                             "pollutant": pollutant, "statistic": statistic, "time_base": "Europe/Paris",
                             "population": 150_000.0, "pop_weighted_mean_ug_m3": value})
    return pd.DataFrame(rows)


def cell_rows() -> pd.DataFrame:
    """200 m cells over the two 1 km squares: PM10 52 in the west square (75111), 45 in the east (75112)."""
    rows = []
    for i in range(10):
        for j in range(5):
            x, y = X0 + 200 * i, Y0 + 200 * j
            for pollutant, statistic, value in (("PM10", "day_mean", 52.0 if i < 5 else 45.0),
                                                ("NO2", "day_max_1h", 180.0), ("PM2.5", "day_mean", 21.0),
                                                ("O3", "day_max_8h_mean", 95.0), ("O3", "day_mean", 60.0)):
                rows.append({"cell_id": f"CRS3035RES200mN{y}E{x}", "date": DAY, "pollutant": pollutant,
                             "statistic": statistic, "time_base": "Europe/Paris", "value_ug_m3": value})
    return pd.DataFrame(rows)


def facility_rows() -> pd.DataFrame:
    """F1 at the centre of the west square (EPSG:3035 → WGS84)."""
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(3035, 4326, always_xy=True).transform(X0 + 500, Y0 + 500)
    return pd.DataFrame([{"facility_id": "F1", "category": "creche", "name": "Crèche Oberkampf", "lon": lon,
                          "lat": lat}, {"facility_id": "F9", "category": "creche", "name": "Not in an alert",
                                        "lon": lon, "lat": lat}])


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
                        ("marts.exposure_cell_daily", cell_rows()), ("lake.facilities", facility_rows()),
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
    assert "<h3>NO2 : seuil d&#x27;information (Code de l&#x27;environnement, art. R221-1)</h3>" in page
    assert ("<p class=\"type\"><strong>Dépassement local : station de proximité (trafic ou industrielle), abords "
            "immédiats de la voie ; pas de procédure préfectorale.</strong></p>") in page
    assert ("Population concernée : 1\u202f100 habitants de 4 carreaux de 200 m (0,16 km²) : carreaux voisins "
            "des stations en dépassement ; dont 65 enfants de 0 à 5 ans, 195 personnes de 65 ans et plus et 220 "
            "personnes de ménages pauvres.") in page
    assert "Maximum 212,0 µg/m³ pour un seuil de 200 µg/m³ (moyenne horaire), d&#x27;après : mesures " \
           "aux stations." in page
    assert "crèches : 1, écoles maternelles : 1, EHPAD : 1" in page
    assert "Dépassement observé ; statut : nouvelle, épisode commencé le mercredi 2 juillet 2025." in page
    # named, most sensitive first, with category, capacity and address
    first, second, third = (page.index(t) for t in ("Crèche Oberkampf (", "École &lt;Voltaire&gt;",
                                                    "EHPAD Belleville"))
    assert first < second < third
    assert ("Crèche Oberkampf (crèche, 60 places) : 12 RUE OBERKAMPF, 75011, 11e arrondissement" in page)
    assert "École &lt;Voltaire&gt; (école maternelle) : 6 CITE VOLTAIRE" in page
    assert "EHPAD Belleville (EHPAD, 84 lits)</li>" in page
    assert "Enfants accueillis en crèche dans la zone concernée : 60 places (capacité de la crèche)." in page
    assert "Évitez les zones à fort trafic" in page
    assert "noise_hourly" in page  # the data-quality alert is listed
    assert "Paris 11e &lt;Arrondissement&gt;" in page and "<Arrondissement>" not in page
    assert page.count("<svg role=\"img\"") == 5  # the main map and the four pollutant maps
    assert "Données provisoires" in page
    assert "http" not in page and "url(" not in page.replace("url(#g", "") and "<script" not in page
    assert "<link" not in page and "src=" not in page
    assert hashlib.sha256(open(warehouse, "rb").read()).hexdigest() == before  # read-only


def test_no_raw_code_reaches_the_page(warehouse, spse_home):
    page = bulletin.render(DAY, warehouse_path=warehouse).read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", " ", page.split("<h2>Méthode et provenance</h2>")[0])
    for code in ("FR_R221-1", "WHO_2021", "EU_2024", "day_mean", "day_max", "guideline", "surface+station",
                 "base :", "basis", "(information", "DQ_", "air_quality", "opened"):
        assert code not in text, code


def test_alerts_come_first_then_maps_then_trend(warehouse, spse_home):
    page = bulletin.render(DAY, warehouse_path=warehouse).read_text(encoding="utf-8")
    order = [page.index(h) for h in ("<h2>L'essentiel</h2>", "<h2>Alertes</h2>", "<h2>Carte du polluant",
                                     "<h2>Cartes 200 m", "<h2>Les 7 derniers jours", "<h2>Chiffres clés",
                                     "<h2>Sources et licences</h2>")]
    assert order == sorted(order)
    essentials = page.split("<h2>L'essentiel</h2>")[1].split("</div>")[0]
    assert "1\u202f100 habitants concernés, 3 établissements sensibles" in essentials
    # NO2 212 > 200 is the only observed alert: the day's main pollutant
    assert "Polluant principal du jour (carte 200 m) : NO2." in essentials


def test_main_map_shows_the_alert_facilities_at_their_place(warehouse, spse_home):
    page = bulletin.render(DAY, warehouse_path=warehouse).read_text(encoding="utf-8")
    main = page.split("<h2>Carte du polluant principal")[1].split("<h2>")[0]
    assert main.startswith(" : NO2, maximum horaire du jour")
    circles = re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)"[^>]*/><title>([^<]*)</title>', main)
    assert [c[2] for c in circles] == ["Crèche Oberkampf (crèche)"]  # F9 is in no alert
    # the map spans the two squares (2 km wide, 1 km high), 760 px wide with a 14 px margin each side:
    # (760 - 28) / 2000 px per metre; F1 is 500 m east of the west edge and 500 m below the top
    scale = (760 - 28) / 2000
    assert float(circles[0][0]) == pytest.approx(14 + 500 * scale, abs=0.2)
    assert float(circles[0][1]) == pytest.approx(14 + 500 * scale, abs=0.2)
    assert "○ : établissements sensibles concernés par une alerte du jour (1 ;" in main


def _pixels(page_part: str) -> np.ndarray:
    """The RGBA pixels of the first embedded PNG (8-bit RGBA, filter 0 rows, as the bulletin writes)."""
    data = base64.b64decode(re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page_part).group(1))
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    idat = data[data.index(b"IDAT") + 4:data.index(b"IEND") - 8]
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, 1 + 4 * width)
    assert (raw[:, 0] == 0).all()
    return raw[:, 1:].reshape(height, width, 4)


def test_pm10_map_colours_follow_the_threshold_register(warehouse, spse_home):
    page = bulletin.render(DAY, warehouse_path=warehouse).read_text(encoding="utf-8")
    pm10 = page.split("<figcaption>PM10 : moyenne journalière</figcaption>")[1].split("</figure>")[0]
    pixels = _pixels(pm10)
    assert pixels.shape == (5, 10, 4)  # 2 km × 1 km at one pixel per 200 m cell
    assert (pixels[..., 3] == 255).all()
    # register: PM10 day_mean WHO 2021 guideline 45, R221-1 information 50 and alert 80 (methods.md §1.1)
    assert [v for v, _ in bulletin.scale_bounds("PM10")] == [45.0, 50.0, 80.0]
    # east square: 45 sits exactly at the first threshold, the ramp's yellow
    assert tuple(pixels[2, 7, :3]) == (255, 230, 120)
    # west square: 52 lies 2/30 of the way from the information colour (50) to the alert colour (80)
    expected = np.round(np.array([245, 150, 70]) + (np.array([215, 40, 40]) - [245, 150, 70]) * 2 / 30)
    assert tuple(pixels[2, 2, :3]) == tuple(expected.astype(int))
    assert "45 : valeur guide OMS ; 50 : seuil d&#x27;information R221-1 ; 80 : seuil d&#x27;alerte R221-1" in pm10


def test_ramp_below_the_first_threshold_and_beyond_the_last():
    from spse.pipeline import bulletin_maps as maps

    colours = maps.ramp(np.array([0.0, 22.5, 200.0, np.nan]), [45.0, 50.0, 80.0])
    assert colours[0].tolist() == [44, 123, 182]  # 0: the ramp's first colour
    assert colours[1].tolist() == [120, 190, 160]  # half the first threshold
    assert colours[2].tolist() == [120, 20, 60]  # beyond 1.5 × the last threshold
    assert colours[3].tolist() == [208, 208, 208]  # no value


def test_seven_days_per_arrondissement(warehouse, spse_home):
    page = bulletin.render(DAY, warehouse_path=warehouse).read_text(encoding="utf-8")
    section = page.split("<h2>Les 7 derniers jours par arrondissement</h2>")[1].split("<h2>")[0]
    row = re.search(r"<tr><td>Paris 12e Arrondissement</td>(.*?)</tr>", section).group(1)
    cells = re.findall(r'<td class="spark">(.*?)</td>', row)
    assert len(cells) == 4  # NO2, PM10, PM2.5, O3
    pm10 = cells[1]
    assert pm10.endswith(" 45")  # the day's value
    # two days present of seven: one line of two points, 35 then 45 µg/m³ on a scale shared by the zones,
    # 0 … 57.2 (the highest PM10 of the week, 52 in the 11e, × 1.1)
    points = re.findall(r'<polyline points="([^"]+)"', pm10)
    assert len(points) == 1
    (x1, y1), (x2, y2) = (map(float, p.split(",")) for p in points[0].split())
    assert (x1, x2) == (pytest.approx(3 + 90 * 5 / 6, abs=0.05), pytest.approx(93.0))
    assert y1 == pytest.approx(23 - 20 * 35 / 57.2, abs=0.05) and y2 == pytest.approx(23 - 20 * 45 / 57.2, abs=0.05)
    assert "Paris (ensemble)" in section


def test_synthetic_sources_are_announced(warehouse, spse_home, monkeypatch):
    monkeypatch.setattr(bulletin, "synthetic_sources", lambda: ["lcsqa_e2"])
    page = bulletin.render(DAY, warehouse_path=warehouse).read_text(encoding="utf-8")
    assert "Données synthétiques (démonstration)" in page
    assert "inventées pour les sources air, mesures horaires (lcsqa_e2) ;" in page
    monkeypatch.setattr(bulletin, "synthetic_sources", lambda: [])
    assert "Données synthétiques" not in bulletin.render(DAY, warehouse_path=warehouse).read_text(encoding="utf-8")


def test_main_pollutant_without_alert_is_the_highest_against_its_first_threshold():
    exposure = pd.DataFrame([{"zone_id": "75056", "pm10_day_mean_ug_m3": 48.5, "pm25_day_mean_ug_m3": 21.0,
                              "no2_day_max_1h_ug_m3": 180.0, "o3_day_max_8h_mean_ug_m3": 95.0}])
    # 48.5 / 45, 21 / 15 = 1.4, 180 / 150 = 1.2, 95 / 100: PM2.5
    assert bulletin.main_pollutant(pd.DataFrame(), exposure) == "PM2.5"
    assert bulletin.main_pollutant(pd.DataFrame(), pd.DataFrame()) == "PM10"
    # an observed row without a threshold (a health advisory, say) does not decide it
    advisory = pd.DataFrame([{"kind": "health_advisory", "pollutant": "O3", "status": "opened", "value_max": 150.0,
                              "threshold_value": None}])
    assert bulletin.main_pollutant(advisory, exposure) == "PM2.5"


def test_key_numbers_and_population_above_thresholds(warehouse, spse_home):
    page = bulletin.render(DAY, warehouse_path=warehouse).read_text(encoding="utf-8")
    row = re.search(r"<tr><td>Paris 12e Arrondissement</td>(<td class=\"n\">.*?)</tr>", page).group(1)
    assert re.findall(r'<td class="n">([^<]*)</td>', row) == ["45,0", "21,0", "180,0", "95,0", "150\u202f000"]
    assert "Paris (ensemble)" in page
    assert "<td>PM10</td><td>seuil d&#x27;information (Code de l&#x27;environnement, art. R221-1)</td>" \
           "<td>moyenne journalière &gt; 50</td><td class=\"n\">150\u202f000</td><td class=\"n\">9\u202f000" in page
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
    row = re.search(r"<tr><td>NO2</td><td>maximum horaire du jour</td>(.*?)</tr>", page).group(1)
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


def test_extra_sections_come_before_the_method(warehouse, spse_home, monkeypatch):
    monkeypatch.setattr(bulletin, "EXTRA_SECTIONS", [lambda con, day: f"<h2>Bilan annuel {day.year}</h2>",
                                                     lambda con, day: con.sql("select * from marts.absent") and ""])
    page = bulletin.render(DAY, warehouse_path=warehouse).read_text(encoding="utf-8")
    assert page.index("<h2>Stations de mesure</h2>") < page.index("<h2>Bilan annuel 2025</h2>") < page.index(
        "<h2>Sources et licences</h2>")
