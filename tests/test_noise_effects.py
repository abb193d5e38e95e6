"""Noise exposure-response (Directive 2020/367): methods.md §5.4 and worked example W5."""

import pytest

from spse.core import register
from spse.methods import noise_effects as ne

TOL = 1e-6
# methods.md §5.4 table; ranges wide enough for W5 (road/rail ranges are [U], aircraft %HA 40-75 [C2])
HA_ROAD = ne.Curve(78.9270, -3.1162, 0.0342, 40, 80)
HA_RAIL = ne.Curve(38.1596, -2.05538, 0.0285, 40, 80)
HA_AIR = ne.Curve(-50.9693, 1.0168, 0.0072, 40, 75)
HSD_ROAD = ne.Curve(19.4312, -0.9336, 0.0126, 40, 70)
HSD_RAIL = ne.Curve(67.5406, -3.1852, 0.0391, 40, 70)
HSD_AIR = ne.Curve(16.7885, -0.9293, 0.0198, 40, 70)


@pytest.mark.parametrize(("curve", "level", "expected"), [
    (HA_ROAD, 65, 20.8690), (HA_ROAD, 55, 10.9910), (HSD_ROAD, 55, 6.1982), (HSD_ROAD, 45, 2.9342),
    (HA_RAIL, 65, 24.9724), (HA_AIR, 65, 45.5427), (HSD_AIR, 55, 25.5720), (HSD_RAIL, 55, 10.6321),
])
def test_w5_percent_affected(curve, level, expected):
    assert float(ne.percent_affected(level, curve)) == pytest.approx(expected, abs=TOL)  # exact to 4 decimals


def test_aircraft_hsd_intercept_16_79_variant():
    curve = ne.Curve(16.79, -0.9293, 0.0198, 40, 70)  # W5: 25.5735 % with the rounded intercept
    assert float(ne.percent_affected(55, curve)) == pytest.approx(25.5735, abs=TOL)


def test_outside_range_policies():
    # aircraft %HA valid 40-75 dB: at 75 -> -50.9693 + 76.26 + 40.5 = 65.7907
    at_75 = -50.9693 + 1.0168 * 75 + 0.0072 * 75**2
    at_40 = -50.9693 + 1.0168 * 40 + 0.0072 * 40**2
    at_80 = -50.9693 + 1.0168 * 80 + 0.0072 * 80**2
    got = ne.percent_affected([35, 80], HA_AIR, "zero_below_clamp_above")
    assert got.tolist() == pytest.approx([0.0, at_75], abs=TOL)
    assert ne.percent_affected([35, 80], HA_AIR, "clamp").tolist() == pytest.approx([at_40, at_75], abs=TOL)
    assert ne.percent_affected([80], HA_AIR, "extrapolate").tolist() == pytest.approx([at_80], abs=TOL)
    with pytest.raises(ValueError, match="noise_erf_outside_range"):
        ne.percent_affected(60, HA_AIR, "linear")


@pytest.mark.parametrize(("lden", "rr"), [(53, 1.0), (58, 1.039230), (63, 1.08), (68, 1.122369),
                                          (73, 1.1664), (50, 1.0)])
def test_w5_rr_ihd(lden, rr):
    assert float(ne.rr_ihd(lden, 1.08, 53)) == pytest.approx(rr, abs=TOL)


def test_w5_paf_over_bands():
    shares = [0.30, 0.25, 0.20, 0.10]
    rr = ne.rr_ihd([55, 60, 65, 70], 1.08, 53)
    excess = sum(p * (r - 1) for p, r in zip(shares, rr, strict=True))
    assert excess == pytest.approx(0.0518192191, abs=1e-9)
    assert ne.population_attributable_fraction(shares, rr) == pytest.approx(0.0492662790, abs=1e-9)


def test_ihd_cases_are_paf_times_incidence_times_population():
    # W5 shares on 10 000 residents, incidence 0.004 per year: 0.0492662790 x 0.004 x 10 000
    got = ne.ihd_cases([3000, 2500, 2000, 1000], [55, 60, 65, 70], 10_000, 0.004, 1.08, 53)
    assert got == pytest.approx(1.97065116, abs=TOL)
    assert ne.ihd_cases([], [], 0, 0.004, 1.08, 53) == 0.0


def test_highly_annoyed_per_band_at_band_centre():
    centres = ne.band_centre([55, 60])
    assert centres.tolist() == [57.5, 62.5]
    # road %HA at 57.5 = 78.9270 - 179.1815 + 113.07375 = 12.81925; at 62.5 = 78.9270 - 194.7625 + 133.59375 = 17.75825
    got = ne.people_affected([1000, 400], centres, HA_ROAD)
    assert got.tolist() == pytest.approx([128.1925, 71.033], abs=TOL)


def test_register_curves():
    params = register.parameters()
    assert ne.Curve.from_params(params, "ha", "road") == HA_ROAD
    assert ne.Curve.from_params(params, "ha", "air") == HA_AIR
    assert ne.Curve.from_params(params, "hsd", "air") == HSD_AIR
    assert params.text("noise_erf_outside_range") == "zero_below_clamp_above"
    assert (params.float("noise_ihd_rr_per_10db"), params.float("noise_ihd_onset_db")) == (1.08, 53.0)
