with source as (
    -- partitions written before the capacity columns lack them: they read as NULL
    select * from lake.facilities
    union all by name
    select
        cast(null as varchar) as postcode,
        cast(null as varchar) as arrondissement,
        cast(null as integer) as capacity,
        cast(null as varchar) as capacity_unit,
        cast(null as varchar) as source,  -- noqa: RF04
        cast(null as integer) as source_rank
    where false
),

final as (
    select
        cast(facility_id as varchar) as facility_id,
        cast(category as varchar) as category,
        cast(name as varchar) as name,
        cast(address as varchar) as address,
        cast(postcode as varchar) as postcode,
        cast(zone_id as varchar) as zone_id,
        cast(arrondissement as varchar) as arrondissement,
        cast(capacity as integer) as capacity,
        cast(capacity_unit as varchar) as capacity_unit,
        cast(source as varchar) as source,  -- noqa: RF04
        cast(lon as double) as lon,
        cast(lat as double) as lat
    from source
    -- the same facility from two producers: the first in the registry's priority wins (lake source_rank)
    qualify row_number() over (partition by facility_id order by source_rank asc, source asc) = 1
)

select * from final
