with source as (
    select * from lake.facilities
),

final as (
    select
        cast(facility_id as varchar) as facility_id,
        cast(category as varchar) as category,
        cast(name as varchar) as name,
        cast(address as varchar) as address,
        cast(zone_id as varchar) as zone_id,
        cast(lon as double) as lon,
        cast(lat as double) as lat
    from source
)

select * from final
