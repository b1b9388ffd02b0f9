-- layer: staged
-- depends_on: raw_income, stg_areas
-- description: Income of people aged 20 and over by DeSO and year: the median (SEK thousands)
--   and the number of people it is computed on. A value SCB did not deliver stays NULL, with
--   SCB's marker kept as the reason; it is never turned into 0.
SELECT
    Region                 AS area_code,
    CAST(Tid AS INTEGER)   AS year,
    ContentsCode           AS measure,
    value,
    status,
    CASE WHEN status = '' THEN NULL
         WHEN status IN ('..', '...', '.') THEN 'not published by SCB (' || status || ')'
         ELSE 'not usable in the delivered file (' || status || ')' END AS missing_reason,
    boundary_version
FROM raw_income
