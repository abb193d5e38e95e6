with classed as (
    select * from intermediate.int_zone_multiexposure_summed
    where period_kind = 'year'
),

final as (
    select
        zone_id,
        zone_level,
        zone_name,
        parent_zone_id,
        calendar_year,
        make_date(calendar_year, 1, 1) as period_start,
        date as period_end,
        time_base,
        air_class,
        noise_class,
        combined_class,
        class_label,
        is_hotspot,
        population,
        pop_0_5,
        pop_65p,
        pop_poor_households,
        share_of_zone_population,
        facility_count,
        facilities_by_category,
        n_cells
    from classed
)

select * from final
