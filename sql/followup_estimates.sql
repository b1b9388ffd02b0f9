-- layer: followup
-- depends_on: followup_points, followup_comparisons, stg_investments, followup_investment_deso
-- description: One difference-in-differences estimate per investment, area and outcome indicator:
--   the mean over the years after the investment of (the area's change since the baseline) minus
--   (its comparison districts' mean change), `did_after`; the same over the years during it,
--   `did_during`. Where the data cannot carry an estimate it is NULL and `no_estimate_reason` says
--   why (for the latest year after the end, or that no year after the end is in the database yet).
--   `outside_comparison_range` says whether the area's change in the latest estimated year lies
--   outside the range of its comparison districts' changes (if not, it is within ordinary variation).
--   `caveats` is printed next to every estimate: aggregate statistics for everyone living in the
--   area, no individual data, few areas, no uncertainty estimate, and - where they apply - a
--   matching year after the start and other investments in the same area in the period.
WITH per_year AS (
    SELECT investment_id, area_level, area_code, area_name, indicator, outcome_position, year, period,
           did_estimate, no_estimate_reason, change_since_baseline,
           comparison_change_min, comparison_change_max, baseline_value, comparisons
    FROM followup_points
),
summary AS (
    SELECT investment_id, area_level, area_code, any_value(area_name) AS area_name, indicator,
           min(outcome_position)                                            AS outcome_position,
           any_value(comparisons)                                           AS comparisons,
           any_value(baseline_value)                                        AS baseline_value,
           avg(did_estimate) FILTER (WHERE period = 'after')                AS did_after,
           list(year ORDER BY year) FILTER (WHERE period = 'after' AND did_estimate IS NOT NULL) AS years_after,
           avg(did_estimate) FILTER (WHERE period = 'during')               AS did_during,
           list(year ORDER BY year) FILTER (WHERE period = 'during' AND did_estimate IS NOT NULL) AS years_during,
           count(*) FILTER (WHERE period = 'after')                         AS after_years,
           arg_max(no_estimate_reason, year) FILTER (WHERE period = 'after') AS latest_after_reason,
           -- an investment without areas or dates has one row, whose reason is the answer
           any_value(no_estimate_reason) FILTER (WHERE year IS NULL)         AS register_reason,
           arg_max(change_since_baseline NOT BETWEEN comparison_change_min AND comparison_change_max, year)
               FILTER (WHERE did_estimate IS NOT NULL)                      AS outside_comparison_range
    FROM per_year
    GROUP BY investment_id, area_level, area_code, indicator
),
matches AS (
    SELECT investment_id, area_code, any_value(matched_year) AS matched_year, any_value(match_note) AS match_note
    FROM followup_comparisons GROUP BY ALL
),
concurrent AS (
    -- other investments in (part of) the same area whose period overlaps this one's
    SELECT a.investment_id, a.area_code, string_agg(DISTINCT b.name, ', ' ORDER BY b.name) AS others
    FROM followup_investment_deso AS a
    JOIN followup_investment_deso AS b ON b.deso_code = a.deso_code AND b.investment_id <> a.investment_id
    WHERE b.first_year IS NULL OR a.first_year IS NULL
       OR (b.first_year <= a.last_year AND b.last_year >= a.first_year)
    GROUP BY ALL
)
SELECT s.investment_id, i.name AS investment_name, s.area_level, s.area_code, s.area_name, s.indicator,
       s.outcome_position, i.baseline_year, s.baseline_value,
       s.did_after, s.years_after, s.did_during, s.years_during,
       s.outside_comparison_range,
       s.comparisons, m.matched_year, c.others                             AS concurrent_investments,
       CASE WHEN s.did_after IS NOT NULL THEN NULL
            WHEN s.register_reason IS NOT NULL THEN s.register_reason
            WHEN s.after_years = 0
                THEN 'inga år efter insatsen i databasen ännu: insatsen slutar ' || i.last_year
                     || ', och ett år efter slutet behövs'
            ELSE s.latest_after_reason END                                  AS no_estimate_reason,
       CASE WHEN s.area_code IS NULL THEN NULL ELSE
            'Aggregerad statistik för alla som bor i ' || s.area_name || ', inte bara insatsens målgrupp ('
            || i.target_group || '), och ingen individdata. Området jämförs med ' || coalesce(s.comparisons, 0)
            || ' liknande områden: för få för en osäkerhetsskattning, och skillnaden kan bero på annat som hänt i '
            || 'området under perioden eller på in- och utflyttning, inte bara på insatsen.'
            || coalesce(' Jämförelseområdena: ' || m.match_note || '.', '')
            || coalesce(' Andra insatser i samma område under perioden: ' || c.others || '; deras verkan kan inte skiljas åt.', '')
       END                                                                  AS caveats
FROM summary AS s
JOIN stg_investments AS i USING (investment_id)
LEFT JOIN matches AS m ON m.investment_id = s.investment_id AND m.area_code = s.area_code
LEFT JOIN concurrent AS c ON c.investment_id = s.investment_id AND c.area_code = s.area_code
