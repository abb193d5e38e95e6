"""Attributable deaths (log-linear CRF): methods.md §7.1 and worked examples W6, W6b, W7."""

import math

import numpy as np
import pytest

from spse.core import register
from spse.methods import impact

TOL = 1e-6


@pytest.mark.parametrize(("rr", "c", "c0", "beta", "af", "deaths"), [
    (1.08, 12, 5, 0.00769610, 0.05244730, 52.4473),    # PM2.5 WHO 2021
    (1.15, 12, 5, 0.01397619, 0.09320000, 93.2000),    # PM2.5 SpF
    (1.062, 12, 5, 0.00601539, 0.04123353, 41.2335),   # PM2.5 HRAPIE
    (1.02, 30, 10, 0.00198026, 0.03883122, 38.8312),   # NO2 WHO 2021
    (1.023, 30, 10, 0.00227395, 0.04446031, 44.4603),  # NO2 SpF 2021
])
def test_w6_attributable_deaths(rr, c, c0, beta, af, deaths):
    # W6: 100 000 people aged 30+, 1 000 deaths per 100 000 per year (illustrative)
    assert impact.beta(rr) == pytest.approx(beta, abs=5e-9)
    assert float(impact.attributable_fraction(c, c0, rr)) == pytest.approx(af, abs=5e-9)
    got = float(impact.attributable_cases(100_000, 0.01, c, c0, rr))
    assert got == pytest.approx(deaths, abs=5e-5)


def test_w6_af_equals_rr_delta_form():
    rr_delta = 1.05535028  # W6: PM2.5 WHO, RR_delta = exp(beta * 7)
    assert float(impact.attributable_fraction(12, 5, 1.08)) == pytest.approx((rr_delta - 1) / rr_delta, abs=1e-8)


def test_w6b_grid_sum_not_pwc():
    pop = [2000, 3500, 1500, 3000]
    pm25 = [14, 11, 8, 5]
    cells = impact.attributable_cases(pop, 0.01, pm25, 5.0, 1.08)
    assert cells == pytest.approx([1.338411, 1.579435, 0.342357, 0.0], abs=TOL)
    result = impact.attributable_deaths(pop, 0.01, pm25, 5.0, impact.Crf(1.08, 1.06, 1.09))
    assert result.deaths == pytest.approx(3.260203, abs=TOL)
    assert result.deaths != pytest.approx(3.292386, abs=1e-3)  # the PWC shortcut (W6b)
    assert result.baseline_deaths == pytest.approx(100.0)  # 10 000 people x 0.01


def test_interval_uses_the_rr_bounds():
    # W6 population, PM2.5 12 -> 5 with SpF 1.15 (1.05-1.25): AF = 1 - RR^(-0.7)
    result = impact.attributable_deaths([100_000], 0.01, [12.0], 5.0, impact.Crf(1.15, 1.05, 1.25))
    assert result.deaths == pytest.approx(1000 * (1 - 1.15 ** -0.7), abs=TOL)
    assert result.deaths_low == pytest.approx(1000 * (1 - 1.05 ** -0.7), abs=TOL)
    assert result.deaths_high == pytest.approx(1000 * (1 - 1.25 ** -0.7), abs=TOL)
    assert result.deaths_low < result.deaths < result.deaths_high
    assert result.share == pytest.approx(0.0932, abs=TOL)


def test_missing_cell_counts_in_baseline_not_in_deaths():
    result = impact.attributable_deaths([2000, 1000], 0.01, [14, math.nan], 5.0, impact.Crf(1.08, 1.06, 1.09))
    assert result.deaths == pytest.approx(1.338411, abs=TOL)
    assert result.baseline_deaths == pytest.approx(30.0)


def test_counterfactuals_add_the_lowest_observed_cell():
    got = impact.counterfactuals([14, 11, math.nan, 6.5], {"who_2021": 5.0, "eu_2030": 10.0})
    assert got == {"who_2021": 5.0, "eu_2030": 10.0, "lowest_observed": 6.5}


def test_years_of_life_lost_is_deaths_times_remaining_life_expectancy():
    # 2 deaths at 30-64 with 35 years left + 5 deaths at 65+ with 12 years left = 70 + 60
    assert impact.years_of_life_lost({"30_64": 2.0, "65p": 5.0}, {"30_64": 35.0, "65p": 12.0}) == 130.0


# A tiny life table: ages 80, 81 and 82 (open), q = 0.2, 0.5; e = 2.0, 1.5, 1.0.
# Survivors 1, 0.8, 0.4; deaths 0.2 at 80.5, 0.4 at 81.5 and the 0.4 left at 82 + e82 = 83.
TINY = impact.LifeTable(np.array([80, 81, 82]), np.array([0.2, 0.5, 0.9]), np.array([2.0, 1.5, 1.0]))


def test_life_table_mean_age_at_death_and_band_expectancy_by_hand():
    # 80+: (0.2 × 80.5 + 0.4 × 81.5 + 0.4 × 83) / 1.0 = 81.9; e(81.9) = 1.5 + 0.9 × (1.0 − 1.5) = 1.05
    assert TINY.mean_age_at_death(80) == pytest.approx(81.9, abs=1e-12)
    assert TINY.band_expectancy(80) == pytest.approx(1.05, abs=1e-12)
    # 80-81: (16.1 + 32.6) / 0.6 = 81.1666…; e = 1.5 − 0.5 × 0.1666… = 1.4166…
    assert TINY.mean_age_at_death(80, 81) == pytest.approx(48.7 / 0.6, abs=1e-12)
    assert TINY.band_expectancy(80, 81) == pytest.approx(1.5 - 0.5 / 6, abs=1e-12)
    assert math.isnan(TINY.mean_age_at_death(30, 64))  # no age of the table in the band
    assert TINY.expectancy_at(70) == 2.0 and TINY.expectancy_at(90) == 1.0


def test_yll_on_the_tiny_life_table_by_hand():
    # 3 attributable deaths at 80-81 and 2 at 82+ (the open age: die at 83, e(83) = e82 = 1.0)
    e = {"80_81": TINY.band_expectancy(80, 81), "82p": TINY.band_expectancy(82)}
    assert impact.years_of_life_lost({"80_81": 3.0, "82p": 2.0}, e) == pytest.approx(3 * (1.5 - 0.5 / 6) + 2.0,
                                                                                    abs=1e-12)


@pytest.mark.parametrize(("ages", "qx", "ex"), [([80, 82], [0.1, 1.0], [2.0, 1.0]), ([80.5, 81.5], [0.1, 1], [2, 1]),
                                                ([80, 81], [1.2, 1.0], [2.0, 1.0]), ([80, 81], [0.1, 1.0], [-1, 1.0]),
                                                ([], [], [])])
def test_life_table_refuses_gaps_and_out_of_range_values(ages, qx, ex):
    with pytest.raises(ValueError, match="life table"):
        impact.LifeTable(np.array(ages), np.array(qx), np.array(ex))


def test_w7_short_term_excess_deaths():
    assert float(impact.short_term_excess_deaths(25, 40, 1.0123)) == pytest.approx(1.204005, abs=TOL)
    assert impact.beta(1.0123) == pytest.approx(0.00122250, abs=5e-9)
    assert float(impact.attributable_fraction(25, 0, 1.0123)) == pytest.approx(0.03010011, abs=5e-9)
    assert float(impact.attributable_fraction(30, 0, 1.0075)) == pytest.approx(0.02216667, abs=5e-9)
    assert float(impact.short_term_excess_deaths(30, 40, 1.0075)) == pytest.approx(0.886667, abs=TOL)


def test_crf_rejects_an_interval_around_another_value():
    with pytest.raises(ValueError, match="low <= rr <= high"):
        impact.Crf(1.08, 1.09, 1.10)


def test_register_crfs_match_methods_table():
    params = register.parameters()
    # methods.md §7.2
    assert impact.Crf.from_words(params.words("crf_pm25_longterm_spf")) == impact.Crf(1.15, 1.05, 1.25)
    assert impact.Crf.from_words(params.words("crf_no2_longterm_spf")) == impact.Crf(1.023, 1.008, 1.037)
    assert impact.Crf.from_words(params.words("crf_pm25_longterm_who2021")) == impact.Crf(1.08, 1.06, 1.09)
    assert impact.Crf.from_words(params.words("crf_no2_longterm_who2021")) == impact.Crf(1.02, 1.01, 1.04)
    assert params.float("counterfactual_pm25_who_2021") == 5.0
    assert params.float("counterfactual_no2_eu_2030") == 20.0
    assert np.isclose(params.float("counterfactual_pm25_eu_2030"), 10.0)
