-- description: Check frame for stg_population_background: key coverage (deso_coverage), and per
--   DeSO and year the population (both sexes) and the smallest count.
WITH stat AS (
    SELECT area_code, year,
           sum(persons) FILTER (WHERE is_total AND in_both_sexes) AS population,
           min(persons)                                           AS min_persons
    FROM stg_population_background GROUP BY ALL
)
SELECT c.*, s.population, s.min_persons
FROM deso_coverage('stg_population_background') AS c
LEFT JOIN stat AS s USING (area_code, year)
