-- description: Check frame for stg_income: key coverage (deso_coverage); a missing median always
--   has a reason.
WITH stat AS (
    SELECT area_code, year,
           max(value) FILTER (WHERE measure = 'median_tkr')            AS median_tkr,
           bool_and(value IS NOT NULL OR missing_reason IS NOT NULL)   AS missing_has_reason
    FROM stg_income GROUP BY ALL
)
SELECT c.*, s.median_tkr, s.missing_has_reason
FROM deso_coverage('stg_income') AS c
LEFT JOIN stat AS s USING (area_code, year)
