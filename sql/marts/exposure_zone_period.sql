with zone_cells as (
    select * from intermediate.int_zone_cells_allocated
),

zone_population as (
    select * from intermediate.int_zone_population_summed
),

cell_periods as (
    select * from marts.exposure_cell_period
),

allocated as (
    select
        zone_cells.zone_id,
        zone_cells.zone_level,
        zone_cells.population,
        zone_cells.pop_0_5,
        zone_cells.pop_65p,
        zone_cells.pop_poor_households,
        cell_periods.pollutant,
        cell_periods.period,
        cell_periods.period_kind,
        cell_periods.period_start,
        cell_periods.period_end,
        cell_periods.time_base,
        cell_periods.indicator,
        cell_periods.statistic,
        cell_periods.q,
        cell_periods.set_id,
        cell_periods.level,
        cell_periods.averaging,
        cell_periods.threshold_value,
        cell_periods.allowed_exceedances,
        cell_periods.unit,
        cell_periods.value,
        cell_periods.coverage_met,
        coalesce(cell_periods.is_above, false) as is_above
    from zone_cells
    inner join cell_periods
        on zone_cells.cell_id = cell_periods.cell_id
),

aggregated as (
    select
        zone_id,
        zone_level,
        pollutant,
        period,
        period_kind,
        period_start,
        period_end,
        time_base,
        indicator,
        statistic,
        q,
        set_id,
        level,
        averaging,
        threshold_value,
        allowed_exceedances,
        unit,
        coalesce(sum(population) filter (where value is not null), 0) as population_valid,
        coalesce(sum(population) filter (where value is not null and coverage_met), 0) as population_coverage_met,
        sum(population * value) filter (where value is not null) as pop_weighted_sum,
        coalesce(sum(population) filter (where is_above), 0) as pop_total_above,
        coalesce(sum(pop_0_5) filter (where is_above), 0) as pop_0_5_above,
        coalesce(sum(pop_65p) filter (where is_above), 0) as pop_65p_above,
        coalesce(sum(pop_poor_households) filter (where is_above), 0) as pop_poor_households_above,
        count(*) filter (where value is not null) as n_cells_valid
    from allocated
    group by all
),

final as (
    select
        aggregated.zone_id,
        aggregated.zone_level,
        zone_population.zone_name,
        zone_population.parent_zone_id,
        aggregated.pollutant,
        aggregated.period,
        aggregated.period_kind,
        aggregated.period_start,
        aggregated.period_end,
        aggregated.time_base,
        aggregated.indicator,
        aggregated.statistic,
        aggregated.q,
        aggregated.set_id,
        aggregated.level,
        aggregated.averaging,
        aggregated.threshold_value,
        aggregated.allowed_exceedances,
        aggregated.unit,
        zone_population.population,
        aggregated.population_valid,
        aggregated.population_coverage_met,
        aggregated.pop_weighted_sum / nullif(aggregated.population_valid, 0) as pop_weighted_mean,
        aggregated.pop_weighted_sum,
        aggregated.pop_total_above,
        aggregated.pop_0_5_above,
        aggregated.pop_65p_above,
        aggregated.pop_poor_households_above,
        aggregated.pop_total_above / nullif(zone_population.population, 0) as share_total_above,
        zone_population.n_cells,
        aggregated.n_cells_valid
    from aggregated
    inner join zone_population
        on
            aggregated.zone_level = zone_population.zone_level
            and aggregated.zone_id = zone_population.zone_id
)

select * from final
