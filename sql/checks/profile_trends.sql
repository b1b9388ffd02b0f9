-- description: Check frame for profile_trends: the trend rows with a key that names them, and
--   whether a break ever carries a change.
SELECT area_level || ' ' || area_code || ' ' || indicator || ' ' || from_year || '-' || to_year AS check_key,
       area_level, area_code, indicator, span_years, to_year, from_year,
       series_break IS NULL OR change IS NULL AS break_has_no_change
FROM profile_trends
