with cell_values as (
    select
        cell_id,
        calendar_year,
        period_start,
        time_base,
        pollutant,
        value_ug_m3
    from intermediate.int_cell_annual_means_filtered
),

cutoffs as (
    select * from intermediate.int_exposure_class_cutoffs
    where kind = 'air' and averaging = 'year_mean'
),

settings as (
    select * from intermediate.int_exposure_class_settings
),

compared as (
    select
        cell_values.cell_id,
        cell_values.calendar_year,
        cell_values.period_start,
        cell_values.time_base,
        cell_values.pollutant,
        cutoffs.rung,
        case
            when cutoffs.comparison = '>=' then cell_values.compared_ug_m3 >= cutoffs.threshold_value
            else cell_values.compared_ug_m3 > cutoffs.threshold_value
        end as is_above
    from (
        select
            cell_values.*,
            case
                when settings.round_before_compare then round(cell_values.value_ug_m3)
                else cell_values.value_ug_m3
            end as compared_ug_m3
        from cell_values
        cross join settings
    ) as cell_values
    inner join cutoffs on cell_values.pollutant = cutoffs.pollutant
),

pollutant_classes as (
    -- the highest cut-off exceeded, 0 when none
    select
        cell_id,
        calendar_year,
        period_start,
        time_base,
        pollutant,
        coalesce(max(rung) filter (where is_above), 0) as pollutant_class
    from compared
    group by cell_id, calendar_year, period_start, time_base, pollutant
),

ranked as (
    select
        *,
        max(pollutant_class) over (partition by cell_id, calendar_year, period_start, time_base) as air_class
    from pollutant_classes
),

final as (
    select
        cell_id,
        calendar_year,
        period_start,
        time_base,
        any_value(air_class) as air_class,
        string_agg(pollutant, ',' order by pollutant) filter (
            where pollutant_class = air_class and air_class > 0
        ) as air_pollutants,
        count(*) as n_pollutants
    from ranked
    group by cell_id, calendar_year, period_start, time_base
)

select * from final
