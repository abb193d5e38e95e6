with period_stations as (
    select * from staging.stg_period_station
),

stations as (
    select * from staging.stg_air_stations
),

final as (
    select
        period_stations.station_id,
        stations.station_name,
        period_stations.station_class,
        stations.lon,
        stations.lat,
        period_stations.pollutant,
        period_stations.period,
        period_stations.period_kind,
        period_stations.period_start,
        period_stations.period_end,
        period_stations.time_base,
        period_stations.indicator,
        period_stations.statistic,
        period_stations.q,
        period_stations.set_id,
        period_stations.level,
        period_stations.averaging,
        period_stations.threshold_value,
        period_stations.allowed_exceedances,
        period_stations.value,
        period_stations.unit,
        period_stations.n_valid,
        period_stations.n_expected,
        period_stations.coverage,
        period_stations.coverage_met,
        period_stations.judged_by,
        period_stations.judged_value,
        period_stations.compliance
    from period_stations
    left join stations
        on period_stations.station_id = stations.station_id
)

select * from final
