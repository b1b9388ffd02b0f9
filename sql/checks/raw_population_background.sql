-- Check frame for raw_population_background: one row per area, sex and year.
SELECT
    Region, Kon, Tid,
    count(*)                                                            AS cells,
    count(DISTINCT UtlBakgrund)                                         AS distinct_backgrounds,
    count(*) FILTER (WHERE UtlBakgrund = 'SA')                          AS total_cells,
    min(value)                                                          AS min_value,
    bool_and(value IS NULL OR value = floor(value))                     AS counts_are_integers,
    CASE WHEN count(*) FILTER (WHERE value IS NULL AND UtlBakgrund <> 'SA') = 0
         THEN sum(value) FILTER (WHERE UtlBakgrund <> 'SA') END         AS sum_of_backgrounds,
    max(value) FILTER (WHERE UtlBakgrund = 'SA')                        AS reported_total,
    bool_and(status IN ('', '..', '...', '.', '-'))                    AS statuses_known
FROM raw_population_background
GROUP BY ALL
