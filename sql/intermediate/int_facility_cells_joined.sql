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
        facilities.zone_id,
        facility_cells.cell_id,
        facilities.lon,
        facilities.lat
    from facilities
    inner join facility_cells
        on facilities.facility_id = facility_cells.facility_id
)

select * from final
