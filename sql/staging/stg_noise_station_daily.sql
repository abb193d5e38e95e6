with source as (
    select * from lake.noise_station_daily
),

final as (
    select
        cast(site_id as varchar) as site_id,
        cast(date as date) as date,
        cast(ld_dba as double) as ld_dba,
        cast(le_dba as double) as le_dba,
        cast(ln_dba as double) as ln_dba,
        cast(lden_dba as double) as lden_dba,
        cast(n_valid_hours as bigint) as n_valid_hours,
        coalesce(cast(is_valid as boolean), false) as is_valid
    from source
)

select * from final
