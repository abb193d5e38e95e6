with air as (
    select * from lake.air_hourly
),

by_producer as (
    -- one value per producer, station, pollutant and hour: the mean of its valid series
    select
        station_id,
        pollutant,
        ts_start_utc,
        source,
        min(source_rank) as source_rank,
        min(date) as date,
        avg(case when is_valid then value end) as value,
        min(unit) as unit
    from air
    group by station_id, pollutant, ts_start_utc, source
),

ranked as (
    select
        *,
        row_number() over (
            partition by station_id, pollutant, ts_start_utc order by source_rank asc, source asc
        ) as producer_order
    from by_producer
),

kept as (
    select * from ranked
    where producer_order = 1
),

set_aside as (
    select * from ranked
    where producer_order > 1
),

final as (
    select
        set_aside.date,
        set_aside.station_id,
        set_aside.pollutant,
        set_aside.ts_start_utc,
        set_aside.source,
        set_aside.value,
        kept.source as kept_source,
        kept.value as kept_value,
        set_aside.value - kept.value as difference,
        kept.unit
    from set_aside
    inner join kept
        on
            set_aside.station_id = kept.station_id
            and set_aside.pollutant = kept.pollutant
            and set_aside.ts_start_utc = kept.ts_start_utc
)

select * from final
