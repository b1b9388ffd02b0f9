-- layer: staged
-- depends_on: ref_districts, stg_areas
-- description: Which DeSO make up each named district. A line names a DeSO code, a RegSO name
--   (or Grannskap's RegSO code) of the file's municipality, or '*' for every DeSO of the
--   municipality not named on another line. A line that matches nothing is kept with no DeSO,
--   so that the suite can name it.
WITH named AS (
    SELECT r.file, r.line, r.municipality_code, r.district_name, r.area_ref, a.deso_code
    FROM ref_districts AS r
    LEFT JOIN stg_areas AS a
           ON a.municipality_code = r.municipality_code
          AND r.area_ref IN (a.deso_code, a.regso_name, a.regso_code)
    WHERE r.area_ref <> '*'
),
rest AS (
    SELECT r.file, r.line, r.municipality_code, r.district_name, r.area_ref, a.deso_code
    FROM ref_districts AS r
    JOIN stg_areas AS a ON a.municipality_code = r.municipality_code
    WHERE r.area_ref = '*'
      AND NOT EXISTS (SELECT 1 FROM named AS n WHERE n.file = r.file AND n.deso_code = a.deso_code)
)
SELECT file, line, municipality_code, district_name, area_ref, deso_code,
       municipality_code || 'D:' || district_name AS district_code
FROM (SELECT * FROM named UNION ALL SELECT * FROM rest)
