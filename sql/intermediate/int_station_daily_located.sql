with station_daily as (
    select * from staging.stg_station_daily
),

stations as (
    select * from staging.stg_air_stations
),

station_cells as (
    select * from staging.stg_station_cells
),

zone_cells as (
    select * from staging.stg_zone_cells
    where zone_level = 'arrondissement'
),

zones as (
    select * from staging.stg_zones
),

station_zones as (
    -- the crosswalk gives area fractions, not the point: take the zone holding most of the cell
    select
        station_cells.station_id,
        station_cells.cell_id,
        zone_cells.zone_id,
        zones.zone_name
    from station_cells
    left join zone_cells
        on station_cells.cell_id = zone_cells.cell_id
    left join zones
        on zone_cells.zone_id = zones.zone_id
    qualify row_number() over (
        partition by station_cells.station_id
        order by zone_cells.area_fraction desc nulls last, zone_cells.zone_id asc
    ) = 1
),

final as (
    select
        station_daily.station_id,
        stations.station_name,
        station_daily.station_class,
        station_zones.cell_id,
        station_zones.zone_id,
        station_zones.zone_name,
        stations.lon,
        stations.lat,
        station_daily.date,
        station_daily.pollutant,
        station_daily.statistic,
        station_daily.value,
        -- E2 reports CO in mg/m³ and every other pollutant in µg/m³
        case when station_daily.pollutant = 'CO' then 'mg/m³' else 'µg/m³' end as unit,
        station_daily.n_valid,
        station_daily.n_expected,
        station_daily.coverage,
        station_daily.is_valid,
        station_daily.time_base
    from station_daily
    left join stations
        on station_daily.station_id = stations.station_id
    left join station_zones
        on station_daily.station_id = station_zones.station_id
)

select * from final
