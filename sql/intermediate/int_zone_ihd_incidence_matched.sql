with zones as (
    select distinct
        zone_id,
        zone_level,
        left(zone_id, 5) as arrondissement_id,
        case when zone_id like '97%' then left(zone_id, 3) else left(zone_id, 2) end as departement_id
    from intermediate.int_zone_cells_allocated
),

incidence as (
    select * from staging.stg_ihd_incidence
),

latest as (
    select *
    from incidence
    qualify row_number() over (partition by zone_id order by calendar_year desc) = 1
),

candidates as (
    -- a zone's own row first, then its arrondissement's (IRIS 751AAIIII, quartier 751AAQQ), then its département's
    select
        zones.zone_id,
        zones.zone_level,
        latest.zone_id as incidence_zone_id,
        latest.calendar_year as incidence_year,
        latest.incidence_rate,
        case
            when latest.zone_id = zones.zone_id then 1
            when latest.zone_id = zones.arrondissement_id then 2
            else 3
        end as preference
    from zones
    inner join latest
        on
            zones.zone_id = latest.zone_id
            or zones.arrondissement_id = latest.zone_id
            or zones.departement_id = latest.zone_id
),

final as (
    select
        zone_id,
        zone_level,
        incidence_zone_id,
        incidence_year,
        incidence_rate
    from candidates
    qualify row_number() over (partition by zone_level, zone_id order by preference) = 1
)

select * from final
