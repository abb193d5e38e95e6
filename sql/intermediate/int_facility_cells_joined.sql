with facilities as (
    select * from staging.stg_facilities
),

facility_cells as (
    select * from staging.stg_facility_cells
),

final as (
    select
        facilities.facility_id,
        facilities.category,
        facilities.name,
        facilities.address,
        facilities.postcode,
        facilities.zone_id,
        facilities.arrondissement,
        facilities.capacity,
        facilities.capacity_unit,
        facilities.source,
        facility_cells.cell_id,
        facilities.lon,
        facilities.lat
    from facilities
    inner join facility_cells
        on facilities.facility_id = facility_cells.facility_id
)

select * from final
