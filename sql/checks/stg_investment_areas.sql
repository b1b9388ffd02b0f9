-- description: Check frame for stg_investment_areas: one row per district an investment names,
--   with how many areas of its municipality the name matches and, when more than one, which.
--   Districts of a municipality the build does not hold are not checked (nothing to resolve them by).
SELECT file || ': ' || split_part(investment_id, ':', 2) || ' <- ' || area_ref
       || CASE WHEN max(matches) > 1
               THEN ' (matches ' || string_agg(area_level || ' ' || area_code, ' and ' ORDER BY area_level) || ')'
               ELSE '' END AS check_key,
       max(matches) AS matches
FROM stg_investment_areas
WHERE in_build
GROUP BY file, investment_id, area_position, area_ref
