with source as (
    select * from lake.health_impact_cell_year
),

final as (
    select
        cast(zone_id as varchar) as zone_id,
        cast(cell_id as varchar) as cell_id,
        cast(year as integer) as calendar_year,
        cast(pollutant as varchar) as pollutant,
        cast(counterfactual as varchar) as counterfactual,
        cast(counterfactual_ug_m3 as double) as counterfactual_ug_m3,
        cast(pop_30p as double) as pop_30p,
        cast(value_ug_m3 as double) as value_ug_m3,
        cast(attributable_deaths as double) as attributable_deaths,
        cast(attributable_deaths_low as double) as attributable_deaths_low,
        cast(attributable_deaths_high as double) as attributable_deaths_high
    from source
)

select * from final
