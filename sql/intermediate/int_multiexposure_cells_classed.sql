with air as (
    select * from intermediate.int_multiexposure_cell_air
),

cell_noise as (
    select * from intermediate.int_multiexposure_cell_noise
),

settings as (
    select * from intermediate.int_exposure_class_settings
),

cells as (
    select * from intermediate.int_cell_income_ranked
),

noise_by_cell as (
    select
        cell_noise.cell_id,
        any_value(cell_noise.dominant_noise_class) as noise_class,
        coalesce(sum(cell_noise.noise_share) filter (where cell_noise.noise_class >= 1), 0)
            as share_noise_class_1_plus,
        coalesce(sum(cell_noise.noise_share) filter (where cell_noise.noise_class >= 2), 0) as share_noise_class_2,
        coalesce(sum(cell_noise.noise_share) filter (where cell_noise.noise_class >= settings.hotspot_min_noise), 0)
            as share_noise_hotspot
    from cell_noise
    cross join settings
    group by cell_noise.cell_id
),

final as (
    select
        air.cell_id,
        air.period_kind,
        air.date,
        air.calendar_year,
        air.time_base,
        air.air_class,
        air.air_pollutants,
        noise_by_cell.noise_class,
        noise_by_cell.share_noise_class_1_plus,
        noise_by_cell.share_noise_class_2,
        air.air_class + noise_by_cell.noise_class as combined_class,
        list_extract(settings.class_labels, air.air_class + noise_by_cell.noise_class + 1) as class_label,
        air.air_class >= settings.hotspot_min_air
        and noise_by_cell.noise_class >= settings.hotspot_min_noise as is_hotspot,
        coalesce(cells.paris_population, 0) as population,
        case
            when noise_by_cell.cell_id is null then null
            when air.air_class >= settings.hotspot_min_air
                then coalesce(cells.paris_population, 0) * noise_by_cell.share_noise_hotspot
            else 0
        end as pop_in_hotspot
    from air
    cross join settings
    left join noise_by_cell on air.cell_id = noise_by_cell.cell_id
    left join cells on air.cell_id = cells.cell_id
)

select * from final
