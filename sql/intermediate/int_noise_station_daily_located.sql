with noise_daily as (
    select * from staging.stg_noise_station_daily
),

sites as (
    select * from intermediate.int_noise_sites_daily
),

final as (
    select
        noise_daily.site_id,
        sites.site_name,
        sites.lon,
        sites.lat,
        noise_daily.date,
        noise_daily.ld_dba,
        noise_daily.le_dba,
        noise_daily.ln_dba,
        noise_daily.lden_dba,
        noise_daily.n_valid_hours,
        noise_daily.is_valid
    from noise_daily
    left join sites
        on
            noise_daily.site_id = sites.site_id
            and noise_daily.date = sites.date
)

select * from final
