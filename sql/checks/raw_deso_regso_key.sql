-- Check frame for raw_deso_regso_key: one row per DeSO in the key.
SELECT
    Region,
    min(trim(Kommun))                                  AS municipality_code,
    count(*)                                           AS rows_for_deso,
    count(DISTINCT trim(RegSO))                        AS regso_count,
    count(DISTINCT trim(Kommun))                       AS municipality_count,
    bool_and(substr(Region, 1, 4) = trim(Kommun))      AS deso_in_its_municipality,
    bool_and(trim(RegSO) <> '')                        AS has_regso_name
FROM raw_deso_regso_key
GROUP BY Region
