-- layer: followup
-- depends_on: ref_investments, ind_areas
-- description: The investment register, one row per investment, with the years its follow-up is
--   measured in. Statistics for year Y describe 31 December Y (or the whole of Y), so the baseline
--   is the last year before the start (start year - 1) unless the register sets baseline_year;
--   the investment runs from its start year to its end year, and every later year is "after".
--   An investment without a start or end (the source does not say) has no years: its follow-up
--   says so instead of guessing. `in_build` is false for an investment of a municipality the build
--   does not hold (a build of a few municipalities): it is kept, and its follow-up says so.
SELECT investment_id, municipality_code, name, file, position, districts, target_group, age_from, age_to,
       start_date, end_date, budget_sek, outcomes, purpose, partners, source, gaps,
       CAST(coalesce(baseline_year, year(start_date) - 1) AS INTEGER) AS baseline_year,
       CAST(year(start_date) AS INTEGER)             AS first_year,
       CAST(year(end_date) AS INTEGER)               AS last_year,
       comparison_universe, coalesce(comparison_count, 5) AS comparison_count,
       matching_indicators,
       municipality_code IN (SELECT area_code FROM ind_areas WHERE area_level = 'municipality') AS in_build
FROM ref_investments
