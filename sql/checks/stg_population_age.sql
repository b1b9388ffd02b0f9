-- Check frame for stg_population_age: every DeSO of the key and of the table, side by side,
-- so that a DeSO missing on either side is a failing row naming that DeSO.
WITH stat AS (
    SELECT area_code, year,
           sum(persons) FILTER (WHERE is_total AND in_both_sexes)                               AS population,
           sum(persons) FILTER (WHERE age_from >= 25 AND age_to <= 64 AND in_both_sexes)        AS population_25_64,
           min(persons)                                                         AS min_persons
    FROM stg_population_age GROUP BY ALL
),
years AS (SELECT DISTINCT year FROM stat)
SELECT coalesce(s.area_code, k.deso_code)  AS area_code,
       coalesce(s.year, y.year)            AS year,
       k.deso_code IS NOT NULL             AS in_key,
       s.area_code IS NOT NULL             AS in_table,
       s.population, s.population_25_64, s.min_persons
FROM stat AS s
FULL OUTER JOIN (SELECT deso_code, year FROM stg_areas CROSS JOIN years) AS k
     ON k.deso_code = s.area_code AND k.year = s.year
LEFT JOIN years AS y ON k.year = y.year
