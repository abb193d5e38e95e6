with grid_cells as (
    select * from staging.stg_grid_cells
),

zone_cells as (
    select * from staging.stg_zone_cells
),

paris_cells as (
    -- the share of each cell inside Paris (the union of its arrondissements)
    select
        cell_id,
        least(sum(area_fraction), 1.0) as paris_fraction
    from zone_cells
    where zone_level = 'arrondissement'
    group by cell_id
),

weighted as (
    select
        grid_cells.cell_id,
        grid_cells.standard_of_living,
        grid_cells.population * paris_cells.paris_fraction as paris_population,
        grid_cells.households,
        grid_cells.households_poor
    from grid_cells
    inner join paris_cells on grid_cells.cell_id = paris_cells.cell_id
),

ranked as (
    -- cells from the poorest up (ties by cell id); m = population share before the cell plus half its own
    select
        *,
        (
            sum(paris_population) over (order by standard_of_living, cell_id rows unbounded preceding)
            - paris_population / 2
        ) / sum(paris_population) over () as population_midpoint
    from weighted
    where standard_of_living is not null and paris_population > 0
),

final as (
    select
        weighted.cell_id,
        weighted.standard_of_living,
        weighted.paris_population,
        weighted.households,
        weighted.households_poor,
        ranked.population_midpoint,
        case
            -- least() skips NULLs: an unranked cell must not become quintile 5
            when ranked.population_midpoint is null then 0
            else least(cast(floor(5 * ranked.population_midpoint) as integer) + 1, 5)
        end as income_quintile
    from weighted
    left join ranked on weighted.cell_id = ranked.cell_id
)

select * from final
