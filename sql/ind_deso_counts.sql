-- layer: indicators
-- depends_on: stg_population_age, stg_population_background, stg_education, stg_income
-- materialize: view
-- description: The staged counts of all sources in one long shape (DeSO, year, measure,
--   category, value), both sexes together, which the catalogue's terms select from, with the
--   boundary version (DeSO 2018 or 2025) of each count and, for ages, the age range it covers.
SELECT area_code, year, 'population_age' AS measure, age_group AS category,
       -- a sex not delivered leaves the sum undelivered, never an undercount
       CASE WHEN bool_and(persons IS NOT NULL) THEN CAST(sum(persons) AS DOUBLE) END AS value,
       max(status) AS status, max(boundary_version) AS boundary_version, age_from, age_to
FROM stg_population_age
WHERE in_both_sexes
GROUP BY area_code, year, age_group, age_from, age_to
UNION ALL
SELECT area_code, year, 'population_background', background,
       CASE WHEN bool_and(persons IS NOT NULL) THEN CAST(sum(persons) AS DOUBLE) END, max(status),
       max(boundary_version), NULL, NULL
FROM stg_population_background
WHERE in_both_sexes
GROUP BY area_code, year, background
UNION ALL
SELECT area_code, year, 'education', education_level, CAST(persons AS DOUBLE), status, boundary_version, NULL, NULL
FROM stg_education
UNION ALL
SELECT area_code, year, 'income', measure, value, status, boundary_version, NULL, NULL
FROM stg_income
