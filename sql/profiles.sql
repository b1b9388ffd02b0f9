-- layer: profiles
-- depends_on: ind_values_protected, ind_areas, ind_area_membership, stg_areas, indicator_catalogue, indicator_terms, indicator_levels, meta_sources
-- description: The profile of every area: each indicator side by side with the area's
--   municipality, county and the nation (value, difference, ratio), and its rank among areas
--   of the same level in its municipality and in the nation. Rank 1 is the greatest need
--   (the highest value, or the lowest where more means less need; for neutral indicators the
--   highest value). Areas without a value (not delivered, or hidden by disclosure control)
--   are not ranked. Reads the protected values only: nothing hidden can reach a profile.
--   A published rate (kind published_rate) exists only at the levels its source publishes; an
--   area below them shows the value of the finest listed level that contains it (a DeSO its
--   RegSO's; a named district its RegSO's only when all its DeSO lie in one RegSO, otherwise no
--   value and a note), with value_area_level / value_area_code naming that area (NULL when the
--   value is the area's own) and missing_reason saying so ('publiceras bara för RegSO: värdet
--   avser <name>'). Such a borrowed value is never ranked and never counted among the areas.
WITH own AS (
    SELECT v.area_level, v.area_code, v.year, v.indicator, v.value, v.numerator, v.denominator,
           v.missing_reason, v.suppressed, v.reliability, v.boundary_version,
           CAST(NULL AS VARCHAR) AS value_area_level, CAST(NULL AS VARCHAR) AS value_area_code
    FROM ind_values_protected AS v
),
district_regso AS (
    -- a named district lies in one RegSO when all its DeSO do; otherwise it has no single RegSO
    SELECT m.area_code, CASE WHEN count(DISTINCT a.regso_code) = 1 THEN min(a.regso_code) END AS regso_code
    FROM ind_area_membership AS m JOIN stg_areas AS a USING (deso_code)
    WHERE m.area_level = 'district'
    GROUP BY ALL
),
containers AS (
    -- every area with the larger areas that contain it, finest first
    SELECT a.area_level, a.area_code, 'regso' AS value_area_level,
           coalesce(a.regso_code, d.regso_code) AS value_area_code, 1 AS fineness
    FROM ind_areas AS a LEFT JOIN district_regso AS d ON a.area_level = 'district' AND d.area_code = a.area_code
    WHERE a.area_level IN ('deso', 'district')
    UNION ALL
    SELECT area_level, area_code, 'municipality', municipality_code, 2 FROM ind_areas
    WHERE area_level IN ('deso', 'district', 'regso')
    UNION ALL
    SELECT area_level, area_code, 'county', county_code, 3 FROM ind_areas
    WHERE area_level IN ('deso', 'district', 'regso', 'municipality')
    UNION ALL
    SELECT area_level, area_code, 'country', '00', 4 FROM ind_areas WHERE area_level <> 'country'
),
finest AS (
    -- for each published rate and each area at a level it is not published for: the finest listed
    -- level that contains the area (the RegSO of a district spanning several RegSO is NULL)
    SELECT c.area_level, c.area_code, l.indicator, c.value_area_level, c.value_area_code
    FROM containers AS c
    JOIN indicator_levels AS l ON l.area_level = c.value_area_level
    JOIN indicator_catalogue AS k ON k.indicator = l.indicator AND k.kind = 'published_rate'
    WHERE NOT EXISTS (SELECT 1 FROM indicator_levels AS o WHERE o.indicator = l.indicator AND o.area_level = c.area_level)
    QUALIFY row_number() OVER (PARTITION BY c.area_level, c.area_code, l.indicator ORDER BY c.fineness) = 1
),
level_names AS (
    SELECT * FROM (VALUES ('regso', 'RegSO'), ('municipality', 'kommun'), ('county', 'län'), ('country', 'riket'))
        AS n(area_level, label_sv)
),
borrowed AS (
    SELECT f.area_level, f.area_code, r.year, r.indicator, r.value,
           CAST(NULL AS DOUBLE) AS numerator, CAST(NULL AS DOUBLE) AS denominator,
           'publiceras bara för ' || n.label_sv || ': värdet avser ' || ra.area_name
               || coalesce('; ' || r.missing_reason, '')                                     AS missing_reason,
           r.suppressed, r.reliability, r.boundary_version,
           f.value_area_level, f.value_area_code
    FROM finest AS f
    JOIN ind_values_protected AS r
      ON r.indicator = f.indicator AND r.area_level = f.value_area_level AND r.area_code = f.value_area_code
    JOIN ind_areas AS ra ON ra.area_level = r.area_level AND ra.area_code = r.area_code
    JOIN level_names AS n ON n.area_level = f.value_area_level
),
spanning AS (
    -- a named district across several RegSO: no RegSO value is its own, and none is imputed
    SELECT f.area_level, f.area_code, r.year, f.indicator, CAST(NULL AS DOUBLE) AS value,
           CAST(NULL AS DOUBLE) AS numerator, CAST(NULL AS DOUBLE) AS denominator,
           'publiceras bara för RegSO, och området ligger i flera RegSO: inget värde visas' AS missing_reason,
           CAST(NULL AS VARCHAR) AS suppressed, CAST(NULL AS VARCHAR) AS reliability, 'RegSO2020' AS boundary_version,
           CAST(NULL AS VARCHAR) AS value_area_level, CAST(NULL AS VARCHAR) AS value_area_code
    FROM finest AS f
    JOIN ind_area_membership AS m ON m.area_level = f.area_level AND m.area_code = f.area_code
    JOIN stg_areas AS a USING (deso_code)
    JOIN ind_values_protected AS r ON r.indicator = f.indicator AND r.area_level = 'regso' AND r.area_code = a.regso_code
    WHERE f.value_area_level = 'regso' AND f.value_area_code IS NULL
    GROUP BY ALL
),
all_rows AS (
    SELECT * FROM own
    UNION ALL SELECT * FROM borrowed
    UNION ALL SELECT * FROM spanning
),
v AS (
    SELECT v.*, a.area_name, a.regso_code, a.municipality_code, a.municipality_name,
           a.county_code, a.county_name,
           k.title_sv, k.unit, k.kind, k.direction,
           -- only an area's own value is ranked and counted
           CASE WHEN v.value_area_code IS NOT NULL THEN NULL
                WHEN k.direction = 'more_is_less_need' THEN -v.value ELSE v.value END AS need_value
    FROM all_rows AS v
    JOIN ind_areas AS a USING (area_level, area_code)
    JOIN indicator_catalogue AS k USING (indicator)
),
municipality AS (
    SELECT area_code AS municipality_code, year, indicator, value AS municipality_value
    FROM ind_values_protected WHERE area_level = 'municipality'
),
county AS (
    SELECT area_code AS county_code, year, indicator, value AS county_value
    FROM ind_values_protected WHERE area_level = 'county'
),
nation AS (
    SELECT year, indicator, value AS national_value
    FROM ind_values_protected WHERE area_level = 'country'
),
source AS (
    -- the raw table behind each indicator's numerator, for tracing a figure to its source; a municipality's
    -- own measures have one row in meta_sources for all their files, and are named as the catalogue names them
    SELECT DISTINCT t.indicator,
           CASE WHEN s.source = 'local' THEN k.source_table ELSE s.source_table END AS source_table,
           s.reference_year, s.updated AS source_updated, s.raw_table
    FROM indicator_terms AS t
    JOIN meta_sources AS s ON s.raw_table = t.measure
    JOIN indicator_catalogue AS k USING (indicator)
    WHERE t.role = 'numerator'
)
SELECT
    v.area_code, v.area_name, v.area_level, v.regso_code, v.municipality_code, v.municipality_name,
    v.county_code, v.county_name, v.year, v.indicator, v.title_sv, v.unit, v.direction,
    v.value, v.numerator, v.denominator, v.missing_reason, v.suppressed, v.reliability,
    v.value_area_level, v.value_area_code,
    m.municipality_value,
    v.value - m.municipality_value                      AS diff_municipality,
    v.value / nullif(m.municipality_value, 0)           AS ratio_municipality,
    c.county_value,
    n.national_value,
    v.value - n.national_value                          AS diff_national,
    v.value / nullif(n.national_value, 0)               AS ratio_national,
    CASE WHEN v.need_value IS NOT NULL AND v.municipality_code IS NOT NULL THEN
        rank() OVER (PARTITION BY v.area_level, v.municipality_code, v.year, v.indicator, v.need_value IS NULL
                     ORDER BY v.need_value DESC) END    AS rank_in_municipality,
    CASE WHEN v.municipality_code IS NOT NULL AND v.value_area_code IS NULL THEN
        count(v.need_value) OVER (PARTITION BY v.area_level, v.municipality_code, v.year, v.indicator) END
                                                        AS areas_in_municipality,
    CASE WHEN v.need_value IS NOT NULL THEN
        rank() OVER (PARTITION BY v.area_level, v.year, v.indicator, v.need_value IS NULL
                     ORDER BY v.need_value DESC) END    AS rank_in_nation,
    CASE WHEN v.value_area_code IS NULL THEN
        count(v.need_value) OVER (PARTITION BY v.area_level, v.year, v.indicator) END AS areas_in_nation,
    v.boundary_version,
    s.source_table, s.reference_year AS source_reference_year, s.source_updated, s.raw_table
FROM v
LEFT JOIN municipality AS m USING (municipality_code, year, indicator)
LEFT JOIN county AS c USING (county_code, year, indicator)
LEFT JOIN nation AS n USING (year, indicator)
LEFT JOIN source AS s USING (indicator)
