with noise_hourly as (
    select * from staging.stg_noise_hourly
),

final as (
    -- name and position as last reported, in case a site was renamed or moved
    select
        site_id,
        arg_max(site_name, ts_start_utc) as site_name,
        arg_max(lon, ts_start_utc) as lon,
        arg_max(lat, ts_start_utc) as lat,
        min(ts_start_utc) as first_hour_utc,
        max(ts_start_utc) as last_hour_utc
    from noise_hourly
    group by site_id
)

select * from final
