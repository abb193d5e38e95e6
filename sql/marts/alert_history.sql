with source as (
    -- partitions written before these columns lack them: they read as NULL
    select * from lake.alerts
    union all by name
    select
        cast(null as varchar) as facilities,
        cast(null as bigint) as children_in_creches,
        cast(null as bigint) as creches_without_capacity,
        cast(null as varchar) as alert_type,
        cast(null as varchar) as label,
        cast(null as varchar) as criteria,
        cast(null as double) as population_exposed,
        cast(null as varchar) as population_definition,
        cast(null as varchar) as cell_ids,
        cast(null as bigint) as alert_version,
        cast(null as date) as issued_on
    where false
),

final as (
    select
        cast(alert_id as varchar) as alert_id,
        cast(coalesce(alert_version, 1) as bigint) as alert_version,
        cast(date as date) as date,
        cast(partition_date as date) as run_date,
        cast(kind as varchar) as kind,
        cast(
            coalesce(alert_type, case when kind = 'data_quality' then 'data_quality' else 'regulatory_episode' end)
            as varchar
        ) as alert_type,
        cast(label as varchar) as label,
        cast(pollutant as varchar) as pollutant,
        cast(level as varchar) as level,
        cast(set_id as varchar) as set_id,
        cast(averaging as varchar) as averaging,
        cast(threshold_value as double) as threshold_value,
        cast(unit as varchar) as unit,
        cast(value_max as double) as value_max,
        cast(basis as varchar) as basis,
        cast(station_ids as varchar) as station_ids,
        cast(zone_ids as varchar) as zone_ids,
        cast(zone_names as varchar) as zone_names,
        cast(n_cells as bigint) as n_cells,
        cast(cell_ids as varchar) as cell_ids,
        cast(area_km2 as double) as area_km2,
        cast(coalesce(population_exposed, population_total) as double) as population_exposed,
        cast(population_definition as varchar) as population_definition,
        cast(population_total as double) as population_total,
        cast(pop_0_5 as double) as pop_0_5,
        cast(pop_65p as double) as pop_65p,
        cast(pop_poor_households as double) as pop_poor_households,
        cast(facility_count as bigint) as facility_count,
        cast(facility_ids as varchar) as facility_ids,
        cast(facilities_by_category as varchar) as facilities_by_category,
        cast(facilities as varchar) as facilities,
        cast(children_in_creches as bigint) as children_in_creches,
        cast(creches_without_capacity as bigint) as creches_without_capacity,
        cast(recommendation as varchar) as recommendation,
        cast(status as varchar) as status,
        cast(episode_start_date as date) as episode_start_date,
        cast(meets_episode_criteria as boolean) as meets_episode_criteria,
        cast(criteria as varchar) as criteria,
        cast(triggered_by as varchar) as triggered_by,
        cast(time_base as varchar) as time_base,
        cast(coalesce(issued_on, partition_date) as date) as issued_on
    from source
)

select * from final
