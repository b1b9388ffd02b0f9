-- description: Table macros the check frames share, created (as temporary macros) before each
--   check frame runs.
--
-- deso_coverage(staged): every DeSO of the key and every area of a staged table, per year the
--   table has, side by side: in_key is false for an area the key lacks, in_table for a DeSO of
--   the key the table lacks, so either kind of gap is a failing row naming the DeSO.
CREATE OR REPLACE TEMP MACRO deso_coverage(staged) AS TABLE
WITH present AS (SELECT DISTINCT area_code, year FROM query_table(staged)),
     years AS (SELECT DISTINCT year FROM present),
     expected AS (SELECT a.deso_code, y.year FROM stg_areas AS a CROSS JOIN years AS y)
SELECT coalesce(p.area_code, e.deso_code) AS area_code,
       coalesce(p.year, e.year)           AS year,
       e.deso_code IS NOT NULL            AS in_key,
       p.area_code IS NOT NULL            AS in_table
FROM present AS p
FULL OUTER JOIN expected AS e ON e.deso_code = p.area_code AND e.year = p.year;

-- raw_cell_summary(raw): a raw table's cells summarised per area code, boundary version and year:
--   how many cells and how many distinct ones (over every dimension column, whatever the table
--   calls them: duplicates make the two differ), the smallest value, whether every missing value
--   carries a marker, and whether every status is one SCB uses.
CREATE OR REPLACE TEMP MACRO raw_cell_summary(raw) AS TABLE
SELECT Region, boundary_version, Tid,
       count(*)                                                      AS cells,
       count(DISTINCT hash(*COLUMNS(* EXCLUDE (value, status))))     AS distinct_cells,
       min(value)                                                    AS min_value,
       bool_and(value IS NOT NULL OR status <> '')                   AS missing_values_have_status,
       bool_and(status IN ('', '..', '...', '.', '-', 'missing'))    AS statuses_known
FROM query_table(raw)
GROUP BY Region, boundary_version, Tid;
