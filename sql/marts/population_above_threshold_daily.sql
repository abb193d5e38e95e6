with zone_cells as (
    select * from intermediate.int_zone_cells_allocated
),

zone_population as (
    select * from intermediate.int_zone_population_summed
),

cell_exposures as (
    select * from intermediate.int_cell_exposures_joined
),

cell_thresholds as (
    select * from intermediate.int_cell_thresholds_compared
),

thresholds as (
    select distinct
        pollutant,
        statistic,
        set_id,
        level,
        averaging,
        threshold_value,
        comparison,
        threshold_status
    from intermediate.int_air_thresholds_mapped
),

valid as (
    -- the zone's residents with a valid value, once per day and statistic, whatever the threshold
    select
        zone_cells.zone_level,
        zone_cells.zone_id,
        cell_exposures.date,
        cell_exposures.pollutant,
        cell_exposures.statistic,
        cell_exposures.time_base,
        coalesce(sum(zone_cells.population) filter (where cell_exposures.is_valid), 0) as population_valid
    from zone_cells
    inner join cell_exposures
        on zone_cells.cell_id = cell_exposures.cell_id
    group by all
),

above as (
    -- only the cells above a threshold are allocated to their zones
    select
        zone_cells.zone_level,
        zone_cells.zone_id,
        cell_thresholds.date,
        cell_thresholds.pollutant,
        cell_thresholds.statistic,
        cell_thresholds.time_base,
        cell_thresholds.set_id,
        cell_thresholds.level,
        cell_thresholds.averaging,
        cell_thresholds.threshold_value,
        cell_thresholds.comparison,
        sum(zone_cells.population) as pop_total_above,
        sum(zone_cells.pop_0_5) as pop_0_5_above,
        sum(zone_cells.pop_65p) as pop_65p_above,
        sum(zone_cells.pop_poor_households) as pop_poor_households_above
    from cell_thresholds
    inner join zone_cells
        on cell_thresholds.cell_id = zone_cells.cell_id
    where cell_thresholds.is_above
    group by all
),

final as (
    select
        valid.zone_id,
        valid.zone_level,
        zone_population.zone_name,
        zone_population.parent_zone_id,
        valid.date,
        valid.pollutant,
        valid.statistic,
        valid.time_base,
        thresholds.set_id,
        thresholds.level,
        thresholds.averaging,
        thresholds.threshold_value,
        thresholds.comparison,
        thresholds.threshold_status,
        zone_population.population,
        coalesce(above.pop_total_above, 0) as pop_total_above,
        coalesce(above.pop_0_5_above, 0) as pop_0_5_above,
        coalesce(above.pop_65p_above, 0) as pop_65p_above,
        coalesce(above.pop_poor_households_above, 0) as pop_poor_households_above,
        coalesce(above.pop_total_above, 0) / nullif(zone_population.population, 0) as share_total_above,
        valid.population_valid / nullif(zone_population.population, 0) as share_population_valid
    from valid
    inner join thresholds
        on
            valid.pollutant = thresholds.pollutant
            and valid.statistic = thresholds.statistic
    inner join zone_population
        on
            valid.zone_level = zone_population.zone_level
            and valid.zone_id = zone_population.zone_id
    left join above
        on
            valid.zone_level = above.zone_level
            and valid.zone_id = above.zone_id
            and valid.date = above.date
            and valid.pollutant = above.pollutant
            and valid.statistic = above.statistic
            and valid.time_base = above.time_base
            and thresholds.set_id = above.set_id
            and thresholds.level = above.level
            and thresholds.averaging = above.averaging
            and thresholds.threshold_value = above.threshold_value
            and thresholds.comparison = above.comparison
)

select * from final
