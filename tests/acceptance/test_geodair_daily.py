"""Our daily means on the UTC day reproduce the official Geod'air daily means (methods.md §1.1 "Time base").

The real E2 hours of 2024-08-05 and 2024-09-02 (``../shared/data/air_e2_lcsqa``, Airparif) are
parsed by the ``lcsqa_e2`` connector; the NO2 daily means of FR04031 (Av. Champs-Élysées) and
FR04055 (Paris 1er Les Halles) on the register's ``eu_day_time_base`` (UTC) are compared with
the independent Geod'air export of the same days (``../shared/data/air_geodair``): ``valeur
brute`` to 1e-9, ``taux de saisie`` = 100 × n_valid / 24. The local day (Europe/Paris, UTC+2 in
summer) gives other values, which is why the time base is stored with every daily value.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from spse.core import register
from spse.methods import stats
from spse.methods.surfaces import station_hourly
from spse.sources.lcsqa_e2 import HEADER, SOURCE

E2_EXTRACT = "air_e2_lcsqa/FR_E2_airparif_idf_2days_2024-08-05_2024-09-02.csv"
GEODAIR = "air_geodair/geodair_export_moy_journaliere_NO2_FR04031_FR04055_2017-08-17_2025-12-04.csv"
DAYS = (dt.date(2024, 8, 5), dt.date(2024, 9, 2))
STATIONS = ("FR04031", "FR04055")
KEYS = ["station_id", "pollutant"]
RULES = stats.CoverageRules.from_params(register.parameters())

pytestmark = pytest.mark.shared_data


def _e2_file(rows: pd.DataFrame) -> bytes:
    """The 23-column E2 day file of the extract's rows.

    SOURCES.md: the extract dropped ``discriminant``, ``Réglementaire``, ``taux de saisie``,
    ``couverture temporelle``, ``couverture de données`` and ``validité`` and kept only rows of
    ``validité = 1``; those become 1, one discriminant ``A`` per series, the others empty.
    """
    full = rows.assign(**{"discriminant": "A", "Réglementaire": "", "taux de saisie": "",
                          "couverture temporelle": "", "couverture de données": "", "validité": "1"})
    return full[list(HEADER)].to_csv(sep=";", index=False).encode("utf-8")


@pytest.fixture(scope="module")
def air_hourly(shared_data) -> pd.DataFrame:
    extract = pd.read_csv(shared_data / E2_EXTRACT, sep=";", dtype=str, keep_default_na=False)
    frames = []
    for day in DAYS:
        name = f"FR_E2_{day}.csv"
        parsed = SOURCE.parse(_e2_file(extract[extract["source_file"] == name]), name, SOURCE.partition(day))
        assert parsed.rejects.empty
        frames.append(parsed.frame)
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def geodair(shared_data) -> pd.DataFrame:
    frame = pd.read_csv(shared_data / GEODAIR, sep=";", encoding="utf-8-sig")
    frame["day"] = pd.to_datetime(frame["Date de début"], format="%Y/%m/%d %H:%M:%S").dt.date
    return frame


@pytest.fixture(scope="module")
def no2(air_hourly) -> pd.DataFrame:
    """Station NO2 hours as the pipeline builds them: ``value`` (not ``value_raw``), NaN when invalid."""
    return station_hourly(air_hourly[air_hourly["station_id"].isin(STATIONS)
                                     & (air_hourly["pollutant"] == "NO2")])


def _day_means(hourly: pd.DataFrame, day: dt.date, time_base: str) -> pd.DataFrame:
    daily = stats.daily_stats(hourly[[*KEYS, "ts_start_utc", "value"]], KEYS, day, time_base=time_base, rules=RULES)
    return daily[daily["statistic"] == "day_mean"].set_index("station_id")


def test_the_eu_day_is_the_utc_day():
    assert register.parameters().text("eu_day_time_base") == "UTC"


@pytest.mark.parametrize("day", DAYS)
@pytest.mark.parametrize("station", STATIONS)
def test_utc_day_mean_and_coverage_match_geodair(no2, geodair, day, station):
    official = geodair[(geodair["code site"] == station) & (geodair["day"] == day)]
    assert len(official) == 1
    official = official.iloc[0]
    ours = _day_means(no2, day, register.parameters().text("eu_day_time_base"))
    n_valid = int(ours.loc[station, "n_valid"]) if station in ours.index else 0
    assert official["taux de saisie"] == pytest.approx(100 * n_valid / 24, abs=1e-9)
    if n_valid == 0:
        # A day without data: Geod'air publishes 0.0 with taux 0 and validité -1, a missing value, not a zero.
        assert (official["valeur brute"], official["valeur"], official["validité"]) == (0.0, 0.0, -1)
        assert station not in ours.index or np.isnan(ours.loc[station, "value"])
        return
    row = ours.loc[station]
    assert row["n_expected"] == 24 and row["time_base"] == "UTC"
    assert row["coverage"] == pytest.approx(official["taux de saisie"] / 100, abs=1e-12)
    assert bool(row["is_valid"]) == (official["validité"] == 1)
    assert row["value"] == pytest.approx(official["valeur brute"], abs=1e-9, rel=0)
    assert stats.published_daily_value(row["value"]) == official["valeur"]


def test_the_known_values_of_methods_md(no2):
    # methods.md §1.1: 18 hours → 17.5555555556 (taux 75, still a value), 24 hours → 11.3833333333
    first, second = (_day_means(no2, day, "UTC").loc["FR04031"] for day in DAYS)
    assert (first["n_valid"], second["n_valid"]) == (18, 24)
    assert first["value"] == pytest.approx(17.5555555556, abs=1e-9, rel=0) and first["is_valid"]
    assert second["value"] == pytest.approx(11.3833333333, abs=1e-9, rel=0)


def test_value_raw_would_not_match(air_hourly, geodair):
    # E2 `valeur brute` (value_raw) averages to 17.54 on 2024-08-05, not Geod'air's 17.5555555556.
    rows = air_hourly[(air_hourly["station_id"] == "FR04031") & (air_hourly["pollutant"] == "NO2")
                      & (air_hourly["ts_start_utc"].dt.date == DAYS[0])]
    official = geodair[(geodair["code site"] == "FR04031") & (geodair["day"] == DAYS[0])].iloc[0]
    assert len(rows) == 18
    assert abs(rows["value_raw"].mean() - official["valeur brute"]) > 1e-3
    assert rows["value"].mean() == pytest.approx(official["valeur brute"], abs=1e-9, rel=0)


def test_the_local_day_gives_other_values(no2, geodair):
    # Europe/Paris in summer: the local day is 22:00 UTC the day before → 22:00 UTC. The extract has no hours of
    # the days before, so 2024-08-05 keeps 16 hours (invalid) and 2024-09-02 22 (its 22:00 and 23:00 UTC leave).
    official = geodair[geodair["code site"] == "FR04031"].set_index("day")["valeur brute"]
    local = {day: _day_means(no2, day, "Europe/Paris").loc["FR04031"] for day in DAYS}
    assert local[DAYS[0]]["n_valid"] == 16 and not local[DAYS[0]]["is_valid"]
    assert np.isnan(local[DAYS[0]]["value"]) and official[DAYS[0]] == pytest.approx(17.5555555556)
    assert local[DAYS[1]]["n_valid"] == 22 and local[DAYS[1]]["is_valid"]
    assert abs(local[DAYS[1]]["value"] - official[DAYS[1]]) > 0.1
    assert (local[DAYS[1]]["time_base"], local[DAYS[1]]["n_expected"]) == ("Europe/Paris", 24)


def test_stats_days_gives_the_same_utc_days(no2, geodair):
    hours = pd.date_range("2024-08-04 17:00", "2024-09-02 23:00", freq="h", tz="UTC")
    matrix, series = stats.to_window_matrix(no2, KEYS, hours)
    out = stats.stats_days(matrix, hours, DAYS, "UTC", False, RULES)["day_mean"]
    row = series.index[series["station_id"] == "FR04031"][0]
    official = geodair[geodair["code site"] == "FR04031"].set_index("day")
    for d, day in enumerate(DAYS):
        assert out["n_valid"][row, d] == official.loc[day, "taux de saisie"] * 24 / 100
        assert out["value"][row, d] == pytest.approx(official.loc[day, "valeur brute"], abs=1e-9, rel=0)


def test_published_rounding_matches_every_geodair_day(geodair):
    # 5268 published days 2017-2025: `valeur` is `valeur brute` rounded by the publication rule.
    published = stats.published_daily_value(geodair["valeur brute"].to_numpy(float))
    mismatched = geodair.loc[published != geodair["valeur"].to_numpy(float), ["day", "valeur", "valeur brute"]]
    assert len(geodair) > 5000 and mismatched.empty, mismatched.head()
