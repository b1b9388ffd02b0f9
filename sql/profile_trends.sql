-- layer: profiles
-- depends_on: ind_values_protected, ind_areas, indicator_breaks
-- description: Change of every indicator over 1 and 5 years, where both years exist. A change is
--   computed only when both values rest on the same boundary version (DeSO 2018 or 2025) and no
--   definition change lies between the years; otherwise the row says why (series_break) and the
--   change is left empty: two boundary versions are never joined silently.
WITH v AS (
    SELECT area_level, area_code, year, indicator, value, boundary_version
    FROM ind_values_protected
),
spans AS (SELECT * FROM (VALUES (1), (5)) AS s(years))
SELECT
    cur.area_level, cur.area_code, a.area_name, a.municipality_code, cur.indicator,
    s.years                                   AS span_years,
    prev.year                                 AS from_year,
    cur.year                                  AS to_year,
    prev.value                                AS from_value,
    cur.value                                 AS to_value,
    CASE WHEN brk.note IS NULL AND cur.boundary_version = prev.boundary_version
         THEN cur.value - prev.value END      AS change,
    CASE WHEN cur.boundary_version <> prev.boundary_version
              THEN 'gränsändring: ' || prev.boundary_version || ' -> ' || cur.boundary_version
         WHEN brk.note IS NOT NULL THEN 'definitionsändring ' || brk.year || ': ' || brk.note
         END                                  AS series_break
FROM v AS cur
CROSS JOIN spans AS s
JOIN v AS prev
  ON prev.area_level = cur.area_level AND prev.area_code = cur.area_code
 AND prev.indicator = cur.indicator AND prev.year = cur.year - s.years
JOIN ind_areas AS a ON a.area_level = cur.area_level AND a.area_code = cur.area_code
LEFT JOIN (
    SELECT indicator, min(year) AS year, string_agg(note, '; ') AS note, list(year) AS years
    FROM indicator_breaks GROUP BY indicator
) AS brk
  ON brk.indicator = cur.indicator AND list_has_any(brk.years, range(prev.year + 1, cur.year + 1)::INTEGER[])
