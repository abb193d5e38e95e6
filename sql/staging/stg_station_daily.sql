with source as (
    select * from lake.station_daily
),

final as (
    select
        cast(station_id as varchar) as station_id,
        cast(station_class as varchar) as station_class,
        cast(date as date) as date,
        cast(pollutant as varchar) as pollutant,
        cast(statistic as varchar) as statistic,
        case when coalesce(cast(is_valid as boolean), false) then cast(value as double) end as value,
        cast(n_valid as bigint) as n_valid,
        cast(n_expected as bigint) as n_expected,
        cast(coverage as double) as coverage,
        coalesce(cast(is_valid as boolean), false) as is_valid,
        cast(time_base as varchar) as time_base
    from source
)

select * from final
