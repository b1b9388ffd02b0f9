-- depends_on: indicator_terms
-- description: Check frame for stg_local_measures: one row per staged figure (an area, year and
--   measure, or a line whose area did not resolve) and one per local share, area and year with both
--   its numerator and denominator; check_key names the file and lines, the area, year and measure.
WITH declared AS (SELECT DISTINCT category AS measure FROM indicator_terms WHERE measure = 'local'),
share_terms AS (
    SELECT t.* FROM indicator_terms AS t
    WHERE t.measure = 'local'
      AND t.indicator IN (SELECT indicator FROM indicator_terms WHERE role = 'denominator')
),
shares AS (
    SELECT t.indicator, s.area_code, s.year,
           sum(s.value) FILTER (WHERE t.role = 'numerator')   AS numerator,
           sum(s.value) FILTER (WHERE t.role = 'denominator') AS denominator,
           string_agg(s.source_lines, '; ' ORDER BY t.role DESC, s.measure) AS source_lines
    FROM stg_local_measures AS s
    JOIN share_terms AS t ON t.measure = s.source AND t.category = s.measure
    WHERE s.area_code IS NOT NULL
    GROUP BY ALL
)
SELECT s.source_lines || ' (area ' || s.area_ref || ', ' || s.year || ', ' || s.measure || ')' AS check_key,
       s.area_matches,
       d.measure IS NOT NULL            AS measure_declared,
       s.year,
       s.min_line_value,
       s.lines_per_unit,
       CAST(NULL AS BOOLEAN)            AS numerator_within_denominator
FROM stg_local_measures AS s
LEFT JOIN declared AS d USING (measure)
UNION ALL
SELECT source_lines || ' (area ' || area_code || ', ' || year || ', ' || indicator || ': '
           || numerator || ' of ' || denominator || ')',
       NULL, NULL, NULL, NULL, NULL, numerator <= denominator
FROM shares
WHERE numerator IS NOT NULL AND denominator IS NOT NULL
