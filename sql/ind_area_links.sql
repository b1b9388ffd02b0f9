-- layer: indicators
-- depends_on: stg_areas, stg_district_membership
-- description: The area hierarchy as links from each area to every area that directly contains
--   it: DeSO -> RegSO, DeSO -> named district, RegSO and district -> municipality,
--   municipality -> county, county -> country. Every parent's count is the sum of its children's
--   along each kind of link; disclosure control and analysts use the same table.
SELECT DISTINCT 'deso' AS child_level, deso_code AS child_code, 'regso' AS parent_level, regso_code AS parent_code FROM stg_areas
UNION ALL
SELECT DISTINCT 'deso', deso_code, 'district', district_code FROM stg_district_membership WHERE deso_code IS NOT NULL
UNION ALL
SELECT DISTINCT 'regso', regso_code, 'municipality', municipality_code FROM stg_areas
UNION ALL
SELECT DISTINCT 'district', district_code, 'municipality', municipality_code FROM stg_district_membership WHERE deso_code IS NOT NULL
UNION ALL
SELECT DISTINCT 'municipality', municipality_code, 'county', county_code FROM stg_areas
UNION ALL
SELECT DISTINCT 'county', county_code, 'country', '00' FROM stg_areas
