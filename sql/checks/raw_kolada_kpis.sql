-- Check frame for raw_kolada_kpis: one row per Kolada id and period, as delivered by a live fetch
-- (empty when Kolada was not fetched). Published values are never negative; a missing value
-- carries Kolada's status (or 'missing'); one cell per KPI and gender.
SELECT
    Region, Tid,
    count(*)                                                            AS cells,
    count(DISTINCT (kpi, gender))                                       AS distinct_cells,
    min(value)                                                          AS min_value,
    bool_and(value IS NOT NULL OR status <> '')                         AS missing_values_have_status,
    bool_and(gender IN ('T', 'K', 'M'))                                 AS genders_known
FROM raw_kolada_kpis
GROUP BY ALL
