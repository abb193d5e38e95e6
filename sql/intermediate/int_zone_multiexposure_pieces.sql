with zone_cells as (
    select * from intermediate.int_zone_cells_allocated
),

cell_noise as (
    select * from intermediate.int_multiexposure_cell_noise
),

final as (
    -- a cell's residents split over its noise classes by area share (uniform within the cell);
    -- noise_class NULL (one piece) when the lake holds no noise band of the indicator
    select
        zone_cells.zone_id,
        zone_cells.zone_level,
        zone_cells.zone_name,
        zone_cells.parent_zone_id,
        zone_cells.cell_id,
        cell_noise.noise_class,
        zone_cells.population * coalesce(cell_noise.noise_share, 1.0) as population,
        zone_cells.pop_0_5 * coalesce(cell_noise.noise_share, 1.0) as pop_0_5,
        zone_cells.pop_65p * coalesce(cell_noise.noise_share, 1.0) as pop_65p,
        zone_cells.pop_poor_households * coalesce(cell_noise.noise_share, 1.0) as pop_poor_households
    from zone_cells
    left join cell_noise on zone_cells.cell_id = cell_noise.cell_id
)

select * from final
