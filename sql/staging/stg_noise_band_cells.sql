with source as (
    select * from lake.noise_band_cells
),

final as (
    select
        cast(band_id as varchar) as band_id,
        cast(cell_id as varchar) as cell_id,
        cast(area_fraction as double) as area_fraction
    from source
)

select * from final
