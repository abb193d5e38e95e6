with zone_bands as (
    select * from intermediate.int_zone_noise_bands_allocated
),

band_effects as (
    select * from staging.stg_noise_effect_bands
),

final as (
    select
        zone_bands.zone_id,
        zone_bands.zone_level,
        zone_bands.zone_name,
        zone_bands.parent_zone_id,
        zone_bands.indicator,
        zone_bands.source_type,
        zone_bands.db_low,
        zone_bands.db_high,
        band_effects.level_db,
        band_effects.effect,
        band_effects.percent_affected,
        band_effects.rr_ihd,
        zone_bands.population,
        zone_bands.population * band_effects.percent_affected / 100 as people_affected
    from zone_bands
    inner join band_effects
        on
            zone_bands.indicator = band_effects.indicator
            and zone_bands.source_type = band_effects.source_type
            and zone_bands.db_low = band_effects.db_low
)

select * from final
