"""Noise indicators: energetic means, Lden, and daily Ld / Le / Ln / Lden at the noise stations.

Levels are A-weighted equivalent levels [dB(A)]. Levels are averaged energetically,
L = 10·log10(mean(10^(Lᵢ/10))), never arithmetically (methods.md §5.2, W4).

Lden (Directive 2002/49/EC Annex I; methods.md §5.2):
Lden = 10·log10[(1/24)·(12·10^(Ld/10) + 4·10^((Le+5)/10) + 8·10^((Ln+10)/10))],
with the French periods of the register (``noise_day_start_hour`` 6, ``noise_evening_start_hour``
18, ``noise_night_start_hour`` 22, local time, Europe/Paris): day 06-18, evening 18-22, night
22-06. The 12/4/8 h weights are the lengths of these periods. The functions receive these
parameters as a :class:`NoiseRules` (``NoiseRules.from_params(register.parameters())`` in the
pipeline).

Which night belongs to local day D is a design choice (no text found that fixes it for a
daily Lden), set by the register parameter ``noise_night_attribution`` [U]:

* ``calendar_day`` (default): the 24 local hours of D, night = 00:00-06:00 and 22:00-24:00
  of D. D's Lden needs only D's hours, so the 06:00 daily run can report on D.
* ``following_night``: the 24 hours 06:00 D → 06:00 D+1, night = 22:00 D → 06:00 D+1, one
  contiguous period as Lden is "évalué sur une période d'observation de 24 heures"
  (acnaw.be, Ldn/Lden). D's Lden then needs D+1's ``noise_hourly`` partition.

On daylight-saving days the night has 7 or 9 hours; the period weights stay 12/4/8.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from spse.core.columns import Column
from spse.core.timebase import tz_for

HOUR = pd.Timedelta(hours=1)
# Directive 2002/49/EC Annex I: evening and night penalties [dB].
EVENING_PENALTY_DB = 5.0
NIGHT_PENALTY_DB = 10.0
PERIODS = ("day", "evening", "night")
NIGHT_ATTRIBUTIONS = ("calendar_day", "following_night")

COLUMNS: dict[str, Column] = {
    "site_id": Column("VARCHAR", "", "Noise station id (Bruitparif Rumeur)", nullable=False),
    "date": Column("DATE", "", "Local day D (Europe/Paris); its night per the register's noise_night_attribution"),
    "ld_dba": Column("DOUBLE", "dB(A)", "Lday: energetic mean of the valid hourly LAeq 06-18 h; NULL if too few"),
    "le_dba": Column("DOUBLE", "dB(A)", "Levening: energetic mean of the valid hourly LAeq 18-22 h; NULL if too few"),
    "ln_dba": Column("DOUBLE", "dB(A)", "Lnight: energetic mean of the valid hourly LAeq 22-06 h; NULL if too few"),
    "lden_dba": Column("DOUBLE", "dB(A)", "Lden (END Annex I, +5 dB evening, +10 dB night); NULL unless all three "
                                          "periods are valid"),
    "n_valid_hours": Column("BIGINT", "hours", "Valid hourly LAeq in the 24 h of D's three periods"),
    "is_valid": Column("BOOLEAN", "", "Each period has the register's noise_min_valid_fraction of its hours"),
}


@dataclass(frozen=True)
class NoiseRules:
    """Noise periods and coverage (methods.md §5.2; register ``noise_*`` parameters).

    Attributes
    ----------
    day_start_hour, evening_start_hour, night_start_hour : int
        Local hours [h, Europe/Paris] the day, evening and night periods start (6, 18, 22).
    night_attribution : str
        ``calendar_day`` or ``following_night``: which night belongs to local day D.
    min_valid_fraction : float
        Share [0-1] of a period's hours needed for its level (0.75).
    """

    day_start_hour: int = 6
    evening_start_hour: int = 18
    night_start_hour: int = 22
    night_attribution: str = "calendar_day"
    min_valid_fraction: float = 0.75

    def __post_init__(self) -> None:
        """Refuse an unknown night attribution."""
        if self.night_attribution not in NIGHT_ATTRIBUTIONS:
            raise ValueError(f"noise_night_attribution {self.night_attribution!r}: expected calendar_day or "
                             "following_night")

    @classmethod
    def from_params(cls, params) -> NoiseRules:
        """The rules of a parameter register (:class:`spse.core.register.Parameters`)."""
        return cls(day_start_hour=params.int("noise_day_start_hour"),
                   evening_start_hour=params.int("noise_evening_start_hour"),
                   night_start_hour=params.int("noise_night_start_hour"),
                   night_attribution=params.text("noise_night_attribution"),
                   min_valid_fraction=params.float("noise_min_valid_fraction"))


def energetic_mean(levels_db, axis=None):
    """Energetic (logarithmic) mean of levels [dB]: 10·log10(mean(10^(L/10))), NaN ignored.

    All-NaN slices give NaN. Reference: methods.md §5.2, W4 ([60, 62, 64, 66] → 63.5592 dB).
    """
    levels = np.asarray(levels_db, dtype=float)
    valid = ~np.isnan(levels)
    energy = np.where(valid, np.power(10.0, np.where(valid, levels, 0.0) / 10.0), 0.0).sum(axis=axis)
    count = valid.sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        result = np.where(count > 0, 10.0 * np.log10(energy / np.maximum(count, 1)), np.nan)
    return result if np.ndim(result) else float(result)


def period_hours(rules: NoiseRules) -> dict[str, int]:
    """Nominal hours of the day, evening and night periods of ``rules`` (12, 4, 8)."""
    return {"day": rules.evening_start_hour - rules.day_start_hour,
            "evening": rules.night_start_hour - rules.evening_start_hour,
            "night": 24 - rules.night_start_hour + rules.day_start_hour}


def lden(ld, le, ln, rules: NoiseRules):
    """Day-evening-night level [dB(A)] from Lday, Levening, Lnight [dB(A)].

    Directive 2002/49/EC Annex I with the period lengths of ``rules`` (12/4/8 h) and the
    +5 dB evening and +10 dB night penalties (methods.md §5.2, W4: 65/62/57 → 66.1141 dB).
    NaN in any input gives NaN.
    """
    hours = period_hours(rules)
    ld, le, ln = (np.asarray(v, dtype=float) for v in (ld, le, ln))
    energy = (hours["day"] * np.power(10.0, ld / 10.0)
              + hours["evening"] * np.power(10.0, (le + EVENING_PENALTY_DB) / 10.0)
              + hours["night"] * np.power(10.0, (ln + NIGHT_PENALTY_DB) / 10.0))
    result = 10.0 * np.log10(energy / sum(hours.values()))
    return result if np.ndim(result) else float(result)


def period_bounds_utc(day: dt.date, rules: NoiseRules, time_base: str = "Europe/Paris"
                      ) -> dict[str, list[tuple[pd.Timestamp, pd.Timestamp]]]:
    """[start, end) intervals in UTC of the day, evening and night periods of local day ``day``."""
    tz = tz_for(time_base)
    day_start, evening_start, night_start = rules.day_start_hour, rules.evening_start_hour, rules.night_start_hour
    attribution = rules.night_attribution

    def at(d: dt.date, hour: int) -> pd.Timestamp:
        return pd.Timestamp(dt.datetime.combine(d, dt.time(hour), tzinfo=tz)).tz_convert("UTC")

    next_day = day + dt.timedelta(days=1)
    if attribution == "following_night":
        night = [(at(day, night_start), at(next_day, day_start))]
    elif attribution == "calendar_day":
        night = [(at(day, 0), at(day, day_start)), (at(day, night_start), at(next_day, 0))]
    else:
        raise ValueError(f"noise_night_attribution {attribution!r}: expected calendar_day or following_night")
    return {"day": [(at(day, day_start), at(day, evening_start))],
            "evening": [(at(day, evening_start), at(day, night_start))],
            "night": night}


def noise_daily(noise_hourly: pd.DataFrame, day: dt.date, rules: NoiseRules,
                time_base: str = "Europe/Paris") -> pd.DataFrame:
    """Daily Ld, Le, Ln and Lden at each noise station: the ``noise_station_daily`` dataset.

    Parameters
    ----------
    noise_hourly : DataFrame
        ``[site_id, ts_start_utc, laeq_dba, is_valid]``: hourly LAeq [dB(A)] with hour-beginning
        UTC instants of D (and of D+1 up to 06:00 local with ``following_night``).
    day : datetime.date
        Local day D.
    rules : NoiseRules
        Periods, night attribution and coverage (register ``noise_*``).
    time_base : str
        Time zone of the periods (Europe/Paris: French noise periods are local time).

    Returns
    -------
    DataFrame ``[site_id, date, ld_dba, le_dba, ln_dba, lden_dba, n_valid_hours, is_valid]``,
    one row per site in the input. A period's level is NULL unless at least
    ``min_valid_fraction`` of its actual hours (7, 8 or 9 for the night on
    daylight-saving changes) are valid; Lden is NULL unless the three periods are valid.
    """
    bounds = period_bounds_utc(day, rules, time_base)
    min_fraction = rules.min_valid_fraction
    sites = pd.Index(noise_hourly["site_id"].dropna().unique(), name="site_id").sort_values()
    ts = pd.to_datetime(noise_hourly["ts_start_utc"], utc=True)
    valid = (noise_hourly["is_valid"].fillna(False).astype(bool) & noise_hourly["laeq_dba"].notna()).to_numpy()
    energy = np.power(10.0, noise_hourly["laeq_dba"].astype(float).to_numpy() / 10.0)
    levels: dict[str, np.ndarray] = {}
    all_ok = np.ones(len(sites), dtype=bool)
    n_valid_total = np.zeros(len(sites), dtype=np.int64)
    for period in PERIODS:
        in_period = np.zeros(len(ts), dtype=bool)
        for start, end in bounds[period]:
            in_period |= ((ts >= start) & (ts < end)).to_numpy()
        inside = valid & in_period
        grouped = (pd.DataFrame({"site_id": noise_hourly["site_id"].to_numpy()[inside], "energy": energy[inside]})
                   .groupby("site_id")["energy"].agg(["sum", "count"]).reindex(sites))
        count = grouped["count"].fillna(0).to_numpy(dtype=np.int64)
        expected = round(sum((end - start) / HOUR for start, end in bounds[period]))
        ok = count >= min_fraction * expected
        with np.errstate(invalid="ignore", divide="ignore"):
            level = 10.0 * np.log10(grouped["sum"].to_numpy(dtype=float) / np.maximum(count, 1))
        levels[period] = np.where(ok, level, np.nan)
        all_ok &= ok
        n_valid_total += count
    frame = pd.DataFrame({
        "site_id": sites.to_numpy(),
        "date": day,
        "ld_dba": levels["day"],
        "le_dba": levels["evening"],
        "ln_dba": levels["night"],
    })
    frame["lden_dba"] = np.where(all_ok, lden(frame["ld_dba"], frame["le_dba"], frame["ln_dba"], rules), np.nan)
    frame["n_valid_hours"] = n_valid_total
    frame["is_valid"] = all_ok
    return frame[list(COLUMNS)]
