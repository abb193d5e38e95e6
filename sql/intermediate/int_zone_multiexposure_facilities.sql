with facilities as (
    select * from intermediate.int_facility_cells_joined
),

zone_cells as (
    select * from intermediate.int_zone_cells_allocated
),

cell_noise as (
    select distinct
        cell_id,
        dominant_noise_class
    from intermediate.int_multiexposure_cell_noise
),

cell_zones as (
    -- at each level, the zone holding the largest share of the facility's cell
    select
        cell_id,
        zone_level,
        arg_max(zone_id, area_fraction) as zone_id
    from zone_cells
    group by cell_id, zone_level
),

final as (
    select
        facilities.facility_id,
        facilities.category,
        facilities.cell_id,
        cell_zones.zone_id,
        cell_zones.zone_level,
        cell_noise.dominant_noise_class as noise_class
    from facilities
    inner join cell_zones on facilities.cell_id = cell_zones.cell_id
    left join cell_noise on facilities.cell_id = cell_noise.cell_id
)

select * from final
