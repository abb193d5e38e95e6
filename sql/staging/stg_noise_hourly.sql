with source as (
    select * from lake.noise_hourly
),

final as (
    select
        cast(site_id as varchar) as site_id,
        cast(site_name as varchar) as site_name,
        cast(lon as double) as lon,
        cast(lat as double) as lat,
        cast(ts_start_utc as timestamptz) as ts_start_utc,
        cast(ts_end_utc as timestamptz) as ts_end_utc,
        cast(date as date) as date,
        cast(laeq_dba as double) as laeq_dba,
        cast(coverage as double) as coverage,
        coalesce(cast(is_valid as boolean), false) as is_valid
    from source
    -- the same site and hour from two producers: the first in the registry's priority keeps its rows
    qualify dense_rank() over (partition by site_id, ts_start_utc order by source_rank asc, source asc) = 1
)

select * from final
