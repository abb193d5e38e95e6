with arrondissements as (
    select * from lake.zones
    -- the same zone from two producers: the first in the registry's priority wins (lake source_rank)
    qualify row_number() over (partition by zone_id order by source_rank asc, source asc) = 1
),

iris as (
    select * from lake.zones_iris
),

quartiers as (
    select * from lake.zones_quartiers
),

unioned as (
    -- the level is the dataset's (spse.grid.ZONE_LEVELS), as in lake.zone_cells
    select
        cast(zone_id as varchar) as zone_id,
        'arrondissement' as zone_level,
        cast(zone_name as varchar) as zone_name,
        cast(zone_label as varchar) as zone_label,
        '75056' as parent_zone_id,
        cast(area_m2 as double) as area_m2
    from arrondissements
    union all
    select
        cast(zone_id as varchar) as zone_id,
        'iris' as zone_level,
        cast(zone_name as varchar) as zone_name,
        cast(zone_label as varchar) as zone_label,
        cast(parent_zone_id as varchar) as parent_zone_id,
        cast(area_m2 as double) as area_m2
    from iris
    union all
    select
        cast(zone_id as varchar) as zone_id,
        'quartier' as zone_level,
        cast(zone_name as varchar) as zone_name,
        cast(zone_label as varchar) as zone_label,
        cast(parent_zone_id as varchar) as parent_zone_id,
        cast(area_m2 as double) as area_m2
    from quartiers
),

final as (
    select * from unioned
)

select * from final
