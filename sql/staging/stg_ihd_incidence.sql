with source as (
    select * from lake.ihd_incidence
),

final as (
    select
        cast(year as integer) as calendar_year,
        cast(zone_id as varchar) as zone_id,
        cast(zone_name as varchar) as zone_name,
        cast(cases as double) as cases,
        cast(population as double) as population,
        cast(cases as double) / nullif(cast(population as double), 0) as incidence_rate
    from source
)

select * from final
