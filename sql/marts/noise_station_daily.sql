with noise_daily as (
    select * from intermediate.int_noise_station_daily_located
),

final as (
    select
        site_id,
        site_name,
        lon,
        lat,
        date,
        ld_dba,
        le_dba,
        ln_dba,
        lden_dba,
        n_valid_hours,
        is_valid
    from noise_daily
)

select * from final
