with source as (
    select * from lake.station_cells
),

final as (
    select
        cast(station_id as varchar) as station_id,
        cast(cell_id as varchar) as cell_id,
        cast(x_3035 as double) as x_3035,
        cast(y_3035 as double) as y_3035
    from source
)

select * from final
