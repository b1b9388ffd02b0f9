-- layer: indicators
-- depends_on: stg_population_age, stg_population_background, stg_education, stg_income
-- description: The staged counts of all sources in one long shape (DeSO, year, measure,
--   category, value), both sexes together, which the catalogue's terms select from, with the
--   boundary version (DeSO 2018 or 2025) of each count.
SELECT area_code, year, 'population_age' AS measure, age_group AS category,
       CAST(persons AS DOUBLE) AS value, status, boundary_version
FROM stg_population_age WHERE sex = '1+2'
UNION ALL
SELECT area_code, year, 'population_background', background, CAST(persons AS DOUBLE), status, boundary_version
FROM stg_population_background WHERE sex = '1+2'
UNION ALL
SELECT area_code, year, 'education', education_level, CAST(persons AS DOUBLE), status, boundary_version
FROM stg_education
UNION ALL
SELECT area_code, year, 'income', measure, value, status, boundary_version
FROM stg_income
