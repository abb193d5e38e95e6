with source as (
    select * from lake.noise_effect_bands
),

final as (
    select
        cast(indicator as varchar) as indicator,
        cast(source_type as varchar) as source_type,
        cast(db_low as double) as db_low,
        cast(db_high as double) as db_high,
        cast(level_db as double) as level_db,
        cast(effect as varchar) as effect,
        cast(percent_affected as double) as percent_affected,
        cast(rr_ihd as double) as rr_ihd
    from source
)

select * from final
