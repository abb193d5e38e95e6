with zone_cells as (
    select * from intermediate.int_zone_cells_allocated
),

zone_population as (
    select * from intermediate.int_zone_population_summed
),

cell_exposures as (
    select * from intermediate.int_cell_exposures_joined
),

allocated as (
    select
        zone_cells.zone_id,
        zone_cells.zone_level,
        cell_exposures.date,
        cell_exposures.pollutant,
        cell_exposures.statistic,
        cell_exposures.time_base,
        zone_cells.population,
        cell_exposures.value_ug_m3,
        cell_exposures.is_valid
    from zone_cells
    inner join cell_exposures
        on zone_cells.cell_id = cell_exposures.cell_id
),

aggregated as (
    select
        zone_id,
        zone_level,
        date,
        pollutant,
        statistic,
        time_base,
        coalesce(sum(population) filter (where is_valid), 0) as population_valid,
        sum(population * value_ug_m3) filter (where is_valid) as pop_weighted_sum,
        min(value_ug_m3) filter (where is_valid) as min_cell_ug_m3,
        max(value_ug_m3) filter (where is_valid) as max_cell_ug_m3,
        count(*) filter (where is_valid) as n_cells_valid
    from allocated
    group by zone_level, zone_id, date, pollutant, statistic, time_base
),

final as (
    select
        aggregated.zone_id,
        aggregated.zone_level,
        zone_population.zone_name,
        zone_population.parent_zone_id,
        aggregated.date,
        aggregated.pollutant,
        aggregated.statistic,
        aggregated.time_base,
        zone_population.population,
        aggregated.population_valid,
        aggregated.pop_weighted_sum / nullif(aggregated.population_valid, 0) as pop_weighted_mean_ug_m3,
        aggregated.pop_weighted_sum,
        aggregated.population_valid / nullif(zone_population.population, 0) as share_population_valid,
        aggregated.min_cell_ug_m3,
        aggregated.max_cell_ug_m3,
        zone_population.n_cells,
        aggregated.n_cells_valid
    from aggregated
    inner join zone_population
        on
            aggregated.zone_level = zone_population.zone_level
            and aggregated.zone_id = zone_population.zone_id
)

select * from final
