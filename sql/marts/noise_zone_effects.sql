with band_effects as (
    select * from intermediate.int_zone_noise_effects_joined
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

per_source as (
    select
        zone_id,
        zone_level,
        any_value(zone_name) as zone_name,
        indicator,
        source_type,
        any_value(effect) as effect,
        sum(population) as population_exposed,
        sum(people_affected) as people_affected,
        sum(population * (rr_ihd - 1)) as ihd_excess_weighted
    from band_effects
    group by zone_level, zone_id, indicator, source_type
),

final as (
    select
        per_source.zone_id,
        per_source.zone_level,
        per_source.zone_name,
        per_source.indicator,
        per_source.source_type,
        per_source.effect,
        zone_population.zone_population,
        per_source.population_exposed,
        per_source.people_affected,
        per_source.people_affected / nullif(zone_population.zone_population, 0) as share_affected,
        -- PAF = Σ p(RR − 1) / (Σ p(RR − 1) + 1), p = band residents / zone residents (road Lden only)
        (per_source.ihd_excess_weighted / nullif(zone_population.zone_population, 0))
        / (per_source.ihd_excess_weighted / nullif(zone_population.zone_population, 0) + 1) as paf_ihd
    from per_source
    left join zone_population
        on
            per_source.zone_level = zone_population.zone_level
            and per_source.zone_id = zone_population.zone_id
)

select * from final
