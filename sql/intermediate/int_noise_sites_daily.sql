with noise_hourly as (
    select * from staging.stg_noise_hourly
),

final as (
    -- name and position as last reported that day: a site renamed or moved keeps, on the
    -- days before, the name and position it had then
    select
        site_id,
        date,
        arg_max(site_name, ts_start_utc) as site_name,
        arg_max(lon, ts_start_utc) as lon,
        arg_max(lat, ts_start_utc) as lat
    from noise_hourly
    group by site_id, date
)

select * from final
