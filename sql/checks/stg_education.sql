-- depends_on: stg_population_age
-- description: Check frame for stg_education: key coverage, and the education levels summing
--   to the population aged 25-64 in the age table (both are SCB's registers on the same day).
WITH stat AS (
    SELECT area_code, year, sum(persons) AS all_levels, min(persons) AS min_persons
    FROM stg_education GROUP BY ALL
),
age AS (
    SELECT area_code, year, sum(persons) AS population_25_64
    FROM stg_population_age WHERE age_from >= 25 AND age_to <= 64 AND in_both_sexes GROUP BY ALL
),
years AS (SELECT DISTINCT year FROM stat)
SELECT coalesce(s.area_code, k.deso_code)  AS area_code,
       coalesce(s.year, k.year)            AS year,
       k.deso_code IS NOT NULL             AS in_key,
       s.area_code IS NOT NULL             AS in_table,
       s.all_levels, a.population_25_64, s.min_persons
FROM stat AS s
FULL OUTER JOIN (SELECT deso_code, year FROM stg_areas CROSS JOIN years) AS k
     ON k.deso_code = s.area_code AND k.year = s.year
LEFT JOIN age AS a ON a.area_code = coalesce(s.area_code, k.deso_code) AND a.year = coalesce(s.year, k.year)
