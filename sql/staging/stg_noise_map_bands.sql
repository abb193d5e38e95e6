with source as (
    select * from lake.noise_map_bands
),

final as (
    select
        cast(band_id as varchar) as band_id,
        cast(indicator as varchar) as indicator,
        cast(source_type as varchar) as source_type,
        cast(db_low as double) as db_low,
        cast(db_high as double) as db_high,
        cast(label as varchar) as label
    from source
)

select * from final
