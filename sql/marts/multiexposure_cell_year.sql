with classed as (
    select * from intermediate.int_multiexposure_cells_classed
    where period_kind = 'year'
),

final as (
    select
        cell_id,
        calendar_year,
        make_date(calendar_year, 1, 1) as period_start,
        date as period_end,
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
