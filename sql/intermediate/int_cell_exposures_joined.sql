with grid_cells as (
    select * from staging.stg_grid_cells
),

surface_daily as (
    select * from staging.stg_surface_daily
),

final as (
    select
        surface_daily.cell_id,
        surface_daily.date,
        surface_daily.pollutant,
        surface_daily.statistic,
        surface_daily.time_base,
        surface_daily.value_ug_m3,
        surface_daily.is_valid,
        surface_daily.coverage,
        surface_daily.n_valid,
        surface_daily.n_expected,
        grid_cells.population,
        grid_cells.pop_0_5,
        grid_cells.pop_65p,
        grid_cells.pop_poor_households
    from surface_daily
    inner join grid_cells
        on surface_daily.cell_id = grid_cells.cell_id
)

select * from final
