with grid_cells as (
    select * from staging.stg_grid_cells
),

forecast as (
    select * from staging.stg_forecast_cell_daily
),

thresholds as (
    select * from intermediate.int_air_thresholds_mapped
),

information as (
    select
        pollutant,
        statistic,
        threshold_value,
        comparison,
        round_before_compare
    from thresholds
    where set_id = 'FR_R221-1' and level = 'information'
),

day_keys as (
    select distinct
        date,
        lead_day,
        run_date,
        base_time_utc,
        pollutant,
        statistic,
        unit,
        time_base
    from forecast
),

completed as (
    -- every cell for every forecast day, so a cell missing from the forecast counts as invalid
    select
        grid_cells.cell_id,
        day_keys.*
    from grid_cells
    cross join day_keys
),

joined as (
    select
        completed.*,
        forecast.value,
        coalesce(forecast.is_valid, false) as is_valid,
        information.threshold_value as information_threshold,
        information.comparison,
        case
            when information.round_before_compare then round(forecast.value)
            else forecast.value
        end as compared_value
    from completed
    left join forecast
        on
            completed.cell_id = forecast.cell_id
            and completed.date = forecast.date
            and completed.lead_day = forecast.lead_day
            and completed.pollutant = forecast.pollutant
            and completed.statistic = forecast.statistic
            and completed.time_base = forecast.time_base
    left join information
        on
            completed.pollutant = information.pollutant
            and completed.statistic = information.statistic
),

final as (
    select
        cell_id,
        date,
        lead_day,
        run_date,
        base_time_utc,
        pollutant,
        statistic,
        unit,
        time_base,
        value,
        is_valid,
        information_threshold,
        case comparison
            when '>=' then compared_value >= information_threshold
            else compared_value > information_threshold
        end as is_above_information
    from joined
)

select * from final
