with zone_cells as (
    select * from intermediate.int_zone_cells_allocated
),

final as (
    -- every cell of the zone counts, with a valid value or not
    select
        zone_id,
        zone_level,
        any_value(zone_name) as zone_name,
        any_value(parent_zone_id) as parent_zone_id,
        sum(population) as population,
        count(*) as n_cells
    from zone_cells
    group by zone_level, zone_id
)

select * from final
