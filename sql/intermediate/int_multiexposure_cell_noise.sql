with grid_cells as (
    select * from staging.stg_grid_cells
),

bands as (
    select * from staging.stg_noise_map_bands
),

band_cells as (
    select * from staging.stg_noise_band_cells
),

cutoffs as (
    select * from intermediate.int_exposure_class_cutoffs
    where kind = 'noise'
),

settings as (
    select * from intermediate.int_exposure_class_settings
),

wanted as (
    select distinct
        pollutant,
        noise_source
    from cutoffs
),

indicator_bands as (
    -- the bands of the register's indicator and source, each at its representative level
    select
        bands.band_id,
        bands.db_low + settings.band_centre_offset_db as level_db
    from bands
    inner join wanted
        on
            bands.indicator = wanted.pollutant
            and bands.source_type = wanted.noise_source
    cross join settings
),

band_classes as (
    select
        indicator_bands.band_id,
        coalesce(max(cutoffs.rung) filter (
            where
            case cutoffs.comparison
                when '>=' then indicator_bands.level_db >= cutoffs.threshold_value
                else indicator_bands.level_db > cutoffs.threshold_value
            end
        ), 0) as noise_class
    from indicator_bands
    cross join cutoffs
    group by indicator_bands.band_id
),

mapped as (
    select
        band_cells.cell_id,
        band_classes.noise_class,
        sum(band_cells.area_fraction) as area_fraction,
        sum(band_cells.area_fraction * indicator_bands.level_db) / sum(band_cells.area_fraction) as mean_level_db
    from band_cells
    inner join band_classes on band_cells.band_id = band_classes.band_id
    inner join indicator_bands on band_cells.band_id = indicator_bands.band_id
    group by band_cells.cell_id, band_classes.noise_class
),

cell_totals as (
    select
        cell_id,
        sum(area_fraction) as mapped_fraction
    from mapped
    group by cell_id
),

pieces as (
    -- mapped shares, normalised when overlapping bands sum above the cell, and the unmapped rest
    -- (below the lowest band) as class 0; no rows at all when the lake holds no band of the indicator
    select
        grid_cells.cell_id,
        mapped.noise_class,
        mapped.area_fraction / greatest(cell_totals.mapped_fraction, 1.0) as noise_share,
        mapped.mean_level_db
    from grid_cells
    inner join mapped on grid_cells.cell_id = mapped.cell_id
    inner join cell_totals on grid_cells.cell_id = cell_totals.cell_id
    union all
    select
        grid_cells.cell_id,
        0 as noise_class,
        greatest(1.0 - coalesce(cell_totals.mapped_fraction, 0), 0) as noise_share,
        cast(null as double) as mean_level_db
    from grid_cells
    left join cell_totals on grid_cells.cell_id = cell_totals.cell_id
    where exists (select 1 from band_classes)
),

summed as (
    select
        cell_id,
        noise_class,
        sum(noise_share) as noise_share,
        -- the unmapped rest has no level; a class with mapped bands only ever has mapped pieces
        sum(noise_share * mean_level_db) / nullif(sum(noise_share) filter (where mean_level_db is not null), 0)
            as mean_level_db
    from pieces
    where noise_share > 0
    group by cell_id, noise_class
),

final as (
    select
        cell_id,
        noise_class,
        noise_share,
        mean_level_db,
        -- the class covering the largest share of the cell, the louder on a tie: the cell's class on maps
        arg_max(noise_class, noise_share + noise_class * 1e-9) over (partition by cell_id) as dominant_noise_class
    from summed
)

select * from final
