with zone_cells as (
    select * from intermediate.int_zone_cells_allocated
),

forecast_cells as (
    select * from intermediate.int_forecast_cells_compared
),

allocated as (
    select
        zone_cells.zone_id,
        zone_cells.zone_level,
        zone_cells.zone_name,
        zone_cells.parent_zone_id,
        zone_cells.population,
        zone_cells.pop_0_5,
        zone_cells.pop_65p,
        forecast_cells.*
    from zone_cells
    inner join forecast_cells
        on zone_cells.cell_id = forecast_cells.cell_id
),

aggregated as (
    select
        zone_id,
        zone_level,
        any_value(zone_name) as zone_name,
        any_value(parent_zone_id) as parent_zone_id,
        date,
        lead_day,
        any_value(run_date) as run_date,
        any_value(base_time_utc) as base_time_utc,
        pollutant,
        statistic,
        time_base,
        any_value(unit) as unit,
        any_value(information_threshold) as information_threshold,
        sum(population) as population,
        coalesce(sum(population) filter (where is_valid), 0) as population_valid,
        sum(population * value) filter (where is_valid) as pop_weighted_sum,
        max(value) filter (where is_valid) as max_cell_value,
        coalesce(sum(population) filter (where is_above_information), 0) as pop_above_information,
        coalesce(sum(pop_0_5) filter (where is_above_information), 0) as pop_0_5_above_information,
        coalesce(sum(pop_65p) filter (where is_above_information), 0) as pop_65p_above_information,
        count(*) as n_cells,
        count(*) filter (where is_valid) as n_cells_valid
    from allocated
    group by zone_level, zone_id, date, lead_day, pollutant, statistic, time_base
),

final as (
    select
        zone_id,
        zone_level,
        zone_name,
        parent_zone_id,
        date,
        lead_day,
        run_date,
        base_time_utc,
        pollutant,
        statistic,
        time_base,
        unit,
        population,
        population_valid,
        pop_weighted_sum / nullif(population_valid, 0) as pop_weighted_mean,
        pop_weighted_sum,
        population_valid / nullif(population, 0) as share_population_valid,
        max_cell_value,
        information_threshold,
        -- no information threshold for this pollutant and statistic: nothing to count
        case when information_threshold is not null then pop_above_information end as pop_above_information,
        case when information_threshold is not null then pop_0_5_above_information end as pop_0_5_above_information,
        case when information_threshold is not null then pop_65p_above_information end as pop_65p_above_information,
        case
            when information_threshold is not null then pop_above_information / nullif(population, 0)
        end as share_above_information,
        n_cells,
        n_cells_valid
    from aggregated
)

select * from final
