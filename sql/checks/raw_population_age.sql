-- Check frame for raw_population_age: one row per area, sex and year, so that cross-row rules
-- (no duplicate cells, age groups summing to SCB's total) are column expectations.
SELECT
    Region, Kon, Tid,
    count(*)                                                            AS cells,
    count(DISTINCT Alder)                                               AS distinct_age_groups,
    count(*) FILTER (WHERE Alder = 'totalt')                            AS total_cells,
    min(value)                                                          AS min_value,
    bool_and(value IS NULL OR value = floor(value))                     AS counts_are_integers,
    CASE WHEN count(*) FILTER (WHERE value IS NULL AND Alder <> 'totalt') = 0
         THEN sum(value) FILTER (WHERE Alder <> 'totalt') END           AS sum_of_age_groups,
    max(value) FILTER (WHERE Alder = 'totalt')                          AS reported_total,
    bool_and(status IN ('', '..', '...', '.', '-'))                    AS statuses_known
FROM raw_population_age
GROUP BY ALL
