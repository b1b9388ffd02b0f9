-- layer: followup
-- depends_on: stg_investments, stg_investment_areas, followup_comparisons, profiles, indicator_catalogue, indicator_breaks
-- description: The measuring points of every investment: for each of its areas and outcome
--   indicators, every year from the baseline through the database's latest year (baseline, before,
--   during, after), the area's value next to its comparison districts' mean, its municipality and
--   the nation; the change since the baseline for the area and for the comparison districts, and
--   their difference (difference-in-differences, `did_estimate`) for each year during and after.
--   A year the database does not hold is a row too, saying so: the follow-up shows what it cannot
--   answer. No estimate is printed where the data cannot carry one - the baseline or the year is
--   missing or hidden, the value is a larger area's, a boundary or definition change lies between
--   the years, or fewer than 3 comparison districts have both values; `no_estimate_reason` says
--   which. An investment without areas or dates gets one row per outcome with the reason.
WITH latest AS (SELECT max(year) AS latest_year FROM profiles),
inv AS (
    SELECT i.*, greatest(i.last_year, l.latest_year) AS window_end
    FROM stg_investments AS i CROSS JOIN latest AS l
),
outcomes AS (
    SELECT investment_id, unnest(outcomes) AS indicator, generate_subscripts(outcomes, 1) AS outcome_position FROM inv
),
areas AS (SELECT investment_id, area_level, area_code, area_name FROM stg_investment_areas WHERE matches = 1),
years AS (
    SELECT investment_id, unnest(range(baseline_year, window_end + 1)) AS year
    FROM inv WHERE baseline_year IS NOT NULL AND last_year IS NOT NULL
),
grid AS (
    SELECT i.investment_id, i.municipality_code, i.in_build, i.baseline_year, i.first_year, i.last_year, i.gaps,
           a.area_level, a.area_code, a.area_name, o.indicator, o.outcome_position, CAST(y.year AS INTEGER) AS year
    FROM inv AS i
    JOIN outcomes AS o USING (investment_id)
    LEFT JOIN areas AS a USING (investment_id)
    LEFT JOIN years AS y ON y.investment_id = i.investment_id AND a.area_code IS NOT NULL
),
v AS (
    SELECT area_level, area_code, year, indicator, value, municipality_value, national_value,
           missing_reason, reliability, boundary_version, value_area_level
    FROM profiles
),
held AS (
    -- the years the database holds for each indicator (at any level)
    SELECT indicator, list(DISTINCT year ORDER BY year) AS years FROM profiles GROUP BY indicator
),
comparison_values AS (
    SELECT c.investment_id, c.area_code, v.indicator, v.year,
           avg(v.value)   AS comparison_value,
           count(v.value) AS comparisons_with_value
    FROM followup_comparisons AS c
    JOIN v ON v.area_level = c.area_level AND v.area_code = c.comparison_code AND v.value_area_level IS NULL
    GROUP BY ALL
),
comparison_changes AS (
    SELECT c.investment_id, c.area_code, cur.indicator, cur.year,
           avg(cur.value - base.value) AS comparison_change,
           min(cur.value - base.value) AS comparison_change_min,
           max(cur.value - base.value) AS comparison_change_max,
           count(*)                    AS comparisons_with_change
    FROM followup_comparisons AS c
    JOIN stg_investments AS i USING (investment_id)
    JOIN v AS cur ON cur.area_level = c.area_level AND cur.area_code = c.comparison_code
    JOIN v AS base
      ON base.area_level = cur.area_level AND base.area_code = cur.area_code
     AND base.indicator = cur.indicator AND base.year = i.baseline_year
    WHERE cur.value IS NOT NULL AND base.value IS NOT NULL
      AND cur.value_area_level IS NULL AND base.value_area_level IS NULL
      AND cur.boundary_version = base.boundary_version
    GROUP BY ALL
),
comparison_counts AS (
    SELECT investment_id, area_code, count(*) AS comparisons FROM followup_comparisons GROUP BY ALL
),
points AS (
    SELECT g.*,
           CASE WHEN g.year IS NULL THEN NULL
                WHEN g.year = g.baseline_year THEN 'baseline'
                WHEN g.year < g.first_year THEN 'before'
                WHEN g.year <= g.last_year THEN 'during'
                ELSE 'after' END                                         AS period,
           cur.value, cur.municipality_value, cur.national_value, cur.reliability,
           cur.value_area_level, cur.boundary_version,
           base.value                                                   AS baseline_value,
           base.boundary_version                                        AS baseline_boundary_version,
           cv.comparison_value, coalesce(cv.comparisons_with_value, 0) AS comparisons_with_value,
           cc.comparison_change, cc.comparison_change_min, cc.comparison_change_max,
           coalesce(cc.comparisons_with_change, 0)                      AS comparisons_with_change,
           coalesce(n.comparisons, 0)                                   AS comparisons,
           -- why the area has no value of its own this year
           CASE WHEN NOT g.in_build THEN 'kommunen ' || g.municipality_code || ' finns inte i databasen: bygget omfattar den inte'
                WHEN g.area_code IS NULL THEN 'inga områden i registret: ' || array_to_string(g.gaps, ' ')
                WHEN g.year IS NULL THEN 'start- eller slutdatum saknas i registret: ' || array_to_string(g.gaps, ' ')
                WHEN h.years IS NULL THEN 'indikatorn har inga värden i databasen' || coalesce(' (källa: ' || k.source_table || ')', '')
                WHEN NOT list_contains(h.years, g.year)
                    THEN 'ingen statistik för ' || g.year || ' i databasen (år som finns: ' || array_to_string(h.years, ', ') || ')'
                WHEN cur.value IS NULL THEN coalesce(cur.missing_reason, 'inget värde för området')
                WHEN cur.value_area_level IS NOT NULL THEN cur.missing_reason
                END                                                     AS value_note,
           CASE WHEN h.years IS NULL OR NOT list_contains(h.years, g.baseline_year)
                    THEN 'ingen statistik för basåret ' || g.baseline_year || ' i databasen'
                WHEN base.value IS NULL THEN 'basårets värde saknas: ' || coalesce(base.missing_reason, 'inget värde')
                WHEN base.value_area_level IS NOT NULL THEN 'basårets värde avser ett större område'
                END                                                     AS baseline_note,
           (SELECT string_agg(b.year || ': ' || b.note, '; ') FROM indicator_breaks AS b
             WHERE b.indicator = g.indicator AND b.year > g.baseline_year AND b.year <= g.year) AS series_break
    FROM grid AS g
    LEFT JOIN held AS h USING (indicator)
    LEFT JOIN indicator_catalogue AS k USING (indicator)
    LEFT JOIN v AS cur
      ON cur.area_level = g.area_level AND cur.area_code = g.area_code AND cur.indicator = g.indicator AND cur.year = g.year
    LEFT JOIN v AS base
      ON base.area_level = g.area_level AND base.area_code = g.area_code AND base.indicator = g.indicator
     AND base.year = g.baseline_year
    LEFT JOIN comparison_values AS cv
      ON cv.investment_id = g.investment_id AND cv.area_code = g.area_code AND cv.indicator = g.indicator AND cv.year = g.year
    LEFT JOIN comparison_changes AS cc
      ON cc.investment_id = g.investment_id AND cc.area_code = g.area_code AND cc.indicator = g.indicator AND cc.year = g.year
    LEFT JOIN comparison_counts AS n ON n.investment_id = g.investment_id AND n.area_code = g.area_code
),
judged AS (
    SELECT *,
           CASE WHEN period IS NULL THEN value_note
                WHEN period = 'baseline' THEN 'basåret: utgångsläget som förändringen mäts från'
                WHEN period = 'before' THEN 'före starten'
                WHEN value_note IS NOT NULL THEN value_note
                WHEN baseline_note IS NOT NULL THEN baseline_note
                WHEN boundary_version IS DISTINCT FROM baseline_boundary_version
                    THEN 'gränsändring mellan basåret och ' || year || ': serien kan inte jämföras'
                WHEN series_break IS NOT NULL THEN 'definitionsändring: ' || series_break
                WHEN comparisons_with_change < 3
                    THEN 'för få jämförelseområden med värden för både basåret och ' || year
                         || ' (' || comparisons_with_change || ' av ' || comparisons || ', minst 3 behövs)'
                END AS no_estimate_reason
    FROM points
)
SELECT investment_id, area_level, area_code, area_name, indicator, outcome_position, year, period,
       value, value_note, reliability, municipality_value, national_value,
       comparison_value, comparisons_with_value, comparisons,
       baseline_value,
       CASE WHEN no_estimate_reason IS NULL THEN value - baseline_value END          AS change_since_baseline,
       CASE WHEN no_estimate_reason IS NULL THEN comparison_change END              AS comparison_change,
       CASE WHEN no_estimate_reason IS NULL THEN comparison_change_min END          AS comparison_change_min,
       CASE WHEN no_estimate_reason IS NULL THEN comparison_change_max END          AS comparison_change_max,
       CASE WHEN no_estimate_reason IS NULL THEN comparisons_with_change END        AS comparisons_with_change,
       CASE WHEN no_estimate_reason IS NULL THEN (value - baseline_value) - comparison_change END AS did_estimate,
       no_estimate_reason
FROM judged
