-- depends_on: stg_areas
-- description: Check frame for stg_district_membership: one row per DeSO of each municipality
--   that has a district file (how many districts hold it), plus one row per line that named
--   nothing known, and the number of '*' lines per file.
WITH m AS (SELECT * FROM stg_district_membership),
files AS (SELECT DISTINCT file, municipality_code FROM m),
per_deso AS (
    SELECT f.file, a.deso_code, count(m.deso_code) AS districts_for_deso
    FROM files AS f
    JOIN stg_areas AS a USING (municipality_code)
    LEFT JOIN m ON m.file = f.file AND m.deso_code = a.deso_code
    GROUP BY ALL
),
stars AS (SELECT file, count(DISTINCT line) FILTER (WHERE area_ref = '*') AS star_lines FROM m GROUP BY file)
SELECT p.file || ': DeSO ' || p.deso_code AS check_key, p.districts_for_deso, TRUE AS area_known, s.star_lines
FROM per_deso AS p JOIN stars AS s USING (file)
UNION ALL
SELECT m.file || ': line ' || m.line || ' (' || m.district_name || ' <- ' || m.area_ref || ')', 1, FALSE, s.star_lines
FROM m JOIN stars AS s USING (file)
WHERE m.deso_code IS NULL
