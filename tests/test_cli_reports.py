"""``spse summary`` and ``spse alerts``: French by default, English with ``--lang en``, the bulletin's words."""

from __future__ import annotations

import html
import re
import shutil

import duckdb
import pandas as pd
import pytest
from test_bulletin import DAY, warehouse  # noqa: F401  (the hand-made warehouse fixture)

from spse.core.config import settings
from spse.pipeline import bulletin
from spse.pipeline.cli import main

NO2_FR = ("[dépassement local, nouvelle] NO2 : seuil d'information (Code de l'environnement, art. R221-1) ; "
          "maximum 212,0 µg/m³ pour un seuil de 200 µg/m³ (moyenne horaire), d'après : mesures aux stations ; "
          "zones : Paris 11e <Arrondissement>, Paris 12e Arrondissement ; population : 1\u202f100 habitants de 4 "
          "carreaux de 200 m (0,16 km²) : carreaux voisins des stations en dépassement ; dont 65 enfants de 0 à 5 "
          "ans, 195 personnes de 65 ans et plus et 220 personnes de ménages pauvres ; 3 établissements sensibles "
          "(crèches : 1, écoles maternelles : 1, EHPAD : 1)")
NO2_EN = ("[local exceedance, new] NO2: information threshold (French environment code, art. R221-1); "
          "max 212.0 µg/m³ for a threshold of 200 µg/m³ (hourly mean), from station measurements; "
          "zones: Paris 11e <Arrondissement>, Paris 12e Arrondissement; population: 1,100 residents of 4 cells of "
          "200 m (0.16 km²): cells around the stations above the threshold; of whom 65 children aged 0-5, 195 "
          "people aged 65 and over and 220 people in poor households; 3 sensitive facilities (day nurseries: 1, "
          "nursery schools: 1, care homes: 1)")


@pytest.fixture
def published(warehouse, spse_home):  # noqa: F811
    """The hand-made warehouse as the published one, with the facilities' names."""
    con = duckdb.connect(warehouse)
    con.register("f", pd.DataFrame({"facility_id": ["F1", "F2", "F3"], "category": ["creche", "ecole_maternelle",
                                                                                    "ehpad"],
                                    "name": ["Crèche Oberkampf", "École Voltaire", "EHPAD Belleville"]}))
    con.execute("create table marts.facility_exposure_daily as select * from f")
    con.close()
    settings().warehouse.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(warehouse, settings().warehouse)
    return settings().warehouse


def test_alerts_are_listed_in_french_by_default(published, capsys):
    assert main(["alerts", "--date", DAY.isoformat()]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == NO2_FR
    assert lines[1] == ("[qualité des données] bruit (noise_hourly) (données du jour absentes) : Partition "
                        "noise_hourly/date=2025-07-02 absente")


def test_alerts_in_english_on_request(published, capsys):
    assert main(["alerts", "--date", DAY.isoformat(), "--lang", "en"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == NO2_EN


def test_no_alert_day(published, capsys):
    assert main(["alerts", "--date", "2025-07-09"]) == 0
    assert capsys.readouterr().out == "aucune alerte le 2025-07-09\n"


def test_summary_in_french_with_the_bulletin_population_figure(published, capsys):
    assert main(["summary", "--date", DAY.isoformat()]) == 0
    out = capsys.readouterr().out
    assert "Alertes du jour (2) :" in out and "Alerts raised" not in out
    assert "  " + NO2_FR in out
    assert "      établissements : Crèche Oberkampf (crèche); École Voltaire (école maternelle); EHPAD Belleville " \
           "(EHPAD)" in out
    row = next(line.strip() for line in out.splitlines() if line.strip().startswith("75112"))
    assert re.split(r" +", row)[-5:] == ["45,0", "21,0", "180,0", "95,0", "150\u202f000"]
    assert "Ce qui manque aux chiffres du jour :\n  - bruit (noise_hourly) : pas de données le 2025-07-02" in out
    # the same population figure, said the same way, as the bulletin's
    page = html.unescape(bulletin.render(DAY, warehouse_path=published).read_text(encoding="utf-8"))
    figure = re.search(r"population : (1\u202f100 habitants de .*?ménages pauvres)", out).group(1)
    assert f"Population concernée : {figure}." in page
    for code in ("FR_R221-1", "day_max_1h", "basis", "station;", "opened", "air_quality"):
        assert code not in out.split("Bulletin :")[0].replace("noise_hourly/date", ""), code


def test_summary_in_english_on_request(published, capsys):
    assert main(["summary", "--date", DAY.isoformat(), "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "Alerts raised (2):" in out and "  " + NO2_EN in out
    row = next(line.strip() for line in out.splitlines() if line.strip().startswith("75112"))
    assert re.split(r" +", row)[-5:] == ["45.0", "21.0", "180.0", "95.0", "150,000"]
    assert "Warehouse: " in out


def test_unknown_language_is_refused(published, capsys):
    with pytest.raises(SystemExit):
        main(["summary", "--date", DAY.isoformat(), "--lang", "de"])


def _year_figures(yll: float) -> dict:
    empty = pd.DataFrame()
    health = pd.DataFrame({"pollutant": ["PM2.5"], "attributable_deaths": [896.4], "attributable_deaths_low": [320.2],
                           "attributable_deaths_high": [1400.0], "share_of_deaths": [0.069],
                           "years_of_life_lost": [yll], "years_of_life_lost_low": [3974.0],
                           "years_of_life_lost_high": [17378.0]})
    return {"exposure": empty, "alerts": empty, "health": health}


def test_year_summary_gives_years_of_life_lost_beside_the_deaths(capsys):
    from spse.pipeline.cli import print_year

    print_year(_year_figures(11119.4), 2025)
    print_year(_year_figures(11119.4), 2025, "en")
    out = capsys.readouterr().out
    assert ("décès (30 ans et plus) attribuables à PM2.5 au-dessus de la valeur guide OMS : 896 [320-1\u202f400] ; "
            "11\u202f119 [3\u202f974-17\u202f378] années de vie perdues (intervalle à 95 % du risque relatif)") in out
    assert ("deaths (aged 30+) attributable to PM2.5 above the WHO guideline: 896 [320-1,400]; "
            "11,119 [3,974-17,378] years of life lost (95 % interval of the relative risk)") in out


def test_year_summary_says_nothing_of_years_of_life_lost_without_a_life_table(capsys):
    from spse.pipeline.cli import print_year

    print_year(_year_figures(float("nan")), 2025)
    out = capsys.readouterr().out
    assert "896 [320-1\u202f400] (intervalle à 95 % du risque relatif)" in out and "années de vie" not in out
