with period_cells as (
    select * from staging.stg_period_cell
),

final as (
    -- the annual mean of the valid daily means, only where the year's coverage rule is met (90 %)
    select
        cell_id,
        cast(year(period_start) as integer) as calendar_year,
        period_start,
        period_end,
        time_base,
        pollutant,
        value as value_ug_m3,
        coverage
    from period_cells
    where
        period_kind = 'year'
        and indicator = 'mean'
        and statistic = 'day_mean'
        and coverage_met
        and value is not null
)

select * from final
