with zone_cells as (
    select * from intermediate.int_zone_cells_allocated
),

bands as (
    select * from staging.stg_noise_map_bands
),

band_cells as (
    select * from staging.stg_noise_band_cells
),

cell_bands as (
    select
        band_cells.cell_id,
        bands.indicator,
        bands.source_type,
        bands.db_low,
        bands.db_high,
        bands.label,
        band_cells.area_fraction as band_fraction
    from band_cells
    inner join bands
        on band_cells.band_id = bands.band_id
),

final as (
    -- population × zone fraction × band fraction: uniform population within the cell,
    -- and the band covers the same share of the cell inside and outside the zone
    select
        zone_cells.zone_id,
        zone_cells.zone_level,
        any_value(zone_cells.zone_name) as zone_name,
        any_value(zone_cells.parent_zone_id) as parent_zone_id,
        cell_bands.indicator,
        cell_bands.source_type,
        cell_bands.db_low,
        cell_bands.db_high,
        min(cell_bands.label) as label,
        sum(zone_cells.population * cell_bands.band_fraction) as population,
        sum(zone_cells.pop_0_5 * cell_bands.band_fraction) as pop_0_5,
        sum(zone_cells.pop_65p * cell_bands.band_fraction) as pop_65p,
        count(distinct zone_cells.cell_id) as n_cells
    from zone_cells
    inner join cell_bands
        on zone_cells.cell_id = cell_bands.cell_id
    group by
        zone_cells.zone_level,
        zone_cells.zone_id,
        cell_bands.indicator,
        cell_bands.source_type,
        cell_bands.db_low,
        cell_bands.db_high
)

select * from final
