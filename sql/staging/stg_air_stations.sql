with source as (
    select * from lake.air_stations
),

final as (
    select
        cast(station_id as varchar) as station_id,
        cast(station_name as varchar) as station_name,
        cast(department as varchar) as department,
        cast(lon as double) as lon,
        cast(lat as double) as lat,
        cast(source as varchar) as source  -- noqa: RF04
    from source
    -- the same station from two producers: the first in the registry's priority wins (lake source_rank)
    qualify row_number() over (partition by station_id order by source_rank asc, source asc) = 1
)

select * from final
