-- depends_on: indicator_terms
-- description: Check frame for stg_regso_rates: one row per staged rate, with whether its area code
-- maps to an area of the key (a RegSO 2025 code is left out on purpose, see mapping_note), how many
-- rows share its key, and the value where the catalogue reads it as a percentage.
SELECT
    r.region_code, r.source, r.year, r.content_code, r.boundary_version, r.area_level, r.area_code,
    r.area_code IS NOT NULL OR (r.area_level = 'regso' AND r.boundary_version = 'RegSO2025') AS maps_to_key,
    count(*) OVER (PARTITION BY r.source, r.region_code, r.boundary_version, r.year, r.content_code) AS rows_for_key,
    CASE WHEN r.area_code IS NULL THEN 1 ELSE
        count(DISTINCT r.region_code) OVER (PARTITION BY r.source, r.area_level, r.area_code, r.year, r.content_code) END
                                                                        AS codes_for_area,
    r.value IS NOT NULL OR r.missing_reason IS NOT NULL                 AS missing_has_reason,
    CASE WHEN p.percent THEN r.value END                                AS percent_value,
    r.value                                                             AS published_value
FROM stg_regso_rates AS r
LEFT JOIN (SELECT DISTINCT measure, category, scale = 0.01 AS percent FROM indicator_terms WHERE scale IS NOT NULL) AS p
  ON p.measure = r.source AND p.category = r.content_code
