-- depends_on: indicator_catalogue
-- description: Check frame for stg_investments: one row per investment (its name's count in its
--   municipality, dates, ages, budget, comparison settings), plus one row per outcome and matching
--   indicator it names (known to the catalogue or not). check_key names the file and investment.
WITH i AS (SELECT * FROM stg_investments),
named AS (
    SELECT i.file || ': ' || i.name AS check_key,
           count(*) OVER (PARTITION BY i.municipality_code, lower(i.name)) AS investments_with_name,
           (i.end_date >= i.start_date) IS NOT FALSE                       AS end_not_before_start,
           i.age_from BETWEEN 0 AND 120 AND i.age_to BETWEEN i.age_from AND 120 AS ages_valid,
           coalesce(i.budget_sek >= 0, TRUE)                               AS budget_not_negative,
           coalesce(i.comparison_universe IN ('municipality', 'county', 'nation'), TRUE) AS universe_known,
           i.comparison_count BETWEEN 1 AND 50                             AS comparison_count_valid,
           TRUE                                                            AS indicator_known
    FROM i
),
indicators AS (
    SELECT file || ': ' || name || ' (' || role || ' ' || indicator || ')' AS check_key, indicator
    FROM (SELECT file, name, 'outcome' AS role, unnest(outcomes) AS indicator FROM i
          UNION ALL
          SELECT file, name, 'matching indicator', unnest(matching_indicators) FROM i)
)
SELECT * FROM named
UNION ALL
SELECT n.check_key, 1, TRUE, TRUE, TRUE, TRUE, TRUE, k.indicator IS NOT NULL
FROM indicators AS n LEFT JOIN indicator_catalogue AS k USING (indicator)
