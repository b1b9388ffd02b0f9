"""Disclosure control: no count under the threshold is published, nor derivable from what is.

Applied to every indicator value before it reaches a profile, on the counts behind it:

1. Primary suppression. A count indicator below the threshold is hidden. A share is hidden when
   its numerator is below the threshold, or its complement (denominator - numerator) is, or its
   denominator is: "3 of 1,200" and "1,197 of 1,200" disclose the same three people.
2. Nested indicators. Where one share's numerator is part of another's over the same denominator
   (0-4 within 0-19), the difference is a count too; if it is under the threshold, the larger
   indicator is hidden.
3. Secondary suppression along the area hierarchy (DeSO -> RegSO -> municipality -> county ->
   country), where each parent's count is the sum of its children's:
   a. a published parent with exactly one hidden child would give that child away by
      subtraction, so the smallest other child is hidden too (or, with no other child, the
      parent: a RegSO made of one DeSO is that DeSO);
   b. a hidden area whose children are all published would be their sum, so its smallest
      child is hidden too.
   Repeated until nothing changes. Step 3 is the classic greedy heuristic: it hides more than
   an optimal solver would, never less than needed for these sums (a test re-derives every
   hidden cell from the published ones and must fail to).

Medians are not counts and are published as SCB publishes them. Shares whose denominator is
small (default < 100 people) are published with a reliability flag.
"""

from __future__ import annotations

import polars as pl

PRIMARY = "primary"
SECONDARY = "secondary"
NESTED = "nested"
REASONS = {
    PRIMARY: "dolt: färre än {t} personer (primär röjandekontroll)",
    NESTED: "dolt: skillnaden mot en delmängd är färre än {t} personer",
    SECONDARY: "dolt för att skydda ett annat dolt värde (sekundär röjandekontroll)",
}


def _primary(values: pl.DataFrame, threshold: int) -> pl.Expr:
    n, d = pl.col("numerator"), pl.col("denominator")
    count_small = (pl.col("kind") == "count") & (n < threshold)
    share_small = (pl.col("kind") == "share") & ((n < threshold) | ((d - n) < threshold) | (d < threshold))
    return (count_small | share_small).fill_null(False)


def _nested_pairs(terms: pl.DataFrame) -> list[tuple[str, str]]:
    """(smaller, larger) share pairs: same denominator, smaller's numerator a strict subset of larger's."""
    num = terms.filter(pl.col("role") == "numerator").group_by("indicator").agg(
        pl.col("measure").first(), pl.col("category").sort().alias("cats")
    )
    den = terms.filter(pl.col("role") == "denominator").group_by("indicator").agg(pl.col("category").sort().alias("den"))
    shares = num.join(den, on="indicator").to_dicts()
    pairs = []
    for a in shares:
        for b in shares:
            if (
                a["indicator"] != b["indicator"]
                and a["measure"] == b["measure"]
                and a["den"] == b["den"]
                and set(a["cats"]) < set(b["cats"])
            ):
                pairs.append((a["indicator"], b["indicator"]))
    return pairs


def protect(values: pl.DataFrame, areas: pl.DataFrame, terms: pl.DataFrame, threshold: int, min_reliable_denominator: int) -> pl.DataFrame:
    """Add `suppressed` (the reason, or null) and `reliability` to indicator values, and blank what is hidden.

    values: area_level, area_code, year, indicator, kind, numerator, denominator, value, missing_reason
    areas:  area_level, area_code, parent_code
    """
    keys = ["area_level", "area_code", "year", "indicator"]
    cells = values.join(areas.select("area_level", "area_code", "parent_code"), on=["area_level", "area_code"], how="left")
    cells = cells.with_columns(
        pl.when(_primary(cells, threshold)).then(pl.lit(PRIMARY)).otherwise(None).alias("suppressed")
    )

    # 2. nested indicators
    for smaller, larger in _nested_pairs(terms):
        diff = (
            cells.filter(pl.col("indicator") == larger)
            .join(cells.filter(pl.col("indicator") == smaller), on=["area_level", "area_code", "year"], suffix="_small")
            .filter((pl.col("numerator") - pl.col("numerator_small")) < threshold)
            .select("area_level", "area_code", "year", pl.lit(larger).alias("indicator"), pl.lit(True).alias("_nested"))
        )
        cells = cells.join(diff, on=keys, how="left").with_columns(
            pl.when(pl.col("_nested") & pl.col("suppressed").is_null())
            .then(pl.lit(NESTED))
            .otherwise(pl.col("suppressed"))
            .alias("suppressed")
        ).drop("_nested")

    # 3. secondary suppression along the hierarchy, only for the counted kinds
    counted = cells.filter(pl.col("kind").is_in(["count", "share"]))
    hidden = counted.filter(pl.col("suppressed").is_not_null()).select(keys)
    while True:
        flagged = counted.join(hidden.with_columns(pl.lit(True).alias("hidden")), on=keys, how="left").with_columns(
            pl.col("hidden").fill_null(False)
        )
        parent_state = flagged.select(
            pl.col("area_code").alias("parent_code"), "year", "indicator", pl.col("hidden").alias("parent_hidden")
        ).unique(subset=["parent_code", "year", "indicator"])
        children = flagged.filter(pl.col("parent_code").is_not_null()).join(
            parent_state, on=["parent_code", "year", "indicator"], how="left"
        )
        group = ["parent_code", "year", "indicator"]
        # a. a published parent with exactly one hidden child: hide its smallest published sibling,
        #    or, when it has none (a RegSO of a single DeSO), the parent itself
        lone = children.with_columns(
            pl.col("hidden").sum().over(group).alias("hidden_in_group"),
            pl.col("parent_hidden").fill_null(False),
        ).filter((pl.col("hidden_in_group") == 1) & ~pl.col("parent_hidden"))
        rule_a = (
            lone.filter(~pl.col("hidden"))
            .sort(["numerator", "area_code"])
            .group_by(group, maintain_order=True)
            .first()
            .select(keys)
        )
        parent_level = flagged.select(pl.col("area_code").alias("parent_code"), pl.col("area_level").alias("parent_level")).unique()
        rule_a_parent = (
            lone.group_by(group)
            .agg(pl.len().alias("children"))
            .filter(pl.col("children") == 1)
            .join(parent_level, on="parent_code")
            .select(pl.col("parent_level").alias("area_level"), pl.col("parent_code").alias("area_code"), "year", "indicator")
        )
        # b. a hidden parent whose children are all published: hide its smallest child
        rule_b = (
            children.with_columns(pl.col("hidden").sum().over(group).alias("hidden_in_group"))
            .filter(pl.col("parent_hidden").fill_null(False) & (pl.col("hidden_in_group") == 0))
            .sort(["numerator", "area_code"])
            .group_by(group, maintain_order=True)
            .first()
            .select(keys)
        )
        new = pl.concat([rule_a, rule_a_parent, rule_b]).unique().join(hidden, on=keys, how="anti")
        if new.height == 0:
            break
        hidden = pl.concat([hidden, new])

    secondary = hidden.join(cells.filter(pl.col("suppressed").is_not_null()).select(keys), on=keys, how="anti")
    cells = cells.join(secondary.with_columns(pl.lit(SECONDARY).alias("_secondary")), on=keys, how="left").with_columns(
        pl.coalesce("suppressed", "_secondary").alias("suppressed")
    ).drop("_secondary")

    is_hidden = pl.col("suppressed").is_not_null()
    reason = pl.col("suppressed").replace_strict({k: v.format(t=threshold) for k, v in REASONS.items()}, default=None)
    return cells.with_columns(
        pl.when(is_hidden).then(None).otherwise(pl.col("value")).alias("value"),
        pl.when(is_hidden).then(None).otherwise(pl.col("numerator")).alias("numerator"),
        # a share's denominator stays public (it is the population the share is of) unless it is itself small
        pl.when(is_hidden & ((pl.col("kind") == "count") | (pl.col("denominator") < threshold)))
        .then(None)
        .otherwise(pl.col("denominator"))
        .alias("denominator"),
        pl.when(is_hidden).then(reason).otherwise(pl.col("missing_reason")).alias("missing_reason"),
        pl.when((pl.col("kind") == "share") & (pl.col("denominator") < min_reliable_denominator) & ~is_hidden)
        .then(pl.lit(f"osäker: färre än {min_reliable_denominator} personer i nämnaren"))
        .otherwise(None)
        .alias("reliability"),
    ).drop("parent_code")
