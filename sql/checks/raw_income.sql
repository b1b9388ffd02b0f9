-- Check frame for raw_income: one row per area and year. A median may be missing (with SCB's
-- marker as status); the number of people it rests on must be a non-negative integer.
SELECT
    Region, Tid,
    count(*)                                                            AS cells,
    count(DISTINCT ContentsCode)                                        AS distinct_contents,
    max(value) FILTER (WHERE ContentsCode = 'median_tkr')               AS median_tkr,
    max(value) FILTER (WHERE ContentsCode = 'antal_personer')           AS persons,
    bool_and(value IS NOT NULL OR status <> '')                         AS missing_values_have_status,
    max(status)                                                         AS status,
    bool_and(status IN ('', '..', '...', '.', '-'))                    AS statuses_known
FROM raw_income
GROUP BY ALL
