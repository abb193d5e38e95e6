with source as (
    select * from lake.air_stations
),

final as (
    select
        cast(station_id as varchar) as station_id,
        cast(station_name as varchar) as station_name,
        cast(department as varchar) as department,
        cast(lon as double) as lon,
        cast(lat as double) as lat
    from source
)

select * from final
