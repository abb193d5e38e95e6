with zone_exposures as (
    select * from marts.exposure_zone_daily
),

pivoted as (
    select
        zone_level,
        zone_id,
        date,
        time_base,
        any_value(zone_name) as zone_name,
        max(population) as population,
        max(pop_weighted_mean_ug_m3) filter (
            where pollutant = 'PM10' and statistic = 'day_mean'
        ) as pm10_day_mean_ug_m3,
        max(pop_weighted_mean_ug_m3) filter (
            where pollutant = 'PM2.5' and statistic = 'day_mean'
        ) as pm25_day_mean_ug_m3,
        max(pop_weighted_mean_ug_m3) filter (
            where pollutant = 'NO2' and statistic = 'day_max_1h'
        ) as no2_day_max_1h_ug_m3,
        max(pop_weighted_mean_ug_m3) filter (
            where pollutant = 'O3' and statistic = 'day_max_8h_mean'
        ) as o3_day_max_8h_mean_ug_m3
    from zone_exposures
    group by zone_level, zone_id, date, time_base
),

final as (
    select
        date,
        zone_id,
        zone_level,
        zone_name,
        time_base,
        population,
        pm10_day_mean_ug_m3,
        pm25_day_mean_ug_m3,
        no2_day_max_1h_ug_m3,
        o3_day_max_8h_mean_ug_m3
    from pivoted
)

select * from final
