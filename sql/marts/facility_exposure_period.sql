with facilities as (
    select * from intermediate.int_facility_cells_joined
),

cell_periods as (
    -- only the cells holding a facility: the days-above lists are built for them alone
    select * from intermediate.int_cell_periods_joined
    where
        period_kind in ('year', 'season')
        and cell_id in (select facilities.cell_id from facilities)
),

means as (
    select
        cell_id,
        pollutant,
        period,
        period_kind,
        period_start,
        period_end,
        time_base,
        value as mean_ug_m3,
        n_valid,
        n_expected,
        coverage_met
    from cell_periods
    where indicator = 'mean'
),

days_above as (
    select
        cell_id,
        pollutant,
        period,
        string_agg(
            set_id || ' ' || level || ' ' || printf('%g', threshold_value) || ': '
            || printf('%d', cast(value as bigint)) || ' d (allowed '
            || printf('%d', cast(allowed_exceedances as bigint)) || ')',
            '; '
            order by set_id, averaging, threshold_value
        ) as days_above_thresholds,
        count(*) filter (where is_above) as n_thresholds_above,
        max(value) filter (where set_id = 'WHO_2021') as days_above_who
    from cell_periods
    where indicator = 'exceedance_count' and averaging in ('day_mean', 'day_max_8h_mean')
    group by cell_id, pollutant, period
),

joined as (
    select
        facilities.facility_id,
        facilities.category,
        facilities.name,
        facilities.address,
        facilities.zone_id,
        facilities.cell_id,
        means.pollutant,
        means.period,
        means.period_kind,
        means.period_start,
        means.period_end,
        means.time_base,
        means.mean_ug_m3,
        means.n_valid,
        means.n_expected,
        means.coverage_met,
        days_above.days_above_thresholds,
        days_above.n_thresholds_above,
        days_above.days_above_who
    from facilities
    inner join means
        on facilities.cell_id = means.cell_id
    left join days_above
        on
            means.cell_id = days_above.cell_id
            and means.pollutant = days_above.pollutant
            and means.period = days_above.period
),

final as (
    select
        *,
        rank() over (
            partition by category, pollutant, period order by mean_ug_m3 desc nulls last
        ) as rank_in_category,
        count(*) over (partition by category, pollutant, period) as n_in_category
    from joined
)

select * from final
