with arrondissements as (
    select * from intermediate.int_health_impact_zones_named
),

paris as (
    -- Paris (INSEE commune 75056) as the sum of its arrondissements; the interval bounds add up
    -- because every arrondissement uses the same rr_low and rr_high
    select
        '75056' as zone_id,
        'commune' as zone_level,
        'Paris' as zone_name,
        calendar_year,
        pollutant,
        counterfactual,
        any_value(counterfactual_ug_m3) as counterfactual_ug_m3,
        any_value(crf_set) as crf_set,
        any_value(rr) as rr,
        any_value(rr_low) as rr_low,
        any_value(rr_high) as rr_high,
        sum(pop_30p) as pop_30p,
        sum(pop_30p_without_value) as pop_30p_without_value,
        sum(pwm_ug_m3 * (pop_30p - pop_30p_without_value))
        / nullif(sum(case when pwm_ug_m3 is not null then pop_30p - pop_30p_without_value end), 0) as pwm_ug_m3,
        max(baseline_year) as baseline_year,
        sum(baseline_deaths_30p) / nullif(sum(pop_30p), 0) as baseline_rate_30p,
        sum(baseline_deaths_30p) as baseline_deaths_30p,
        sum(attributable_deaths) as attributable_deaths,
        sum(attributable_deaths_low) as attributable_deaths_low,
        sum(attributable_deaths_high) as attributable_deaths_high,
        sum(attributable_deaths) / nullif(sum(baseline_deaths_30p), 0) as share_of_deaths,
        -- YLL only when every arrondissement has it (a partial sum would be too low)
        case when count(years_of_life_lost) = count(*) then sum(years_of_life_lost) end
        / nullif(sum(attributable_deaths), 0) as yll_per_death,
        case when count(years_of_life_lost) = count(*) then sum(years_of_life_lost) end as years_of_life_lost,
        case when count(years_of_life_lost) = count(*) then sum(years_of_life_lost_low) end as years_of_life_lost_low,
        case when count(years_of_life_lost) = count(*) then sum(years_of_life_lost_high) end as years_of_life_lost_high,
        string_agg(distinct life_table_zone, ' ' order by life_table_zone) as life_table_zone,
        max(life_table_year) as life_table_year,
        any_value(exposure_source) as exposure_source,
        any_value(time_base) as time_base,
        min(min_coverage) as min_coverage,
        sum(n_cells) as n_cells
    from arrondissements
    group by calendar_year, pollutant, counterfactual
),

unioned as (
    select * from arrondissements
    union all by name
    select * from paris
),

final as (
    select
        zone_id,
        zone_level,
        zone_name,
        calendar_year,
        pollutant,
        counterfactual,
        counterfactual_ug_m3,
        crf_set,
        rr,
        rr_low,
        rr_high,
        pop_30p,
        pop_30p_without_value,
        pwm_ug_m3,
        baseline_year,
        baseline_rate_30p,
        baseline_deaths_30p,
        attributable_deaths,
        attributable_deaths_low,
        attributable_deaths_high,
        share_of_deaths,
        yll_per_death,
        years_of_life_lost,
        years_of_life_lost_low,
        years_of_life_lost_high,
        life_table_zone,
        life_table_year,
        exposure_source,
        time_base,
        min_coverage,
        n_cells
    from unioned
)

select * from final
