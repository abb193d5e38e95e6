"""The lake datasets the SQL models read, with their columns (docs/architecture.md).

A dataset absent from the lake (no noise data yet, no alerts yet) gets an empty ``lake``
view with exactly these columns, so every model still builds and its mart is empty. A
dataset present in the lake must have at least these columns: the build fails naming the
dataset and the partition file otherwise. Types are DuckDB type names; units and
definitions are in docs/architecture.md and in the staging sidecars ``sql/staging/*.yml``.
"""

from __future__ import annotations

from dataclasses import dataclass

V, D, B, INT, DATE, TS = "VARCHAR", "DOUBLE", "BOOLEAN", "BIGINT", "DATE", "TIMESTAMPTZ"


@dataclass(frozen=True)
class DatasetSchema:
    """Columns of one lake dataset. ``partition`` is the hive key: ``date`` or ``vintage``."""

    partition: str
    columns: dict[str, str]

    def view_columns(self) -> dict[str, str]:
        """Columns of the ``lake`` view: the file columns, the partition columns, the producer's rank."""
        hive = {"date": DATE, "partition_date": DATE} if self.partition == "date" else {"vintage": V}
        ranked = {"source_rank": "INTEGER"} if "source" in self.columns else {}
        return {**self.columns, **{k: t for k, t in {**hive, **ranked}.items() if k not in self.columns}}


def _daily(**columns: str) -> DatasetSchema:
    return DatasetSchema("date", columns)


def _reference(**columns: str) -> DatasetSchema:
    return DatasetSchema("vintage", columns)


_POPULATION = dict(population=D, pop_0_3=D, pop_4_5=D, pop_0_5=D, pop_65_79=D, pop_80p=D, pop_65p=D,
                   households=D, households_poor=D, pop_poor_households=D)

# datasets several sources feed (the [datasets] of the source registry): the lake view names each row's
# producer and its rank in the dataset's overlap rule (0 wins; spse.pipeline.canonical)
_PRODUCER = dict(source=V)

_PERIOD = dict(pollutant=V, period=V, period_kind=V, period_start=DATE, period_end=DATE, time_base=V, indicator=V,
               statistic=V, q=D, set_id=V, level=V, averaging=V, threshold_value=D, allowed_exceedances=D, value=D,
               unit=V, n_valid=INT, n_expected=INT, coverage=D, coverage_met=B, judged_by=V, judged_value=D,
               compliance=V)

EMPTY_SCHEMAS: dict[str, DatasetSchema] = {
    "air_hourly": _daily(
        station_id=V, station_name=V, organisation=V, zas_code=V, area_type=V, influence=V, station_class=V,
        pollutant=V, discriminant=V, procedure=V, is_regulatory=B, ts_start_utc=TS, ts_end_utc=TS, value=D,
        value_raw=D, unit=V, value_type=V, quality_code=V, validity=V, is_valid=B, source_file=V, source_row=INT,
        **_PRODUCER),
    "air_stations": _reference(station_id=V, station_name=V, department=V, lon=D, lat=D, **_PRODUCER),
    "noise_hourly": _daily(site_id=V, site_name=V, lon=D, lat=D, ts_start_utc=TS, ts_end_utc=TS, laeq_dba=D,
                           coverage=D, is_valid=B, **_PRODUCER),
    "noise_map_bands": _reference(band_id=V, indicator=V, source_type=V, db_low=D, db_high=D, label=V,
                                  geometry_wkt=V),
    "population": _reference(cell_id=V, x_3035=D, y_3035=D, **_POPULATION, is_imputed=B, **_PRODUCER),
    "zones": _reference(zone_id=V, zone_name=V, zone_label=V, zone_level=V, area_m2=D, geometry_wkt=V, **_PRODUCER),
    # optional sources iris_contours and paris_quartiers: the finer zone levels, nested in the arrondissements
    "zones_iris": _reference(zone_id=V, zone_name=V, zone_label=V, zone_level=V, area_m2=D, geometry_wkt=V,
                             parent_zone_id=V, geometry_repaired=B),
    "zones_quartiers": _reference(zone_id=V, zone_name=V, zone_label=V, zone_level=V, area_m2=D, geometry_wkt=V,
                                  parent_zone_id=V, geometry_repaired=B),
    "facilities": _reference(facility_id=V, category=V, name=V, address=V, zone_id=V, lon=D, lat=D, dataset_id=V,
                             school_year=V, **_PRODUCER),
    "grid_cells": _reference(cell_id=V, x_3035=D, y_3035=D, cx_3035=D, cy_3035=D, lon=D, lat=D, **_POPULATION),
    # zone_level (arrondissement, iris, quartier) is not required here: partitions written before the
    # finer levels lack it and hold arrondissements only (sql/staging/stg_zone_cells.sql)
    "zone_cells": _reference(zone_id=V, cell_id=V, area_fraction=D),
    "facility_cells": _reference(facility_id=V, cell_id=V),
    "station_cells": _reference(station_id=V, cell_id=V, x_3035=D, y_3035=D),
    "noise_band_cells": _reference(band_id=V, cell_id=V, area_fraction=D),
    "surface_daily": _daily(cell_id=V, date=DATE, pollutant=V, statistic=V, value=D, n_valid=INT, n_expected=INT,
                            coverage=D, is_valid=B, time_base=V),
    "station_daily": _daily(station_id=V, station_class=V, date=DATE, pollutant=V, statistic=V, value=D, n_valid=INT,
                            n_expected=INT, coverage=D, is_valid=B, time_base=V),
    "surface_validation": _daily(date=DATE, pollutant=V, statistic=V, n_stations=INT, loo_rmse=D, loo_bias=D,
                                 method=V),
    # written by spse.methods.forecast (CAMS regridded to the cells); partition date = the run day J
    "forecast_cell_daily": _daily(cell_id=V, date=DATE, pollutant=V, statistic=V, value=D, n_valid=INT,
                                  n_expected=INT, coverage=D, is_valid=B, time_base=V, base_time_utc=TS,
                                  lead_day=INT),
    "noise_station_daily": _daily(site_id=V, date=DATE, ld_dba=D, le_dba=D, ln_dba=D, lden_dba=D, n_valid_hours=INT,
                                  is_valid=B),
    # written by spse.pipeline.periods; partition date = the first day of the periods it holds
    "period_cell": _daily(cell_id=V, **_PERIOD),
    "period_station": _daily(station_id=V, station_class=V, **_PERIOD),
    # source insee_deces_zone (baseline mortality); derived by spse.pipeline.health (partition date = 1 January)
    "baseline_mortality": _reference(year=INT, zone_id=V, zone_name=V, age_min=INT, age_max=INT, deaths=D,
                                     population=D),
    # source insee_tables_mortalite (life tables, for the years of life lost of spse.pipeline.health)
    "life_table": _reference(year=INT, zone_id=V, zone_name=V, sex=V, age=INT, qx=D, ex=D),
    # source ihd_incidence_zone (IHD incidence, for the noise IHD cases of marts.noise_zone_effects)
    "ihd_incidence": _reference(year=INT, zone_id=V, zone_name=V, cases=D, population=D),
    "health_impact_zone_year": _daily(
        zone_id=V, year=INT, pollutant=V, counterfactual=V, counterfactual_ug_m3=D, crf_set=V, rr=D, rr_low=D,
        rr_high=D, pop_30p=D, pop_30p_without_value=D, pwm_ug_m3=D, baseline_year=INT, baseline_rate_30p=D,
        baseline_deaths_30p=D, attributable_deaths=D, attributable_deaths_low=D, attributable_deaths_high=D,
        share_of_deaths=D, yll_per_death=D, years_of_life_lost=D, years_of_life_lost_low=D,
        years_of_life_lost_high=D, life_table_zone=V, life_table_year=INT, exposure_source=V, time_base=V,
        min_coverage=D, n_cells=INT),
    "health_impact_cell_year": _daily(
        zone_id=V, cell_id=V, year=INT, pollutant=V, counterfactual=V, counterfactual_ug_m3=D, pop_30p=D,
        value_ug_m3=D, attributable_deaths=D, attributable_deaths_low=D, attributable_deaths_high=D),
    "noise_effect_bands": _reference(indicator=V, source_type=V, db_low=D, db_high=D, level_db=D, effect=V,
                                     percent_affected=D, rr_ihd=D),
    "alerts": _daily(
        alert_id=V, date=DATE, kind=V, pollutant=V, level=V, set_id=V, averaging=V, threshold_value=D, unit=V,
        value_max=D, basis=V, station_ids=V, zone_ids=V, zone_names=V, n_cells=INT, area_km2=D, population_total=D,
        pop_0_5=D, pop_65p=D, pop_poor_households=D, facility_count=INT, facility_ids=V, facilities_by_category=V,
        recommendation=V, status=V, episode_start_date=DATE, meets_episode_criteria=B, triggered_by=V,
        time_base=V),
}
