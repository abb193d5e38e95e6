with station_periods as (
    select * from intermediate.int_station_periods_located
),

final as (
    select
        station_id,
        station_name,
        station_class,
        lon,
        lat,
        pollutant,
        period,
        period_kind,
        period_start,
        period_end,
        time_base,
        indicator,
        statistic,
        q,
        set_id,
        level,
        averaging,
        threshold_value,
        allowed_exceedances,
        value,
        unit,
        n_valid,
        n_expected,
        coverage,
        coverage_met,
        judged_by,
        judged_value,
        compliance
    from station_periods
)

select * from final
