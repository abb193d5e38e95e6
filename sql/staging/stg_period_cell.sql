with source as (
    select * from lake.period_cell
),

final as (
    select
        cast(cell_id as varchar) as cell_id,
        cast(pollutant as varchar) as pollutant,
        cast(period as varchar) as period,
        cast(period_kind as varchar) as period_kind,
        cast(period_start as date) as period_start,
        cast(period_end as date) as period_end,
        cast(time_base as varchar) as time_base,
        cast(indicator as varchar) as indicator,
        cast(statistic as varchar) as statistic,
        cast(q as double) as q,
        cast(set_id as varchar) as set_id,
        cast(level as varchar) as level,
        cast(averaging as varchar) as averaging,
        cast(threshold_value as double) as threshold_value,
        cast(allowed_exceedances as double) as allowed_exceedances,
        cast(value as double) as value,
        cast(unit as varchar) as unit,
        cast(n_valid as bigint) as n_valid,
        cast(n_expected as bigint) as n_expected,
        cast(coverage as double) as coverage,
        coalesce(cast(coverage_met as boolean), false) as coverage_met,
        cast(judged_by as varchar) as judged_by,
        cast(judged_value as double) as judged_value,
        cast(compliance as varchar) as compliance
    from source
)

select * from final
