-- layer: staged
-- depends_on: raw_deso_regso_key, ref_counties
-- description: Every DeSO with its RegSO, municipality and county, from SCB's DeSO->RegSO key.
--   SCB's key names RegSO but gives no RegSO code, and RegSO names are unique only within a
--   municipality, so a RegSO is identified by '<municipality code>:<RegSO name>'. Some names in
--   the key carry a trailing space; trimming them gives SCB's 3,363 RegSO.
SELECT
    k.Region                                  AS deso_code,
    trim(k.Kommun)                            AS municipality_code,
    trim(k.Kommunnamn)                        AS municipality_name,
    trim(k.Kommun) || ':' || trim(k.RegSO)    AS regso_code,
    trim(k.RegSO)                             AS regso_name,
    substr(trim(k.Kommun), 1, 2)              AS county_code,
    c.county_name                             AS county_name,
    k.boundary_version                        AS boundary_version
FROM raw_deso_regso_key AS k
LEFT JOIN ref_counties AS c ON c.county_code = substr(trim(k.Kommun), 1, 2)
