"""The data-quality gate's functions (spse.pipeline.gate, spse.sources._gate), on frames built by hand.

Bounds quoted here are the rows of spse/registers/plausibility.csv and the parameters of
spse/registers/parameters.csv; the expectations are worked out by hand from them.
"""

from __future__ import annotations

import argparse
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from spse.core.errors import RefusedInput
from spse.pipeline import gate, lake, qualitylog
from spse.sources import _gate as checks
from spse.sources.base import Column, Measure, ParseResult, Source, local_day, utc_day


def test_sentinels_come_from_the_register():
    assert checks.sentinels() == {9999.0, -9999.0, 999.0, -999.0, 99999.0, -99999.0}


def test_check_values_flags_sentinels_and_bounds_inclusively():
    # NO2 in µg/m³: [-5, 1000], inclusive.
    values = pd.Series([-5.1, -5.0, 0.0, 1000.0, 1000.1, 9999.0, np.nan])
    p = checks.check_values(values, "NO2", "µg/m³")
    assert p.outside.tolist() == [True, False, False, False, True, True, False]  # 9999 > 1000 too
    assert p.sentinel.tolist() == [False, False, False, False, False, True, False]
    assert not p.wrong_unit.any() and not p.no_range.any()
    assert p.bad.tolist() == [True, False, False, False, True, True, False]


def test_unit_is_checked_against_the_pollutant():
    values = pd.Series([0.045, 0.4, 450.0, 30.0])
    pollutants = pd.Series(["NO2", "CO", "CO", "NO2"])
    units = pd.Series(["mg/m³", "mg/m³", "µg/m³", "µg/m³"])
    why = checks.value_reasons("valeur", values, pollutants, units)
    assert why.tolist() == ["unit mg/m³ is not the unit of NO2 (µg/m³)", None,
                            "unit µg/m³ is not the unit of CO (mg/m³)", None]


def test_reasons_name_the_sentinel_the_range_and_the_value():
    why = checks.value_reasons("valeur", pd.Series([9999.0, 601.0, 50.0]), "O3", "µg/m³")
    assert why.tolist() == ["no-data sentinel 9999 in `valeur` (O3)",
                            "`valeur` outside the physical range of O3 in µg/m³ [-5, 600]: 601", None]


def test_pollutant_without_a_row_uses_its_unit_fallback_and_unknown_units_have_no_range():
    why = checks.value_reasons("valeur", pd.Series([9000.0, 10001.0, 5.0]), pd.Series(["C6H6", "C6H6", "NO2"]),
                             pd.Series(["µg/m³", "µg/m³", "ppb"]))
    # The "*" row of µg/m³ is [-5, 10000]; NO2 has a row, so ppb is a wrong unit.
    assert why[0] is None
    assert why[1] == "`valeur` outside the physical range of C6H6 in µg/m³ [-5, 10000]: 10001"
    assert why[2] == "unit ppb is not the unit of NO2 (µg/m³)"
    assert checks.check_values(pd.Series([1.0]), "X", "ppb").no_range.tolist() == [True]


def test_counts_are_not_sentinels():
    p = checks.check_values(pd.Series([999.0, 10001.0]), "population", "persons", with_sentinels=False)
    assert p.sentinel.tolist() == [False, False] and p.outside.tolist() == [False, True]


def test_unit_none_means_the_register_unit():
    # CAMS values are converted: CO in mg/m³, checked against [-0.5, 50].
    p = checks.check_values(pd.Series([0.3, 60.0]), pd.Series(["CO", "CO"]))
    assert p.outside.tolist() == [False, True] and not p.wrong_unit.any()


def test_day_windows_and_dst():
    start, end = utc_day(dt.date(2025, 3, 30))
    assert (start, end) == (pd.Timestamp("2025-03-30", tz="UTC"), pd.Timestamp("2025-03-31", tz="UTC"))
    spring = local_day(dt.date(2025, 3, 30), "Europe/Paris")
    autumn = local_day(dt.date(2025, 10, 26), "Europe/Paris")
    assert spring == (pd.Timestamp("2025-03-29 23:00", tz="UTC"), pd.Timestamp("2025-03-30 22:00", tz="UTC"))
    assert (spring[1] - spring[0], autumn[1] - autumn[0]) == (pd.Timedelta(hours=23), pd.Timedelta(hours=25))
    ts = pd.Series(pd.to_datetime(["2025-03-29 22:00", "2025-03-29 23:00", "2025-03-30 21:00",
                                   "2025-03-30 22:00"], utc=True))
    why = checks.day_reasons(ts, spring, "2025-03-30 Europe/Paris")
    assert [w is None for w in why] == [False, True, True, False]
    assert why[0] == "hour 2025-03-29 22:00 UTC is outside the file's day (2025-03-30 Europe/Paris)"


def test_extent_overlap_is_intersection_over_union():
    assert gate.extent_overlap((0, 0, 2, 2), (1, 1, 3, 3)) == pytest.approx(1 / 7)  # 1 / (4 + 4 - 1)
    assert gate.extent_overlap((0, 0, 2, 2), (0, 0, 2, 2)) == 1.0
    assert gate.extent_overlap((0, 0, 1, 1), (5, 5, 6, 6)) == 0.0
    assert gate.extent_overlap((0, 0, 0, 0), (0, 0, 1, 1)) is None
    cells = pd.DataFrame({"x_3035": [100, 300], "y_3035": [50, 250]})
    assert gate.extent(cells) == (100.0, 50.0, 300.0, 250.0)


class _Hourly(Source):
    name = "hand_hourly"
    dataset = "hand_hourly"
    kind = "air"
    cadence = "daily"
    schedule = "0 * * * *"
    description = "hand-built hourly series"
    columns = {"site": Column("VARCHAR", "", "site", nullable=False),
               "ts_start_utc": Column("TIMESTAMPTZ", "UTC", "start", nullable=False),
               "value": Column("DOUBLE", "µg/m³", "NO2"),
               "source_file": Column("VARCHAR", "", "file", nullable=False),
               "source_row": Column("INTEGER", "", "line", nullable=False)}
    primary_key = ("site", "ts_start_utc")
    measures = (Measure(("value",), quantity="NO2", unit="µg/m³"),)
    series_key = ("site",)

    def day_window(self, day):
        return utc_day(day)


DAY = dt.date(2026, 1, 15)
LATER = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)


def _hours(site: str, hours, value=20.0, day=DAY) -> pd.DataFrame:
    start = pd.Timestamp(day, tz="UTC")
    return pd.DataFrame({"site": site, "ts_start_utc": [start + pd.Timedelta(hours=h) for h in hours],
                         "value": value, "source_file": "f.csv", "source_row": 0})


def _frame(*parts) -> pd.DataFrame:
    frame = pd.concat(parts, ignore_index=True)
    frame["source_row"] = np.arange(2, len(frame) + 2)
    return frame


def test_inspect_quarantines_with_file_and_line_and_counts_station_hours(spse_home):
    frame = _frame(_hours("A", range(24)), _hours("B", range(24)))
    frame.loc[5, "value"] = 9999.0  # line 7
    frame.loc[30, "ts_start_utc"] = pd.Timestamp("2026-01-16 06:00", tz="UTC")  # line 32, B's hour 6 moved away
    verdict = gate.inspect(_Hourly(), DAY, ParseResult(frame), ["f.csv"], now=LATER)
    assert verdict.rejects[["file", "row"]].values.tolist() == [["f.csv", 7], ["f.csv", 32]]
    assert verdict.rejects["reason"].tolist() == [
        "no-data sentinel 9999 in `value` (NO2)",
        "hour 2026-01-16 06:00 UTC is outside the file's day (2026-01-15)"]
    # 2 series × 24 h = 48 expected, 46 present: 95.8 % ≥ 90 % → ok.
    assert verdict.completeness == {"series": 2, "hours": 24, "expected": 48, "present": 46,
                                    "fraction": 46 / 48}
    assert verdict.outcome == "ok" and len(verdict.frame) == 46


def test_series_of_the_previous_day_are_expected(spse_home):
    lake.write_partition("hand_hourly", "date=2026-01-14", _frame(*(_hours(s, range(24), day=DAY - dt.timedelta(
        days=1)) for s in "ABCD")), source="hand_hourly")
    verdict = gate.inspect(_Hourly(), DAY, ParseResult(_frame(_hours("A", range(24)), _hours("B", range(24)))),
                           ["f.csv"], now=LATER)
    # A, B today plus C, D yesterday: 4 × 24 = 96 expected, 48 present → 50 % → partial.
    assert (verdict.completeness["expected"], verdict.completeness["present"]) == (96, 48)
    assert verdict.outcome == "partial"
    assert verdict.problems[0]["detail"].startswith("48 of 96 expected station-hours (4 series × 24 h, 50% < 90%)")


def test_completeness_counts_each_series_and_station_hour_once():
    received = _frame(_hours("A", range(3)), _hours("A", range(3)), _hours(None, range(2)))
    received.loc[0, "ts_start_utc"] = pd.Timestamp("2026-01-16 00:00", tz="UTC")  # outside the day: not present
    before = pd.DataFrame({"site": ["B", "A", "B"]})
    found = gate.completeness(_Hourly(), DAY, received, received, LATER, before)
    # series A, B and the one without a site: 3 × 24 h = 72 expected; present: A at 00-02 h and the site-less
    # series at 00-01 h, A's 00 h being there once (its first copy moved out of the day): 5
    assert found == {"series": 3, "hours": 24, "expected": 72, "present": 5, "fraction": 5 / 72}


def test_a_running_day_expects_only_hours_published_by_now(spse_home):
    # Fetched at 10:20 UTC: hours ending by 08:00 (lag 2 h) are expected, i.e. 00-07, 8 hours.
    now = dt.datetime(2026, 1, 15, 10, 20, tzinfo=dt.UTC)
    verdict = gate.inspect(_Hourly(), DAY, ParseResult(_frame(_hours("A", range(9)))), ["f.csv"], now=now)
    assert (verdict.completeness["hours"], verdict.completeness["present"]) == (8, 8)
    assert verdict.outcome == "ok"


def test_a_day_without_usable_rows_is_refused(spse_home):
    frame = _frame(_hours("A", range(3), value=-9999.0))
    with pytest.raises(RefusedInput, match=r"feed hand_hourly, file f.csv: no usable row .*3 row\(s\) received"):
        gate.inspect(_Hourly(), DAY, ParseResult(frame), ["f.csv"], now=LATER)


class _Cells(Source):
    name = "hand_cells"
    dataset = "hand_cells"
    kind = "reference"
    cadence = "reference"
    schedule = "0 3 1 * *"
    description = "hand-built population cells"
    columns = {"cell_id": Column("VARCHAR", "", "cell", nullable=False),
               "x_3035": Column("INTEGER", "m", "x", nullable=False),
               "y_3035": Column("INTEGER", "m", "y", nullable=False),
               "population": Column("DOUBLE", "persons", "people")}
    primary_key = ("cell_id",)
    measures = (Measure(("population",), quantity="population", unit="persons", sentinels=False),)


def _cells(n: int, population: float = 100.0, x0: int = 0) -> pd.DataFrame:
    return pd.DataFrame({"cell_id": [f"c{i}" for i in range(n)], "x_3035": [x0 + 200 * i for i in range(n)],
                         "y_3035": [200 * (i % 5) for i in range(n)], "population": population})


def test_reference_vintage_compared_with_the_previous_one(spse_home):
    source = _Cells()
    # 2000 people, x 0-3800, y 0-800
    lake.write_partition("hand_cells", "vintage=current", _cells(20), source="hand_cells")
    previous = gate.previous_vintage(source)
    # 16 cells (-20 %, within ±25 %) of 100 people: 1600 against 2000 is -20 %, beyond ±10 %.
    with pytest.raises(RefusedInput, match=r"total population 1,600 against 2,000 .*\(-20%, tolerance ±10%\)"):
        gate.check_reference(source, _cells(16), "c.csv", previous)
    with pytest.raises(RefusedInput, match=r"14 features against 20 in the previous vintage \(-30%, tolerance ±25%\)"):
        gate.check_reference(source, _cells(14, population=2000 / 14), "c.csv", previous)
    # Same cells shifted 10 km east: boxes do not overlap at all.
    with pytest.raises(RefusedInput, match=r"by 0% \(intersection over union, minimum 50%\)"):
        gate.check_reference(source, _cells(20, x0=10_000), "c.csv", previous)
    # -5 % cells, same total, same box: accepted.
    gate.check_reference(source, _cells(19, population=2000 / 19), "c.csv", previous)


def test_reference_with_an_implausible_cell_is_refused_even_first(spse_home):
    cells = _cells(3)
    cells.loc[1, "population"] = 100_000.0
    with pytest.raises(RefusedInput, match=r"feed hand_cells, file c.csv: 1 implausible feature\(s\), first: "
                                           r"feature cell_id=c1: .*\[0, 10000\]: 100000"):
        gate.inspect(_Cells(), DAY, ParseResult(cells), ["c.csv"])
    with pytest.raises(RefusedInput, match="the new vintage holds no feature"):
        gate.check_reference(_Cells(), _cells(0), "c.csv", None)


def test_sources_command_shows_the_quality_outcome(spse_home, monkeypatch, capsys):
    from spse import sources
    from spse.pipeline import cli

    e2 = sources.get("lcsqa_e2")
    lake.write_partition(e2.dataset, e2.partition_for(DAY), pd.DataFrame({"x": [1]}), e2.name)
    lake.write_bytes_atomic(lake.provenance_path(e2.dataset, e2.partition_for(DAY), e2.name),
                            b'{"ingested_at_utc": "' + dt.datetime.now(dt.UTC).isoformat().encode() + b'"}')
    qualitylog.record("lcsqa_e2", e2.dataset, e2.partition_for(DAY), "partial", rows=1)
    qualitylog.record("paris_arrondissements", "zones", "vintage=current", "refused")
    cli.cmd_sources(argparse.Namespace(date=DAY, locations=False))
    lines = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()[1:]}
    assert lines["lcsqa_e2"][-2:] == ["partial", "partial"]
    assert lines["paris_arrondissements"][-1] == "refused"
