with station_periods as (
    select * from intermediate.int_station_periods_located
),

yearly as (
    select * from station_periods
    where period_kind = 'year' and set_id is not null
),

o3_target_years as (
    -- the O3 target value days are judged as a mean over the year and the two before it
    select
        yearly.station_id,
        yearly.set_id,
        yearly.level,
        yearly.averaging,
        yearly.threshold_value,
        yearly.period,
        count(earlier.value) as n_years,
        avg(earlier.value) as exceedances_3y_mean,
        sum(earlier.value) as exceedances_3y_sum,
        bool_and(earlier.coverage_met) as all_coverage_met
    from yearly
    inner join yearly as earlier
        on
            yearly.station_id = earlier.station_id
            and yearly.pollutant = earlier.pollutant
            and yearly.set_id = earlier.set_id
            and yearly.level = earlier.level
            and yearly.averaging = earlier.averaging
            and yearly.threshold_value = earlier.threshold_value
            and yearly.time_base = earlier.time_base
            and year(earlier.period_start) between year(yearly.period_start) - 2 and year(yearly.period_start)
    where yearly.pollutant = 'O3' and yearly.level = 'target' and yearly.averaging = 'day_max_8h_mean'
    group by all
),

final as (
    select
        yearly.station_id,
        yearly.station_name,
        yearly.station_class,
        yearly.period,
        yearly.period_start,
        yearly.period_end,
        yearly.time_base,
        yearly.set_id,
        yearly.pollutant,
        yearly.level,
        yearly.averaging,
        yearly.threshold_value,
        yearly.allowed_exceedances,
        yearly.indicator,
        yearly.value,
        yearly.unit,
        yearly.judged_by,
        yearly.judged_value,
        yearly.n_valid,
        yearly.n_expected,
        yearly.coverage,
        yearly.coverage_met,
        o3_target_years.exceedances_3y_mean,
        coalesce(o3_target_years.n_years, 1) as n_years,
        case when o3_target_years.period is not null then '3-year mean' else 'year' end as compliance_basis,
        case
            when o3_target_years.period is null then yearly.compliance
            -- more days than three years allow: the 3-year mean exceeds whatever the missing data
            when o3_target_years.exceedances_3y_sum > 3 * yearly.allowed_exceedances then 'not_compliant'
            when o3_target_years.n_years < 3 or not o3_target_years.all_coverage_met then 'undetermined'
            when o3_target_years.exceedances_3y_mean > yearly.allowed_exceedances then 'not_compliant'
            else 'compliant'
        end as compliance
    from yearly
    left join o3_target_years
        on
            yearly.station_id = o3_target_years.station_id
            and yearly.set_id = o3_target_years.set_id
            and yearly.level = o3_target_years.level
            and yearly.averaging = o3_target_years.averaging
            and yearly.threshold_value = o3_target_years.threshold_value
            and yearly.period = o3_target_years.period
)

select * from final
