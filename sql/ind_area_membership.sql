-- layer: indicators
-- depends_on: stg_areas, stg_district_membership
-- description: Which areas each DeSO belongs to, one row per (DeSO, area level): the DeSO
--   itself, its RegSO, named district (where its municipality defines them), municipality,
--   county and the country. Every larger area is built from
--   DeSO through this table, by summing counts.
SELECT deso_code, 'deso' AS area_level, deso_code AS area_code FROM stg_areas
UNION ALL SELECT deso_code, 'regso', regso_code FROM stg_areas
UNION ALL SELECT deso_code, 'municipality', municipality_code FROM stg_areas
UNION ALL SELECT deso_code, 'county', county_code FROM stg_areas
UNION ALL SELECT deso_code, 'country', '00' FROM stg_areas
UNION ALL SELECT deso_code, 'district', district_code FROM stg_district_membership WHERE deso_code IS NOT NULL
