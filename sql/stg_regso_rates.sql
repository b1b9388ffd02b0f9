-- layer: staged
-- depends_on: raw_regso_labour_market, raw_regso_ill_health, raw_regso_transfers, stg_areas
-- description: Rates SCB publishes per RegSO (integration statistics: labour market, ohälsotal,
--   transfers), one row per source table, area, year and content code, for both sexes and SCB's
--   total background row (TOT / tot20-64 / 000, which carry the same figure; the first present is
--   taken), the value exactly as published (percent or days; the catalogue scales it). SCB's RegSO
--   codes are mapped onto the key's RegSO ('<municipality>:<name>'): the key has no RegSO codes,
--   so the match is by municipality (the code's first 4 characters) and the code's label in the
--   raw manifest (the RegSO's name; a leading code in the label is ignored, case and spaces too).
--   Rows for Sweden ('00'), a county (2 digits) or a municipality (4 digits) map to those areas.
--   The embedded key is RegSO 2020: a RegSO 2025 code is never joined to it (area_code NULL,
--   `mapping_note` says why); an unmatched RegSO 2020 code fails the staged suite, naming it.
--   An empty raw table (no live fetch) gives an empty table.
WITH cells AS (
    SELECT 'regso_labour_market' AS source, Region, Tid, ContentsCode, Kon, BakgrVar AS background,
           value, status, boundary_version
    FROM raw_regso_labour_market
    UNION ALL
    SELECT 'regso_ill_health', Region, Tid, ContentsCode, Kon, Bakgrund, value, status, boundary_version
    FROM raw_regso_ill_health
    UNION ALL
    SELECT 'regso_transfers', Region, Tid, ContentsCode, Kon, Bakgrund, value, status, boundary_version
    FROM raw_regso_transfers
),
labels AS (
    SELECT 'regso_labour_market' AS source, code, label FROM raw_regso_labour_market_labels WHERE dimension = 'Region'
    UNION ALL
    SELECT 'regso_ill_health', code, label FROM raw_regso_ill_health_labels WHERE dimension = 'Region'
    UNION ALL
    SELECT 'regso_transfers', code, label FROM raw_regso_transfers_labels WHERE dimension = 'Region'
),
totals AS (
    SELECT * FROM cells
    WHERE Kon = '1+2' AND background IN ('tot20-64', 'TOT', '000')
    QUALIFY row_number() OVER (
        PARTITION BY source, Region, boundary_version, Tid, ContentsCode
        ORDER BY CASE background WHEN 'tot20-64' THEN 1 WHEN 'TOT' THEN 2 ELSE 3 END) = 1
),
named AS (
    SELECT t.*,
           CASE WHEN regexp_matches(t.Region, '^\d{4}R\d{3}$') THEN 'regso'
                WHEN t.Region = '00' THEN 'country'
                WHEN regexp_matches(t.Region, '^\d{2}$') THEN 'county'
                WHEN regexp_matches(t.Region, '^\d{4}$') THEN 'municipality' END            AS area_level,
           -- the RegSO's name from its label: '0581R037 Västra Klockaretorpet' or 'Västra Klockaretorpet'
           nullif(trim(regexp_replace(l.label, '^\s*\d{4}R\d{3}(_RegSO\d{4})?\s*[-–:]?\s*', '')), '') AS regso_name
    FROM totals AS t
    LEFT JOIN labels AS l ON l.source = t.source AND l.code = t.Region
),
regso_key AS (
    SELECT DISTINCT municipality_code, regso_code, regso_name, lower(regso_name) AS name_key FROM stg_areas
),
mapped AS (
    SELECT n.*,
           CASE n.area_level
               WHEN 'regso' THEN CASE WHEN n.boundary_version = 'RegSO2020' THEN k.regso_code END
               WHEN 'country' THEN '00'
               WHEN 'county' THEN (SELECT any_value(county_code) FROM stg_areas WHERE county_code = n.Region)
               WHEN 'municipality' THEN (SELECT any_value(municipality_code) FROM stg_areas WHERE municipality_code = n.Region)
           END                                                                              AS area_code
    FROM named AS n
    LEFT JOIN regso_key AS k
      ON n.area_level = 'regso' AND k.municipality_code = substr(n.Region, 1, 4) AND k.name_key = lower(n.regso_name)
)
SELECT
    source,
    Region                                   AS region_code,
    regso_name                               AS region_label,
    area_level,
    area_code,
    CAST(Tid AS INTEGER)                     AS year,
    ContentsCode                             AS content_code,
    value,
    status,
    CASE WHEN status = '' THEN NULL
         WHEN status IN ('..', '...', '.', '-') THEN 'not published by SCB (' || status || ')'
         ELSE 'not delivered by SCB (' || status || ')' END                                 AS missing_reason,
    boundary_version,
    CASE WHEN area_code IS NOT NULL THEN NULL
         WHEN area_level = 'regso' AND boundary_version = 'RegSO2025'
             THEN 'RegSO 2025: not joined to the embedded RegSO 2020 key (no RegSO 2025 key yet); left out of the indicators'
         WHEN area_level = 'regso' AND regso_name IS NULL
             THEN 'the raw manifest gives no RegSO name for this code'
         WHEN area_level = 'regso'
             THEN 'no RegSO named ''' || regso_name || ''' in municipality ' || substr(Region, 1, 4) || ' of the key'
         WHEN area_level IS NULL THEN 'not a RegSO, municipality, county or country code'
         ELSE 'no such ' || area_level || ' in the key' END                                 AS mapping_note
FROM mapped
