with station_daily as (
    select * from intermediate.int_station_daily_located
),

final as (
    select
        station_id,
        station_name,
        station_class,
        cell_id,
        zone_id,
        zone_name,
        lon,
        lat,
        date,
        pollutant,
        statistic,
        value,
        unit,
        n_valid,
        n_expected,
        coverage,
        is_valid,
        time_base
    from station_daily
)

select * from final
