"""The SYNTHETIC baseline mortality of the demo bundle, read through the production source."""

from __future__ import annotations

from spse.pipeline.demo import mortality
from spse.sources.insee_deces_zone import SOURCE


def test_demo_table_parses_and_has_paris_magnitudes(tmp_path):
    paths = mortality.write(tmp_path)
    result = SOURCE.parse((tmp_path / mortality.RELATIVE_PATH).read_bytes(), "deces_domicilies_age_zone.csv",
                          SOURCE.partition(None))
    frame = result.frame
    assert result.rejects.empty and len(paths) == 2
    assert "SYNTHETIC" in (tmp_path / mortality.LABEL_PATH).read_text()
    year = frame[frame["year"] == 2025]
    assert sorted(year["zone_id"].unique()) == [f"751{n:02d}" for n in range(1, 21)]
    # brief: Paris about 14 000 deaths a year and about 1.4 million residents aged 30+
    assert 12_000 < year["deaths"].sum() < 16_000
    assert 1_300_000 < year.loc[year["age_min"] >= 30, "population"].sum() < 1_500_000
    SOURCE.check(frame)
