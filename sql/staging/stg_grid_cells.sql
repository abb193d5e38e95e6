with source as (
    select * from lake.grid_cells
),

income_column as (
    -- grid partitions written before the standard of living was carried have no such column
    select cast(null as double) as standard_of_living
    where false
),

source_with_income as (
    select * from source
    union all by name
    select * from income_column
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
        coalesce(cast(pop_poor_households as double), 0) as pop_poor_households,
        coalesce(cast(households as double), 0) as households,
        coalesce(cast(households_poor as double), 0) as households_poor,
        -- unknown stays NULL: 0 € would rank the cell as the poorest
        cast(standard_of_living as double) as standard_of_living
    from source_with_income
)

select * from final
