with thresholds as (
    select * from marts.thresholds
),

parameters as (
    select * from marts.parameters
),

setting_lists as (
    select
        name,
        string_split(trim(value), ' ') as words
    from parameters
    where
        name in (
            'multiexposure_air_sets',
            'multiexposure_air_pollutants',
            'multiexposure_noise_sets',
            'multiexposure_noise_indicator'
        )
),

air_sets as (
    select
        unnest(words) as set_id,
        generate_subscripts(words, 1) as rung
    from setting_lists
    where name = 'multiexposure_air_sets'
),

air_pollutants as (
    select unnest(words) as pollutant
    from setting_lists
    where name = 'multiexposure_air_pollutants'
),

noise_sets as (
    select
        unnest(words) as set_id,
        generate_subscripts(words, 1) as rung
    from setting_lists
    where name = 'multiexposure_noise_sets'
),

noise_indicator as (
    select
        words[1] as indicator,
        words[2] as noise_source
    from setting_lists
    where name = 'multiexposure_noise_indicator'
),

air_cutoffs as (
    select
        'air' as kind,
        thresholds.pollutant,
        cast(null as varchar) as noise_source,
        thresholds.averaging,
        air_sets.rung,
        thresholds.set_id,
        thresholds.level,
        thresholds.value as threshold_value,
        thresholds.unit,
        thresholds.comparison,
        thresholds.status as threshold_status
    from thresholds
    inner join air_sets on thresholds.set_id = air_sets.set_id
    inner join air_pollutants on thresholds.pollutant = air_pollutants.pollutant
    where
        thresholds.noise_source is null
        and thresholds.averaging in ('day_mean', 'year_mean')
        and thresholds.level in ('guideline', 'limit')
        and thresholds.consecutive_periods = 1
),

noise_cutoffs as (
    select
        'noise' as kind,
        thresholds.pollutant,
        thresholds.noise_source,
        thresholds.averaging,
        noise_sets.rung,
        thresholds.set_id,
        thresholds.level,
        thresholds.value as threshold_value,
        thresholds.unit,
        thresholds.comparison,
        thresholds.status as threshold_status
    from thresholds
    inner join noise_sets on thresholds.set_id = noise_sets.set_id
    inner join noise_indicator
        on
            thresholds.pollutant = noise_indicator.indicator
            and thresholds.noise_source = noise_indicator.noise_source
    where thresholds.level in ('guideline', 'limit')
),

final as (
    select * from air_cutoffs
    union all
    select * from noise_cutoffs
)

select * from final
