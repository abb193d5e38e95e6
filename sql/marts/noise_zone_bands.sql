with zone_bands as (
    select * from intermediate.int_zone_noise_bands_allocated
),

zone_cells as (
    select * from intermediate.int_zone_cells_allocated
),

zone_population as (
    select
        zone_id,
        zone_level,
        sum(population) as zone_population
    from zone_cells
    group by zone_level, zone_id
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
        zone_bands.label,
        zone_bands.population,
        zone_bands.pop_0_5,
        zone_bands.pop_65p,
        zone_population.zone_population,
        zone_bands.population / nullif(zone_population.zone_population, 0) as share_population,
        zone_bands.n_cells
    from zone_bands
    left join zone_population
        on
            zone_bands.zone_level = zone_population.zone_level
            and zone_bands.zone_id = zone_population.zone_id
)

select * from final
