-- layer: profiles
-- depends_on: ind_values_protected, ind_areas, indicator_catalogue, indicator_terms, meta_sources
-- description: The profile of every area: each indicator side by side with the area's
--   municipality, county and the nation (value, difference, ratio), and its rank among areas
--   of the same level in its municipality and in the nation. Rank 1 is the greatest need
--   (the highest value, or the lowest where more means less need; for neutral indicators the
--   highest value). Areas without a value (not delivered, or hidden by disclosure control)
--   are not ranked. Reads the protected values only: nothing hidden can reach a profile.
WITH v AS (
    SELECT v.*, a.area_name, a.regso_code, a.municipality_code, a.municipality_name,
           a.county_code, a.county_name,
           k.title_sv, k.unit, k.kind, k.direction,
           CASE WHEN k.direction = 'more_is_less_need' THEN -v.value ELSE v.value END AS need_value
    FROM ind_values_protected AS v
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
    -- the raw table behind each indicator's numerator, for tracing a figure to its source
    SELECT DISTINCT t.indicator, s.source_table, s.reference_year, s.updated AS source_updated, s.raw_table
    FROM indicator_terms AS t JOIN meta_sources AS s ON s.raw_table = t.measure
    WHERE t.role = 'numerator'
)
SELECT
    v.area_code, v.area_name, v.area_level, v.regso_code, v.municipality_code, v.municipality_name,
    v.county_code, v.county_name, v.year, v.indicator, v.title_sv, v.unit, v.direction,
    v.value, v.numerator, v.denominator, v.missing_reason, v.suppressed, v.reliability,
    m.municipality_value,
    v.value - m.municipality_value                      AS diff_municipality,
    v.value / nullif(m.municipality_value, 0)           AS ratio_municipality,
    c.county_value,
    n.national_value,
    v.value - n.national_value                          AS diff_national,
    v.value / nullif(n.national_value, 0)               AS ratio_national,
    CASE WHEN v.value IS NOT NULL AND v.municipality_code IS NOT NULL THEN
        rank() OVER (PARTITION BY v.area_level, v.municipality_code, v.year, v.indicator, v.value IS NULL
                     ORDER BY v.need_value DESC) END    AS rank_in_municipality,
    CASE WHEN v.municipality_code IS NOT NULL THEN
        count(v.value) OVER (PARTITION BY v.area_level, v.municipality_code, v.year, v.indicator) END
                                                        AS areas_in_municipality,
    CASE WHEN v.value IS NOT NULL THEN
        rank() OVER (PARTITION BY v.area_level, v.year, v.indicator, v.value IS NULL
                     ORDER BY v.need_value DESC) END    AS rank_in_nation,
    count(v.value) OVER (PARTITION BY v.area_level, v.year, v.indicator) AS areas_in_nation,
    v.boundary_version,
    s.source_table, s.reference_year AS source_reference_year, s.source_updated, s.raw_table
FROM v
LEFT JOIN municipality AS m USING (municipality_code, year, indicator)
LEFT JOIN county AS c USING (county_code, year, indicator)
LEFT JOIN nation AS n USING (year, indicator)
LEFT JOIN source AS s USING (indicator)
