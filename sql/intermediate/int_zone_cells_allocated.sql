with zones as (
    select * from staging.stg_zones_all_levels
),

zone_cells as (
    select * from staging.stg_zone_cells
),

grid_cells as (
    select * from staging.stg_grid_cells
),

leveled_cells as (
    select
        zone_cells.zone_id,
        zone_cells.zone_level,
        zones.zone_name,
        zones.parent_zone_id,
        zone_cells.cell_id,
        zone_cells.area_fraction
    from zone_cells
    inner join zones
        on
            zone_cells.zone_id = zones.zone_id
            and zone_cells.zone_level = zones.zone_level
),

commune_cells as (
    -- Paris (INSEE commune 75056) is the union of its 20 arrondissements, never of the finer levels
    select
        '75056' as zone_id,
        'commune' as zone_level,
        'Paris' as zone_name,
        cast(null as varchar) as parent_zone_id,
        cell_id,
        least(sum(area_fraction), 1.0) as area_fraction
    from leveled_cells
    where zone_level = 'arrondissement'
    group by cell_id
),

unioned as (
    select * from leveled_cells
    union all by name
    select * from commune_cells
),

final as (
    select
        unioned.zone_id,
        unioned.zone_level,
        unioned.zone_name,
        unioned.parent_zone_id,
        unioned.cell_id,
        unioned.area_fraction,
        grid_cells.population * unioned.area_fraction as population,
        grid_cells.pop_0_5 * unioned.area_fraction as pop_0_5,
        grid_cells.pop_65p * unioned.area_fraction as pop_65p,
        grid_cells.pop_poor_households * unioned.area_fraction as pop_poor_households
    from unioned
    inner join grid_cells
        on unioned.cell_id = grid_cells.cell_id
)

select * from final
