-- layer: staged
-- depends_on: raw_population_age, stg_areas
-- description: Population by DeSO, year, sex and five-year age group (SCB's codes: 'totalt',
--   '-4', '5-9', ..., '80-'), one row per count, with the age range typed.
SELECT
    Region                                                        AS area_code,
    CAST(Tid AS INTEGER)                                          AS year,
    Kon                                                           AS sex,
    Alder                                                         AS age_group,
    Alder = 'totalt'                                              AS is_total,
    CASE WHEN Alder = 'totalt' THEN NULL
         WHEN Alder LIKE '-%' THEN 0
         ELSE CAST(split_part(Alder, '-', 1) AS INTEGER) END      AS age_from,
    CASE WHEN Alder = 'totalt' THEN NULL
         ELSE TRY_CAST(split_part(Alder, '-', 2) AS INTEGER) END  AS age_to,
    CAST(value AS BIGINT)                                         AS persons,
    status,
    boundary_version
FROM raw_population_age
