-- layer: staged
-- depends_on: raw_kolada_kpis, stg_areas
-- description: Key figures Kolada publishes per municipality (ohälsotal, sjukpenningtal, share
--   receiving income support), one row per KPI, area and year, both sexes (gender 'T'), the value
--   exactly as published (percent or days; the catalogue scales it). Kolada's ids map onto
--   Grannskap's areas: '0000' is Sweden ('00'), '00<county>' a region (the county), any other
--   4-digit id a municipality. An id that maps to no area of the key fails the staged suite,
--   naming it. An empty raw table (no live fetch) gives an empty table.
WITH cells AS (
    SELECT kpi, Region, Tid, value, status, boundary_version,
           CASE WHEN Region = '0000' THEN 'country'
                WHEN regexp_matches(Region, '^00\d{2}$') THEN 'county'
                WHEN regexp_matches(Region, '^\d{4}$') THEN 'municipality' END AS area_level
    FROM raw_kolada_kpis
    WHERE gender = 'T'
)
SELECT
    'kolada_kpis'                            AS source,
    c.Region                                 AS region_code,
    c.area_level,
    CASE c.area_level
        WHEN 'country' THEN '00'
        WHEN 'county' THEN (SELECT any_value(county_code) FROM stg_areas WHERE county_code = substr(c.Region, 3, 2))
        WHEN 'municipality' THEN (SELECT any_value(municipality_code) FROM stg_areas WHERE municipality_code = c.Region)
    END                                      AS area_code,
    CAST(c.Tid AS INTEGER)                   AS year,
    c.kpi                                    AS content_code,
    c.value,
    c.status,
    CASE WHEN c.status = '' THEN NULL ELSE 'not published by Kolada (' || c.status || ')' END AS missing_reason,
    c.boundary_version
FROM cells AS c
