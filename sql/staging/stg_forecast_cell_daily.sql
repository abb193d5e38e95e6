with source as (
    select * from lake.forecast_cell_daily
),

final as (
    select
        cast(cell_id as varchar) as cell_id,
        cast(date as date) as date,
        cast(lead_day as bigint) as lead_day,
        cast(partition_date as date) as run_date,
        cast(base_time_utc as timestamptz) as base_time_utc,
        cast(pollutant as varchar) as pollutant,
        cast(statistic as varchar) as statistic,
        case when cast(pollutant as varchar) = 'CO' then 'mg/m³' else 'µg/m³' end as unit,
        -- a value that misses the coverage rule is never used, whatever the file holds
        case when coalesce(cast(is_valid as boolean), false) then cast(value as double) end as value,
        cast(n_valid as bigint) as n_valid,
        cast(n_expected as bigint) as n_expected,
        cast(coverage as double) as coverage,
        coalesce(cast(is_valid as boolean), false) as is_valid,
        cast(time_base as varchar) as time_base
    from source
)

select * from final
