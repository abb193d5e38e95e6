"""Exposure by income quintile (spse.methods.equity), computed by hand."""

import math

import pandas as pd
import pytest

from spse.methods import equity

# Cells 0-4: population, standard of living, exposure (annual mean µg/m³), households, poor households
CELLS = pd.DataFrame({
    "population": [100.0, 300.0, 100.0, 200.0, 300.0],
    "standard_of_living": [30.0, 10.0, 50.0, 20.0, 40.0],
    "exposure": [12.0, 16.0, 8.0, 14.0, 10.0],
    "households": [50.0, 150.0, 50.0, 100.0, 150.0],
    "households_poor": [10.0, 60.0, 0.0, 30.0, 15.0],
})


def test_quintiles_cut_on_cumulative_population_at_cell_midpoint():
    # ranked by standard of living: cell1 (300), cell3 (200), cell0 (100), cell4 (300), cell2 (100); total 1000
    # midpoints 150, 400, 550, 750, 950 per mille -> quintiles 1, 3, 3, 4, 5
    got = equity.income_quintile(CELLS["standard_of_living"], CELLS["population"])
    assert got.tolist() == [3, 1, 5, 3, 4]


def test_unknown_standard_of_living_is_unranked():
    # the one ranked cell sits at the population midpoint 0.5 -> quintile 3
    got = equity.income_quintile([math.nan, 10.0, 20.0], [50.0, 10.0, 0.0])
    assert got.tolist() == [0, 3, 0]


def test_exposure_per_quintile_and_gap():
    table = equity.exposure_by_quintile(CELLS, threshold=10.0)
    # Q3 = cells 3 and 0: (200*14 + 100*12)/300; exposure > 10 in both
    assert table.loc[3, "pop_weighted_mean"] == pytest.approx(4000 / 300)
    assert table.loc[3, "population_above"] == 300.0
    assert table.loc[3, "poverty_share"] == pytest.approx(40 / 150)
    assert table.loc[4, "population_above"] == 0.0  # 10.0 is not > 10
    assert table.loc[1, "share_above"] == 1.0
    gap = equity.quintile_gap(table, "pop_weighted_mean")
    assert (gap.most_deprived, gap.least_deprived, gap.ratio, gap.difference) == (16.0, 8.0, 2.0, 8.0)
    poverty = equity.quintile_gap(table, "poverty_share")
    assert (poverty.most_deprived, poverty.least_deprived) == (pytest.approx(0.4), 0.0)
