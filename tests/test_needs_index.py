"""The default children-and-families needs index in the published database."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from pipelines.assets.needs_index import index_spec
from pipelines.index_builder import build_index


def _frame(con, sql: str, params: dict | None = None) -> pl.DataFrame:
    return pl.from_arrow(con.execute(sql, params or {}).to_arrow_table())


def test_index_is_published_for_every_level_and_universe(published: Path):
    with duckdb.connect(str(published), read_only=True) as con:
        shape = dict(((lvl, uni), n) for lvl, uni, n in con.execute(
            "SELECT area_level, universe, count(*) FROM needs_index GROUP BY ALL").fetchall())
    assert shape == {("deso", "municipality"): 5984, ("deso", "nation"): 5984, ("regso", "municipality"): 3363,
                     ("regso", "nation"): 3363, ("district", "municipality"): 6, ("district", "nation"): 6,
                     ("municipality", "nation"): 290}


def test_norrkoping_ranking_is_the_index_builder_on_the_published_values(published: Path):
    """Recompute Norrköping's RegSO ranking from the published profiles with the index builder."""
    with duckdb.connect(str(published), read_only=True) as con:
        catalogue = _frame(con, "SELECT indicator, direction FROM indicators")
        spec, _ = index_spec(dict(catalogue.iter_rows()))
        columns = [c for cols in spec["themes"].values() for c in cols]
        wide = _frame(con, "SELECT area_code, year, indicator, value FROM profiles WHERE area_level = 'regso' AND municipality_code = '0581'")
        wide = wide.filter(pl.col("indicator").is_in(columns)).pivot(on="indicator", index=["area_code", "year"], values="value")
        published_rank = _frame(con, """SELECT area_code, index_rank, position, drivers FROM needs_index
                                        WHERE area_level = 'regso' AND universe = 'municipality' AND municipality_code = '0581'""")
    expected = build_index(wide, {**spec, "group_by": ["year"]}).select("area_code", "rank_overall", *[f"flag_{c}" for c in columns])
    joined = published_rank.join(expected, on="area_code")
    assert joined.height == 40
    assert (joined["index_rank"] == joined["rank_overall"]).all()
    assert spec["reverse"] == ["share_post_secondary"]  # direction comes from the catalogue
    top = joined.sort("position").row(0, named=True)
    assert top["position"] == 1 and top["index_rank"] == 1.0
    flagged = [c for c in columns if top[f"flag_{c}"] == 1]
    assert len(top["drivers"].split("; ")) == len(flagged) > 0


def test_areas_with_a_hidden_value_are_unranked_with_a_reason(published: Path):
    with duckdb.connect(str(published), read_only=True) as con:
        unranked = con.execute(
            "SELECT count(*), min(drivers), max(drivers) FROM needs_index WHERE index_rank IS NULL AND universe = 'nation'"
        ).fetchone()
        hidden = con.execute(
            """SELECT count(DISTINCT area_code) FROM profiles WHERE suppressed IS NOT NULL
               AND indicator IN ('share_age_0_4', 'share_age_0_19', 'share_low_education', 'share_post_secondary', 'share_foreign_background')
               AND area_level IN ('deso', 'regso', 'district', 'municipality')"""
        ).fetchone()[0]
    assert unranked[0] == hidden > 0
    assert unranked[1] == unranked[2] == "ej rankad: minst ett värde saknas eller är dolt"
