"""A second air network counts everywhere, added without touching spse: a module, a sample, a crosswalk.

The network is registered only here, through the registry's hooks (``registry.REGISTRY``,
the module under ``spse.sources.<name>``, ``base.CROSSWALKS`` for its crosswalk). Its format
differs from E2's: one wide CSV per pollutant and year, station short codes, names and units
in three header rows, hour-END labels in UTC (``24:00`` closes a day). Its stations and their
positions come with the measurements (``also_writes`` its own ``air_stations`` rows). Run on
the demo's ordinary day D1 (docs/demo.md: no air alert), its two background stations enter
the surfaces and the leave-one-out validation, one raises an NO2 information alert, and a
third code that names an E2 station is an overlap: E2's rows win (registry priority), the
network's are kept for comparison in ``marts.air_hourly_overlaps``. On a day E2's feed fails,
the network alone gives the surfaces and the alerts, and a data-quality alert tells E2's failure.
"""

from __future__ import annotations

import datetime as dt
import io
import sys
import types
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer

from spse.core.errors import SchemaError
from spse.sources import registry
from spse.sources.base import AlsoWrites, Column, ParseResult, Partition, Source, read_crosswalk, reject_rows, utc_day
from spse.sources.lcsqa_e2 import SOURCE as E2
from spse.sources.lcsqa_stations import SOURCE as STATIONS

NAME = "test_wide_network"
D1 = dt.date(2026, 1, 14)
OVERLAP_STATION = "FR04004"  # an E2 background station of the demo: the network reports it too
# short code -> our id, name, class, position (two new background sites, inside Paris, away from the demo's)
CROSSWALK = pd.DataFrame({
    "code": ["PNORD", "PSUD", "HALLE"],
    "station_id": ["RN00001", "RN00002", OVERLAP_STATION],
    "station_name": ["Réseau Nord", "Réseau Sud", "Réseau Halles"],
    "station_class": ["background", "background", "background"],
    "department": ["75", "75", "75"],
    "lon": ["2.3960", "2.2700", "2.3500"],
    "lat": ["48.8900", "48.8350", "48.8600"],
})
PEAK = 250.0  # µg/m³ NO2 at PNORD from 08:00 to 09:00 UTC on D1: above the 200 information threshold (R221-1)


def _label(end: pd.Timestamp) -> str:
    """Hour-end label in UTC, midnight written ``24:00`` of the day before (as regional exports do)."""
    if end.hour == 0:
        return f"{(end - pd.Timedelta(days=1)):%Y-%m-%d} 24:00"
    return f"{end:%Y-%m-%d %H:%M}"


def _values(code: str, start: pd.Timestamp) -> float:
    if code == "PNORD":
        return PEAK if start == pd.Timestamp(D1, tz="UTC") + pd.Timedelta(hours=8) else 30.0
    return {"PSUD": 45.0, "HALLE": 33.0}[code]


def write_yearly_file(folder) -> None:
    """The network's NO2 export of 2026, Jan 12 to 16, as upstream lays it out."""
    starts = pd.date_range("2026-01-12", "2026-01-17", freq="h", tz="UTC", inclusive="left")
    codes = CROSSWALK["code"].tolist()
    lines = ["Station;" + ";".join(codes), "Nom;" + ";".join(CROSSWALK["station_name"]),
             "Unite;" + ";".join(["µg/m3"] * len(codes))]
    lines += [_label(s + pd.Timedelta(hours=1)) + ";" + ";".join(f"{_values(c, s):.1f}" for c in codes)
              for s in starts]
    path = folder / "2026" / "NO2_2026.csv"
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


class WideNetwork(Source):
    """Synthetic regional network: one wide hourly CSV per pollutant and year [µg/m³], UTC hour-end labels.

    ``<year>/<pollutant>_<year>.csv``, ``;``-separated UTF-8: three header rows (``Station`` short
    codes, ``Nom`` names, ``Unite`` units, ``µg/m3``), then one row per hour whose label is the
    END of the hour in UTC (``2026-01-14 01:00`` is 00:00-01:00; ``24:00`` ends a day). Short
    codes map to station ids, classes and positions through the crosswalk ``<name>_stations``;
    the positions are this source's ``air_stations`` rows. Landed once per year and version.
    """

    name = NAME
    dataset = "air_hourly"
    kind = "air"
    cadence = "daily"
    schedule = "35 * * * *"
    description = "Synthetic regional network, wide yearly CSV (test only)"
    columns: ClassVar[dict[str, Column]] = E2.columns
    primary_key = E2.primary_key
    measures = E2.measures
    series_key = E2.series_key
    also_writes = (AlsoWrites("air_stations", STATIONS.columns, STATIONS.primary_key),)
    pollutants = ("NO2",)

    def files(self, day: dt.date) -> list[str]:
        """One file per pollutant and year."""
        return [f"{day:%Y}/{p}_{day:%Y}.csv" for p in self.pollutants]

    def covers(self, relative: str, day: dt.date | None) -> str | None:
        """Each file holds its whole year."""
        return f"year={day:%Y}"

    def day_window(self, day: dt.date):
        """A partition holds the hours starting on ``day``, UTC (as E2)."""
        return utc_day(day)

    def parse(self, payload: bytes, filename: str, partition: Partition) -> ParseResult:
        """Melt the wide file to one row per station and hour of ``partition``; positions to ``air_stations``."""
        lines = payload.decode("utf-8").splitlines()
        header = [line.split(";") for line in lines[:3]]
        if len(header) < 3 or [h[0] for h in header] != ["Station", "Nom", "Unite"]:
            raise SchemaError(self.name, "expected header rows Station, Nom, Unite", file=filename)
        codes, units = header[0][1:], header[2][1:]
        crosswalk = read_crosswalk(self.name, "stations").set_index("code")
        unknown = [c for c in codes if c not in crosswalk.index]
        body = pd.read_csv(io.StringIO("\n".join(lines[3:])), sep=";", header=None, names=["label", *codes],
                           dtype="string")
        day, clock = body["label"].str.slice(0, 10), body["label"].str.slice(11)
        end = pd.to_datetime(day, utc=True) + pd.to_timedelta(clock.str.slice(0, 2).astype(int), unit="h")
        start = end - pd.Timedelta(hours=1)
        inside = partition.holds(start).to_numpy()
        body, start = body[inside], start[inside]
        line = pd.Series(np.flatnonzero(inside) + 4, index=body.index)  # 1-based, three header rows
        frames, rejects = [], []
        pollutant = filename.rsplit("/", 1)[-1].split("_")[0]
        for code, unit in zip(codes, units, strict=True):
            if code in unknown:
                rejects.append(reject_rows(self.name, filename, [1], [f"station code {code} not in the crosswalk"],
                                           [code]))
                continue
            meta = crosswalk.loc[code]
            value = pd.to_numeric(body[code], errors="coerce").astype("float64")
            frames.append(pd.DataFrame({
                "station_id": meta["station_id"], "station_name": meta["station_name"], "organisation": "RN",
                "zas_code": None, "area_type": "Urbaine", "influence": "Fond", "station_class": meta["station_class"],
                "pollutant": pollutant, "discriminant": "A", "procedure": f"{self.name}:{code}",
                "is_regulatory": False, "ts_start_utc": start, "ts_end_utc": start + pd.Timedelta(hours=1),
                "value": value, "value_raw": value, "unit": unit.replace("m3", "m³"), "value_type": "raw",
                "quality_code": "A", "validity": 1, "is_valid": value.notna(), "source_file": filename,
                "source_row": line}))
        frame = pd.concat(frames, ignore_index=True) if frames else self.empty_frame()
        frame = frame.astype({"station_id": "string", "station_name": "string", "organisation": "string",
                              "zas_code": "string", "area_type": "string", "influence": "string",
                              "station_class": "string", "pollutant": "string", "discriminant": "string",
                              "procedure": "string", "unit": "string", "value_type": "string",
                              "quality_code": "string", "source_file": "string", "validity": "int64",
                              "source_row": "int64", "is_regulatory": "bool", "is_valid": "bool"})
        known = crosswalk.loc[[c for c in codes if c not in unknown]].reset_index(drop=True)
        stations = pd.DataFrame({"station_id": known["station_id"], "station_name": known["station_name"],
                                 "department": known["department"],
                                 "lon": known["lon"].astype("float64"), "lat": known["lat"].astype("float64")})
        rejected = pd.concat(rejects, ignore_index=True) if rejects else ParseResult(frame).rejects
        return ParseResult(frame, rejected, also={"air_stations": stations})


@pytest.fixture
def registered(spse_home, tmp_path, monkeypatch):
    """The demo bundle plus the network: its registry table, module, crosswalk and upstream folder."""
    from spse.pipeline import demo
    from spse.sources import base

    demo.ensure()
    table = f'\n[{NAME}]\ndataset = "air_hourly"\nkind = "air"\ncadence = "daily"\nschedule = "35 * * * *"\n'
    listed = tmp_path / "registry.toml"
    listed.write_text(registry.REGISTRY.read_text(encoding="utf-8") + table, encoding="utf-8")
    monkeypatch.setattr(registry, "REGISTRY", listed)
    module = types.ModuleType(f"spse.sources.{NAME}")
    module.SOURCE = WideNetwork()
    monkeypatch.setitem(sys.modules, module.__name__, module)
    crosswalks = tmp_path / "crosswalks"
    crosswalks.mkdir()
    CROSSWALK.to_csv(crosswalks / f"{NAME}_stations.csv", index=False)
    monkeypatch.setattr(base, "CROSSWALKS", crosswalks)
    upstream = tmp_path / "upstream"
    write_yearly_file(upstream)
    monkeypatch.setenv(f"SPSE_{NAME.upper()}_URL", upstream.as_uri())
    return spse_home


def _day_outputs(day: dt.date) -> dict[str, pd.DataFrame]:
    from spse.pipeline import daily, lake, surfacestore

    daily.ensure_inputs(day)
    daily.build_grid()
    daily.build_surfaces(day)
    daily.raise_alerts(day)
    return {"validation": lake.read_partition("surface_validation", lake.date_partition(day)),
            "alerts": lake.read_partition("alerts", lake.date_partition(day)),
            "surface": surfacestore.read_frame(day),
            "station_cells": lake.read_latest("station_cells")}


def _loo_stations(outputs: dict[str, pd.DataFrame]) -> int:
    v = outputs["validation"]
    row = v[(v["pollutant"] == "NO2") & (v["statistic"] == "day_mean") & (v["method"] == "idw_p2_background_loo")]
    return int(row["n_stations"].iloc[0])


def test_a_second_network_changes_the_surfaces_the_validation_and_the_alerts(spse_home, registered, monkeypatch):
    from spse import sources
    from spse.pipeline import canonical, lake

    # the same day without the network: the baseline
    running = sources.active
    assert NAME in [s.name for s in running()]
    monkeypatch.setattr(sources, "active", lambda: [s for s in running() if s.name != NAME])
    before = _day_outputs(D1)
    monkeypatch.setattr(sources, "active", running)
    after = _day_outputs(D1)

    # its own partitions, beside E2's; its station list beside LCSQA's
    assert lake.sources("air_hourly") == ["lcsqa_e2", NAME]
    assert lake.has_partition("air_hourly", f"date={D1}", NAME)
    own = lake.read_partition("air_stations", "vintage=current", NAME)
    assert sorted(own["station_id"]) == sorted(CROSSWALK["station_id"])
    # hour-end labels: the 09:00 label is the hour starting 08:00 UTC, read from line 3 + 2*24 + 8 + 1 = 60
    rows = lake.read_partition("air_hourly", f"date={D1}", NAME)
    peak = rows[(rows["station_id"] == "RN00001") & (rows["value"] == PEAK)]
    assert peak["ts_start_utc"].tolist() == [pd.Timestamp(D1, tz="UTC") + pd.Timedelta(hours=8)]
    assert peak["source_row"].tolist() == [3 + 2 * 24 + 8 + 1]

    # the overlap: E2's rows of FR04143 are kept, the network's set aside
    union = canonical.read_days("air_hourly", [D1])
    both = union[union["station_id"] == OVERLAP_STATION]
    assert set(both["source"]) == {"lcsqa_e2"}
    aside = canonical.overlaps("air_hourly", [D1])
    assert set(aside["source"]) == {NAME} and set(aside["station_id"]) == {OVERLAP_STATION}
    e2_hours = set(lake.read_partition("air_hourly", f"date={D1}", "lcsqa_e2").query(
        "station_id == @OVERLAP_STATION and pollutant == 'NO2'")["ts_start_utc"])
    assert set(aside["ts_start_utc"]) == e2_hours and len(aside) == len(e2_hours)

    # LOO validation: exactly the two new background stations more (the overlapping one is not counted twice)
    assert _loo_stations(after) == _loo_stations(before) + 2

    # surfaces: the new stations' cells move towards the stations' own day values
    cells = after["station_cells"].set_index("station_id")["cell_id"]
    assert {"RN00001", "RN00002"} <= set(cells.index)
    assert cells["RN00001"] not in set(before["station_cells"]["cell_id"])
    hour = pd.Timestamp(D1, tz="UTC") + pd.Timedelta(hours=14)

    def at(outputs, cell):
        s = outputs["surface"]
        return float(s[(s["cell_id"] == cell) & (s["pollutant"] == "NO2") & (s["ts_start_utc"] == hour)]["value"]
                     .iloc[0])

    for station, value in (("RN00001", 30.0), ("RN00002", 45.0)):
        assert abs(at(after, cells[station]) - value) < abs(at(before, cells[station]) - value)

    # alerts: docs/demo.md designs D1 without air alert; the network's 250 µg/m³ hour raises the
    # NO2 information procedure (R221-1, 1 h > 200) naming its station
    def no2_information(alerts):
        return alerts[(alerts["kind"] == "air_quality") & (alerts["pollutant"] == "NO2")
                      & (alerts["set_id"] == "FR_R221-1") & (alerts["level"] == "information")]

    assert no2_information(before["alerts"]).empty
    raised = no2_information(after["alerts"])
    assert len(raised) == 1
    assert "RN00001" in raised["station_ids"].iloc[0].split(",") and raised["value_max"].iloc[0] == PEAK
    # the station's position came with the measurements: the alert's cells include its cell
    lon, lat = 2.3960, 48.8900
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:3035", always_xy=True).transform(lon, lat)
    assert cells["RN00001"] == lake.read_latest("grid_cells").assign(
        d=lambda g: (g["x_3035"] <= x) & (x < g["x_3035"] + 200) & (g["y_3035"] <= y) & (y < g["y_3035"] + 200)
    ).query("d")["cell_id"].iloc[0]


def test_the_set_aside_rows_are_kept_in_the_warehouse(spse_home, registered):
    import duckdb

    from spse.core.config import settings
    from spse.pipeline import daily, lake

    daily.ensure_inputs(D1)
    daily.build_grid()
    daily.publish(daily.build_warehouse(D1))
    con = duckdb.connect(":memory:")
    con.execute(f"attach '{settings().warehouse}' as w (read_only)")
    mart = con.execute("select * from w.marts.air_hourly_overlaps where date = ? order by ts_start_utc",
                       [D1]).df()
    stations = con.execute("select station_id, source, lon from w.staging.stg_air_stations "
                           "where station_id in ('RN00001', ?)", [OVERLAP_STATION]).df().set_index("station_id")
    con.close()
    # E2's own NO2 rows of the overlapping station on D1, read from its partition with pandas
    e2 = lake.read_partition("air_hourly", f"date={D1}", "lcsqa_e2").query(
        "station_id == @OVERLAP_STATION and pollutant == 'NO2'")
    e2_mean = e2.assign(v=e2["value"].where(e2["is_valid"])).groupby("ts_start_utc")["v"].mean()
    assert len(mart) == len(e2_mean)
    assert set(mart["source"]) == {NAME} and set(mart["kept_source"]) == {"lcsqa_e2"}
    assert (mart["value"] == 33.0).all()  # the network's constant value for HALLE
    kept = mart.set_index("ts_start_utc")["kept_value"]
    pd.testing.assert_series_equal(kept, e2_mean.reindex(kept.index), check_names=False)
    assert np.allclose(mart["difference"].dropna(), 33.0 - mart["kept_value"].dropna())
    # station positions: LCSQA's list wins for its own station, the network's list adds its new one
    assert stations.loc[OVERLAP_STATION, "source"] == "lcsqa_stations"
    assert stations.loc["RN00001", "source"] == NAME and stations.loc["RN00001", "lon"] == 2.3960


def test_the_network_keeps_the_days_air_alerts_when_e2_fails(spse_home, registered, httpserver, monkeypatch):
    """E2 answers HTTP 500 all day: the day's surfaces and alerts come from the network, E2's failure is told."""
    import duckdb

    from spse.core.config import settings
    from spse.pipeline import canonical, daily, lake

    monkeypatch.setattr("spse.pipeline.fetch.time.sleep", lambda seconds: None)
    httpserver.expect_request("/2026/FR_E2_2026-01-13.csv").respond_with_data("server error", status=500)
    httpserver.expect_request(f"/2026/FR_E2_{D1}.csv").respond_with_data("server error", status=500)
    monkeypatch.setenv("SPSE_LCSQA_E2_URL", httpserver.url_for("/").rstrip("/"))
    outputs = _day_outputs(D1)

    assert not lake.has_partition("air_hourly", f"date={D1}", "lcsqa_e2")
    assert set(canonical.read_days("air_hourly", [D1])["source"]) == {NAME}
    # the three network stations are the background stations, FR04004 (HALLE) no longer set aside
    assert _loo_stations(outputs) == 3
    assert canonical.overlaps("air_hourly", [D1]).empty

    # every cell at 14:00 UTC is the IDW (p = 2) of PNORD 30, PSUD 45, HALLE 33, computed here by hand
    to_3035 = Transformer.from_crs("EPSG:4326", "EPSG:3035", always_xy=True)
    lcsqa = lake.read_partition("air_stations", "vintage=current", "lcsqa_stations").set_index("station_id")
    positions = {"RN00001": (2.3960, 48.8900), "RN00002": (2.2700, 48.8350),  # crosswalk
                 OVERLAP_STATION: tuple(lcsqa.loc[OVERLAP_STATION, ["lon", "lat"]])}  # LCSQA's position wins
    values = {"RN00001": 30.0, "RN00002": 45.0, OVERLAP_STATION: 33.0}
    hour = pd.Timestamp(D1, tz="UTC") + pd.Timedelta(hours=14)
    surface = outputs["surface"]
    at_hour = surface[(surface["pollutant"] == "NO2") & (surface["ts_start_utc"] == hour)].set_index("cell_id")
    assert set(at_hour["n_stations"]) == {3}
    for cell in at_hour.index[:: max(len(at_hour) // 7, 1)]:
        north, east = (float(v) for v in cell.removeprefix("CRS3035RES200mN").split("E"))
        weights = {s: 1 / ((to_3035.transform(*positions[s])[0] - east - 100) ** 2
                           + (to_3035.transform(*positions[s])[1] - north - 100) ** 2) for s in values}
        expected = sum(weights[s] * values[s] for s in values) / sum(weights.values())
        assert at_hour.loc[cell, "value"] == pytest.approx(expected, rel=1e-5)

    # the NO2 information alert of the network's peak still stands, naming no E2 station
    alerts = outputs["alerts"]
    air = alerts[alerts["kind"] == "air_quality"]
    raised = air[(air["pollutant"] == "NO2") & (air["set_id"] == "FR_R221-1") & (air["level"] == "information")]
    assert len(raised) == 1 and raised["value_max"].iloc[0] == PEAK
    named = {s for text in air["station_ids"].dropna() for s in text.split(",") if s}
    assert named <= set(CROSSWALK["station_id"])
    # and a data-quality alert says E2 failed for the day
    quality = alerts[(alerts["kind"] == "data_quality") & (alerts["set_id"] == "DQ_INPUT_FAILED")]
    assert "lcsqa_e2" in set(quality["pollutant"])
    assert str(D1) in " ".join(quality["triggered_by"])

    # published: the day's station statistics are the network's only
    daily.publish(daily.build_warehouse(D1))
    con = duckdb.connect(":memory:")
    con.execute(f"attach '{settings().warehouse}' as w (read_only)")
    stations = con.execute("select distinct station_id from w.marts.station_daily where date = ?", [D1]).df()
    published = con.execute("select kind, set_id, pollutant from w.marts.alerts where date = ?", [D1]).df()
    con.close()
    assert set(stations["station_id"]) <= set(CROSSWALK["station_id"])
    assert ("data_quality", "DQ_INPUT_FAILED", "lcsqa_e2") in set(published.itertuples(index=False, name=None))
