"""Disclosure control: no count under the threshold is published, nor derivable from what is.

Applied to every indicator value before it reaches a profile, on the counts behind it:

1. Primary suppression. A count indicator below the threshold is hidden. A share is hidden when
   its numerator is below the threshold, or its complement (denominator - numerator) is, or its
   denominator is: "3 of 1,200" and "1,197 of 1,200" disclose the same three people.
2. Nested indicators. Where one share's numerator is part of another's over the same denominator
   (0-4 within 0-19), the difference is a count too; if it is under the threshold, the larger
   indicator is hidden.
3. Secondary suppression along every link of the area hierarchy (DeSO -> RegSO, DeSO -> named
   district, RegSO/district -> municipality -> county -> country), where each parent's count is
   the sum of its children's:
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


def protect(
    values: pl.DataFrame, links: pl.DataFrame, terms: pl.DataFrame, threshold: int, min_reliable_denominator: int
) -> pl.DataFrame:
    """Add `suppressed` (the reason, or null) and `reliability` to indicator values, and blank what is hidden.

    values: area_level, area_code, year, indicator, kind, numerator, denominator, value, missing_reason
    links:  child_level, child_code, parent_level, parent_code — each parent is the sum of its
            children along one kind of link (an area may have several parents: DeSO -> RegSO and
            DeSO -> named district)
    """
    keys = ["area_level", "area_code", "year", "indicator"]
    cells = values.with_columns(
        pl.when(_primary(values, threshold)).then(pl.lit(PRIMARY)).otherwise(None).alias("suppressed")
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

    # 3. secondary suppression along every link, only for the counted kinds
    counted = cells.filter(pl.col("kind").is_in(["count", "share"])).select(*keys, "numerator")
    child_cells = links.join(
        counted.rename({"area_level": "child_level", "area_code": "child_code"}), on=["child_level", "child_code"]
    )
    # a parent is the sum of its children along each kind of link separately (a municipality is the sum
    # of its RegSO, and again of its named districts), so each kind is its own group
    parent_keys = ["parent_level", "parent_code", "year", "indicator"]
    group = [*parent_keys, "child_level"]
    child_keys = ["child_level", "child_code", "year", "indicator"]
    as_child = {"child_level": "area_level", "child_code": "area_code"}
    as_parent = {"parent_level": "area_level", "parent_code": "area_code"}
    hidden = cells.filter(pl.col("suppressed").is_not_null() & pl.col("kind").is_in(["count", "share"])).select(keys)
    while True:
        mark = hidden.with_columns(pl.lit(True).alias("_h"))
        state = (
            child_cells.join(mark.rename({"area_level": "child_level", "area_code": "child_code"}), on=child_keys, how="left")
            .join(mark.rename({"area_level": "parent_level", "area_code": "parent_code", "_h": "_ph"}), on=parent_keys, how="left")
            .with_columns(
                pl.col("_h").fill_null(False).alias("hidden"),
                pl.col("_ph").fill_null(False).alias("parent_hidden"),
            )
            .with_columns(
                pl.col("hidden").sum().over(group).alias("hidden_in_group"),
                pl.len().over(group).alias("children"),
            )
        )
        # a. a published parent with exactly one hidden child: hide its smallest published sibling,
        #    or, when it has none (a RegSO of a single DeSO), the parent itself
        lone = state.filter((pl.col("hidden_in_group") == 1) & ~pl.col("parent_hidden"))
        rule_a = (
            lone.filter(~pl.col("hidden"))
            .sort(["numerator", "child_code"])
            .group_by(group, maintain_order=True)
            .first()
            .select(child_keys)
            .rename(as_child)
        )
        rule_a_parent = lone.filter(pl.col("children") == 1).select(group).unique().drop("child_level").rename(as_parent)
        # b. a hidden parent whose children are all published: hide its smallest child
        rule_b = (
            state.filter(pl.col("parent_hidden") & (pl.col("hidden_in_group") == 0))
            .sort(["numerator", "child_code"])
            .group_by(group, maintain_order=True)
            .first()
            .select(child_keys)
            .rename(as_child)
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
    )
