-- layer: followup
-- depends_on: ref_investments, ind_areas, ind_area_references
-- description: Each district an investment names, resolved within its municipality to one area
--   (ind_area_references): a DeSO code, a RegSO name or code, a named district's name or code
--   (data/districts/), or the municipality's code. A name that matches nothing, or more than one area (a
--   RegSO and a named district of the same name), keeps its row with `matches` = 0 or 2+ so that the
--   suite names it; the follow-up uses only areas with exactly one match. The areas of a
--   municipality the build does not hold cannot be resolved, and are not errors (in_build false).
WITH refs AS (
    SELECT investment_id, file, municipality_code, unnest(districts) AS area_ref,
           generate_subscripts(districts, 1) AS area_position
    FROM ref_investments
),
matched AS (
    SELECT r.*, a.area_level, a.area_code, a.area_name
    FROM refs AS r
    LEFT JOIN ind_area_references AS a ON a.municipality_code = r.municipality_code AND a.reference = r.area_ref
)
SELECT investment_id, file, municipality_code, area_position, area_ref,
       count(area_code) OVER (PARTITION BY investment_id, area_position) AS matches,
       area_level, area_code, area_name,
       municipality_code IN (SELECT area_code FROM ind_areas WHERE area_level = 'municipality') AS in_build
FROM matched
