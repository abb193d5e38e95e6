with history as (
    select * from marts.alert_history
),

final as (
    -- one row per alert: the row of the latest run that issued or confirmed it (its latest version)
    select
        alert_id,
        alert_version,
        date,
        kind,
        alert_type,
        label,
        pollutant,
        level,
        set_id,
        averaging,
        threshold_value,
        unit,
        value_max,
        basis,
        station_ids,
        zone_ids,
        zone_names,
        n_cells,
        cell_ids,
        area_km2,
        population_exposed,
        population_definition,
        population_total,
        pop_0_5,
        pop_65p,
        pop_poor_households,
        facility_count,
        facility_ids,
        facilities_by_category,
        facilities,
        children_in_creches,
        creches_without_capacity,
        recommendation,
        status,
        episode_start_date,
        meets_episode_criteria,
        criteria,
        triggered_by,
        time_base,
        issued_on
    from history
    -- alert_id hashes the date: partitioning by date too changes no row, and lets the incremental
    -- build's filter on its days reach alert_history instead of ranking every version of the history
    qualify row_number() over (partition by date, alert_id order by run_date desc, alert_version desc) = 1
)

select * from final
