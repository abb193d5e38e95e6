"""ATMO sub-indices and index of the day: methods.md §2 and worked example W2."""

import math

import pytest

from spse.core import register
from spse.methods import atmo

# methods.md W2: bounds recomputed "with python3 using bounds ..." (arrêté du 10 juillet 2020, Atmo France guide)
BOUNDS = {"SO2": (100, 200, 350, 500, 750), "NO2": (40, 90, 120, 230, 340), "O3": (50, 100, 130, 240, 380),
          "PM10": (20, 40, 50, 100, 150), "PM2.5": (10, 20, 25, 50, 75)}
RULES = atmo.AtmoRules(BOUNDS)


@pytest.mark.parametrize(("pollutant", "value", "expected"), [
    ("NO2", 95, 3), ("O3", 241, 5), ("PM10", 50.0, 3), ("PM10", 50.1, 4), ("PM2.5", 25.0, 3),
    ("SO2", 100.0, 1), ("O3", 380.0, 5), ("O3", 380.1, 6),
])
def test_w2_sub_index_bounds_are_inclusive(pollutant, value, expected):
    assert atmo.sub_index(pollutant, value, RULES) == expected


def test_w2_day_index_is_the_worst_sub_index_with_its_pollutants():
    day = atmo.day_index({"NO2": 95, "O3": 118, "PM10": 38, "PM2.5": 21, "SO2": 4}, RULES)
    assert day.sub_indices == {"NO2": 3, "O3": 3, "PM10": 2, "PM2.5": 3, "SO2": 1}
    assert (day.index, day.label) == (3, "Dégradé")
    assert day.responsible == ("NO2", "O3", "PM2.5")


def test_rounding_first_moves_50_1_down_to_class_3():
    # methods.md W2 note: rounded to an integer first, 50.1 -> 50 gives PM10 class 3
    assert atmo.sub_index("PM10", 50.1, atmo.AtmoRules(BOUNDS, round_first=True)) == 3


def test_missing_pollutant_never_wins_and_empty_day_is_unavailable():
    day = atmo.day_index({"NO2": math.nan, "PM10": 22.0, "O3": None}, RULES)
    assert (day.index, day.responsible) == (2, ("PM10",))
    assert day.sub_indices["NO2"] == 0
    empty = atmo.day_index({"NO2": None}, RULES)
    assert (empty.index, empty.label, empty.responsible) == (0, "Indisponible", ())


def test_vectorised_lookup_matches_the_table_edges():
    # NO2 class upper bounds 40/90/120/230/340 (Légifrance Annex I §1.2); just above each bound is the next class
    got = atmo.sub_indices("NO2", [0, 40, 40.01, 90, 120, 230, 340, 340.5, math.nan], RULES)
    assert got.tolist() == [1, 1, 2, 2, 3, 4, 5, 6, 0]


def test_register_holds_the_same_bounds():
    rules = atmo.AtmoRules.from_params(register.parameters())
    assert {p: tuple(float(v) for v in b) for p, b in BOUNDS.items()} == dict(rules.bounds)
    assert rules.round_first is False


def test_bounds_must_be_five_increasing_values():
    with pytest.raises(ValueError, match="5 increasing"):
        atmo.AtmoRules({"NO2": (40, 30, 120, 230, 340)})
