with latest as (
    -- a forecast day forecast by two runs: the latest run's row (marts.alerts), not one row per version
    select * from lake.alerts
    qualify row_number() over (partition by alert_id order by partition_date desc) = 1
),

alerts as (
    select
        cast(alert_id as varchar) as alert_id,
        cast(date as date) as date,
        cast(kind as varchar) as kind,
        cast(pollutant as varchar) as pollutant,
        cast(level as varchar) as level,
        cast(set_id as varchar) as set_id,
        cast(facility_ids as varchar) as facility_ids
    from latest
    where facility_ids is not null and facility_ids <> ''
),

alert_facility_ids as (
    select
        alert_id,
        date,
        kind,
        pollutant,
        level,
        set_id,
        unnest(string_split(facility_ids, ',')) as facility_id
    from alerts
),

facilities as (
    select distinct
        facility_id,
        category,
        name,
        address,
        postcode,
        zone_id,
        arrondissement,
        capacity,
        capacity_unit
    from intermediate.int_facility_cells_joined
),

sensitivity as (
    select string_split(value, ' ') as categories
    from marts.parameters
    where name = 'facility_sensitivity_order'
),

ranked as (
    select
        alert_facility_ids.alert_id,
        alert_facility_ids.date,
        alert_facility_ids.kind,
        alert_facility_ids.pollutant,
        alert_facility_ids.level,
        alert_facility_ids.set_id,
        alert_facility_ids.facility_id,
        facilities.category,
        facilities.name,
        facilities.address,
        facilities.postcode,
        facilities.zone_id,
        facilities.arrondissement,
        facilities.capacity,
        facilities.capacity_unit,
        coalesce(
            nullif(list_position(sensitivity.categories, facilities.category), 0),
            coalesce(len(sensitivity.categories), 0) + 1
        ) as sensitivity_rank
    from alert_facility_ids
    left join facilities
        on alert_facility_ids.facility_id = facilities.facility_id
    left join sensitivity
        on true
),

final as (
    select
        *,
        row_number() over (
            partition by alert_id
            order by sensitivity_rank, strip_accents(lower(coalesce(name, ''))), facility_id
        ) as facility_order
    from ranked
)

select * from final
