with source as (
    select * from lake.grid_cells
),

final as (
    select
        cast(cell_id as varchar) as cell_id,
        cast(x_3035 as double) as x_3035,
        cast(y_3035 as double) as y_3035,
        cast(cx_3035 as double) as cx_3035,
        cast(cy_3035 as double) as cy_3035,
        cast(lon as double) as lon,
        cast(lat as double) as lat,
        -- unpopulated cells (kept because they hold a facility or a station) count as 0
        coalesce(cast(population as double), 0) as population,
        coalesce(cast(pop_0_5 as double), 0) as pop_0_5,
        coalesce(cast(pop_65p as double), 0) as pop_65p,
        coalesce(cast(pop_poor_households as double), 0) as pop_poor_households
    from source
)

select * from final
