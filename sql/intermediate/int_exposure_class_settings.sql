with parameters as (
    select * from marts.parameters
),

final as (
    select
        cast(any_value(value) filter (where name = 'multiexposure_hotspot_min_air') as integer) as hotspot_min_air,
        cast(any_value(value) filter (where name = 'multiexposure_hotspot_min_noise') as integer)
            as hotspot_min_noise,
        string_split(trim(any_value(value) filter (where name = 'multiexposure_labels')), ' ') as class_labels,
        cast(any_value(value) filter (where name = 'noise_band_centre_offset_db') as double) as band_centre_offset_db,
        coalesce(
            lower(trim(any_value(value) filter (where name = 'round_before_compare'))) in ('1', 'true', 'yes'),
            false
        ) as round_before_compare
    from parameters
)

select * from final
