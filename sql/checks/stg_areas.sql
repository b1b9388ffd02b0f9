-- Check frame for stg_areas: every DeSO once, with a RegSO, a municipality and a known county.
SELECT
    deso_code, municipality_code, regso_code, county_code, county_name,
    count(*) OVER (PARTITION BY deso_code)                         AS rows_for_deso,
    count(DISTINCT municipality_name) OVER (PARTITION BY municipality_code) AS names_for_municipality
FROM stg_areas
