"""E2 hourly day files (feeds.md §a) and the station list of the demo bundle.

Values are invented; the stations are real (``facts.STATIONS``). Concentrations in µg/m³,
instants hour-beginning UTC as in E2. The designed facts (``docs/demo.md``):

* D1 2026-01-14: an ordinary winter day, no threshold exceeded.
* D2 2026-01-15 (local day = UTC 2026-01-14 23:00 → 2026-01-15 23:00): a PM10 episode in
  the north and east. Each PM10 series is ``a`` for local hours 00-11 and ``b`` for 12-23,
  plus deviations that cancel in pairs inside each block (local hour 00 is exactly ``a``),
  so the local-day mean is exactly (a + b) / 2 (``PM10_D2``). The first local hour of D3
  (2026-01-15 23:00 UTC, last row of the D2 file) is ``PM10_AFTER`` everywhere.
* D2: NO2 at FR04329 peaks at 212.0 at local 08:00 (07:00 UTC) (``NO2_PEAK``); the only
  NO2 values above 150 are that morning's four hours at FR04329 (184.6, 212.0, 191.3, 158.7).
* Invalid hours (``validité`` -1): ``INVALID_HOURS`` on both days, and FR04012 PM10 with
  only 17 valid hours in local D2 (``COVERAGE_GAP``), whose valid values average 58.0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from spse.pipeline.demo import facts, timeline
from spse.pipeline.demo.files import csv_text, decimal_text
from spse.pipeline.demo.files import write as write_file

E2_HEADER = ("Date de début;Date de fin;Organisme;code zas;Zas;code site;nom site;type d'implantation;Polluant;"
             "type d'influence;discriminant;Réglementaire;type d'évaluation;procédure de mesure;type de valeur;"
             "valeur;valeur brute;unité de mesure;taux de saisie;couverture temporelle;couverture de données;"
             "code qualité;validité").split(";")

# PM10 on local D2: station → (a, b) [µg/m³]; local-day mean = (a + b) / 2.
PM10_D2: dict[str, tuple[float, float]] = {
    "FR04004": (50.0, 70.0), "FR04018": (56.0, 74.0), "FR04099": (52.0, 62.0), "FR04014": (48.0, 62.0),
    "FR04329": (64.0, 76.0), "FR04055": (42.0, 52.0), "FR04060": (34.0, 44.0), "FR04179": (30.0, 40.0),
    "FR04017": (36.0, 46.0), "FR04034": (38.0, 48.0),
}
PM10_AFTER = 30.0
# FR04012 PM10 on local D2: invalid at these local hours; the 17 valid values average ``mean``.
COVERAGE_GAP = {"station": "FR04012", "pollutant": "PM10", "invalid_local_hours": (2, 3, 4, 5, 6, 14, 15),
                "mean": 58.0}
# NO2 at FR04329 through the morning rush of local D2: local hour → value [µg/m³].
NO2_PEAK = {"station": "FR04329",
            "values": {5: 96.2, 6: 131.5, 7: 184.6, 8: 212.0, 9: 191.3, 10: 158.7, 11: 127.4}}
# Other invalid hours: (station, pollutant, hour-beginning UTC).
INVALID_HOURS: tuple[tuple[str, str, str], ...] = (
    ("FR04037", "O3", "2026-01-14 03:00"), ("FR04037", "O3", "2026-01-14 04:00"),
    ("FR04071", "NO2", "2026-01-14 10:00"),
    ("FR04034", "PM2.5", "2026-01-14 15:00"), ("FR04034", "PM2.5", "2026-01-14 16:00"),
    ("FR04034", "PM2.5", "2026-01-14 17:00"),
    ("FR04141", "NO2", "2026-01-15 02:00"), ("FR04017", "NO2", "2026-01-15 12:00"),
    ("FR04017", "NO2", "2026-01-15 13:00"), ("FR04004", "O3", "2026-01-15 20:00"),
)
# Ceilings keeping the undesigned series ordinary [µg/m³].
NO2_BACKGROUND_MAX = 140.0
NO2_TRAFFIC_MAX = 145.0
O3_MAX = 78.0


def _series() -> pd.DataFrame:
    rows = [(s.code, p) for s in facts.STATIONS for p in sorted(s.procedures)]
    frame = pd.DataFrame(rows, columns=["station", "pollutant"])
    by_code = {s.code: s for s in facts.STATIONS}
    frame["traffic"] = [by_code[c].influence == "Trafic" for c in frame["station"]]
    return frame


def _no2_profile(hour: np.ndarray) -> np.ndarray:
    """Diurnal NO2 shape by local hour: rush-hour peaks at 08-09 and 19-20, low before dawn."""
    return (1 + 0.55 * np.exp(-(((hour - 8.5) / 2.0) ** 2)) + 0.45 * np.exp(-(((hour - 19.5) / 2.5) ** 2))
            - 0.35 * np.exp(-(((hour - 4.0) / 2.5) ** 2)))


def _o3_profile(hour: np.ndarray) -> np.ndarray:
    """Winter O3 shape by local hour: afternoon maximum, titrated at the morning rush."""
    return 0.7 + 0.6 * np.exp(-(((hour - 14.5) / 3.5) ** 2)) - 0.2 * np.exp(-(((hour - 8.5) / 2.0) ** 2))


def _paired_deviations(rng: np.random.Generator, rows: int, pairs: int, zeros: int) -> np.ndarray:
    """``rows`` shuffled vectors of ``pairs`` deviations ±d [0.1 steps] plus ``zeros`` zeros; each sums to 0."""
    d = np.round(rng.uniform(0.3, 2.5, (rows, pairs)), 1)
    return rng.permuted(np.hstack([d, -d, np.zeros((rows, zeros))]), axis=1)


def hourly_values(rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Series table, values [µg/m³] and validity over the 48 UTC hours of the two files.

    Returns ``(series, values, valid)`` with ``values`` and ``valid`` of shape
    (number of series, 48); invalid cells hold NaN.
    """
    series = _series()
    utc = timeline.file_hours_utc()
    hour, day = timeline.local_hour_and_day(utc)
    d2 = timeline.DEMO_DAYS[1]
    n, t = len(series), len(utc)
    is_d2 = day == d2
    after = day > d2
    pol = series["pollutant"].to_numpy()
    traffic = series["traffic"].to_numpy()[:, None]
    values = np.full((n, t), np.nan)

    no2 = pol == "NO2"
    level = np.where(traffic[no2, 0], rng.uniform(52, 64, no2.sum()), rng.uniform(28, 40, no2.sum()))
    raw = level[:, None] * np.where(is_d2, 1.3, 1.0) * _no2_profile(hour) * np.exp(rng.normal(0, 0.08, (no2.sum(), t)))
    values[no2] = np.minimum(raw, np.where(traffic[no2], NO2_TRAFFIC_MAX, NO2_BACKGROUND_MAX))

    o3 = pol == "O3"
    raw = (rng.uniform(38, 50, o3.sum())[:, None] * np.where(is_d2, 0.7, 1.0) * _o3_profile(hour)
           * np.exp(rng.normal(0, 0.1, (o3.sum(), t))))
    values[o3] = np.clip(raw, 2.0, O3_MAX)

    pm10 = pol == "PM10"
    values[pm10] = rng.uniform(22, 34, pm10.sum())[:, None] * np.exp(rng.normal(0, 0.1, (pm10.sum(), t)))
    codes = series.loc[pm10, "station"].to_numpy()
    designed = np.isin(codes, list(PM10_D2))
    a = np.array([PM10_D2.get(c, (0.0, 0.0))[0] for c in codes])[:, None]
    b = np.array([PM10_D2.get(c, (0.0, 0.0))[1] for c in codes])[:, None]
    first = is_d2 & (hour < 12)
    second = is_d2 & (hour >= 12)
    block = np.zeros((pm10.sum(), t))
    block[:, first & (hour > 0)] = _paired_deviations(rng, pm10.sum(), 5, 1)
    block[:, second] = _paired_deviations(rng, pm10.sum(), 6, 0)
    pm10_values = values[pm10]
    pm10_values[:, is_d2] = np.where(designed[:, None], np.where(first, a, b) + block, pm10_values)[:, is_d2]
    pm10_values[:, after] = PM10_AFTER
    values[pm10] = pm10_values

    gap = (series["station"] == COVERAGE_GAP["station"]).to_numpy() & (pol == COVERAGE_GAP["pollutant"])
    gap_hours = is_d2 & np.isin(hour, COVERAGE_GAP["invalid_local_hours"])
    gap_valid = is_d2 & ~gap_hours
    values[np.ix_(gap, gap_valid)] = COVERAGE_GAP["mean"] + _paired_deviations(rng, 1, gap_valid.sum() // 2,
                                                                               gap_valid.sum() % 2)
    values[np.ix_(gap, gap_hours)] = np.nan

    pm25 = pol == "PM2.5"
    pm25_codes = series.loc[pm25, "station"].to_numpy()
    pm10_by_code = dict(zip(codes, values[pm10], strict=True))
    own = np.array([c in pm10_by_code for c in pm25_codes])
    base = np.vstack([pm10_by_code.get(c, np.full(t, np.nan)) for c in pm25_codes])
    alone = rng.uniform(14, 18, pm25.sum())[:, None] * np.where(is_d2, 2.1, 1.0)
    alone = alone * np.exp(rng.normal(0, 0.1, (pm25.sum(), t)))
    with_pm10 = 0.62 * np.where(np.isnan(base), alone / 0.62, base) * np.exp(rng.normal(0, 0.05, (pm25.sum(), t)))
    values[pm25] = np.where(own[:, None], with_pm10, alone)

    peak = (series["station"] == NO2_PEAK["station"]).to_numpy() & no2
    for local_hour, value in NO2_PEAK["values"].items():
        values[np.ix_(peak, is_d2 & (hour == local_hour))] = value

    index = {(s, p): i for i, (s, p) in enumerate(zip(series["station"], pol, strict=True))}
    stamps = {ts: j for j, ts in enumerate(utc.strftime("%Y-%m-%d %H:%M"))}
    for station, pollutant, stamp in INVALID_HOURS:
        values[index[(station, pollutant)], stamps[stamp]] = np.nan

    values = np.round(values, 1)
    return series, values, ~np.isnan(values)


def e2_day_frames(rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """The E2 rows of each file, keyed by relative path ``2026/FR_E2_<day>.csv``."""
    series, values, _ = hourly_values(rng)
    utc = timeline.file_hours_utc()
    n, t = values.shape
    row_series = np.repeat(np.arange(n), t)
    row_hour = np.tile(np.arange(t), n)
    jitter = np.round(rng.uniform(-0.049, 0.049, n * t), 3)
    frame = e2_frame(series, values, utc, row_series, row_hour, jitter)
    file_day = np.asarray(utc.strftime("%Y-%m-%d"))[row_hour]
    return {f"{day[:4]}/FR_E2_{day}.csv": frame[file_day == day].reset_index(drop=True)
            for day in sorted(set(file_day))}


def e2_frame(series: pd.DataFrame, values: np.ndarray, utc: pd.DatetimeIndex, row_series: np.ndarray,
             row_hour: np.ndarray, jitter: np.ndarray) -> pd.DataFrame:
    """E2 rows (the 23 columns, as text) of the cells ``values[row_series, row_hour]``.

    Parameters
    ----------
    series : DataFrame
        One row per series (``station``, ``pollutant``), in the order of ``values``.
    values : ndarray
        Hourly means [µg/m³], shape (series, hours), rounded to 0.1; NaN marks an invalid hour.
    utc : DatetimeIndex
        Hour-beginning UTC instants of the columns of ``values``.
    row_series, row_hour : ndarray
        Series and hour index of each output row, in output order.
    jitter : ndarray
        Per row, ``valeur brute`` − ``valeur`` [µg/m³], 3 decimals.
    """
    by_code = {s.code: s for s in facts.STATIONS}
    codes = series["station"].to_numpy()
    pollutants = series["pollutant"].to_numpy()
    station = codes[row_series]
    flat_value = values[row_series, row_hour]
    flat_valid = ~np.isnan(flat_value)
    raw_value = np.where(flat_valid, np.round(np.nan_to_num(flat_value) + jitter, 3), np.nan)
    fmt = "%Y/%m/%d %H:%M:%S"
    frame = pd.DataFrame({
        "Date de début": np.asarray(utc.strftime(fmt))[row_hour],
        "Date de fin": np.asarray((utc + pd.Timedelta(hours=1)).strftime(fmt))[row_hour],
        "Organisme": facts.ORGANISATION,
        "code zas": facts.ZAS_CODE,
        "Zas": facts.ZAS_NAME,
        "code site": station,
        "nom site": np.array([by_code[c].name for c in codes], dtype=object)[row_series],
        "type d'implantation": facts.AREA_TYPE,
        "Polluant": pollutants[row_series],
        "type d'influence": np.array([by_code[c].influence for c in codes], dtype=object)[row_series],
        "discriminant": "A",
        "Réglementaire": "Oui",
        "type d'évaluation": "mesures fixes",
        "procédure de mesure": np.array([by_code[c].procedures[p] for c, p in zip(codes, pollutants, strict=True)],
                                        dtype=object)[row_series],
        "type de valeur": "moyenne horaire validée",
        "valeur": np.where(flat_valid, decimal_text(np.nan_to_num(flat_value), 1), ""),
        "valeur brute": np.where(flat_valid, decimal_text(np.nan_to_num(raw_value), 3), ""),
        "unité de mesure": "µg-m3",
        "taux de saisie": "",
        "couverture temporelle": "",
        "couverture de données": "",
        "code qualité": np.where(flat_valid, "A", "N"),
        "validité": np.where(flat_valid, "1", "-1"),
    })
    assert list(frame.columns) == E2_HEADER
    return frame


def e2_lines(series: pd.DataFrame, values: np.ndarray, utc: pd.DatetimeIndex, row_series: np.ndarray,
             row_hour: np.ndarray, jitter: np.ndarray) -> list[str]:
    """The rows of ``e2_frame`` as CSV lines (``;``, no line end), the same bytes as ``csv_text``, faster.

    The fixed fields of each series and the two dates of each hour are joined once (a field
    that would need quoting raises ``ValueError``); ``valeur`` and ``valeur brute`` are
    formatted as by ``decimal_text``. Parameters as in ``e2_frame``.
    """
    by_code = {s.code: s for s in facts.STATIONS}
    fixed = []
    for code, pollutant in zip(series["station"], series["pollutant"], strict=True):
        station = by_code[code]
        fields = (facts.ORGANISATION, facts.ZAS_CODE, facts.ZAS_NAME, code, station.name, facts.AREA_TYPE, pollutant,
                  station.influence, "A", "Oui", "mesures fixes", station.procedures[pollutant],
                  "moyenne horaire validée")
        if any(c in field for field in fields for c in (";", '"', "\n", "\r")):
            raise ValueError(f"an E2 field of {code} {pollutant} needs quoting; use csv_text(e2_frame(...))")
        fixed.append(";".join(fields))
    fmt = "%Y/%m/%d %H:%M:%S"
    dates = [f"{a};{b}" for a, b in zip(utc.strftime(fmt), (utc + pd.Timedelta(hours=1)).strftime(fmt), strict=True)]
    flat = values[row_series, row_hour]
    raw = np.round(np.nan_to_num(flat) + jitter, 3)
    lines = []
    for s, h, v, r in zip(row_series.tolist(), row_hour.tolist(), flat.tolist(), raw.tolist(), strict=True):
        if v != v:  # NaN: invalid hour
            lines.append(f"{dates[h]};{fixed[s]};;;µg-m3;;;;N;-1")
        else:
            text = f"{r:.3f}".rstrip("0")
            text = text + "0" if text.endswith(".") else text
            lines.append(f"{dates[h]};{fixed[s]};{v:.1f};{text};µg-m3;;;;A;1")
    return lines


def stations_frame() -> pd.DataFrame:
    """``stations.csv``: the LCSQA list format (department, code, name, lon, lat [° WGS84])."""
    return pd.DataFrame({
        "department": [s.department for s in facts.STATIONS],
        "code_site": [s.code for s in facts.STATIONS],
        "nom_site": [s.name for s in facts.STATIONS],
        "longitude": [s.lon for s in facts.STATIONS],
        "latitude": [s.lat for s in facts.STATIONS],
    })


def write(root, rng: np.random.Generator) -> list[str]:
    """Write ``lcsqa_e2/…`` and ``lcsqa_stations/stations.csv`` under ``root``; return the paths."""
    written = []
    for relative, frame in e2_day_frames(rng).items():
        written.append(str(write_file(root, f"lcsqa_e2/{relative}", csv_text(frame, ";"))))
    written.append(str(write_file(root, "lcsqa_stations/stations.csv", csv_text(stations_frame(), ","))))
    return written
