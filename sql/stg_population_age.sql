-- layer: staged
-- depends_on: raw_population_age, stg_areas
-- materialize: view
-- description: Population by DeSO, year, sex and age group, one row per count, with the age range
--   typed: SCB's five-year groups ('-4', '5-9', ..., '80-') or single years ('0' ... '99', '100+').
--   in_both_sexes marks the rows that make up both sexes together: SCB's '1+2' where it is
--   delivered, otherwise men ('1') and women ('2'); every model and check sums those.
SELECT
    Region                                                        AS area_code,
    CAST(Tid AS INTEGER)                                          AS year,
    Kon                                                           AS sex,
    Alder                                                         AS age_group,
    Alder = 'totalt'                                              AS is_total,
    CASE WHEN Alder = 'totalt' THEN NULL
         WHEN Alder LIKE '-%' THEN 0
         ELSE CAST(rtrim(split_part(Alder, '-', 1), '+') AS INTEGER) END AS age_from,
    CASE WHEN Alder = 'totalt' OR Alder LIKE '%+' THEN NULL
         WHEN Alder LIKE '%-%' THEN TRY_CAST(split_part(Alder, '-', 2) AS INTEGER)
         ELSE CAST(Alder AS INTEGER) END                          AS age_to,
    CAST(value AS BIGINT)                                         AS persons,
    status,
    boundary_version,
    CASE WHEN bool_or(Kon = '1+2') OVER (PARTITION BY Region, Tid) THEN Kon = '1+2'
         ELSE Kon IN ('1', '2') END                               AS in_both_sexes
FROM raw_population_age
