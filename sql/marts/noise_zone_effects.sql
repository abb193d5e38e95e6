with band_effects as (
    select * from intermediate.int_zone_noise_effects_joined
),

zone_cells as (
    select * from intermediate.int_zone_cells_allocated
),

incidence as (
    select * from intermediate.int_zone_ihd_incidence_matched
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

with_paf as (
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
),

final as (
    select
        with_paf.*,
        incidence.incidence_rate as ihd_incidence_rate,
        incidence.incidence_zone_id as ihd_incidence_zone,
        incidence.incidence_year as ihd_incidence_year,
        -- cases = PAF × incidence × population (methods.md §5.4, Directive 2020/367 Annex III)
        with_paf.paf_ihd * incidence.incidence_rate * with_paf.zone_population as ihd_cases
    from with_paf
    left join incidence
        on
            with_paf.zone_level = incidence.zone_level
            and with_paf.zone_id = incidence.zone_id
)

select * from final
