"""The health step: deaths attributable to PM2.5 and NO2 per zone and year, and the noise effect per band.

:func:`build_health` writes, for the calendar year holding the day and the year before:

* ``health_impact_zone_year`` (partition ``date=<year>-01-01``): per arrondissement, pollutant
  and counterfactual, the deaths at ages 30+ attributable to the annual mean concentration,
  computed cell by cell and summed (methods.md §7.1, W6b; :mod:`spse.methods.impact`), with
  the 95 % interval from the CRF's lower and upper RR, and the years of life lost with the same
  interval when a life table is in the lake (below). PM2.5 and NO2 are reported side by
  side and are **never added**: their CRFs come from single-pollutant models and the two
  burdens overlap (double counting).
* ``health_impact_cell_year`` (same partition): the same deaths per cell piece (a cell cut by an
  arrondissement boundary has one row per arrondissement), pollutant and counterfactual, whose
  sums are the zone rows; the equity mart sums them per income quintile.
* ``noise_effect_bands`` (partition ``vintage=current``): for each band of the strategic noise
  maps, its representative level, the % highly annoyed (Lden) or highly sleep-disturbed (Ln)
  and, for road Lden, the IHD relative risk (:mod:`spse.methods.noise_effects`); the mart
  ``noise_zone_effects`` multiplies them by the residents per band of ``noise_zone_bands``.

Inputs:

* the annual mean per cell: H5's ``period_cell`` rows (``period_kind`` year, ``indicator``
  mean, ``statistic`` day_mean, in its time base) when the lake holds them, else the mean of
  the valid ``surface_daily`` day means of the year in the EU statistics time base (register
  ``eu_day_time_base``, else ``day_time_base``); ``exposure_source`` says which;
* the cell population (``grid_cells``) and the arrondissement crosswalk (``zone_cells``, area
  fractions, zone level arrondissement);
* the baseline mortality (``baseline_mortality``, source ``insee_deces_zone``) of the year, or
  of the latest earlier year, or else of the earliest year present (``baseline_year``).

A cell's annual mean enters the deaths only when it covers the register's
``health_min_year_coverage`` of the year's days (90 %, methods.md §4.1); other cells count in
the baseline only (``pop_30p_without_value``). The year holding the run's day is therefore
written only once it is nearly complete: the daily run reports the previous calendar year.

Population aged 30+ of a cell: the grid has no 30+ column (INSEE Filosofi's Ind_25_39 band
straddles 30), so the cell's population × its area fraction in the zone × the zone's share of
residents aged 30+ in the mortality table (POP of the bands starting at 30 or later / POP of
all bands). That assumes the age structure is uniform within an arrondissement [U].
The baseline rate y₀ is the zone's deaths at 30+ / residents at 30+.

Years of life lost (YLL): attributable deaths × the mean remaining life expectancy of a death
at 30+, Σ_band (deaths_band / deaths_30+) × e(mean age of death of the band) (:class:`impact.LifeTable`,
status [U]). Attributable deaths split over the bands like the baseline deaths because every band
has the same relative risk and, within a zone, the same exposure. The life table (``life_table``,
source ``insee_tables_mortalite``, both sexes ``_T``) is the zone's own, else its département's,
else France's (``FM``, then ``FR``), of the year or the latest earlier year, else the earliest;
without one, or with a table that is not one (ages not consecutive), YLL is NULL (logged).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from spse.core import register
from spse.core.columns import EMPTY_DTYPES, Column
from spse.core.config import settings
from spse.methods import impact, noise_effects
from spse.methods import period as pm
from spse.pipeline import lake, periods

log = logging.getLogger(__name__)

IMPACT_DATASET = "health_impact_zone_year"
CELL_DATASET = "health_impact_cell_year"
NOISE_DATASET = "noise_effect_bands"
NOISE_PARTITION = "vintage=current"
ZONE_LEVEL = "arrondissement"
POLLUTANTS = {"PM2.5": "pm25", "NO2": "no2"}
FIXED_COUNTERFACTUALS = ("who_2021", "eu_2030")
NOISE_EFFECTS = {"Lden": "ha", "Ln": "hsd"}

COLUMNS: dict[str, dict[str, Column]] = {
    IMPACT_DATASET: {
        "zone_id": Column("VARCHAR", "", "Arrondissement INSEE code (75101-75120)", nullable=False),
        "year": Column("INTEGER", "", "Calendar year of the annual mean", nullable=False),
        "pollutant": Column("VARCHAR", "", "PM2.5 or NO2 (never summed: double counting)", nullable=False),
        "counterfactual": Column("VARCHAR", "", "who_2021, eu_2030, lowest_observed or user", nullable=False),
        "counterfactual_ug_m3": Column("DOUBLE", "µg/m³", "C0, the concentration of the scenario"),
        "crf_set": Column("VARCHAR", "", "CRF set of the register (crf_longterm_default_set)"),
        "rr": Column("DOUBLE", "per 10 µg/m³", "Relative risk, all-cause mortality 30+"),
        "rr_low": Column("DOUBLE", "per 10 µg/m³", "Lower bound of the 95 % CI of rr"),
        "rr_high": Column("DOUBLE", "per 10 µg/m³", "Upper bound of the 95 % CI of rr"),
        "pop_30p": Column("DOUBLE", "persons", "Residents aged 30+ allocated to the zone"),
        "pop_30p_without_value": Column("DOUBLE", "persons", "Of pop_30p, in cells without an annual mean"),
        "pwm_ug_m3": Column("DOUBLE", "µg/m³", "Mean annual concentration weighted by pop_30p"),
        "baseline_year": Column("INTEGER", "", "Year of the baseline mortality used"),
        "baseline_rate_30p": Column("DOUBLE", "deaths/person/year", "y0: deaths 30+ / residents 30+ of the zone"),
        "baseline_deaths_30p": Column("DOUBLE", "deaths/year", "y0 × pop_30p"),
        "attributable_deaths": Column("DOUBLE", "deaths/year", "Σ cells AF × y0 × pop_30p, central RR"),
        "attributable_deaths_low": Column("DOUBLE", "deaths/year", "Same with rr_low"),
        "attributable_deaths_high": Column("DOUBLE", "deaths/year", "Same with rr_high"),
        "share_of_deaths": Column("DOUBLE", "0-1", "attributable_deaths / baseline_deaths_30p"),
        "yll_per_death": Column("DOUBLE", "years", "Σ bands 30+ (baseline deaths share) × life expectancy at the "
                                                   "band's mean age of death; NULL without a life table"),
        "years_of_life_lost": Column("DOUBLE", "years/year", "attributable_deaths × yll_per_death"),
        "years_of_life_lost_low": Column("DOUBLE", "years/year", "attributable_deaths_low × yll_per_death"),
        "years_of_life_lost_high": Column("DOUBLE", "years/year", "attributable_deaths_high × yll_per_death"),
        "life_table_zone": Column("VARCHAR", "", "CODGEO of the life table used (zone, département, FM or FR)"),
        "life_table_year": Column("INTEGER", "", "Year of the life table used"),
        "exposure_source": Column("VARCHAR", "", "period_cell or surface_daily (annual mean computed here)"),
        "time_base": Column("VARCHAR", "", "Time base of the days of the annual mean"),
        "min_coverage": Column("DOUBLE", "0-1", "Lowest share of the year's days behind a cell's annual mean"),
        "n_cells": Column("BIGINT", "cells", "Cells of the zone with an annual mean"),
    },
    CELL_DATASET: {
        "zone_id": Column("VARCHAR", "", "Arrondissement INSEE code (75101-75120)", nullable=False),
        "cell_id": Column("VARCHAR", "", "200 m cell (spse.methods.grid); a cell cut by a boundary has one row per "
                                         "arrondissement", nullable=False),
        "year": Column("INTEGER", "", "Calendar year of the annual mean", nullable=False),
        "pollutant": Column("VARCHAR", "", "PM2.5 or NO2 (never summed: double counting)", nullable=False),
        "counterfactual": Column("VARCHAR", "", "who_2021, eu_2030, lowest_observed or user", nullable=False),
        "counterfactual_ug_m3": Column("DOUBLE", "µg/m³", "C0, the concentration of the scenario"),
        "pop_30p": Column("DOUBLE", "persons", "Residents aged 30+ of the cell piece"),
        "value_ug_m3": Column("DOUBLE", "µg/m³", "Annual mean of the cell; NULL without one (counts in no death)"),
        "attributable_deaths": Column("DOUBLE", "deaths/year", "AF × y0 × pop_30p, central RR"),
        "attributable_deaths_low": Column("DOUBLE", "deaths/year", "Same with rr_low"),
        "attributable_deaths_high": Column("DOUBLE", "deaths/year", "Same with rr_high"),
    },
    NOISE_DATASET: {
        "indicator": Column("VARCHAR", "", "Lden or Ln", nullable=False),
        "source_type": Column("VARCHAR", "", "road, rail or air", nullable=False),
        "db_low": Column("DOUBLE", "dB(A)", "Lower bound of the band, included", nullable=False),
        "db_high": Column("DOUBLE", "dB(A)", "Upper bound of the band, excluded; NULL for the open top band"),
        "level_db": Column("DOUBLE", "dB(A)", "Representative level: db_low + noise_band_centre_offset_db [U]"),
        "effect": Column("VARCHAR", "", "high_annoyance (Lden) or high_sleep_disturbance (Ln)"),
        "percent_affected": Column("DOUBLE", "%", "%HA or %HSD at level_db (2020/367 curves, register policy)"),
        "rr_ihd": Column("DOUBLE", "", "IHD relative risk at level_db, road Lden only; NULL otherwise"),
    },
}


def crf_set(params: Mapping[str, str], pollutant: str) -> tuple[str, impact.Crf]:
    """Return the long-term CRF of ``pollutant`` in the register's default set, falling back to SpF.

    The HRAPIE set has no NO2 row: a set without the pollutant uses ``spf`` (logged).
    """
    chosen = params["crf_longterm_default_set"]
    name = f"crf_{POLLUTANTS[pollutant]}_longterm_{chosen}"
    if name not in params:
        log.warning("health: no %s in the register, %s uses the spf CRF", name, pollutant)
        chosen, name = "spf", f"crf_{POLLUTANTS[pollutant]}_longterm_spf"
    return chosen, impact.Crf.from_words(params[name])


def fixed_counterfactuals(params: Mapping[str, str], pollutant: str) -> dict[str, float]:
    """Return the register's counterfactuals of ``pollutant`` [µg/m³], with ``user`` when one is set."""
    key = POLLUTANTS[pollutant]
    values = {name: float(params[f"counterfactual_{key}_{name}"]) for name in FIXED_COUNTERFACTUALS}
    if params.get("counterfactual_user", "").strip():
        values["user"] = float(params["counterfactual_user"])
    return values


def baseline_by_zone(mortality: pd.DataFrame, year: int, min_age: int) -> pd.DataFrame:
    """Return per zone the baseline of ``year``: residents and deaths at ``min_age``+, rate and share.

    Parameters
    ----------
    mortality : pandas.DataFrame
        ``baseline_mortality`` rows (``year, zone_id, age_min, age_max, deaths, population``).
    year : int
        Year wanted; else the latest earlier year, else the earliest year present.
    min_age : int
        First age of the CRF's population [years] (30).

    Returns
    -------
    pandas.DataFrame
        Index ``zone_id``; columns ``baseline_year``, ``pop_old``, ``deaths_old``, ``rate``
        (deaths/person/year) and ``share_old`` (residents at ``min_age``+ / all residents).
        Bands that straddle ``min_age`` count in neither (logged).
    """
    chosen = _chosen_year(mortality["year"], year)
    rows = mortality[mortality["year"] == chosen]
    straddle = (rows["age_min"] < min_age) & (rows["age_max"].isna() | (rows["age_max"] >= min_age))
    if straddle.any():
        log.warning("health: %d mortality bands straddle age %d and are left out", int(straddle.sum()), min_age)
    old = rows[rows["age_min"] >= min_age].groupby("zone_id")[["population", "deaths"]].sum()
    total = rows.groupby("zone_id")["population"].sum()
    out = pd.DataFrame({"pop_old": old["population"], "deaths_old": old["deaths"]}).reindex(total.index)
    out["rate"] = out["deaths_old"] / out["pop_old"]
    out["share_old"] = out["pop_old"] / total
    out["baseline_year"] = chosen
    return out


def _chosen_year(years: pd.Series, year: int) -> int:
    """``year`` if present, else the latest earlier one, else the earliest."""
    present = sorted(int(y) for y in years.unique())
    earlier = [y for y in present if y <= year]
    return earlier[-1] if earlier else present[0]


def _table_codes(zone_id: str) -> list[str]:
    """Life tables that stand for a zone, best first: its own, its département's, France's."""
    department = zone_id[:3] if zone_id.startswith("97") else zone_id[:2]
    return [zone_id, department, "FM", "FR"]


def life_table_for(tables: pd.DataFrame, zone_id: str, year: int) -> tuple[impact.LifeTable, str, int] | None:
    """Return the both-sexes life table standing for ``zone_id`` in ``year``, its CODGEO and year, or None.

    Parameters
    ----------
    tables : pandas.DataFrame
        ``life_table`` rows (``year, zone_id, sex, age, qx, ex``).
    zone_id : str
        INSEE code of the zone.
    year : int
        Year wanted; else the latest earlier year, else the earliest of that table.

    Returns
    -------
    tuple or None
        None when no table stands for the zone; raises ``ValueError`` for a table whose ages
        are not consecutive (:class:`impact.LifeTable`).
    """
    both = tables[tables["sex"] == "_T"]
    for code in _table_codes(zone_id):
        rows = both[both["zone_id"] == code]
        if len(rows):
            chosen = _chosen_year(rows["year"], year)
            rows = rows[rows["year"] == chosen].sort_values("age")
            table = impact.LifeTable(rows["age"].to_numpy(), rows["qx"].to_numpy(), rows["ex"].to_numpy())
            return table, code, chosen
    return None


def yll_per_death(mortality: pd.DataFrame, tables: pd.DataFrame, year: int, min_age: int) -> pd.DataFrame:
    """Return per zone the mean years of life lost by one attributable death at ``min_age``+ (pure).

    Parameters
    ----------
    mortality : pandas.DataFrame
        ``baseline_mortality`` rows; the bands of the year :func:`baseline_by_zone` uses.
    tables : pandas.DataFrame
        ``life_table`` rows.
    year : int
        Year of the annual means.
    min_age : int
        First age of the CRF's population [years] (30).

    Returns
    -------
    pandas.DataFrame
        Index ``zone_id``; ``yll_per_death`` [years] = Σ_band (deaths_band / deaths) × e(mean age
        of death of the band), ``life_table_zone`` and ``life_table_year``. Zones without a usable
        table are left out (logged): their YLL is NULL.
    """
    rows = mortality[(mortality["year"] == _chosen_year(mortality["year"], year)) & (mortality["age_min"] >= min_age)]
    out = {}
    for zone_id, bands in rows.groupby("zone_id", sort=True):
        try:
            found = life_table_for(tables, str(zone_id), year)
        except ValueError as error:
            log.warning("health: the life table of zone %s is unusable, no years of life lost: %s", zone_id, error)
            continue
        if found is None:
            log.warning("health: no life table for zone %s (own, département, FM or FR), no years of life lost",
                        zone_id)
            continue
        table, code, table_year = found
        expectancy = [table.band_expectancy(low, None if pd.isna(high) else high)
                      for low, high in zip(bands["age_min"], bands["age_max"], strict=True)]
        deaths = bands["deaths"].to_numpy(dtype=float)
        per_death = impact.years_of_life_lost(dict(enumerate(deaths / deaths.sum())), dict(enumerate(expectancy)))
        if not np.isfinite(per_death):
            log.warning("health: the life table %s %d does not cover the ages of zone %s, no years of life lost",
                        code, table_year, zone_id)
            continue
        out[zone_id] = {"yll_per_death": per_death, "life_table_zone": code, "life_table_year": table_year}
    return pd.DataFrame.from_dict(out, orient="index",
                                  columns=["yll_per_death", "life_table_zone", "life_table_year"])


def zone_impacts(cells: pd.DataFrame, means: pd.DataFrame, baseline: pd.DataFrame,
                 params: Mapping[str, str]) -> pd.DataFrame:
    """Return the attributable deaths per zone × pollutant × counterfactual (pure: no lake read).

    Parameters
    ----------
    cells : pandas.DataFrame
        ``zone_id, cell_id, area_fraction, population``: cell pieces of each zone, all ages.
    means : pandas.DataFrame
        ``cell_id, pollutant, value`` [µg/m³] (annual mean) and ``coverage`` (0-1).
    baseline : pandas.DataFrame
        :func:`baseline_by_zone`, with the columns of :func:`yll_per_death` joined when there
        is a life table (else YLL is NULL).
    params : mapping of str to str
        The parameter register (CRFs, counterfactuals).

    Returns
    -------
    pandas.DataFrame
        The columns of ``health_impact_zone_year`` except ``year``, ``exposure_source`` and
        ``time_base``; zones without a baseline are left out (logged).
    """
    life = baseline.reindex(columns=["yll_per_death", "life_table_zone", "life_table_year"])
    pieces = cells.merge(baseline, left_on="zone_id", right_index=True, how="inner")
    missing = sorted(set(cells["zone_id"]) - set(pieces["zone_id"]))
    if missing:
        log.warning("health: no baseline mortality for zones %s, left out", missing)
    pieces = pieces.assign(pop_old=pieces["population"] * pieces["area_fraction"] * pieces["share_old"])
    rows = []
    for pollutant in POLLUTANTS:
        values = means[means["pollutant"] == pollutant].set_index("cell_id")
        if values.empty:
            continue
        set_name, crf = crf_set(params, pollutant)
        scenarios = impact.counterfactuals(values["value"].to_numpy(), fixed_counterfactuals(params, pollutant))
        joined = pieces.assign(value=pieces["cell_id"].map(values["value"]),
                               coverage=pieces["cell_id"].map(values["coverage"]))
        for zone_id, zone in joined.groupby("zone_id", sort=True):
            known = zone["value"].notna()
            weight = zone.loc[known, "pop_old"]
            pwm = float((weight * zone.loc[known, "value"]).sum() / weight.sum()) if weight.sum() > 0 else np.nan
            for name, c0 in scenarios.items():
                result = impact.attributable_deaths(zone["pop_old"].to_numpy(), zone["rate"].to_numpy(),
                                                    zone["value"].to_numpy(), c0, crf)
                per_death = float(life.loc[zone_id, "yll_per_death"]) if zone_id in life.index else np.nan
                rows.append({
                    "zone_id": zone_id, "pollutant": pollutant, "counterfactual": name, "counterfactual_ug_m3": c0,
                    "crf_set": set_name, "rr": crf.rr, "rr_low": crf.rr_low, "rr_high": crf.rr_high,
                    "pop_30p": float(zone["pop_old"].sum()),
                    "pop_30p_without_value": float(zone.loc[~known, "pop_old"].sum()),
                    "pwm_ug_m3": pwm, "baseline_year": int(zone["baseline_year"].iloc[0]),
                    "baseline_rate_30p": float(zone["rate"].iloc[0]), "baseline_deaths_30p": result.baseline_deaths,
                    "attributable_deaths": result.deaths, "attributable_deaths_low": result.deaths_low,
                    "attributable_deaths_high": result.deaths_high, "share_of_deaths": result.share,
                    "yll_per_death": per_death, "years_of_life_lost": result.deaths * per_death,
                    "years_of_life_lost_low": result.deaths_low * per_death,
                    "years_of_life_lost_high": result.deaths_high * per_death,
                    "life_table_zone": life.loc[zone_id, "life_table_zone"] if zone_id in life.index else None,
                    "life_table_year": life.loc[zone_id, "life_table_year"] if zone_id in life.index else None,
                    "min_coverage": float(zone.loc[known, "coverage"].min()) if known.any() else np.nan,
                    "n_cells": int(zone.loc[known, "cell_id"].nunique()),
                })
    return pd.DataFrame(rows)


def cell_impacts(cells: pd.DataFrame, means: pd.DataFrame, baseline: pd.DataFrame,
                 params: Mapping[str, str]) -> pd.DataFrame:
    """Return the attributable deaths of each cell piece × pollutant × counterfactual (pure: no lake read).

    The same inputs, CRFs and counterfactuals as :func:`zone_impacts`, whose zone totals are
    the sums of these rows (W6b: deaths are computed cell by cell); the equity mart sums them
    per income quintile.

    Parameters
    ----------
    cells, means, baseline, params
        As for :func:`zone_impacts`.

    Returns
    -------
    pandas.DataFrame
        The columns of ``health_impact_cell_year`` except ``year``; zones without a baseline
        are left out.
    """
    pieces = cells.merge(baseline, left_on="zone_id", right_index=True, how="inner")
    pieces = pieces.assign(pop_30p=pieces["population"] * pieces["area_fraction"] * pieces["share_old"])
    parts = []
    for pollutant in POLLUTANTS:
        values = means[means["pollutant"] == pollutant].set_index("cell_id")["value"]
        if values.empty:
            continue
        _, crf = crf_set(params, pollutant)
        value = pieces["cell_id"].map(values).to_numpy(dtype=float)
        for name, c0 in impact.counterfactuals(values.to_numpy(), fixed_counterfactuals(params, pollutant)).items():
            deaths = {column: impact.attributable_cases(pieces["pop_30p"], pieces["rate"], value, c0, rr,
                                                        crf.increment)
                      for column, rr in (("attributable_deaths", crf.rr), ("attributable_deaths_low", crf.rr_low),
                                         ("attributable_deaths_high", crf.rr_high))}
            parts.append(pd.DataFrame({
                "zone_id": pieces["zone_id"].to_numpy(), "cell_id": pieces["cell_id"].to_numpy(),
                "pollutant": pollutant, "counterfactual": name, "counterfactual_ug_m3": c0,
                "pop_30p": pieces["pop_30p"].to_numpy(), "value_ug_m3": value,
                **{column: np.nan_to_num(cases, nan=0.0) for column, cases in deaths.items()}}))
    if not parts:
        return _empty(CELL_DATASET).drop(columns="year")
    return pd.concat(parts, ignore_index=True)


def noise_band_effects(bands: pd.DataFrame, params: Mapping[str, str]) -> pd.DataFrame:
    """Return the ``noise_effect_bands`` rows of the distinct bands of ``noise_map_bands`` (pure).

    Parameters
    ----------
    bands : pandas.DataFrame
        ``indicator, source_type, db_low, db_high`` (other columns ignored); industry bands
        and unknown indicators have no curve and are left out.
    params : mapping of str to str
        The parameter register (``noise_erf_*``, ``noise_ihd_*``, ``noise_band_centre_offset_db``).

    Returns
    -------
    pandas.DataFrame
        One row per distinct band, columns of ``noise_effect_bands``.
    """
    keys = ["indicator", "source_type", "db_low", "db_high"]
    distinct = bands[keys].drop_duplicates().reset_index(drop=True)
    distinct = distinct[distinct["indicator"].isin(list(NOISE_EFFECTS))
                        & distinct["source_type"].isin(noise_effects.SOURCES)]
    offset = float(params["noise_band_centre_offset_db"])
    policy = params["noise_erf_outside_range"]
    parts = []
    for (indicator, source), group in distinct.groupby(["indicator", "source_type"], sort=True):
        curve = noise_effects.Curve.from_params(params, NOISE_EFFECTS[indicator], source)
        level = group["db_low"].to_numpy(dtype=float) + offset
        ihd = (noise_effects.rr_ihd(level, float(params["noise_ihd_rr_per_10db"]), float(params["noise_ihd_onset_db"]))
               if (indicator, source) == ("Lden", "road") else np.full(len(group), np.nan))
        parts.append(group.assign(
            level_db=level,
            effect="high_annoyance" if indicator == "Lden" else "high_sleep_disturbance",
            percent_affected=noise_effects.percent_affected(level, curve, policy),
            rr_ihd=ihd))
    if not parts:
        return _empty(NOISE_DATASET)
    out = pd.concat(parts, ignore_index=True)
    return out[list(COLUMNS[NOISE_DATASET])]


def _empty(dataset: str) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=EMPTY_DTYPES[col.type]) for name, col in COLUMNS[dataset].items()})


def annual_means(year: int, params: Mapping[str, str]) -> tuple[pd.DataFrame, str, str | None]:
    """Return the annual means per cell of ``year`` (``cell_id, pollutant, value, coverage``), source, time base.

    ``period_cell`` (H5) when its partition of the year holds year means, else the mean of the
    valid ``surface_daily`` day means of the year's days (EU statistics time base first).
    """
    partition = periods.partition_of(pm.year_period(year))
    if lake.has_partition("period_cell", partition):
        rows = lake.read_partition("period_cell", partition)
        rows = rows[(rows["period_kind"] == "year") & (rows["indicator"] == "mean")
                    & (rows["statistic"] == "day_mean") & rows["pollutant"].isin(list(POLLUTANTS))]
        if len(rows):
            rows = rows.drop_duplicates(["cell_id", "pollutant"])
            return (rows[["cell_id", "pollutant", "value", "coverage"]].reset_index(drop=True), "period_cell",
                    str(rows["time_base"].iloc[0]))
    days = list(pd.date_range(dt.date(year, 1, 1), dt.date(year, 12, 31), freq="D").date)
    daily = lake.read_days("surface_daily", days)
    if daily.empty:
        return pd.DataFrame(columns=["cell_id", "pollutant", "value", "coverage"]), "surface_daily", None
    daily = daily[(daily["statistic"] == "day_mean") & daily["pollutant"].isin(list(POLLUTANTS))]
    present = set(daily["time_base"])
    time_base = next((params[n] for n in ("eu_day_time_base", "day_time_base") if params.get(n) in present),
                     min(present) if present else None)
    valid = daily[(daily["time_base"] == time_base) & daily["is_valid"].astype(bool)]
    grouped = valid.groupby(["cell_id", "pollutant"])["value"].agg(["mean", "count"]).reset_index()
    means = pd.DataFrame({"cell_id": grouped["cell_id"], "pollutant": grouped["pollutant"], "value": grouped["mean"],
                          "coverage": grouped["count"] / len(days)})
    return means, "surface_daily", time_base


def _cells() -> pd.DataFrame:
    grid = lake.read_latest("grid_cells")[["cell_id", "population"]]
    zones = lake.read_latest("zone_cells")
    if "zone_level" in zones.columns:
        zones = zones[zones["zone_level"].fillna(ZONE_LEVEL) == ZONE_LEVEL]
    cells = zones[["zone_id", "cell_id", "area_fraction"]].merge(grid, on="cell_id", how="inner")
    return cells.assign(population=cells["population"].fillna(0.0))


INPUTS_RECORD = "inputs.json"


def _stamp(path: Path) -> list:
    """``path`` under the lake, its size, modification time and inode (a replaced lake file has a new inode)."""
    stamp = lake.file_stamp(path)
    return [path.relative_to(settings().lake).as_posix(), *(stamp or [None])]


def _inputs_key(year: int, params: Mapping[str, str]) -> str:
    """SHA-256 of what the rows of ``year`` are computed from: parameters, this code, the lake files it reads."""
    digest = hashlib.sha256(json.dumps(sorted(params.items())).encode())
    for module in (__file__, impact.__file__):
        digest.update(Path(module).read_bytes())
    files = [p.path for p in lake.parts("period_cell", partition=periods.partition_of(pm.year_period(year)))]
    if not files:
        files = [lake.partition_path("surface_daily", lake.date_partition(day)) for day in
                 pd.date_range(dt.date(year, 1, 1), dt.date(year, 12, 31), freq="D").date]
    files += [p.path for dataset in ("baseline_mortality", "life_table", "grid_cells", "zone_cells")
              for p in lake.latest_parts(dataset)]
    digest.update(json.dumps([_stamp(path) for path in files]).encode())
    return digest.hexdigest()


def _output_stamps(partition: str) -> list:
    return [_stamp(lake.partition_path(dataset, partition)) for dataset in (IMPACT_DATASET, CELL_DATASET)]


def build_health_year(year: int, params: Mapping[str, str]) -> int:
    """Write the ``health_impact_zone_year`` partition of ``year``; return its rows (0: no data, nothing written).

    The year is not recomputed when neither its inputs (:func:`_inputs_key`) nor its written
    partitions changed since the last computation (``inputs.json`` beside the partition): the
    daily run, which asks for the previous year every day, recomputes it only when one did.
    """
    partition = lake.date_partition(dt.date(year, 1, 1))
    record = lake.partition_path(IMPACT_DATASET, partition).with_name(INPUTS_RECORD)
    inputs = _inputs_key(year, params)
    recorded = json.loads(record.read_text(encoding="utf-8")) if record.exists() else {}
    if recorded.get("inputs") == inputs and recorded.get("outputs") == _output_stamps(partition):
        return int(recorded["rows"])
    rows = _compute_health_year(year, partition, params)
    lake.write_bytes_atomic(record, json.dumps({"inputs": inputs, "outputs": _output_stamps(partition),
                                                "rows": rows}).encode())
    return rows


def _compute_health_year(year: int, partition: str, params: Mapping[str, str]) -> int:
    means, source, time_base = annual_means(year, params)
    minimum = float(params["health_min_year_coverage"])
    means = means[means["coverage"] >= minimum]
    rows, cell_rows = pd.DataFrame(), pd.DataFrame()
    if means.empty:
        log.info("health: no annual mean for %d covering %.0f %% of its days (period_cell or surface_daily)",
                 year, 100 * minimum)
    elif lake.latest_partition("baseline_mortality") is None:
        log.warning("health: no baseline_mortality in the lake (source insee_deces_zone)")
    else:
        mortality, min_age = lake.read_latest("baseline_mortality"), int(params["crf_longterm_min_age"])
        baseline = baseline_by_zone(mortality, year, min_age)
        if lake.latest_partition("life_table") is None:
            log.warning("health: no life_table in the lake (source insee_tables_mortalite), no years of life lost")
        else:
            baseline = baseline.join(yll_per_death(mortality, lake.read_latest("life_table"), year, min_age))
        cells = _cells()
        rows = zone_impacts(cells, means, baseline, params)
        cell_rows = cell_impacts(cells, means, baseline, params)
    if rows.empty:
        for dataset in (IMPACT_DATASET, CELL_DATASET):
            if lake.has_partition(dataset, partition):  # an earlier run's rows of the year are no longer valid
                lake.write_partition(dataset, partition, _empty(dataset))
        return 0
    cell_rows = cell_rows.assign(year=year)[list(COLUMNS[CELL_DATASET])].astype({"year": "int32"})
    lake.write_partition_if_changed(CELL_DATASET, partition, cell_rows)
    rows = rows.assign(year=year, exposure_source=source, time_base=time_base)
    frame = rows[list(COLUMNS[IMPACT_DATASET])].astype({"year": "int32", "baseline_year": "int32", "n_cells": "int64",
                                                        "life_table_zone": "string", "life_table_year": "Int32",
                                                        "yll_per_death": "float64"})
    lake.write_partition_if_changed(IMPACT_DATASET, partition, frame)
    return len(frame)


def build_health_years(first_year: int, last_year: int) -> dict[str, int]:
    """Attributable deaths of the calendar years ``first_year`` … ``last_year`` and the noise band effects (backfill).

    Parameters
    ----------
    first_year, last_year : int
        Calendar years, both included.

    Returns
    -------
    dict of str to int
        Rows written per lake dataset.
    """
    params = register.parameters()
    counts = {IMPACT_DATASET: sum(build_health_year(year, params) for year in range(first_year, last_year + 1))}
    if lake.latest_partition("noise_map_bands") is not None:
        bands = noise_band_effects(lake.read_latest("noise_map_bands"), params)
        lake.write_partition_if_changed(NOISE_DATASET, NOISE_PARTITION, bands)  # a reference: kept when unchanged
        counts[NOISE_DATASET] = len(bands)
    return counts


def build_health(day: dt.date) -> dict[str, int]:
    """Attributable deaths of the year holding ``day`` and of the year before, and the noise band effects.

    Parameters
    ----------
    day : datetime.date
        Local day of the run (Europe/Paris).

    Returns
    -------
    dict of str to int
        Rows written per lake dataset.
    """
    return build_health_years(day.year - 1, day.year)
