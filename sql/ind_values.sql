-- layer: indicators
-- depends_on: ind_deso_counts, ind_area_membership, indicator_terms, indicator_levels, indicator_catalogue, stg_regso_rates, stg_municipality_rates, stg_local_measures
-- description: Every indicator for every area, level and year. Numerators and denominators
--   are summed from DeSO up to each level, and the share is computed afterwards: shares are
--   never averaged. An area with any member DeSO lacking a value gets no value (and a reason)
--   rather than a silent undercount. Medians exist only where SCB publishes them (DeSO).
--   Published rates (kind published_rate: SCB's RegSO rates, Kolada's municipal key figures) are
--   taken as published at the levels the catalogue lists, scaled to the catalogue's unit (a
--   percentage becomes a share); their numerator and denominator are NULL. Rows of the staged
--   rates that map to no area of the key (RegSO 2025 codes) are left out.
--   A municipality's own measures (stg_local_measures, measure 'local' in the catalogue) become
--   values at exactly the areas their files report, never summed to larger areas: a file reports
--   a municipality total or there is none. A share lacking its numerator or denominator for an
--   area and year gets no value and a reason.
WITH deso_terms AS (
    -- numerator and denominator of each indicator per DeSO and year
    SELECT c.area_code AS deso_code, c.year, t.indicator,
           sum(c.value) FILTER (WHERE t.role = 'numerator')                         AS numerator,
           sum(c.value) FILTER (WHERE t.role = 'denominator')                       AS denominator,
           count(*) FILTER (WHERE c.value IS NULL)                                  AS undelivered,
           string_agg(DISTINCT nullif(c.status, ''), ', ')                          AS statuses,
           min(c.boundary_version)                                                  AS min_version,
           max(c.boundary_version)                                                  AS max_version
    FROM ind_deso_counts AS c
    JOIN indicator_terms AS t
      ON t.measure = c.measure
     AND (t.category = c.category
          -- an age range takes every age group that lies inside it (five-year groups or single years)
          OR (t.category IS NULL AND c.age_from >= t.age_from
              AND coalesce(c.age_to, 1000) <= coalesce(t.age_to, 1000)))
    GROUP BY ALL
),
by_level AS (
    SELECT m.area_level, m.area_code, d.year, d.indicator,
           sum(d.numerator)      AS numerator,
           sum(d.denominator)    AS denominator,
           sum(d.undelivered)    AS undelivered,
           count(*)              AS deso_count,
           string_agg(DISTINCT d.statuses, ', ') AS statuses,
           min(d.min_version)    AS min_version,
           max(d.max_version)    AS max_version
    FROM deso_terms AS d
    JOIN ind_area_membership AS m ON m.deso_code = d.deso_code
    JOIN indicator_levels AS l ON l.indicator = d.indicator AND l.area_level = m.area_level
    GROUP BY ALL
),
computed AS (
    SELECT b.area_level, b.area_code, b.year, b.indicator,
           CASE WHEN b.undelivered > 0 THEN NULL ELSE b.numerator END   AS numerator,
           CASE WHEN b.undelivered > 0 THEN NULL ELSE b.denominator END AS denominator,
           CASE WHEN b.undelivered > 0 THEN NULL
                WHEN k.kind = 'share' THEN b.numerator / nullif(b.denominator, 0)
                ELSE b.numerator END                                      AS value,
           CASE WHEN b.undelivered > 0 AND b.area_level = 'deso' THEN 'not delivered by SCB: ' || b.statuses
                WHEN b.undelivered > 0 THEN 'incomplete: ' || b.undelivered || ' DeSO value(s) not delivered'
                WHEN k.kind = 'share' AND coalesce(b.denominator, 0) = 0 THEN 'no one in the denominator'
                END                                                       AS missing_reason,
           b.deso_count,
           -- the DeSO version the value was built from; never two versions in one figure unnoticed
           CASE WHEN b.min_version = b.max_version THEN b.min_version ELSE 'mixed' END AS boundary_version
    FROM by_level AS b
    JOIN indicator_catalogue AS k ON k.indicator = b.indicator
),
local_terms AS (
    SELECT s.area_level, s.area_code, s.year, t.indicator,
           sum(s.value) FILTER (WHERE t.role = 'numerator')   AS numerator,
           sum(s.value) FILTER (WHERE t.role = 'denominator') AS denominator,
           min(s.boundary_version)                            AS boundary_version
    FROM stg_local_measures AS s
    JOIN indicator_terms AS t ON t.measure = s.source AND t.category = s.measure
    JOIN indicator_levels AS l ON l.indicator = t.indicator AND l.area_level = s.area_level
    WHERE s.area_code IS NOT NULL
    GROUP BY ALL
),
local_values AS (
    SELECT v.area_level, v.area_code, v.year, v.indicator,
           CAST(v.numerator AS DOUBLE)                                   AS numerator,
           CAST(v.denominator AS DOUBLE)                                 AS denominator,
           CASE WHEN k.kind = 'share' THEN v.numerator / nullif(v.denominator, 0)
                ELSE CAST(v.numerator AS DOUBLE) END                     AS value,
           CASE WHEN v.numerator IS NULL THEN 'not in the municipality''s own data: the numerator'
                WHEN k.kind = 'share' AND v.denominator IS NULL THEN 'not in the municipality''s own data: the denominator'
                WHEN k.kind = 'share' AND v.denominator = 0 THEN 'no one in the denominator'
                END                                                      AS missing_reason,
           CAST(NULL AS BIGINT)                                          AS deso_count,
           v.boundary_version
    FROM local_terms AS v
    JOIN indicator_catalogue AS k ON k.indicator = v.indicator AND k.kind IN ('count', 'share')
),
published AS (
    SELECT source, area_level, area_code, year, content_code, value, missing_reason, boundary_version
    FROM stg_regso_rates WHERE area_code IS NOT NULL
    UNION ALL
    SELECT source, area_level, area_code, year, content_code, value, missing_reason, boundary_version
    FROM stg_municipality_rates WHERE area_code IS NOT NULL
)
SELECT * FROM computed
UNION ALL
SELECT * FROM local_values
UNION ALL
SELECT p.area_level, p.area_code, p.year, t.indicator,
       CAST(NULL AS DOUBLE)                                          AS numerator,
       CAST(NULL AS DOUBLE)                                          AS denominator,
       p.value * t.scale                                             AS value,
       CASE WHEN p.value IS NULL THEN coalesce(p.missing_reason, 'not delivered by the source') END AS missing_reason,
       CAST(NULL AS BIGINT)                                          AS deso_count,
       p.boundary_version
FROM published AS p
JOIN indicator_terms AS t ON t.role = 'numerator' AND t.measure = p.source AND t.category = p.content_code
JOIN indicator_catalogue AS k ON k.indicator = t.indicator AND k.kind = 'published_rate'
JOIN indicator_levels AS l ON l.indicator = t.indicator AND l.area_level = p.area_level
