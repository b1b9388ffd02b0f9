-- description: Check frame for followup_points: one row per measuring point, with the rules that
--   keep an estimate honest: a number or a reason (never both, never neither), an estimate only
--   during or after the investment and only on at least 3 comparison districts, and a reason for
--   every missing value.
SELECT investment_id || ' ' || coalesce(area_code, '(inga områden)') || ' ' || indicator || ' ' || coalesce(CAST(year AS VARCHAR), '') AS check_key,
       coalesce(period IN ('baseline', 'before', 'during', 'after'), year IS NULL)  AS period_known,
       (did_estimate IS NULL) <> (no_estimate_reason IS NULL)                     AS estimate_or_reason,
       did_estimate IS NULL OR (period IN ('during', 'after') AND comparisons_with_change >= 3) AS estimate_supported,
       value IS NOT NULL OR value_note IS NOT NULL                                AS missing_value_explained
FROM followup_points
