-- Check frame for profiles: the published rows themselves, with a key to name a failing row.
SELECT area_level || ' ' || area_code || ' ' || year || ' ' || indicator AS check_key,
       area_code, area_level, year, indicator, unit, value, national_value, municipality_value,
       municipality_code, rank_in_municipality, areas_in_municipality, rank_in_nation, areas_in_nation,
       missing_reason, source_table,
       CASE WHEN unit = 'share' THEN value END           AS share_value,
       CASE WHEN unit = 'share' THEN national_value END  AS national_share,
       value IS NOT NULL OR missing_reason IS NOT NULL   AS value_or_reason,
       rank_in_nation <= areas_in_nation                 AS rank_within_nation,
       rank_in_municipality <= areas_in_municipality     AS rank_within_municipality,
       value_area_level,
       -- a value borrowed from a larger area (a published rate below its levels) is never ranked
       value_area_code IS NULL OR (rank_in_municipality IS NULL AND rank_in_nation IS NULL
                                   AND areas_in_municipality IS NULL AND areas_in_nation IS NULL) AS borrowed_unranked,
       (value_area_code IS NULL) = (value_area_level IS NULL) AS borrowed_names_its_area
FROM profiles
