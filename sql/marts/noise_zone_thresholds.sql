with zone_bands as (
    select * from intermediate.int_zone_noise_bands_allocated
),

zone_cells as (
    select * from intermediate.int_zone_cells_allocated
),

thresholds as (
    select * from marts.thresholds
),

zone_population as (
    select
        zone_id,
        zone_level,
        any_value(zone_name) as zone_name,
        any_value(parent_zone_id) as parent_zone_id,
        sum(population) as population
    from zone_cells
    group by zone_level, zone_id
),

mapped_sources as (
    -- below the lowest band of a map the level is unknown (somewhere under db_low)
    select
        indicator,
        source_type,
        min(db_low) as lowest_band_db
    from zone_bands
    group by indicator, source_type
),

noise_thresholds as (
    select
        thresholds.set_id,
        thresholds.pollutant as indicator,
        thresholds.noise_source as source_type,
        thresholds.level,
        thresholds.value as threshold_value,
        thresholds.status as threshold_status,
        mapped_sources.lowest_band_db
    from thresholds
    inner join mapped_sources
        on
            thresholds.pollutant = mapped_sources.indicator
            and thresholds.noise_source = mapped_sources.source_type
    where thresholds.unit = 'dB(A)'
),

zone_thresholds as (
    select
        zone_population.*,
        noise_thresholds.*
    from zone_population
    cross join noise_thresholds
),

bounded as (
    select
        zone_thresholds.zone_id,
        zone_thresholds.zone_level,
        any_value(zone_thresholds.zone_name) as zone_name,
        any_value(zone_thresholds.parent_zone_id) as parent_zone_id,
        zone_thresholds.indicator,
        zone_thresholds.source_type,
        zone_thresholds.set_id,
        zone_thresholds.level,
        zone_thresholds.threshold_value,
        zone_thresholds.threshold_status,
        any_value(zone_thresholds.population) as population,
        any_value(zone_thresholds.lowest_band_db) as lowest_band_db,
        coalesce(sum(zone_bands.population) filter (
            where zone_bands.db_low >= zone_thresholds.threshold_value
        ), 0) as pop_in_bands_above,
        coalesce(sum(zone_bands.population) filter (
            where zone_bands.db_high is null or zone_bands.db_high > zone_thresholds.threshold_value
        ), 0) as pop_in_bands_reaching_above,
        coalesce(sum(zone_bands.population), 0) as pop_in_bands
    from zone_thresholds
    left join zone_bands
        on
            zone_thresholds.zone_level = zone_bands.zone_level
            and zone_thresholds.zone_id = zone_bands.zone_id
            and zone_thresholds.indicator = zone_bands.indicator
            and zone_thresholds.source_type = zone_bands.source_type
    group by
        zone_thresholds.zone_level,
        zone_thresholds.zone_id,
        zone_thresholds.indicator,
        zone_thresholds.source_type,
        zone_thresholds.set_id,
        zone_thresholds.level,
        zone_thresholds.threshold_value,
        zone_thresholds.threshold_status
),

final as (
    select
        zone_id,
        zone_level,
        zone_name,
        parent_zone_id,
        indicator,
        source_type,
        set_id,
        level,
        threshold_value,
        threshold_status,
        population,
        pop_in_bands_above as pop_above_lower_bound,
        pop_in_bands_reaching_above
        + case
            when threshold_value < lowest_band_db then greatest(population - pop_in_bands, 0)
            else 0
        end as pop_above_upper_bound,
        pop_in_bands_above / nullif(population, 0) as share_above_lower_bound,
        (
            pop_in_bands_reaching_above
            + case
                when threshold_value < lowest_band_db then greatest(population - pop_in_bands, 0)
                else 0
            end
        ) / nullif(population, 0) as share_above_upper_bound
    from bounded
)

select * from final
