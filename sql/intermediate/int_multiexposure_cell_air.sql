with cell_values as (
    -- the day's valid daily means and the year's annual means meeting coverage, each against its averaging
    select
        cell_id,
        'day' as period_kind,
        date,
        cast(year(date) as integer) as calendar_year,
        time_base,
        pollutant,
        'day_mean' as averaging,
        value_ug_m3
    from intermediate.int_cell_exposures_joined
    where statistic = 'day_mean' and is_valid
    union all
    select
        cell_id,
        'year' as period_kind,
        period_end as date,
        calendar_year,
        time_base,
        pollutant,
        'year_mean' as averaging,
        value_ug_m3
    from intermediate.int_cell_annual_means_filtered
),

cutoffs as (
    -- each pollutant's cut-offs as one list, so that a value meets its own in one row
    select
        pollutant,
        averaging,
        list(struct_pack(rung, threshold_value, comparison)) as cuts
    from intermediate.int_exposure_class_cutoffs
    where kind = 'air'
    group by pollutant, averaging
),

settings as (
    select * from intermediate.int_exposure_class_settings
),

pollutant_classes as (
    -- the highest cut-off exceeded, 0 when none
    select
        cell_values.cell_id,
        cell_values.period_kind,
        cell_values.date,
        cell_values.calendar_year,
        cell_values.time_base,
        cell_values.pollutant,
        coalesce(list_max(list_transform(
            list_filter(
                cutoffs.cuts,
                c -> case
                    when c.comparison = '>=' then cell_values.compared_ug_m3 >= c.threshold_value
                    else cell_values.compared_ug_m3 > c.threshold_value
                end
            ),
            c -> c.rung
        )), 0) as pollutant_class
    from (
        select
            cell_values.*,
            case
                when settings.round_before_compare and cell_values.period_kind = 'day'
                    then round(cell_values.value_ug_m3)
                else cell_values.value_ug_m3
            end as compared_ug_m3
        from cell_values
        cross join settings
    ) as cell_values
    inner join cutoffs
        on
            cell_values.pollutant = cutoffs.pollutant
            and cell_values.averaging = cutoffs.averaging
),

cell_classes as (
    -- calendar_year is the year of date: one group per cell, period, day and time base; a pollutant
    -- with two values in a group counts once, at its highest class
    select
        cell_id,
        period_kind,
        date,
        calendar_year,
        time_base,
        max(pollutant_class) as air_class,
        list(struct_pack(pollutant, pollutant_class)) as classes,
        count(distinct pollutant) as n_pollutants
    from pollutant_classes
    group by cell_id, period_kind, date, calendar_year, time_base
),

final as (
    -- the cell's class is its highest pollutant class; the pollutants reaching it, in alphabetical order
    select
        cell_id,
        period_kind,
        date,
        calendar_year,
        time_base,
        air_class,
        case
            when air_class > 0 then array_to_string(list_sort(list_distinct(list_transform(
                list_filter(classes, c -> c.pollutant_class = air_class), c -> c.pollutant
            ))), ',')
        end as air_pollutants,
        n_pollutants
    from cell_classes
)

select * from final
