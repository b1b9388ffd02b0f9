-- depends_on: indicator_terms
-- description: Check frame for stg_municipality_rates: one row per staged key figure, with whether
-- its Kolada id maps to an area of the key, how many rows share its key, and the value where the
-- catalogue reads it as a percentage.
SELECT
    r.region_code, r.source, r.year, r.content_code, r.area_level, r.area_code,
    r.area_code IS NOT NULL                                             AS maps_to_key,
    count(*) OVER (PARTITION BY r.region_code, r.year, r.content_code)  AS rows_for_key,
    r.value IS NOT NULL OR r.missing_reason IS NOT NULL                 AS missing_has_reason,
    CASE WHEN p.percent THEN r.value END                                AS percent_value,
    r.value                                                             AS published_value
FROM stg_municipality_rates AS r
LEFT JOIN (SELECT DISTINCT measure, category, scale = 0.01 AS percent FROM indicator_terms WHERE scale IS NOT NULL) AS p
  ON p.measure = r.source AND p.category = r.content_code
