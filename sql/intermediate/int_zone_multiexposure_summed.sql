with pieces as (
    select * from intermediate.int_zone_multiexposure_pieces
),

facilities as (
    select * from intermediate.int_zone_multiexposure_facilities
),

air as (
    select * from intermediate.int_multiexposure_cell_air
),

settings as (
    select * from intermediate.int_exposure_class_settings
),

zone_population as (
    -- the pieces of a zone hold all its residents (the noise shares of a cell sum to 1)
    select
        zone_id,
        zone_level,
        any_value(zone_name) as zone_name,
        any_value(parent_zone_id) as parent_zone_id,
        sum(population) as population
    from pieces
    group by zone_level, zone_id
),

residents as (
    select
        pieces.zone_id,
        pieces.zone_level,
        air.period_kind,
        air.date,
        air.calendar_year,
        air.time_base,
        air.air_class,
        pieces.noise_class,
        sum(pieces.population) as population,
        sum(pieces.pop_0_5) as pop_0_5,
        sum(pieces.pop_65p) as pop_65p,
        sum(pieces.pop_poor_households) as pop_poor_households,
        count(distinct pieces.cell_id) as n_cells
    from pieces
    inner join air on pieces.cell_id = air.cell_id
    group by
        pieces.zone_level, pieces.zone_id, air.period_kind, air.date, air.calendar_year, air.time_base,
        air.air_class, pieces.noise_class
),

facility_categories as (
    select
        facilities.zone_id,
        facilities.zone_level,
        air.period_kind,
        air.date,
        air.calendar_year,
        air.time_base,
        air.air_class,
        facilities.noise_class,
        facilities.category,
        count(*) as n_facilities
    from facilities
    inner join air on facilities.cell_id = air.cell_id
    group by
        facilities.zone_level, facilities.zone_id, air.period_kind, air.date, air.calendar_year, air.time_base,
        air.air_class, facilities.noise_class, facilities.category
),

facility_counts as (
    select
        zone_id,
        zone_level,
        period_kind,
        date,
        calendar_year,
        time_base,
        air_class,
        noise_class,
        sum(n_facilities) as facility_count,
        cast(to_json(map(list(category order by category), list(n_facilities order by category))) as varchar)
            as facilities_by_category
    from facility_categories
    group by zone_level, zone_id, period_kind, date, calendar_year, time_base, air_class, noise_class
),

classed as (
    select
        coalesce(residents.zone_id, facility_counts.zone_id) as zone_id,
        coalesce(residents.zone_level, facility_counts.zone_level) as zone_level,
        coalesce(residents.period_kind, facility_counts.period_kind) as period_kind,
        coalesce(residents.date, facility_counts.date) as date,
        coalesce(residents.calendar_year, facility_counts.calendar_year) as calendar_year,
        coalesce(residents.time_base, facility_counts.time_base) as time_base,
        coalesce(residents.air_class, facility_counts.air_class) as air_class,
        coalesce(residents.noise_class, facility_counts.noise_class) as noise_class,
        coalesce(residents.population, 0) as population,
        coalesce(residents.pop_0_5, 0) as pop_0_5,
        coalesce(residents.pop_65p, 0) as pop_65p,
        coalesce(residents.pop_poor_households, 0) as pop_poor_households,
        coalesce(facility_counts.facility_count, 0) as facility_count,
        coalesce(facility_counts.facilities_by_category, '{}') as facilities_by_category,
        coalesce(residents.n_cells, 0) as n_cells
    from residents
    full outer join facility_counts
        on
            residents.zone_level = facility_counts.zone_level
            and residents.zone_id = facility_counts.zone_id
            and residents.period_kind = facility_counts.period_kind
            and residents.date = facility_counts.date
            and residents.time_base = facility_counts.time_base
            and residents.air_class = facility_counts.air_class
            and residents.noise_class is not distinct from facility_counts.noise_class
),

final as (
    select
        classed.zone_id,
        classed.zone_level,
        zone_population.zone_name,
        zone_population.parent_zone_id,
        classed.period_kind,
        classed.date,
        classed.calendar_year,
        classed.time_base,
        classed.air_class,
        classed.noise_class,
        classed.air_class + classed.noise_class as combined_class,
        list_extract(settings.class_labels, classed.air_class + classed.noise_class + 1) as class_label,
        classed.air_class >= settings.hotspot_min_air
        and classed.noise_class >= settings.hotspot_min_noise as is_hotspot,
        classed.population,
        classed.pop_0_5,
        classed.pop_65p,
        classed.pop_poor_households,
        classed.population / nullif(zone_population.population, 0) as share_of_zone_population,
        classed.facility_count,
        classed.facilities_by_category,
        classed.n_cells
    from classed
    cross join settings
    inner join zone_population
        on
            classed.zone_level = zone_population.zone_level
            and classed.zone_id = zone_population.zone_id
)

select * from final
