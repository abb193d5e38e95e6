with source as (
    select * from lake.facility_cells
),

final as (
    select
        cast(facility_id as varchar) as facility_id,
        cast(cell_id as varchar) as cell_id
    from source
)

select * from final
