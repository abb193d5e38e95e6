with zone_cells as (
    select * from intermediate.int_zone_cells_allocated
),

zone_population as (
    select * from intermediate.int_zone_population_summed
),

cell_thresholds as (
    select * from intermediate.int_cell_thresholds_compared
),

allocated as (
    select
        zone_cells.zone_id,
        zone_cells.zone_level,
        zone_cells.population,
        zone_cells.pop_0_5,
        zone_cells.pop_65p,
        zone_cells.pop_poor_households,
        cell_thresholds.date,
        cell_thresholds.pollutant,
        cell_thresholds.statistic,
        cell_thresholds.time_base,
        cell_thresholds.threshold_key,
        cell_thresholds.set_id,
        cell_thresholds.level,
        cell_thresholds.averaging,
        cell_thresholds.threshold_value,
        cell_thresholds.comparison,
        cell_thresholds.threshold_status,
        cell_thresholds.is_valid,
        cell_thresholds.is_above
    from zone_cells
    inner join cell_thresholds
        on zone_cells.cell_id = cell_thresholds.cell_id
),

aggregated as (
    -- grouped by the compact threshold_key: its threshold row's columns are the same in every row of a group
    select
        zone_id,
        zone_level,
        date,
        any_value(pollutant) as pollutant,
        any_value(statistic) as statistic,
        time_base,
        any_value(set_id) as set_id,
        any_value(level) as level,
        any_value(averaging) as averaging,
        any_value(threshold_value) as threshold_value,
        any_value(comparison) as comparison,
        any_value(threshold_status) as threshold_status,
        coalesce(sum(population) filter (where is_valid), 0) as population_valid,
        coalesce(sum(population) filter (where is_above), 0) as pop_total_above,
        coalesce(sum(pop_0_5) filter (where is_above), 0) as pop_0_5_above,
        coalesce(sum(pop_65p) filter (where is_above), 0) as pop_65p_above,
        coalesce(sum(pop_poor_households) filter (where is_above), 0) as pop_poor_households_above
    from allocated
    group by zone_level, zone_id, date, time_base, threshold_key
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
        aggregated.set_id,
        aggregated.level,
        aggregated.averaging,
        aggregated.threshold_value,
        aggregated.comparison,
        aggregated.threshold_status,
        zone_population.population,
        aggregated.pop_total_above,
        aggregated.pop_0_5_above,
        aggregated.pop_65p_above,
        aggregated.pop_poor_households_above,
        aggregated.pop_total_above / nullif(zone_population.population, 0) as share_total_above,
        aggregated.population_valid / nullif(zone_population.population, 0) as share_population_valid
    from aggregated
    inner join zone_population
        on
            aggregated.zone_level = zone_population.zone_level
            and aggregated.zone_id = zone_population.zone_id
)

select * from final
