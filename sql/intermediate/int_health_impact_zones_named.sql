with impacts as (
    select * from staging.stg_health_impact_zone_year
),

zones as (
    select * from staging.stg_zones
),

final as (
    select
        impacts.zone_id,
        'arrondissement' as zone_level,
        zones.zone_name,
        impacts.calendar_year,
        impacts.pollutant,
        impacts.counterfactual,
        impacts.counterfactual_ug_m3,
        impacts.crf_set,
        impacts.rr,
        impacts.rr_low,
        impacts.rr_high,
        impacts.pop_30p,
        impacts.pop_30p_without_value,
        impacts.pwm_ug_m3,
        impacts.baseline_year,
        impacts.baseline_rate_30p,
        impacts.baseline_deaths_30p,
        impacts.attributable_deaths,
        impacts.attributable_deaths_low,
        impacts.attributable_deaths_high,
        impacts.share_of_deaths,
        impacts.yll_per_death,
        impacts.years_of_life_lost,
        impacts.years_of_life_lost_low,
        impacts.years_of_life_lost_high,
        impacts.life_table_zone,
        impacts.life_table_year,
        impacts.exposure_source,
        impacts.time_base,
        impacts.min_coverage,
        impacts.n_cells
    from impacts
    left join zones
        on impacts.zone_id = zones.zone_id
)

select * from final
