with zone_cells as (
    select * from intermediate.int_zone_cells_allocated
    where zone_level in ('commune', 'arrondissement')
),

cells as (
    select * from intermediate.int_cell_income_ranked
),

annual_means as (
    select * from intermediate.int_cell_annual_means_filtered
    where pollutant in ('PM2.5', 'NO2')
),

cell_noise as (
    select * from intermediate.int_multiexposure_cell_noise
),

cutoffs as (
    select * from intermediate.int_exposure_class_cutoffs
),

cell_deaths as (
    select * from intermediate.int_health_impact_cells_ranked
),

deaths as (
    select
        zone_id,
        zone_level,
        calendar_year,
        pollutant as indicator,
        income_quintile,
        sum(pop_30p) as pop_30p,
        sum(attributable_deaths) as attributable_deaths,
        sum(attributable_deaths_low) as attributable_deaths_low,
        sum(attributable_deaths_high) as attributable_deaths_high
    from cell_deaths
    group by zone_level, zone_id, calendar_year, pollutant, income_quintile
),

years as (
    select distinct
        calendar_year,
        time_base
    from annual_means
),

air_pieces as (
    -- a cell piece of the zone with its annual mean; above = strictly above the class-1 (WHO) and
    -- class-2 (EU 2030 limit) cut-offs of the pollutant's year_mean
    select
        zone_cells.zone_id,
        zone_cells.zone_level,
        annual_means.calendar_year,
        annual_means.time_base,
        annual_means.pollutant as indicator,
        'µg/m³' as unit,
        zone_cells.cell_id,
        zone_cells.area_fraction,
        zone_cells.population,
        annual_means.value_ug_m3 as exposure,
        guideline.threshold_value as guideline_value,
        limit_value.threshold_value as limit_value,
        annual_means.value_ug_m3 > guideline.threshold_value as above_guideline,
        annual_means.value_ug_m3 > limit_value.threshold_value as above_limit
    from zone_cells
    inner join annual_means on zone_cells.cell_id = annual_means.cell_id
    left join cutoffs as guideline
        on
            guideline.kind = 'air' and guideline.averaging = 'year_mean' and guideline.rung = 1
            and annual_means.pollutant = guideline.pollutant
    left join cutoffs as limit_value
        on
            limit_value.kind = 'air' and limit_value.averaging = 'year_mean' and limit_value.rung = 2
            and annual_means.pollutant = limit_value.pollutant
),

noise_pieces as (
    -- the road Lden of the noise map, a yearly reference repeated for each year with annual means;
    -- the residents below the lowest mapped band have no level (exposure NULL)
    select
        zone_cells.zone_id,
        zone_cells.zone_level,
        years.calendar_year,
        years.time_base,
        'Lden_' || guideline.noise_source as indicator,
        'dB(A)' as unit,
        zone_cells.cell_id,
        zone_cells.area_fraction,
        zone_cells.population * cell_noise.noise_share as population,
        cell_noise.mean_level_db as exposure,
        guideline.threshold_value as guideline_value,
        limit_value.threshold_value as limit_value,
        cell_noise.noise_class >= 1 as above_guideline,
        cell_noise.noise_class >= 2 as above_limit
    from zone_cells
    inner join cell_noise on zone_cells.cell_id = cell_noise.cell_id
    cross join years
    left join cutoffs as guideline on guideline.kind = 'noise' and guideline.rung = 1
    left join cutoffs as limit_value on limit_value.kind = 'noise' and limit_value.rung = 2
),

pieces as (
    select * from air_pieces
    union all
    select * from noise_pieces
),

by_quintile as (
    select
        pieces.zone_id,
        pieces.zone_level,
        pieces.calendar_year,
        pieces.time_base,
        pieces.indicator,
        any_value(pieces.unit) as unit,
        coalesce(cells.income_quintile, 0) as income_quintile,
        sum(pieces.population) as population,
        sum(pieces.population) filter (where pieces.exposure is not null) as population_with_value,
        sum(pieces.population * pieces.exposure) as pop_exposure_sum,
        any_value(pieces.guideline_value) as guideline_value,
        coalesce(sum(pieces.population) filter (where pieces.above_guideline), 0) as pop_above_guideline,
        any_value(pieces.limit_value) as limit_value,
        coalesce(sum(pieces.population) filter (where pieces.above_limit), 0) as pop_above_limit,
        sum(pieces.population * cells.standard_of_living) filter (where cells.standard_of_living is not null)
        / nullif(sum(pieces.population) filter (where cells.standard_of_living is not null), 0)
            as standard_of_living_mean
    from pieces
    left join cells on pieces.cell_id = cells.cell_id
    group by
        pieces.zone_level, pieces.zone_id, pieces.calendar_year, pieces.time_base, pieces.indicator,
        coalesce(cells.income_quintile, 0)
),

households as (
    -- households are counted once per cell piece of the zone, whatever the indicator
    select
        zone_cells.zone_id,
        zone_cells.zone_level,
        coalesce(cells.income_quintile, 0) as income_quintile,
        sum(cells.households * zone_cells.area_fraction) as households,
        sum(cells.households_poor * zone_cells.area_fraction) as households_poor,
        sum(zone_cells.pop_0_5) as pop_0_5,
        sum(zone_cells.pop_65p) as pop_65p
    from zone_cells
    left join cells on zone_cells.cell_id = cells.cell_id
    group by zone_cells.zone_level, zone_cells.zone_id, coalesce(cells.income_quintile, 0)
),

measured as (
    select
        by_quintile.*,
        by_quintile.pop_exposure_sum / nullif(by_quintile.population_with_value, 0) as pop_weighted_mean,
        by_quintile.pop_above_guideline / nullif(by_quintile.population, 0) as share_above_guideline,
        by_quintile.pop_above_limit / nullif(by_quintile.population, 0) as share_above_limit
    from by_quintile
    where by_quintile.income_quintile > 0 or by_quintile.population > 0
),

gaps as (
    select
        zone_id,
        zone_level,
        calendar_year,
        time_base,
        indicator,
        any_value(pop_weighted_mean) filter (where income_quintile = 1) as pwm_q1,
        any_value(pop_weighted_mean) filter (where income_quintile = 5) as pwm_q5,
        any_value(share_above_guideline) filter (where income_quintile = 1) as share_q1,
        any_value(share_above_guideline) filter (where income_quintile = 5) as share_q5
    from measured
    group by zone_level, zone_id, calendar_year, time_base, indicator
),

names as (
    select distinct
        zone_id,
        zone_level,
        zone_name
    from zone_cells
),

final as (
    select
        measured.zone_id,
        measured.zone_level,
        names.zone_name,
        measured.calendar_year,
        measured.time_base,
        measured.indicator,
        measured.unit,
        measured.income_quintile,
        measured.standard_of_living_mean,
        measured.population,
        measured.population_with_value,
        measured.pop_weighted_mean,
        measured.guideline_value,
        measured.pop_above_guideline,
        measured.share_above_guideline,
        measured.limit_value,
        measured.pop_above_limit,
        measured.share_above_limit,
        households.pop_0_5,
        households.pop_65p,
        households.households,
        households.households_poor,
        households.households_poor / nullif(households.households, 0) as poverty_share,
        deaths.pop_30p,
        deaths.attributable_deaths,
        deaths.attributable_deaths_low,
        deaths.attributable_deaths_high,
        1e5 * deaths.attributable_deaths / nullif(deaths.pop_30p, 0) as attributable_deaths_per_100k_30p,
        gaps.pwm_q1 / nullif(gaps.pwm_q5, 0) as pwm_ratio_q1_q5,
        gaps.pwm_q1 - gaps.pwm_q5 as pwm_difference_q1_q5,
        gaps.share_q1 / nullif(gaps.share_q5, 0) as share_above_guideline_ratio_q1_q5,
        gaps.share_q1 - gaps.share_q5 as share_above_guideline_difference_q1_q5
    from measured
    inner join names
        on
            measured.zone_level = names.zone_level
            and measured.zone_id = names.zone_id
    inner join gaps
        on
            measured.zone_level = gaps.zone_level
            and measured.zone_id = gaps.zone_id
            and measured.calendar_year = gaps.calendar_year
            and measured.time_base = gaps.time_base
            and measured.indicator = gaps.indicator
    left join households
        on
            measured.zone_level = households.zone_level
            and measured.zone_id = households.zone_id
            and measured.income_quintile = households.income_quintile
    left join deaths
        on
            measured.zone_level = deaths.zone_level
            and measured.zone_id = deaths.zone_id
            and measured.calendar_year = deaths.calendar_year
            and measured.indicator = deaths.indicator
            and measured.income_quintile = deaths.income_quintile
)

select * from final
