"""FINESS establishments count as facilities: grid, alerts and marts read every producer of ``facilities``.

The demo bundle's ``paris_facilities`` plus the recorded FINESS extract
(``tests/fixtures/sources/finess``: a hospital, an EHPAD, a health centre and a PMI in Paris),
run on the demo's episode day D2 (docs/demo.md) without any change outside the sources.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pandas as pd
from pyproj import Transformer

D2 = dt.date(2026, 1, 15)
FINESS = Path(__file__).parent / "fixtures" / "sources" / "finess"
# tests/sources/test_finess.py: the landmarks the fixture's Lambert-93 coordinates were made from
HOSPITAL, HOSPITAL_LONLAT = "finess:750000481", (2.37221, 48.85127)
FINESS_IDS = {"finess:750000481", "finess:750100208", "finess:750200016", "finess:750300014"}


def _alerts(day: dt.date) -> pd.DataFrame:
    from spse.pipeline import daily, lake

    daily.ensure_inputs(day)
    daily.build_grid()
    daily.build_surfaces(day)
    daily.raise_alerts(day)
    alerts = lake.read_partition("alerts", lake.date_partition(day))
    return alerts[alerts["kind"] == "air_quality"].set_index("alert_id")


def _ids(text) -> set[str]:
    return set(text.split(",")) if isinstance(text, str) and text else set()


def test_a_finess_hospital_counts_in_the_grid_the_alerts_and_the_facility_marts(spse_home, monkeypatch):
    import duckdb

    from spse.core.config import settings
    from spse.pipeline import daily, demo, lake

    demo.ensure()
    before = _alerts(D2)
    monkeypatch.setenv("SPSE_FINESS_URL", str(FINESS))
    after = _alerts(D2)
    assert lake.sources("facilities") == ["finess", "paris_facilities"]

    # its cell: the 200 m EPSG:3035 cell holding its position, computed here by hand
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:3035", always_xy=True).transform(*HOSPITAL_LONLAT)
    cell = f"CRS3035RES200mN{math.floor(y / 200) * 200}E{math.floor(x / 200) * 200}"
    cells = lake.read_latest("facility_cells").set_index("facility_id")["cell_id"]
    assert cells[HOSPITAL] == cell

    # the same alerts, each naming the FINESS establishments of its cells on top of the others
    assert sorted(after.index) == sorted(before.index)
    for alert_id, row in after.iterrows():
        listed, earlier = _ids(row["facility_ids"]), _ids(before.loc[alert_id, "facility_ids"])
        assert listed - FINESS_IDS == earlier
        assert row["facility_count"] == before.loc[alert_id, "facility_count"] + len(listed & FINESS_IDS)
    named = after[[HOSPITAL in _ids(text) for text in after["facility_ids"]]]
    assert len(named)

    daily.publish(daily.build_warehouse(D2))
    con = duckdb.connect(":memory:")
    con.execute(f"attach '{settings().warehouse}' as w (read_only)")
    staged = con.execute("select * from w.staging.stg_facilities where source = 'finess'").df()
    exposure = con.execute("select * from w.marts.facility_exposure_daily where facility_id = ? and date = ? "
                           "and statistic = 'day_mean'", [HOSPITAL, D2]).df().set_index("pollutant")
    con.close()
    assert set(staged["facility_id"]) == FINESS_IDS
    hospital = staged.set_index("facility_id").loc[HOSPITAL]
    assert hospital["category"] == "hospital" and abs(hospital["lon"] - HOSPITAL_LONLAT[0]) < 2e-6
    # its exposure is its cell's day mean, read from the lake with pandas
    surface = lake.read_partition("surface_daily", lake.date_partition(D2))
    own = surface[(surface["cell_id"] == cell) & (surface["statistic"] == "day_mean")].set_index(
        ["pollutant", "time_base"])["value"]
    assert len(exposure)
    for pollutant, row in exposure.iterrows():
        assert row["value_ug_m3"] == own.loc[(pollutant, row["time_base"])]
    # the daily alerts that name it are thresholds its cell exceeds in the mart (the alerts' local day)
    local = exposure[exposure["time_base"] == "Europe/Paris"]
    assert set(named["averaging"]) == {"day_mean"}
    for row in named.itertuples():
        assert row.set_id in local.loc[row.pollutant, "thresholds_exceeded"]
