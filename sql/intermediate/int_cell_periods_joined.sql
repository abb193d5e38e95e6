with period_cells as (
    select * from staging.stg_period_cell
),

grid_cells as (
    select * from staging.stg_grid_cells
),

final as (
    select
        period_cells.cell_id,
        period_cells.pollutant,
        period_cells.period,
        period_cells.period_kind,
        period_cells.period_start,
        period_cells.period_end,
        period_cells.time_base,
        period_cells.indicator,
        period_cells.statistic,
        period_cells.q,
        period_cells.set_id,
        period_cells.level,
        period_cells.averaging,
        period_cells.threshold_value,
        period_cells.allowed_exceedances,
        period_cells.value,
        period_cells.unit,
        period_cells.n_valid,
        period_cells.n_expected,
        period_cells.coverage,
        period_cells.coverage_met,
        period_cells.judged_by,
        period_cells.judged_value,
        period_cells.compliance,
        -- above the threshold over the period: more days or hours than allowed (seasons and months
        -- against the yearly allowance), a year's P99 above a WHO guideline, or a mean above an
        -- annual threshold; NULL for rows without a threshold
        case
            when period_cells.judged_by = 'mean' then period_cells.value > period_cells.threshold_value
            when period_cells.judged_by = 'percentile' and period_cells.period_kind = 'year'
                then period_cells.judged_value > period_cells.threshold_value
            when period_cells.judged_by is not null then period_cells.value > period_cells.allowed_exceedances
        end as is_above,
        coalesce(grid_cells.population, 0) as population,
        coalesce(grid_cells.pop_0_5, 0) as pop_0_5,
        coalesce(grid_cells.pop_65p, 0) as pop_65p,
        coalesce(grid_cells.pop_poor_households, 0) as pop_poor_households
    from period_cells
    left join grid_cells
        on period_cells.cell_id = grid_cells.cell_id
)

select * from final
