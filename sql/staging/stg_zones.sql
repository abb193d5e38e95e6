with source as (
    select * from lake.zones
),

final as (
    select
        cast(zone_id as varchar) as zone_id,
        cast(zone_name as varchar) as zone_name,
        cast(zone_label as varchar) as zone_label,
        cast(zone_level as varchar) as zone_level,
        cast(area_m2 as double) as area_m2
    from source
    -- the same zone from two producers: the first in the registry's priority wins (lake source_rank)
    qualify row_number() over (partition by zone_id order by source_rank asc, source asc) = 1
)

select * from final
