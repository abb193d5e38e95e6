with source as (
    select * from lake.zone_cells
),

level_column as (
    -- partitions written before the IRIS and quartier levels have no zone_level: they hold arrondissements
    select cast(null as varchar) as zone_level
    where false
),

source_with_level as (
    select * from source
    union all by name
    select * from level_column
),

final as (
    select
        cast(zone_id as varchar) as zone_id,
        coalesce(cast(zone_level as varchar), 'arrondissement') as zone_level,
        cast(cell_id as varchar) as cell_id,
        cast(area_fraction as double) as area_fraction
    from source_with_level
)

select * from final
