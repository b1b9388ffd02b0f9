-- Check frame for raw_regso_labour_market: one row per area code, boundary version and year, as delivered by
-- a live fetch (empty when the source was not fetched). Published percentages or days: never
-- negative; a missing value carries SCB's marker; one cell per sex, background and content.
SELECT
    Region, boundary_version, Tid,
    count(*)                                                            AS cells,
    count(DISTINCT (Kon, BakgrVar, ContentsCode))                      AS distinct_cells,
    min(value)                                                          AS min_value,
    bool_and(value IS NOT NULL OR status <> '')                         AS missing_values_have_status,
    bool_and(status IN ('', '..', '...', '.', '-', 'missing'))          AS statuses_known
FROM raw_regso_labour_market
GROUP BY ALL
