"""Air x noise multi-exposure classes (design choice [U], spse.methods.multiexposure)."""

import math

from spse.core import register
from spse.methods import multiexposure as mx

# WHO 2021 AQG, EU 2030 limit, EU 2008/50 limit (annual, µg/m³; methods.md §3, §4)
LADDERS = {"PM2.5": (5, 10, 25), "NO2": (10, 20, 40)}
NOISE = (53, 68)  # WHO 2018 road Lden, French road limit value


def test_ladder_counts_strict_exceedances():
    assert mx.ladder_class([4, 5, 5.1, 10, 26, math.nan], LADDERS["PM2.5"]).tolist() == [0, 0, 1, 1, 3, -1]


def test_air_noise_combined_and_hotspot_by_hand():
    # PM2.5 classes 0, 2, 3, 1; NO2 classes 0, 1, 3, 2 -> worst 0, 2, 3, 2
    air = mx.air_class({"PM2.5": [4, 12, 26, 10], "NO2": [10, 15, 41, 25]}, LADDERS)
    assert air.tolist() == [0, 2, 3, 2]
    noise = mx.ladder_class([50, 70, 68, 60], NOISE)
    assert noise.tolist() == [0, 2, 1, 1]
    assert mx.combined_class(air, noise).tolist() == [0, 4, 4, 3]
    assert mx.hotspot(air, noise, 2, 2).tolist() == [False, True, False, False]


def test_missing_value_gives_unknown_class():
    combined = mx.combined_class([1, -1], [2, 0])
    assert combined.tolist() == [3, -1]
    labels = ["a", "b", "c", "d", "e", "f"]
    assert mx.class_labels(combined, labels).tolist() == ["d", "inconnu"]


def test_register_defines_six_labels_and_hotspot_minima():
    params = register.parameters()
    assert len(params.words("multiexposure_labels")) == 6
    assert (params.int("multiexposure_hotspot_min_air"), params.int("multiexposure_hotspot_min_noise")) == (2, 2)
