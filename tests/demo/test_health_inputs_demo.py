"""The SYNTHETIC life table and IHD incidence of the demo bundle, read through the production sources."""

from __future__ import annotations

import math

import pytest
from scipy.integrate import quad

from spse.methods import impact
from spse.pipeline.demo import ihd_incidence, life_table
from spse.sources.ihd_incidence_zone import SOURCE as IHD
from spse.sources.insee_tables_mortalite import SOURCE as LIFE


def gompertz_expectancy(age: float, a: float = 1e-5, b: float = 0.103) -> float:
    """e(x) = ∫ S(x + t)/S(x) dt of the continuous Gompertz law, cumulative hazard a/b·(exp(b·x) − 1)."""
    hazard = lambda x: a / b * math.expm1(b * x)  # noqa: E731
    return quad(lambda t: math.exp(hazard(age) - hazard(age + t)), 0, 200)[0]


def test_demo_life_table_parses_and_is_the_gompertz_law(tmp_path):
    paths = life_table.write(tmp_path)
    result = LIFE.parse((tmp_path / life_table.RELATIVE_PATH).read_bytes(), "table_mortalite_zone.csv",
                        LIFE.partition(None))
    frame = result.frame
    assert result.rejects.empty and len(paths) == 2
    assert "SYNTHETIC" in (tmp_path / life_table.LABEL_PATH).read_text()
    year = frame[frame["year"] == 2025].set_index("age")
    assert (year.index.min(), year.index.max(), set(year["zone_id"]), set(year["sex"])) == (0, 110, {"75"}, {"_T"})
    # the discrete table (person-years by the trapezoid rule) against the continuous law, and the brief's magnitudes
    for age, brief in ((30, 53), (65, 22), (80, 10)):
        assert year.loc[age, "ex"] == pytest.approx(gompertz_expectancy(age), abs=0.01)
        assert abs(year.loc[age, "ex"] - brief) < 1.5
    impact.LifeTable(year.index.to_numpy(), year["qx"].to_numpy(), year["ex"].to_numpy())  # accepted as a table
    LIFE.check(frame)


def test_demo_ihd_incidence_parses_with_its_design_rate(tmp_path):
    paths = ihd_incidence.write(tmp_path)
    result = IHD.parse((tmp_path / ihd_incidence.RELATIVE_PATH).read_bytes(),
                       "incidence_cardiopathie_ischemique_zone.csv", IHD.partition(None))
    frame = result.frame
    assert result.rejects.empty and len(paths) == 2
    assert "SYNTHETIC" in (tmp_path / ihd_incidence.LABEL_PATH).read_text()
    assert frame["year"].tolist() == [2023, 2024, 2025] and set(frame["zone_id"]) == {"75"}
    rate = frame["cases"] / frame["population"]
    assert rate.tolist() == pytest.approx([0.0025] * 3, abs=1e-6)  # 250 per 100 000, rounded to whole cases
    assert 2_000_000 < frame["population"].iloc[0] < 2_300_000  # Paris
    IHD.check(frame)
