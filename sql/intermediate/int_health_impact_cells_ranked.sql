with cell_deaths as (
    select * from staging.stg_health_impact_cell_year
    where counterfactual = 'who_2021'
),

cells as (
    select * from intermediate.int_cell_income_ranked
),

zoned as (
    -- the arrondissement pieces, and Paris (75056) as all of them
    select
        zone_id,
        'arrondissement' as zone_level,
        cell_id,
        calendar_year,
        pollutant,
        pop_30p,
        attributable_deaths,
        attributable_deaths_low,
        attributable_deaths_high
    from cell_deaths
    union all
    select
        '75056' as zone_id,
        'commune' as zone_level,
        cell_id,
        calendar_year,
        pollutant,
        pop_30p,
        attributable_deaths,
        attributable_deaths_low,
        attributable_deaths_high
    from cell_deaths
),

final as (
    select
        zoned.*,
        coalesce(cells.income_quintile, 0) as income_quintile
    from zoned
    left join cells on zoned.cell_id = cells.cell_id
)

select * from final
