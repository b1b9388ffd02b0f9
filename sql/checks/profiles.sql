-- description: Check frame for profiles: one row per area and year (not per indicator: at national
--   scale that is 1.1 million rows, and GX is then the slowest step), with each rule computed
--   over the area's indicators; check_key names a failing area and year.
SELECT area_level || ' ' || coalesce(area_code, '?') || ' ' || year AS check_key,
       area_level, area_code, year,
       count(*)                                                           AS indicator_rows,
       count(DISTINCT indicator)                                          AS distinct_indicators,
       min(value) FILTER (WHERE unit = 'share')                           AS min_share,
       max(value) FILTER (WHERE unit = 'share')                           AS max_share,
       min(national_value) FILTER (WHERE unit = 'share')                  AS min_national_share,
       max(national_value) FILTER (WHERE unit = 'share')                  AS max_national_share,
       bool_and(value IS NOT NULL OR missing_reason IS NOT NULL)          AS value_or_reason,
       bool_and(rank_in_nation <= areas_in_nation)                        AS rank_within_nation,
       bool_and(rank_in_municipality <= areas_in_municipality)            AS rank_within_municipality,
       bool_and(source_table IS NOT NULL)                                 AS every_figure_has_a_source,
       bool_and(value_area_level IS NULL
                OR value_area_level IN ('regso', 'municipality', 'county', 'country')) AS borrowed_level_known,
       -- a value borrowed from a larger area (a published rate below its levels) is never ranked
       bool_and(value_area_code IS NULL OR (rank_in_municipality IS NULL AND rank_in_nation IS NULL
                AND areas_in_municipality IS NULL AND areas_in_nation IS NULL))   AS borrowed_unranked,
       bool_and((value_area_code IS NULL) = (value_area_level IS NULL))   AS borrowed_names_its_area
FROM profiles
GROUP BY area_level, area_code, year
