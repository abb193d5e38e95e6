"""The one place codes become words: French by default, English on request, unknown codes shown as they are."""

from __future__ import annotations

import json

import pytest

from spse.pipeline import labels


def test_codes_in_french_and_english():
    assert labels.pollutant("PM2.5") == "PM2,5" and labels.pollutant("PM2.5", "en") == "PM2.5"
    assert labels.threshold("WHO_2021", "guideline") == "valeur guide (OMS 2021)"
    assert labels.threshold("FR_R221-1", "alerte", "en") == "alert threshold (French environment code, art. R221-1)"
    assert labels.statistic("day_max_8h_mean") == "maximum journalier de la moyenne sur 8 heures"
    assert labels.basis("surface+station") == "surface de fond et mesures aux stations"
    assert labels.category("hospital", plural=True) == "hôpitaux"
    assert labels.category("hospital", "en", plural=True) == "hospitals"


def test_the_kinds_of_the_new_alert_rules_and_unknown_codes():
    assert labels.kind("regulatory_episode") == "épisode de pollution réglementaire"
    assert labels.kind("health_advisory", "en") == "health advisory"
    assert labels.kind("a_kind_not_yet_named") == "a_kind_not_yet_named"
    assert labels.level(None) == "" and labels.level(float("nan")) == ""
    with pytest.raises(ValueError, match="language"):
        labels.kind("forecast", "de")


def test_criteria_are_shown_generically():
    criteria = json.dumps({"area_km2": 112.5, "population_share": 0.12, "met": True, "rule": "information",
                           "stations": ["FR04143", "FR04329"], "new_key": 3})
    assert labels.criteria(criteria) == ("surface : 112,50 ; part de la population : 0,12 ; critère rempli : oui ; "
                                         "règle : seuil d'information et de recommandation ; stations : FR04143, "
                                         "FR04329 ; new_key : 3")
    assert labels.criteria(None) == "" and labels.criteria("not json") == "not json"


def test_numbers_follow_the_language():
    assert labels.number(1234567.891, 1) == "1\u202f234\u202f567,9"
    assert labels.number(1234567.891, 1, "en") == "1,234,567.9"
    assert labels.number(None) == "" and labels.number(float("nan")) == ""


def test_exceedance_open_closed_and_without_threshold():
    row = {"value_max": 212.04, "threshold_value": 200.0, "unit": "µg/m³", "averaging": "1h", "status": "opened"}
    assert labels.exceedance(row) == "maximum 212,0 µg/m³ pour un seuil de 200 µg/m³ (moyenne horaire)"
    assert labels.exceedance({**row, "status": "closed"}, "en") == ("threshold of 200 µg/m³ (hourly mean) no longer "
                                                                    "exceeded")
    assert labels.exceedance({**row, "threshold_value": None}) == "maximum 212,0 µg/m³"


def test_a_list_of_criteria_reads_in_words():
    import json

    from spse.pipeline import labels

    criteria = [{"name": "area_km2", "label": "Surface", "value": 40.0, "threshold": 100.0, "unit": "km²", "met": None},
                {"name": "population", "label": "Population", "value": 240000, "threshold": 211370.5,
                 "unit": "habitants", "met": True},
                {"name": "background_situation", "label": "Fond", "value": False, "threshold": True, "met": False}]
    text = labels.criteria(json.dumps(criteria)).replace("\u202f", " ").replace("\xa0", " ")  # French digit groups
    # persons are whole: a population of at least 10 % × 2 113 705 = 211 370.5 is at least 211 371 residents
    assert text == ("Surface (40 / 100 km²), non évaluable ; Population (240 000 / 211 371 habitants), rempli ; "
                    "Fond, non rempli")
    assert "{" not in labels.criteria(criteria, "en") and "not assessable" in labels.criteria(criteria, "en")
