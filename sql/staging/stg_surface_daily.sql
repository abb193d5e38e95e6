with procedure_day as (
    -- the lake also holds the EU statistics' day (eu_day_time_base); the daily marts show the procedure's
    select value as time_base from marts.parameters
    where name = 'day_time_base'
),

source as (
    select * from lake.surface_daily
    where time_base = (select procedure_day.time_base from procedure_day)
),

final as (
    select
        cast(cell_id as varchar) as cell_id,
        cast(date as date) as date,
        cast(pollutant as varchar) as pollutant,
        cast(statistic as varchar) as statistic,
        -- a value that misses the coverage rule is never used, whatever the file holds
        case when coalesce(cast(is_valid as boolean), false) then cast(value as double) end as value_ug_m3,
        cast(n_valid as bigint) as n_valid,
        cast(n_expected as bigint) as n_expected,
        cast(coverage as double) as coverage,
        coalesce(cast(is_valid as boolean), false) as is_valid,
        cast(time_base as varchar) as time_base
    from source
)

select * from final
