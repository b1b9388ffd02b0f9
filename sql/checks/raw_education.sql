-- Check frame for raw_education: one row per area and year.
SELECT
    Region, Tid,
    count(*)                                                            AS cells,
    count(DISTINCT UtbildningsNiva)                                     AS distinct_levels,
    min(value)                                                          AS min_value,
    bool_and(value IS NULL OR value = floor(value))                     AS counts_are_integers,
    bool_and(status IN ('', '..', '...', '.', '-'))                    AS statuses_known
FROM raw_education
GROUP BY ALL
