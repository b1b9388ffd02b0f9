-- description: Check frame for raw_local_measures: one row per landed line, check_key naming its
--   file, line and area.
SELECT file || ' line ' || line || ' (area ' || area_ref || ')' AS check_key,
       area_ref, measure,
       count(*) OVER (PARTITION BY file, line) AS rows_for_line
FROM raw_local_measures
