with source as (
    select * from lake.surface_validation
),

final as (
    select
        cast(date as date) as date,
        cast(pollutant as varchar) as pollutant,
        cast(statistic as varchar) as statistic,
        cast(n_stations as bigint) as n_stations,
        cast(loo_rmse as double) as loo_rmse_ug_m3,
        cast(loo_bias as double) as loo_bias_ug_m3,
        cast(method as varchar) as method
    from source
)

select * from final
