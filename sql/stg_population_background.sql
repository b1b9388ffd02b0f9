-- layer: staged
-- depends_on: raw_population_background, stg_areas
-- description: Population by DeSO, year, sex and Swedish/foreign background
--   (UtlBakgrund: '1' foreign background, '2' Swedish background, 'SA' all).
SELECT
    Region                 AS area_code,
    CAST(Tid AS INTEGER)   AS year,
    Kon                    AS sex,
    UtlBakgrund            AS background,
    UtlBakgrund = 'SA'     AS is_total,
    CAST(value AS BIGINT)  AS persons,
    status,
    boundary_version
FROM raw_population_background
