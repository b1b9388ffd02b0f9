-- description: Check frame for raw_regso_transfers: its cells per RegSO code, boundary version and year
--   (raw_cell_summary in _macros.sql), as delivered by a live fetch (empty when the source was not
--   fetched). Published percentages or days: never negative; a missing value carries SCB's
--   marker; one cell per combination of the table's dimensions.
SELECT * FROM raw_cell_summary('raw_regso_transfers')
