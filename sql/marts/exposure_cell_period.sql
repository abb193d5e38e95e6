with cell_periods as (
    select * from intermediate.int_cell_periods_joined
),

final as (
    select
        cell_id,
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
        compliance,
        is_above,
        population,
        pop_0_5,
        pop_65p,
        pop_poor_households
    from cell_periods
)

select * from final
