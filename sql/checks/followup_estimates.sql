-- description: Check frame for followup_estimates: one row per investment, area and outcome.
SELECT investment_id || ' ' || coalesce(area_code, '(inga områden)') || ' ' || indicator AS check_key,
       count(*) OVER (PARTITION BY investment_id, area_code, indicator)    AS rows_per_outcome,
       (did_after IS NULL) <> (no_estimate_reason IS NULL)                 AS estimate_or_reason,
       did_after IS NULL OR (caveats IS NOT NULL AND len(years_after) > 0) AS estimate_has_caveats
FROM followup_estimates
