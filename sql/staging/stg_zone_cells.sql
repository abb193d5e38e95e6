with source as (
    select * from lake.zone_cells
),

final as (
    select
        cast(zone_id as varchar) as zone_id,
        cast(cell_id as varchar) as cell_id,
        cast(area_fraction as double) as area_fraction
    from source
)

select * from final
