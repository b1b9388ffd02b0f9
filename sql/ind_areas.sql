-- layer: indicators
-- depends_on: stg_areas, stg_district_membership
-- description: Every area at every level with its name and its parents. DeSO have no names,
--   so a DeSO's name is its code.
WITH deso AS (SELECT * FROM stg_areas)
SELECT deso_code AS area_code, deso_code AS area_name, 'deso' AS area_level,
       regso_code, municipality_code, municipality_name, county_code, county_name,
       regso_code AS parent_code, boundary_version
FROM deso
UNION ALL
SELECT DISTINCT regso_code, regso_name, 'regso', regso_code, municipality_code, municipality_name,
       county_code, county_name, municipality_code, 'RegSO2020'
FROM deso
UNION ALL
SELECT DISTINCT municipality_code, municipality_name, 'municipality', NULL, municipality_code,
       municipality_name, county_code, county_name, county_code, ''
FROM deso
UNION ALL
SELECT DISTINCT county_code, county_name, 'county', NULL, NULL, NULL, county_code, county_name, '00', ''
FROM deso
UNION ALL
SELECT DISTINCT m.district_code, m.district_name, 'district', NULL, m.municipality_code, d.municipality_name,
       d.county_code, d.county_name, m.municipality_code, d.boundary_version
FROM stg_district_membership AS m
JOIN (SELECT DISTINCT municipality_code, municipality_name, county_code, county_name, boundary_version FROM deso) AS d
  USING (municipality_code)
WHERE m.deso_code IS NOT NULL
UNION ALL
SELECT '00', 'Sverige', 'country', NULL, NULL, NULL, NULL, NULL, NULL, ''
