-- depends_on: ref_control_totals, ind_area_membership, indicator_terms
-- description: Check frame for ind_values: one row per area level, year and indicator, with the numerator
-- and denominator summed at that level next to the same sums over all DeSO, and SCB's official
-- control totals (e.g. Sweden's population) next to the country's value. A municipality's own
-- measures (measure 'local') are reported per area, not summed from DeSO, so they have no DeSO sums.
WITH by_level AS (
    SELECT area_level, year, indicator,
           count(*)                          AS areas,
           count(DISTINCT area_code)         AS distinct_areas,
           sum(numerator)                    AS level_numerator,
           sum(denominator)                  AS level_denominator,
           min(value)                        AS min_value,
           max(value)                        AS max_value
    FROM ind_values GROUP BY ALL
),
deso AS (
    -- the same sums over exactly the DeSO each level covers (named districts cover only their municipalities)
    SELECT m.area_level, v.year, v.indicator,
           sum(v.numerator) AS deso_numerator, sum(v.denominator) AS deso_denominator
    FROM ind_values AS v
    JOIN (SELECT DISTINCT area_level, deso_code FROM ind_area_membership) AS m ON m.deso_code = v.area_code
    WHERE v.area_level = 'deso'
    GROUP BY ALL
),
control AS (
    SELECT v.year, v.indicator, t.value AS control_total, v.value AS country_value
    FROM ind_values AS v
    JOIN ref_control_totals AS t ON t.area_code = v.area_code AND t.year = v.year AND t.measure = v.indicator
    WHERE v.area_level = 'country'
)
SELECT b.area_level || ' ' || b.year || ' ' || b.indicator AS check_key, b.*, k.kind,
       -- medians are not sums, so only counts and shares are compared with their DeSO
       CASE WHEN k.kind <> 'median' AND l.indicator IS NULL THEN d.deso_numerator END   AS deso_numerator,
       CASE WHEN k.kind <> 'median' AND l.indicator IS NULL THEN d.deso_denominator END AS deso_denominator,
       -- computed shares, and published rates stored as shares (a percentage divided by 100)
       CASE WHEN k.unit = 'share' AND k.kind IN ('share', 'published_rate') THEN b.min_value END AS min_share,
       CASE WHEN k.unit = 'share' AND k.kind IN ('share', 'published_rate') THEN b.max_value END AS max_share,
       c.control_total, c.country_value
FROM by_level AS b
JOIN indicator_catalogue AS k USING (indicator)
LEFT JOIN deso AS d USING (area_level, year, indicator)
LEFT JOIN (SELECT DISTINCT indicator FROM indicator_terms WHERE measure = 'local') AS l USING (indicator)
LEFT JOIN control AS c ON c.year = b.year AND c.indicator = b.indicator AND b.area_level = 'country'
