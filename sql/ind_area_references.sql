-- layer: indicators
-- depends_on: ind_areas
-- description: The names by which a municipality's own files (the investment register, local data)
--   may refer to one of its areas: every DeSO, RegSO, named district and the municipality by its
--   area code, and a RegSO or named district also by its name. One place, so that every file
--   resolves a reference the same way. A name can match two areas (a RegSO and a named district
--   of the same name); the suites of the tables that use it refuse such a reference.
SELECT municipality_code, area_code AS reference, area_level, area_code, area_name, boundary_version
FROM ind_areas
WHERE area_level IN ('deso', 'regso', 'district', 'municipality')
UNION
SELECT municipality_code, area_name, area_level, area_code, area_name, boundary_version
FROM ind_areas
WHERE area_level IN ('regso', 'district')
