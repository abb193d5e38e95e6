"""The daily job on a real E2 day the demo bundle does not cover: 2024-08-05, Airparif stations.

Only ``SPSE_LCSQA_E2_URL`` points at real data (the 2024-08-05 rows of the real extract in
``../shared/data/air_e2_lcsqa``, laid out again as an upstream E2 day file); every other source
stays on the demo bundle, which covers only 2026-01-14/15: no noise, no forecast, a station list
without most real stations. The run must complete, raise the data_quality alerts of what is
missing, and exactly the R221-1 alerts computed here from the real hourly values with pandas.
A second run gives the real station coordinates (``SPSE_LCSQA_STATIONS_URL``): no station is
then unlocated.
"""

from __future__ import annotations

import datetime as dt
import os

import pandas as pd
import pytest
from warehouse_reader import read_warehouse

DAY = dt.date(2024, 8, 5)
E2_EXTRACT = "air_e2_lcsqa/FR_E2_airparif_idf_2days_2024-08-05_2024-09-02.csv"
REAL_STATIONS = "air_e2_lcsqa/airparif_idf_stations_from_E2_2024-2025_with_lcsqa2021_coords.csv"
# The 23 columns of an E2 day file (LCSQA), in order.
E2_HEADER = ["Date de début", "Date de fin", "Organisme", "code zas", "Zas", "code site", "nom site",
             "type d'implantation", "Polluant", "type d'influence", "discriminant", "Réglementaire",
             "type d'évaluation", "procédure de mesure", "type de valeur", "valeur", "valeur brute",
             "unité de mesure", "taux de saisie", "couverture temporelle", "couverture de données",
             "code qualité", "validité"]
# Local day 2024-08-05 in Europe/Paris (CEST, UTC+2): 2024-08-04 22:00 to 2024-08-05 21:00 UTC hour starts.
LOCAL_HOURS = pd.date_range("2024-08-04 22:00", "2024-08-05 21:00", freq="h", tz="UTC")

pytestmark = pytest.mark.shared_data


def _real_rows(shared_data) -> pd.DataFrame:
    frame = pd.read_csv(shared_data / E2_EXTRACT, sep=";", dtype=str, keep_default_na=False)
    return frame[frame["source_file"] == f"FR_E2_{DAY}.csv"].drop(columns="source_file")


def _write_e2_day(rows: pd.DataFrame, root) -> None:
    """The 23-column E2 file ``<root>/YYYY/FR_E2_YYYY-MM-DD.csv``.

    SOURCES.md: the extract dropped ``discriminant``, ``Réglementaire``, ``taux de saisie``,
    ``couverture temporelle``, ``couverture de données`` and ``validité``, and kept only rows
    with ``validité = 1``. Those become 1; the series are unique by (site, pollutant,
    procedure, start), so one discriminant ``A`` each; the others are left empty, as in the
    real Metz excerpt.
    """
    full = rows.assign(**{"discriminant": "A", "Réglementaire": "", "taux de saisie": "",
                          "couverture temporelle": "", "couverture de données": "", "validité": "1"})
    folder = root / f"{DAY:%Y}"
    folder.mkdir(parents=True)
    full[E2_HEADER].to_csv(folder / f"FR_E2_{DAY}.csv", sep=";", index=False, encoding="utf-8")


def _run(home, e2_root, stations_root=None) -> dict:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPSE_HOME", str(home))
        for key in [k for k in os.environ if k.startswith("SPSE_") and k.endswith("_URL")]:
            mp.delenv(key)
        mp.setenv("SPSE_LCSQA_E2_URL", str(e2_root))
        if stations_root is not None:
            mp.setenv("SPSE_LCSQA_STATIONS_URL", str(stations_root))
        from spse.core.config import settings
        from spse.pipeline import daily as pipeline
        from spse.pipeline import demo

        demo.ensure()
        summary = pipeline.run_day(DAY)
        return {"summary": summary, "warehouse": settings().warehouse, "home": home,
                "demo_stations": pd.read_csv(settings().demo / "lcsqa_stations" / "stations.csv", dtype=str)}


@pytest.fixture(scope="module")
def real_e2(shared_data, tmp_path_factory):
    rows = _real_rows(shared_data)
    e2_root = tmp_path_factory.mktemp("e2_upstream")
    _write_e2_day(rows, e2_root)
    stations_root = tmp_path_factory.mktemp("stations_upstream")
    real = pd.read_csv(shared_data / REAL_STATIONS, dtype=str)
    pd.DataFrame({"department": real["departement_lcsqa2021"], "code_site": real["code site"],
                  "nom_site": real["nom site"], "longitude": real["longitude_lcsqa2021"],
                  "latitude": real["latitude_lcsqa2021"]}).to_csv(stations_root / "stations.csv", index=False)
    demo_list = _run(tmp_path_factory.mktemp("home_demo_stations"), e2_root)
    real_list = _run(tmp_path_factory.mktemp("home_real_stations"), e2_root, stations_root)
    return {"rows": rows, "demo_list": demo_list, "real_list": real_list, "real_stations": real}


def _alerts(run, kind: str) -> pd.DataFrame:
    return read_warehouse(run["warehouse"], f"select * from marts.alerts where date = date '{DAY}' "
                                            f"and kind = '{kind}' order by pollutant, set_id, level")


def _local_hours(rows: pd.DataFrame) -> pd.DataFrame:
    """The real hourly values of the local day, µg/m³, as numbers."""
    start = pd.to_datetime(rows["Date de début"], format="%Y/%m/%d %H:%M:%S").dt.tz_localize("UTC")
    frame = rows.assign(start=start, value=pd.to_numeric(rows["valeur"]))
    return frame[frame["start"].isin(LOCAL_HOURS)]


def _expected_r221(rows: pd.DataFrame, stations: set[str]) -> set[tuple[str, str]]:
    """(pollutant, level) of the R221-1 information and alert thresholds exceeded at ``stations``,
    by hand: hourly NO2 > 200 (info) and > 400 for 3 consecutive hours (alert), O3 > 180 and
    > 240, SO2 > 300 and > 500 for 3 hours; PM10 local-day mean over ≥ 18 valid hours > 50
    and > 80 (Code de l'environnement R221-1)."""
    hours = _local_hours(rows)
    hours = hours[hours["code site"].isin(stations)]
    found = set()
    hourly = [("NO2", 200, "information", 1), ("NO2", 400, "alerte", 3), ("O3", 180, "information", 1),
              ("O3", 240, "alerte", 1), ("SO2", 300, "information", 1), ("SO2", 500, "alerte", 3)]
    for pollutant, limit, level, run in hourly:
        for _, series in hours[hours["Polluant"] == pollutant].groupby("code site"):
            above = series.set_index("start")["value"].reindex(LOCAL_HOURS) > limit
            if above.astype(int).rolling(run).sum().max() >= run:
                found.add((pollutant, level))
    pm10 = hours[hours["Polluant"] == "PM10"].groupby("code site")["value"].agg(["count", "mean"])
    pm10 = pm10[pm10["count"] >= 18]
    found |= {("PM10", level) for limit, level in ((50, "information"), (80, "alerte"))
              if (pm10["mean"] > limit).any()}
    return found


@pytest.mark.parametrize("variant", ["demo_list", "real_list"])
def test_the_run_completes_with_exactly_the_r221_alerts_of_the_real_values(real_e2, variant):
    run = real_e2[variant]
    assert run["summary"].bulletin and run["summary"].warehouse
    # every measuring station, wherever it is: the surfaces of Paris cannot exceed a threshold no station exceeds
    expected = _expected_r221(real_e2["rows"], set(real_e2["rows"]["code site"]))
    air = _alerts(run, "air_quality")
    assert set(zip(air["pollutant"], air["level"], strict=True)) == expected
    # 2024-08-05: O3 peaked at 143.6 µg/m³ (FR04048), NO2 at 74, no PM10 local-day mean near 50
    hours = _local_hours(real_e2["rows"])
    assert hours.loc[hours["Polluant"] == "O3", "value"].max() == pytest.approx(143.6)
    assert expected == set()


def test_missing_inputs_raise_data_quality_alerts(real_e2):
    quality = _alerts(real_e2["demo_list"], "data_quality")
    found = set(zip(quality["pollutant"], quality["set_id"], strict=True))
    # the demo bundle has no noise and no CAMS run for that day, and the real extract no 2024-08-04 file
    assert {("bruitparif_rumeur", "DQ_INPUT_FAILED"), ("noise_hourly", "DQ_MISSING_PARTITION"),
            ("cams_europe_forecast", "DQ_INPUT_FAILED"), ("lcsqa_e2", "DQ_INPUT_FAILED")} <= found
    e2 = quality[quality["pollutant"] == "lcsqa_e2"].iloc[0]
    assert "FR_E2_2024-08-04.csv" in e2["recommendation"]
    html = (real_e2["demo_list"]["home"] / "bulletin" / f"{DAY}.html").read_text(encoding="utf-8")
    assert f"bruit (bruitparif_rumeur) : pas de données le {DAY}" in html
    assert f"prévision CAMS (cams_europe_forecast) : pas de données le {DAY}" in html


def test_stations_missing_from_the_demo_list_are_listed(real_e2):
    run = real_e2["demo_list"]
    rows = _local_hours(real_e2["rows"])
    unlocated = sorted(set(rows["code site"]) - set(run["demo_stations"]["code_site"]))
    assert len(unlocated) > 20
    quality = _alerts(run, "data_quality")
    row = quality[quality["set_id"] == "DQ_STATIONS_UNLOCATED"].iloc[0]
    assert row["station_ids"].split(",") == unlocated
    assert row["value_max"] == len(unlocated)
    names = rows.drop_duplicates("code site").set_index("code site")["nom site"]
    for station in unlocated:
        assert f"- {station} {names[station]} : mesures " in row["recommendation"]


def test_real_coordinates_leave_no_station_unlocated(real_e2):
    quality = _alerts(real_e2["real_list"], "data_quality")
    assert "DQ_STATIONS_UNLOCATED" not in set(quality["set_id"])
    assert {("bruitparif_rumeur", "DQ_INPUT_FAILED"), ("cams_europe_forecast", "DQ_INPUT_FAILED")} <= set(
        zip(quality["pollutant"], quality["set_id"], strict=True))


@pytest.mark.parametrize("variant", ["demo_list", "real_list"])
def test_station_statistics_match_the_real_hours_of_the_local_day(real_e2, variant):
    """PM10 daily means and NO2 daily maxima over the local day's hours (UTC+2), by pandas."""
    hours = _local_hours(real_e2["rows"])
    daily = read_warehouse(real_e2[variant]["warehouse"],
                           f"select station_id, pollutant, statistic, value, is_valid from marts.station_daily "
                           f"where date = date '{DAY}' and time_base = 'Europe/Paris' "
                           "and ((pollutant = 'PM10' and statistic = 'day_mean') "
                           "or (pollutant = 'NO2' and statistic = 'day_max_1h'))")
    got = daily.set_index(["pollutant", "station_id"])
    pm10 = hours[hours["Polluant"] == "PM10"].groupby("code site")["value"].agg(["count", "mean"])
    for station, stats in pm10.iterrows():
        value = got.loc[("PM10", station)]
        assert bool(value["is_valid"]) == (stats["count"] >= 18)
        if stats["count"] >= 18:
            assert value["value"] == pytest.approx(stats["mean"])
    no2 = hours[hours["Polluant"] == "NO2"].groupby("code site")["value"].agg(["count", "max"])
    for station, stats in no2[no2["count"] >= 18].iterrows():
        assert got.loc[("NO2", station), "value"] == pytest.approx(stats["max"])
