with thresholds as (
    select * from marts.thresholds
),

parameters as (
    select * from marts.parameters
),

rounding as (
    select lower(trim(value)) in ('1', 'true', 'yes') as round_before_compare
    from parameters
    where name = 'round_before_compare'
),

daily_rows as (
    select
        set_id,
        pollutant,
        averaging,
        level,
        value as threshold_value,
        unit,
        comparison,
        consecutive_periods,
        status as threshold_status,
        reference,
        case
            when averaging in ('day_mean', 'day_max_8h_mean') then averaging
            -- one hour above the value ⇔ the day's maximum hourly value is above it
            when averaging = '1h' then 'day_max_1h'
        end as statistic
    from thresholds
    where
        unit = 'µg/m³'
        and noise_source is null
        -- rules on consecutive hours are evaluated by the alert engine (spse.alerts)
        and consecutive_periods = 1
),

final as (
    select
        daily_rows.*,
        coalesce(rounding.round_before_compare, false) as round_before_compare
    from daily_rows
    left join rounding on true
    where daily_rows.statistic is not null
)

select * from final
