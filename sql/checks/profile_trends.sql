-- description: Check frame for profile_trends: one row per area and end year, with the rules
--   computed over its indicators and spans (per area keeps GX cheap at national scale).
SELECT area_level || ' ' || area_code || ' ' || to_year AS check_key,
       area_level, area_code, to_year,
       count(*)                                                   AS trend_rows,
       count(DISTINCT (indicator, span_years))                    AS distinct_trends,
       bool_and(span_years IN (1, 5))                             AS spans_known,
       bool_and(series_break IS NULL OR change IS NULL)           AS break_has_no_change
FROM profile_trends
GROUP BY area_level, area_code, to_year
