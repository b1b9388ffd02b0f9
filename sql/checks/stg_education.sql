-- depends_on: stg_population_age
-- description: Check frame for stg_education: key coverage (deso_coverage), and the education
--   levels summing to the population aged 25-64 in the age table (both are SCB's registers on
--   the same day).
WITH stat AS (
    SELECT area_code, year, sum(persons) AS all_levels, min(persons) AS min_persons
    FROM stg_education GROUP BY ALL
),
age AS (
    SELECT area_code, year, sum(persons) AS population_25_64
    FROM stg_population_age WHERE age_from >= 25 AND age_to <= 64 AND in_both_sexes GROUP BY ALL
)
SELECT c.*, s.all_levels, a.population_25_64, s.min_persons
FROM deso_coverage('stg_education') AS c
LEFT JOIN stat AS s USING (area_code, year)
LEFT JOIN age AS a USING (area_code, year)
