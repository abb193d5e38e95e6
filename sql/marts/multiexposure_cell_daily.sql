with classed as (
    select * from intermediate.int_multiexposure_cells_classed
    where period_kind = 'day'
),

final as (
    select
        cell_id,
        date,
        time_base,
        air_class,
        air_pollutants,
        noise_class,
        share_noise_class_1_plus,
        share_noise_class_2,
        combined_class,
        class_label,
        is_hotspot,
        population,
        pop_in_hotspot
    from classed
)

select * from final
