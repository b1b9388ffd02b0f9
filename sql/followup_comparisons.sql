-- layer: followup
-- depends_on: stg_investments, stg_investment_areas, followup_investment_deso, ind_areas, ind_area_membership, profiles
-- description: Comparison districts for every area of every investment: the areas of the same level
--   in the comparison universe (by default the area's municipality, since a municipality's own
--   measures exist only there; the nation for a whole municipality) most similar to it on the
--   matching indicators (by default the needs index's) in the matched year. Each indicator is
--   standardised (z-score) over all areas of that level in the universe; `distance` is the root
--   mean square of the differences in z between candidate and investment area (0 = identical).
--   The matched year is the baseline when the database has it, otherwise the year nearest to it,
--   with a note (after the start, the investment may have shaped the very values matched on).
--   Excluded: any area sharing a DeSO with an area of any investment (this one included) whose
--   period overlaps this investment's follow-up, or whose period is unknown; areas lacking a
--   matching value; borrowed values of a larger area are never matched on.
WITH latest AS (SELECT max(year) AS latest_year FROM profiles),
treated AS (
    SELECT i.investment_id, i.baseline_year, i.first_year,
           greatest(i.last_year, l.latest_year)                AS window_end,
           i.comparison_count, i.matching_indicators,
           a.area_level, a.area_code, a.area_name, x.municipality_code, x.county_code,
           coalesce(i.comparison_universe,
                    CASE WHEN a.area_level = 'municipality' THEN 'nation' ELSE 'municipality' END) AS universe
    FROM stg_investments AS i
    CROSS JOIN latest AS l
    JOIN stg_investment_areas AS a USING (investment_id)
    JOIN ind_areas AS x ON x.area_level = a.area_level AND x.area_code = a.area_code
    WHERE a.matches = 1 AND i.baseline_year IS NOT NULL
),
matching AS (
    SELECT investment_id, area_code AS treated_code, unnest(matching_indicators) AS indicator FROM treated
),
pool AS (
    SELECT area_level, area_code, area_name, municipality_code, county_code, year, indicator, value
    FROM profiles
    WHERE value IS NOT NULL AND value_area_level IS NULL
      AND indicator IN (SELECT indicator FROM matching)
),
match_year AS (
    SELECT t.investment_id, t.area_code AS treated_code, p.year AS matched_year
    FROM treated AS t
    JOIN pool AS p ON p.area_level = t.area_level AND p.area_code = t.area_code
    QUALIFY row_number() OVER (PARTITION BY t.investment_id, t.area_code
                               ORDER BY abs(p.year - t.baseline_year), p.year) = 1
),
universe AS (
    SELECT t.investment_id, t.area_code AS treated_code, p.area_code, p.area_name, p.indicator, p.value
    FROM treated AS t
    JOIN match_year AS y ON y.investment_id = t.investment_id AND y.treated_code = t.area_code
    JOIN matching AS m ON m.investment_id = t.investment_id AND m.treated_code = t.area_code
    JOIN pool AS p
      ON p.area_level = t.area_level AND p.year = y.matched_year AND p.indicator = m.indicator
     AND CASE t.universe WHEN 'nation' THEN TRUE
                         WHEN 'county' THEN p.county_code = t.county_code
                         ELSE p.municipality_code = t.municipality_code END
),
standardised AS (
    SELECT *, coalesce((value - avg(value) OVER w) / nullif(stddev_pop(value) OVER w, 0), 0) AS z
    FROM universe
    WINDOW w AS (PARTITION BY investment_id, treated_code, indicator)
),
target AS (
    SELECT investment_id, treated_code, indicator, z FROM standardised WHERE area_code = treated_code
),
excluded AS (
    SELECT DISTINCT t.investment_id, t.area_code AS treated_code, m.area_code
    FROM treated AS t
    JOIN (SELECT DISTINCT deso_code, first_year, last_year FROM followup_investment_deso) AS b
      ON b.first_year IS NULL OR b.last_year IS NULL
      OR (b.first_year <= t.window_end AND b.last_year >= t.baseline_year)
    JOIN ind_area_membership AS m ON m.area_level = t.area_level AND m.deso_code = b.deso_code
),
candidates AS (
    SELECT s.investment_id, s.treated_code, s.area_code, any_value(s.area_name) AS area_name,
           sqrt(avg(power(s.z - g.z, 2))) AS distance, count(*) AS indicators_used
    FROM standardised AS s
    JOIN target AS g USING (investment_id, treated_code, indicator)
    WHERE s.area_code <> s.treated_code
      AND NOT EXISTS (SELECT 1 FROM excluded AS e
                      WHERE e.investment_id = s.investment_id AND e.treated_code = s.treated_code
                        AND e.area_code = s.area_code)
    GROUP BY s.investment_id, s.treated_code, s.area_code
),
complete AS (
    -- only candidates with every indicator the investment area has
    SELECT c.*, count(*) OVER (PARTITION BY c.investment_id, c.treated_code) AS candidates
    FROM candidates AS c
    JOIN (SELECT investment_id, treated_code, count(*) AS n, list(indicator ORDER BY indicator) AS matched_on
          FROM target GROUP BY ALL) AS n USING (investment_id, treated_code)
    WHERE c.indicators_used = n.n
)
SELECT t.investment_id, t.area_level, t.area_code, t.area_name,
       row_number() OVER (PARTITION BY t.investment_id, t.area_code ORDER BY c.distance, c.area_code) AS comparison_rank,
       c.area_code                                   AS comparison_code,
       c.area_name                                   AS comparison_name,
       round(c.distance, 4)                          AS distance,
       y.matched_year,
       (SELECT list(indicator ORDER BY indicator) FROM target AS g
         WHERE g.investment_id = t.investment_id AND g.treated_code = t.area_code) AS matched_on,
       t.universe,
       c.candidates,
       'kvadratiskt medelvärde av skillnaderna i z-värde (standardiserat över alla områden på nivån i universumet, matchningsåret)' AS distance_method,
       CASE WHEN y.matched_year <> t.baseline_year THEN
            'matchat på ' || y.matched_year || ': basåret ' || t.baseline_year || ' finns inte i databasen'
            || CASE WHEN y.matched_year >= t.first_year
                    THEN '; året ligger efter starten, så insatsen kan ha påverkat värdena som matchas' ELSE '' END
       END                                           AS match_note
FROM treated AS t
JOIN match_year AS y ON y.investment_id = t.investment_id AND y.treated_code = t.area_code
JOIN complete AS c ON c.investment_id = t.investment_id AND c.treated_code = t.area_code
QUALIFY comparison_rank <= t.comparison_count
