-- Check frame for stg_income: key coverage; a missing median always has a reason.
WITH stat AS (
    SELECT area_code, year,
           max(value) FILTER (WHERE measure = 'median_tkr')                   AS median_tkr,
           bool_and(value IS NOT NULL OR missing_reason IS NOT NULL)          AS missing_has_reason
    FROM stg_income GROUP BY ALL
),
years AS (SELECT DISTINCT year FROM stat)
SELECT coalesce(s.area_code, k.deso_code)  AS area_code,
       coalesce(s.year, k.year)            AS year,
       k.deso_code IS NOT NULL             AS in_key,
       s.area_code IS NOT NULL             AS in_table,
       s.median_tkr, s.missing_has_reason
FROM stat AS s
FULL OUTER JOIN (SELECT deso_code, year FROM stg_areas CROSS JOIN years) AS k
     ON k.deso_code = s.area_code AND k.year = s.year
