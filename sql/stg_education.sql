-- layer: staged
-- depends_on: raw_education, stg_areas
-- description: People aged 25-64 by DeSO, year and highest education level (SUN 2000:
--   '21' förgymnasial, '3+4' gymnasial, '5' eftergymnasial < 3 years, '6' eftergymnasial
--   >= 3 years, 'US' unknown). The levels together are everyone aged 25-64.
SELECT
    Region                 AS area_code,
    CAST(Tid AS INTEGER)   AS year,
    UtbildningsNiva        AS education_level,
    CAST(value AS BIGINT)  AS persons,
    status,
    boundary_version
FROM raw_education
