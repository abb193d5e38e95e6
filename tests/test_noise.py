"""Noise indicators: energetic means, Lden (methods.md §5.2, W4) and daily values at the stations."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spse.core import register
from spse.methods import noise

NAN = float("nan")


def _rules() -> noise.NoiseRules:
    """The register's noise rules, read when called (after a fixture has pointed at another register)."""
    return noise.NoiseRules.from_params(register.parameters())


def test_w4_lden_and_energetic_mean():
    assert noise.lden(65, 62, 57, _rules()) == pytest.approx(66.11412607, abs=1e-8)
    assert noise.energetic_mean([60, 62, 64, 66]) == pytest.approx(63.55923075, abs=1e-8)
    assert noise.energetic_mean([60, NAN, 62, 64, 66]) == pytest.approx(63.55923075, abs=1e-8)
    assert np.isnan(noise.energetic_mean([NAN, NAN]))


def test_vectorised_forms():
    levels = np.array([[60, 62, 64, 66], [50, 50, NAN, NAN]], dtype=float)
    np.testing.assert_allclose(noise.energetic_mean(levels, axis=1), [63.55923075, 50.0], atol=1e-8)
    np.testing.assert_allclose(noise.lden([65, 50], [62, 50], [57, 50], _rules()),
                               [66.11412607, 10 * np.log10((12 + 4 * 10**0.5 + 8 * 10) / 24) + 50], atol=1e-8)
    assert np.isnan(noise.lden(65, NAN, 57, _rules()))


def test_period_hours_from_the_register():
    assert noise.period_hours(_rules()) == {"day": 12, "evening": 4, "night": 8}


def _hours(site_id, start_local, levels, valid=None):
    ts = pd.date_range(start_local, periods=len(levels), freq="h", tz="Europe/Paris").tz_convert("UTC")
    return pd.DataFrame({"site_id": site_id, "ts_start_utc": ts, "laeq_dba": np.asarray(levels, dtype=float),
                         "is_valid": np.ones(len(levels), bool) if valid is None else np.asarray(valid, bool)})


@pytest.fixture
def following_night(tmp_path, monkeypatch):
    """The register set to attribute to day D the night 22:00 D → 06:00 D+1."""
    text = (Path(register.__file__).parents[1] / "registers" / "parameters.csv").read_text()
    custom = tmp_path / "parameters.csv"
    custom.write_text(text.replace("noise_night_attribution,calendar_day,", "noise_night_attribution,following_night,"))
    monkeypatch.setenv("SPSE_PARAMETERS_FILE", str(custom))


def test_calendar_day_night_is_the_days_own_first_and_last_hours():
    # Local D: 00-06 at 57, day 06-18 at 65, evening 18-22 at 62, 22-24 at 57; D+1's hours at 90 must not count.
    levels = [57] * 6 + [65] * 12 + [62] * 4 + [57] * 2 + [90] * 8
    row = noise.noise_daily(_hours("S1", "2026-01-15 00:00", levels), dt.date(2026, 1, 15), _rules()).iloc[0]
    assert row["ln_dba"] == pytest.approx(57)
    assert row["lden_dba"] == pytest.approx(66.11412607, abs=1e-8)  # methods.md W4
    assert row["n_valid_hours"] == 24


def test_calendar_day_night_on_the_spring_forward_day_has_7_hours():
    night = noise.period_bounds_utc(dt.date(2026, 3, 29), _rules())["night"]
    assert sum((end - start) / pd.Timedelta(hours=1) for start, end in night) == 7


def test_unknown_night_attribution_is_refused(tmp_path, monkeypatch):
    text = (Path(register.__file__).parents[1] / "registers" / "parameters.csv").read_text()
    custom = tmp_path / "parameters.csv"
    custom.write_text(text.replace("noise_night_attribution,calendar_day,", "noise_night_attribution,midnight,"))
    monkeypatch.setenv("SPSE_PARAMETERS_FILE", str(custom))
    with pytest.raises(ValueError, match="noise_night_attribution"):
        noise.period_bounds_utc(dt.date(2026, 1, 15), _rules())


@pytest.mark.usefixtures("following_night")
def test_noise_daily_periods_and_night_attribution():
    # 00:00 on D → 23:00 on D+1, local. Day 06-18 at 65, evening 18-22 at 62, night 22-06 (D → D+1) at 57;
    # the night that ends on D's morning and D+1's day are at 90 and must not count.
    levels = [90] * 6 + [65] * 12 + [62] * 4 + [57] * 8 + [90] * 18
    out = noise.noise_daily(_hours("S1", "2026-01-15 00:00", levels), dt.date(2026, 1, 15), _rules())
    assert list(out.columns) == ["site_id", "date", "ld_dba", "le_dba", "ln_dba", "lden_dba", "n_valid_hours",
                                 "is_valid"]
    row = out.iloc[0]
    assert row["site_id"] == "S1" and row["date"] == dt.date(2026, 1, 15)
    assert row["ld_dba"] == pytest.approx(65) and row["le_dba"] == pytest.approx(62)
    assert row["ln_dba"] == pytest.approx(57)
    assert row["lden_dba"] == pytest.approx(66.11412607, abs=1e-8)
    assert row["n_valid_hours"] == 24 and row["is_valid"]


def test_noise_daily_energetic_period_mean_and_invalid_hours():
    day = [60, 62, 64, 66] * 3
    levels = [40] * 6 + day + [62] * 4 + [57] * 8
    valid = np.ones(len(levels), bool)
    levels[7] = 120  # flagged invalid: ignored
    valid[7] = False
    day_with_gap = [v for i, v in enumerate(day) if i != 1]
    out = noise.noise_daily(_hours("S1", "2026-01-15 00:00", levels, valid), dt.date(2026, 1, 15), _rules())
    row = out.iloc[0]
    expected = 10 * np.log10(np.mean([10 ** (v / 10) for v in day_with_gap]))
    assert row["ld_dba"] == pytest.approx(expected, abs=1e-9)
    assert row["n_valid_hours"] == 23 and row["is_valid"]


@pytest.mark.usefixtures("following_night")
def test_noise_daily_period_coverage():
    # Night with 5 of 8 valid hours (< 0.75 × 8 = 6): Ln and Lden NULL; with 6 it is valid.
    base = [65] * 12 + [62] * 4
    five = _hours("S5", "2026-01-15 06:00", base + [57] * 5 + [NAN] * 3)
    six = _hours("S6", "2026-01-15 06:00", base + [57] * 6 + [NAN] * 2)
    empty = _hours("S0", "2026-01-14 06:00", [60] * 3)  # only hours outside the day's window
    out = noise.noise_daily(pd.concat([five, six, empty]), dt.date(2026, 1, 15), _rules()).set_index("site_id")
    assert np.isnan(out.loc["S5", "ln_dba"]) and np.isnan(out.loc["S5", "lden_dba"])
    assert out.loc["S5", "ld_dba"] == pytest.approx(65) and not out.loc["S5", "is_valid"]
    assert out.loc["S5", "n_valid_hours"] == 21
    assert out.loc["S6", "ln_dba"] == pytest.approx(57) and out.loc["S6", "is_valid"]
    assert out.loc["S6", "lden_dba"] == pytest.approx(66.11412607, abs=1e-8)
    assert out.loc["S0", "n_valid_hours"] == 0 and not out.loc["S0", "is_valid"]
    assert np.isnan(out.loc["S0", "ld_dba"])


@pytest.mark.usefixtures("following_night")
@pytest.mark.parametrize(("day", "night_hours"), [(dt.date(2026, 3, 28), 7), (dt.date(2026, 10, 24), 9)])
def test_noise_daily_daylight_saving_nights(day, night_hours):
    # The night starting on 28 March 2026 loses an hour (02:00 → 03:00); the one starting on 24 October gains one.
    [(start, end)] = noise.period_bounds_utc(day, _rules())["night"]
    assert (end - start) / pd.Timedelta(hours=1) == night_hours
    ts = pd.date_range(f"{day} 06:00", periods=12 + 4, freq="h", tz="Europe/Paris").tz_convert("UTC")
    nights = pd.date_range(start, end, freq="h", inclusive="left")
    frame = pd.DataFrame({"site_id": "S", "ts_start_utc": ts.append(nights),
                          "laeq_dba": [65.0] * 12 + [62.0] * 4 + [57.0] * night_hours, "is_valid": True})
    row = noise.noise_daily(frame, day, _rules()).iloc[0]
    assert row["n_valid_hours"] == 16 + night_hours
    assert row["ln_dba"] == pytest.approx(57) and row["is_valid"]
    assert row["lden_dba"] == pytest.approx(66.11412607, abs=1e-8)
