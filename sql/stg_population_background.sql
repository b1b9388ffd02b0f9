-- layer: staged
-- depends_on: raw_population_background, stg_areas
-- materialize: view
-- description: Population by DeSO, year, sex and Swedish/foreign background
--   (UtlBakgrund: '1' foreign background, '2' Swedish background, 'SA' all); in_both_sexes as
--   in stg_population_age.
SELECT
    Region                 AS area_code,
    CAST(Tid AS INTEGER)   AS year,
    Kon                    AS sex,
    UtlBakgrund            AS background,
    UtlBakgrund = 'SA'     AS is_total,
    CAST(value AS BIGINT)  AS persons,
    status,
    boundary_version,
    CASE WHEN bool_or(Kon = '1+2') OVER (PARTITION BY Region, Tid) THEN Kon = '1+2'
         ELSE Kon IN ('1', '2') END AS in_both_sexes
FROM raw_population_background
