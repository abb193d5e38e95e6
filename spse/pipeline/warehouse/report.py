"""The queries the daily reports share, on the published warehouse.

The end-of-run summary (``spse summary``), the alert listing (``spse alerts``) and the
bulletin (:mod:`spse.pipeline.bulletin`) read the warehouse through these functions: one function per
question, each taking an open read-only connection (:func:`spse.pipeline.warehouse.connect_readonly`),
so that one report reads one published file. Days are local calendar days (Europe/Paris, the
register's ``day_time_base``); figures are µg/m³ (methods.md §3, §6.1). Presentation (French
text, rounding, column labels) stays with the callers.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from spse.core import register
from spse.pipeline.warehouse import models
from spse.pipeline.warehouse.reader import fetch_frame

KEY_INDICATORS_MART = "zone_key_indicators_daily"
KEY_INDICATORS = ("pm10_day_mean_ug_m3", "pm25_day_mean_ug_m3", "no2_day_max_1h_ug_m3", "o3_day_max_8h_mean_ug_m3")
# (pollutant, daily statistic) of each key indicator, in the order of KEY_INDICATORS.
KEY_STATISTICS = (("PM10", "day_mean"), ("PM2.5", "day_mean"), ("NO2", "day_max_1h"), ("O3", "day_max_8h_mean"))
REPORT_ZONE_LEVELS = ("arrondissement", "commune")
# Ordering of alert rows within a kind and a pollutant: by threshold (the lower level first,
# the bulletin's order) or by the level's name (the command line's order).
BY_THRESHOLD = "pollutant, threshold_value, level"
BY_LEVEL = "pollutant, level"
# The three kinds of alert, most binding first (spse.pipeline.alerts.kinds), then the rest.
BY_TYPE = ("case alert_type when 'regulatory_episode' then 0 when 'local_exceedance' then 1 "
           "when 'health_advisory' then 2 else 3 end")


def key_indicators(con: duckdb.DuckDBPyConnection, day: dt.date) -> pd.DataFrame:
    """Key exposure indicators of local day ``day`` per arrondissement and for Paris.

    The rows of the mart ``marts.zone_key_indicators_daily`` for ``day``, evaluated from its
    definition (``sql/marts/zone_key_indicators_daily.sql``) over ``marts.exposure_zone_daily``:
    one definition for the mart experts query and for the reports, which thus also read a
    warehouse built before that mart existed. That definition reads only the zone, day,
    pollutant, statistic, time base, population and ``pop_weighted_mean_ug_m3`` columns.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Read-only connection to the published warehouse.
    day : datetime.date
        Local calendar day (Europe/Paris).

    Returns
    -------
    pandas.DataFrame
        One row per zone of level arrondissement or commune (Paris, ``75056``), ordered by
        ``zone_id``: ``zone_id``, ``zone_name``, ``zone_level``, the population-weighted PM10
        and PM2.5 daily means, NO2 daily maximum hourly value and O3 daily maximum 8-hour mean
        (``KEY_INDICATORS``, µg/m³, NULL when invalid; methods.md §6.1) and ``population``
        (residents allocated to the zone).
    """
    columns = ", ".join(("zone_id", "zone_name", "zone_level", *KEY_INDICATORS, "population"))
    return fetch_frame(con, f"select {columns} from ({_definition(KEY_INDICATORS_MART)}) as key_indicators "
                            "where date = ? and zone_level in (select unnest(?::varchar[])) order by zone_id",
                       [day, list(REPORT_ZONE_LEVELS)])


def key_indicators_between(con: duckdb.DuckDBPyConnection, first: dt.date, last: dt.date) -> pd.DataFrame:
    """Key exposure indicators per arrondissement and for Paris over the local days ``first`` … ``last``.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Read-only connection to the published warehouse.
    first, last : datetime.date
        First and last local calendar days (Europe/Paris), both included.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`key_indicators` and ``date``, one row per zone and day present,
        ordered by ``zone_id`` then ``date`` (µg/m³, methods.md §6.1).
    """
    columns = ", ".join(("zone_id", "zone_name", "zone_level", "date", *KEY_INDICATORS, "population"))
    return fetch_frame(con, f"select {columns} from ({_definition(KEY_INDICATORS_MART)}) as key_indicators "
                            "where date between ? and ? and zone_level in (select unnest(?::varchar[])) "
                            "order by zone_id, date", [first, last, list(REPORT_ZONE_LEVELS)])


def cell_values(con: duckdb.DuckDBPyConnection, day: dt.date) -> pd.DataFrame:
    """The 200 m cell values of local day ``day`` of the key indicators (``marts.exposure_cell_daily``).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Read-only connection to the published warehouse.
    day : datetime.date
        Local calendar day, in the register's ``day_time_base`` (Europe/Paris).

    Returns
    -------
    pandas.DataFrame
        ``cell_id`` (INSPIRE id, south-west corner in EPSG:3035), ``pollutant``, ``statistic``,
        ``value_ug_m3`` (µg/m³, NULL when the coverage rule is not met; methods.md §6.4) for the
        pollutant and statistic pairs of :data:`KEY_STATISTICS`.
    """
    pairs = [f"{p}|{s}" for p, s in KEY_STATISTICS]
    return fetch_frame(con, "select cell_id, pollutant, statistic, value_ug_m3 from marts.exposure_cell_daily "
                            "where date = ? and time_base = ? and pollutant || '|' || statistic in "
                            "(select unnest(?::varchar[])) order by pollutant, statistic, cell_id",
                       [day, register.parameters().text("day_time_base"), pairs])


def facility_points(con: duckdb.DuckDBPyConnection, ids: list[str]) -> pd.DataFrame:
    """Position of the sensitive facilities ``ids`` (``lake.facilities``, WGS84 lon/lat, degrees).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Read-only connection to the published warehouse.
    ids : list of str
        Facility ids (``marts.alerts.facilities`` entries).

    Returns
    -------
    pandas.DataFrame
        ``facility_id``, ``category``, ``name``, ``lon``, ``lat`` of the facilities found with a position.
    """
    return fetch_frame(con, "select distinct facility_id, category, name, lon, lat from lake.facilities "
                            "where facility_id in (select unnest(?::varchar[])) and lon is not null "
                            "and lat is not null order by facility_id", [ids])


def day_alerts(con: duckdb.DuckDBPyConnection, day: dt.date, *, forecast: bool = False,
               order: str = BY_THRESHOLD) -> pd.DataFrame:
    """The rows of ``marts.alerts`` about local day ``day``, by kind, type (regulatory episode first), then ``order``.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Read-only connection to the published warehouse.
    day : datetime.date
        Local calendar day (Europe/Paris).
    forecast : bool
        Also the forecast rows dated ``day`` (issued by the runs of the days before);
        otherwise only the observed (``air_quality``) and ``data_quality`` rows.
    order : str
        :data:`BY_THRESHOLD` or :data:`BY_LEVEL`.

    Returns
    -------
    pandas.DataFrame
        Every column of ``marts.alerts``.
    """
    kinds = "" if forecast else "and kind <> 'forecast' "
    return fetch_frame(con, f"select * from marts.alerts where date = ? {kinds}order by kind, {BY_TYPE}, "
                       f"{_order(order)}",
                       [day])


def forecast_alerts(con: duckdb.DuckDBPyConnection, day: dt.date, *, order: str = BY_THRESHOLD) -> pd.DataFrame:
    """The forecast alerts the run reporting on ``day`` raised for the two following days (J and J+1).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Read-only connection to the published warehouse.
    day : datetime.date
        Observed local day (Europe/Paris) the run reports on.
    order : str
        :data:`BY_THRESHOLD` or :data:`BY_LEVEL`, after the forecast day.

    Returns
    -------
    pandas.DataFrame
        Rows of ``marts.alerts`` of kind ``forecast`` dated ``day`` + 1 or ``day`` + 2
        (CAMS forecast, and persistence rules), by date, type, then ``order``.
    """
    return fetch_frame(con, f"select * from marts.alerts where kind = 'forecast' and date in (?, ?) "
                            f"order by date, {BY_TYPE}, {_order(order)}",
                       [day + dt.timedelta(days=1), day + dt.timedelta(days=2)])


def lacking(con: duckdb.DuckDBPyConnection, day: dt.date) -> list[str]:
    """What the figures of local day ``day`` lack, in plain French, one line per problem.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Read-only connection to the published warehouse.
    day : datetime.date
        Local calendar day (Europe/Paris).

    Returns
    -------
    list of str
        :func:`spse.pipeline.alerts.quality.lacking_lines` of the day's ``data_quality`` alerts; empty
        when nothing is lacking.
    """
    from spse.pipeline.alerts.quality import lacking_lines

    rows = fetch_frame(con, f"select * from marts.alerts where date = ? and kind = 'data_quality' "
                            f"order by {BY_THRESHOLD}", [day])
    return lacking_lines(rows)


PARIS = "75056"
YEAR_POLLUTANTS = ("NO2", "PM10", "PM2.5", "O3")


def year_figures(con: duckdb.DuckDBPyConnection, year: int) -> dict[str, pd.DataFrame]:
    """The year's figures for Paris (zone 75056) that the summary prints under the day's.

    Returns
    -------
    dict of DataFrame
        ``exposure``: per pollutant, the population-weighted annual mean of the daily means
        [µg/m³], the share of the population whose cells meet the annual coverage rule, and the
        residents above the WHO 2021 annual guideline (``marts.exposure_zone_period``);
        ``alerts``: days with an observed alert per alert type and pollutant (``marts.alerts``);
        ``health``: deaths at ages 30+ attributable to PM2.5 and NO2 above the WHO 2021
        guideline, with the 95 % interval (``marts.health_impact_zone_year``). Empty frames
        when the warehouse holds no such rows (a history without that year) or not the mart.
    """
    present = set(fetch_frame(con, "select table_name from duckdb_tables() where schema_name = 'marts'")["table_name"])
    empty = pd.DataFrame()
    if "exposure_zone_period" not in present:
        return {"exposure": empty, "alerts": empty, "health": empty}
    exposure = fetch_frame(con, """
        select m.pollutant, m.pop_weighted_mean as mean_ug_m3, m.population_coverage_met / nullif(m.population, 0)
               as share_covered, g.threshold_value as who_annual_ug_m3, g.pop_total_above as above_who_annual
        from marts.exposure_zone_period as m
        left join marts.exposure_zone_period as g
            on g.zone_id = m.zone_id and g.pollutant = m.pollutant and g.period = m.period
            and g.set_id = 'WHO_2021' and g.averaging = 'year_mean' and g.indicator = 'mean_vs_threshold'
        where m.zone_id = ? and m.period = ? and m.indicator = 'mean' and m.statistic = 'day_mean'
        order by m.pollutant""", [PARIS, str(year)])
    exposure = exposure[exposure["pollutant"].isin(YEAR_POLLUTANTS)].drop_duplicates("pollutant")
    alerts = fetch_frame(con, """
        select alert_type, pollutant, count(distinct date) as days
        from marts.alerts
        where kind = 'air_quality' and status <> 'closed' and year(date) = ?
        group by all order by alert_type, pollutant""", [year])
    if "health_impact_zone_year" not in present:
        return {"exposure": exposure, "alerts": alerts, "health": empty}
    health = fetch_frame(con, """
        select pollutant, attributable_deaths, attributable_deaths_low, attributable_deaths_high, share_of_deaths,
            years_of_life_lost, years_of_life_lost_low, years_of_life_lost_high
        from marts.health_impact_zone_year
        where zone_id = ? and calendar_year = ? and counterfactual = 'who_2021'
        order by pollutant desc""", [PARIS, year])
    return {"exposure": exposure, "alerts": alerts, "health": health}


def facility_names(con: duckdb.DuckDBPyConnection, ids: list[str]) -> pd.DataFrame:
    """Category and name of the sensitive facilities ``ids``, the most sensitive publics first.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Read-only connection to the published warehouse.
    ids : list of str
        Facility ids (``marts.alerts.facility_ids`` split on commas).

    Returns
    -------
    pandas.DataFrame
        Distinct ``category``, ``name`` from ``marts.facility_exposure_daily``, most
        sensitive first (register ``facility_sensitivity_order``), then by name.
    """
    return fetch_frame(con, "select distinct category, name from marts.facility_exposure_daily "
                            "where facility_id in (select unnest(?::varchar[])) "
                            "order by list_position(?::varchar[], category), name",
                       [ids, register.parameters().words("facility_sensitivity_order")])


def _definition(mart: str) -> str:
    """The ``select`` of ``sql/marts/<mart>.sql``."""
    return models.Model("marts", mart, models.sql_dir() / "marts" / f"{mart}.sql").select()


def _order(order: str) -> str:
    if order not in (BY_THRESHOLD, BY_LEVEL):
        raise ValueError(f"alert order must be report.BY_THRESHOLD or report.BY_LEVEL, got {order!r}")
    return order
