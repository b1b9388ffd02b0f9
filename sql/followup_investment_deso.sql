-- layer: followup
-- depends_on: stg_investments, stg_investment_areas, ind_area_membership
-- materialize: view
-- description: The DeSO each investment area covers, with the investment's name and years: what
--   "an area with its own investment in the period" means, for the choice of comparison districts
--   and for naming the other investments in the same area.
SELECT a.investment_id, a.area_code, m.deso_code, i.name, i.first_year, i.last_year
FROM stg_investment_areas AS a
JOIN stg_investments AS i USING (investment_id)
JOIN ind_area_membership AS m ON m.area_level = a.area_level AND m.area_code = a.area_code
WHERE a.matches = 1
