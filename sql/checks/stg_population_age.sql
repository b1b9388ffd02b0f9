-- description: Check frame for stg_population_age: key coverage (deso_coverage), and per DeSO
--   and year the population and the population 25-64 (both sexes), and the smallest count.
WITH stat AS (
    SELECT area_code, year,
           sum(persons) FILTER (WHERE is_total AND in_both_sexes)                         AS population,
           sum(persons) FILTER (WHERE age_from >= 25 AND age_to <= 64 AND in_both_sexes)  AS population_25_64,
           min(persons)                                                                   AS min_persons
    FROM stg_population_age GROUP BY ALL
)
SELECT c.*, s.population, s.population_25_64, s.min_persons
FROM deso_coverage('stg_population_age') AS c
LEFT JOIN stat AS s USING (area_code, year)
