with source as (
    select * from lake.health_impact_zone_year
),

final as (
    select
        cast(zone_id as varchar) as zone_id,
        cast(year as integer) as calendar_year,
        cast(pollutant as varchar) as pollutant,
        cast(counterfactual as varchar) as counterfactual,
        cast(counterfactual_ug_m3 as double) as counterfactual_ug_m3,
        cast(crf_set as varchar) as crf_set,
        cast(rr as double) as rr,
        cast(rr_low as double) as rr_low,
        cast(rr_high as double) as rr_high,
        cast(pop_30p as double) as pop_30p,
        cast(pop_30p_without_value as double) as pop_30p_without_value,
        cast(pwm_ug_m3 as double) as pwm_ug_m3,
        cast(baseline_year as integer) as baseline_year,
        cast(baseline_rate_30p as double) as baseline_rate_30p,
        cast(baseline_deaths_30p as double) as baseline_deaths_30p,
        cast(attributable_deaths as double) as attributable_deaths,
        cast(attributable_deaths_low as double) as attributable_deaths_low,
        cast(attributable_deaths_high as double) as attributable_deaths_high,
        cast(share_of_deaths as double) as share_of_deaths,
        cast(yll_per_death as double) as yll_per_death,
        cast(years_of_life_lost as double) as years_of_life_lost,
        cast(years_of_life_lost_low as double) as years_of_life_lost_low,
        cast(years_of_life_lost_high as double) as years_of_life_lost_high,
        cast(life_table_zone as varchar) as life_table_zone,
        cast(life_table_year as integer) as life_table_year,
        cast(exposure_source as varchar) as exposure_source,
        cast(time_base as varchar) as time_base,
        cast(min_coverage as double) as min_coverage,
        cast(n_cells as bigint) as n_cells
    from source
)

select * from final
