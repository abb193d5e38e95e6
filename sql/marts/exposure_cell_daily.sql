with cell_exposures as (
    select * from intermediate.int_cell_exposures_joined
),

final as (
    select
        cell_id,
        date,
        pollutant,
        statistic,
        time_base,
        value_ug_m3,
        is_valid,
        coverage,
        n_valid,
        n_expected,
        population,
        pop_0_5,
        pop_65p,
        pop_poor_households
    from cell_exposures
)

select * from final
