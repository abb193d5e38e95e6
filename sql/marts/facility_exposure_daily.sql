with facilities as (
    select * from intermediate.int_facility_cells_joined
),

cell_exposures as (
    select * from intermediate.int_cell_exposures_joined
),

cell_thresholds as (
    select * from intermediate.int_cell_thresholds_compared
),

exceeded as (
    select
        cell_id,
        date,
        pollutant,
        statistic,
        time_base,
        string_agg(
            set_id || ' ' || level || ' ' || printf('%g', threshold_value), '; '
            order by set_id, threshold_value, level
        ) as thresholds_exceeded,
        count(*) as n_thresholds_exceeded
    from cell_thresholds
    where
        is_above
        and cell_id in (select facilities.cell_id from facilities)
    group by cell_id, date, pollutant, statistic, time_base
),

final as (
    select
        facilities.facility_id,
        facilities.category,
        facilities.name,
        facilities.address,
        facilities.postcode,
        facilities.zone_id,
        facilities.arrondissement,
        facilities.capacity,
        facilities.capacity_unit,
        facilities.cell_id,
        cell_exposures.date,
        cell_exposures.pollutant,
        cell_exposures.statistic,
        cell_exposures.time_base,
        cell_exposures.value_ug_m3,
        cell_exposures.is_valid,
        case
            when cell_exposures.is_valid then coalesce(exceeded.thresholds_exceeded, '')
        end as thresholds_exceeded,
        case
            when cell_exposures.is_valid then coalesce(exceeded.n_thresholds_exceeded, 0)
        end as n_thresholds_exceeded
    from facilities
    inner join cell_exposures
        on facilities.cell_id = cell_exposures.cell_id
    left join exceeded
        on
            cell_exposures.cell_id = exceeded.cell_id
            and cell_exposures.date = exceeded.date
            and cell_exposures.pollutant = exceeded.pollutant
            and cell_exposures.statistic = exceeded.statistic
            and cell_exposures.time_base = exceeded.time_base
)

select * from final
