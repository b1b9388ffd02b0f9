-- layer: staged
-- depends_on: raw_local_measures, ind_area_references
-- description: A municipality's own measures (data/local/), one row per area, year and measure, the
--   rows of its units (e.g. preschools) summed: a unit is not an area, so its figure is never kept
--   apart. A line's area is resolved within its file's municipality (ind_area_references): a DeSO
--   code, a RegSO name or code ('0581:Västra Klockaretorpet'), a named district's name or code
--   ('0581D:Klockaretorpet'), or the municipality code. A line naming no known area, or
--   several (a district and a RegSO of the same name), is kept alone with area_code NULL and
--   area_matches saying how many, so that the suite can name its file and line.
WITH matched AS (
    SELECT r.*, a.area_level, a.area_code, a.boundary_version,
           count(a.area_code) OVER (PARTITION BY r.file, r.line) AS area_matches
    FROM raw_local_measures AS r
    LEFT JOIN ind_area_references AS a ON a.municipality_code = r.municipality_code AND a.reference = r.area_ref
),
lines AS (
    -- one row per line, its area only when exactly one matched; an unresolved line is a group of its own
    SELECT file, line, municipality_code, area_ref, year, measure, unit, value, area_matches,
           CASE WHEN area_matches = 1 THEN area_level END       AS area_level,
           CASE WHEN area_matches = 1 THEN area_code END        AS area_code,
           CASE WHEN area_matches = 1 THEN boundary_version END AS boundary_version,
           CASE WHEN area_matches <> 1 THEN file || ':' || line END AS unresolved_line
    FROM matched
    QUALIFY row_number() OVER (PARTITION BY file, line ORDER BY area_level, area_code) = 1
),
keyed AS (
    -- how many lines give the same area, year, measure and unit (more than one is a duplicate)
    SELECT *, count(*) OVER (PARTITION BY municipality_code, area_level, area_code, unresolved_line, year, measure,
                                          coalesce(unit, '')) AS lines_per_unit
    FROM lines
),
per_file AS (
    SELECT municipality_code, area_level, area_code, unresolved_line, year, measure, file,
           string_agg(DISTINCT area_ref, ' | ')  AS area_ref,
           max(area_matches)                     AS area_matches,
           sum(value)                            AS value,
           min(value)                            AS min_line_value,
           count(*)                              AS unit_rows,
           max(lines_per_unit)                   AS lines_per_unit,
           string_agg(DISTINCT unit, ', ' ORDER BY unit) AS units,
           min(boundary_version)                 AS boundary_version,
           file || ' line ' || string_agg(CAST(line AS VARCHAR), ', ' ORDER BY line) AS source_lines
    FROM keyed
    GROUP BY municipality_code, area_level, area_code, unresolved_line, year, measure, file
)
SELECT 'local' AS source, municipality_code, area_level, area_code,
       string_agg(DISTINCT area_ref, ' | ')            AS area_ref,
       max(area_matches)                               AS area_matches,
       year, measure,
       CAST(sum(value) AS BIGINT)                      AS value,
       -- the smallest single line: a negative line must not hide inside a positive sum
       min(min_line_value)                             AS min_line_value,
       CAST(sum(unit_rows) AS BIGINT)                  AS unit_rows,
       max(lines_per_unit)                             AS lines_per_unit,
       string_agg(units, ', ' ORDER BY file)           AS units,
       min(boundary_version)                           AS boundary_version,
       -- the file and lines behind the figure, e.g. '0581_forskola.csv line 4, 5'
       string_agg(source_lines, '; ' ORDER BY file)    AS source_lines
FROM per_file
GROUP BY municipality_code, area_level, area_code, unresolved_line, year, measure
