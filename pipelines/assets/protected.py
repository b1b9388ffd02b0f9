"""Disclosure control as an asset: indicator values as they may be published."""

import dagster as dg
import polars as pl

from pipelines.assets.metadata import table_metadata
from pipelines.disclosure import protect
from pipelines.resources import Grannskap


@dg.asset(
    group_name="indicators",
    deps=["ind_values", "ind_area_links", "indicator_catalogue", "indicator_terms"],
    description="Indicator values after disclosure control: counts under the threshold hidden (primary), "
    "and whatever would let them be derived by subtraction along the area hierarchy (secondary); "
    "shares with small denominators flagged as unreliable. Profiles read this, never ind_values.",
    kinds={"duckdb", "polars"},
)
def ind_values_protected(context: dg.AssetExecutionContext, grannskap: Grannskap) -> dg.MaterializeResult:
    with grannskap.build_db() as con:
        values = pl.from_arrow(
            con.execute(
                "SELECT v.*, k.kind FROM ind_values AS v JOIN indicator_catalogue AS k USING (indicator)"
            ).to_arrow_table()
        )
        links = pl.from_arrow(con.table("ind_area_links").to_arrow_table())
        terms = pl.from_arrow(con.table("indicator_terms").to_arrow_table())
        protected = protect(
            values, links, terms, grannskap.suppression_threshold, grannskap.min_reliable_denominator
        ).drop("kind")
        con.execute("CREATE OR REPLACE TABLE ind_values_protected AS SELECT * FROM protected")
        counts = con.execute(
            "SELECT area_level, suppressed, count(*) FROM ind_values_protected WHERE suppressed IS NOT NULL GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        meta = table_metadata(con, "ind_values_protected")
    summary = "\n".join(f"| {lvl} | {kind} | {n} |" for lvl, kind, n in counts) or "| – | – | 0 |"
    context.log.info(f"disclosure control at threshold {grannskap.suppression_threshold}: {counts}")
    return dg.MaterializeResult(
        metadata={
            **meta,
            "threshold": grannskap.suppression_threshold,
            "hidden_cells": sum(n for *_, n in counts),
            "hidden_by_level": dg.MetadataValue.md("| level | rule | cells |\n|---|---|---|\n" + summary),
        }
    )
