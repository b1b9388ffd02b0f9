-- Check frame for stg_population_background: key coverage and the total against the age table.
WITH stat AS (
    SELECT area_code, year,
           sum(persons) FILTER (WHERE is_total AND in_both_sexes) AS population,
           min(persons)                                         AS min_persons
    FROM stg_population_background GROUP BY ALL
),
years AS (SELECT DISTINCT year FROM stat)
SELECT coalesce(s.area_code, k.deso_code)  AS area_code,
       coalesce(s.year, k.year)            AS year,
       k.deso_code IS NOT NULL             AS in_key,
       s.area_code IS NOT NULL             AS in_table,
       s.population, s.min_persons
FROM stat AS s
FULL OUTER JOIN (SELECT deso_code, year FROM stg_areas CROSS JOIN years) AS k
     ON k.deso_code = s.area_code AND k.year = s.year
