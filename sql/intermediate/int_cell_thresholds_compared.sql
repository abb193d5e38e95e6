with cell_exposures as (
    select * from intermediate.int_cell_exposures_joined
),

thresholds as (
    select * from intermediate.int_air_thresholds_mapped
),

paired as (
    select
        cell_exposures.cell_id,
        cell_exposures.date,
        cell_exposures.pollutant,
        cell_exposures.statistic,
        cell_exposures.time_base,
        cell_exposures.is_valid,
        thresholds.set_id,
        thresholds.level,
        thresholds.averaging,
        thresholds.threshold_value,
        thresholds.comparison,
        thresholds.threshold_status,
        case
            when thresholds.round_before_compare then round(cell_exposures.value_ug_m3)
            else cell_exposures.value_ug_m3
        end as compared_value_ug_m3
    from cell_exposures
    inner join thresholds
        on
            cell_exposures.pollutant = thresholds.pollutant
            and cell_exposures.statistic = thresholds.statistic
),

final as (
    select
        *,
        case comparison
            when '>=' then compared_value_ug_m3 >= threshold_value
            else compared_value_ug_m3 > threshold_value
        end as is_above
    from paired
)

select * from final
