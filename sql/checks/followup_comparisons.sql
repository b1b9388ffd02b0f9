-- description: Check frame for followup_comparisons: one row per comparison district.
SELECT investment_id || ' ' || area_code || ' <- ' || comparison_code AS check_key,
       comparison_code <> area_code                                      AS not_itself,
       distance >= 0                                                      AS distance_valid,
       count(*) OVER (PARTITION BY investment_id, area_code, comparison_rank) AS rows_per_rank,
       matched_year IS NOT NULL AND len(matched_on) > 0                   AS matching_documented
FROM followup_comparisons
