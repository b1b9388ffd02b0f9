"""Disclosure control: nothing under the threshold is published, and no hidden cell can be
re-derived from the published cells and the sums that tie the area levels together."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from pipelines.disclosure import protect

T = 5


def _areas(tree: dict[str, str | None], level: dict[str, str]) -> pl.DataFrame:
    """The links table of a small tree: child -> parent."""
    links = [(level[c], c, level[p], p) for c, p in tree.items() if p]
    return pl.DataFrame(links, schema={c: pl.String for c in ("child_level", "child_code", "parent_level", "parent_code")}, orient="row")


def _values(counts: dict[str, tuple[int, int]], level: dict[str, str], indicator="share_x", kind="share") -> pl.DataFrame:
    rows = [
        {"area_level": level[a], "area_code": a, "year": 2022, "indicator": indicator, "kind": kind,
         "numerator": float(n), "denominator": float(d) if d else None, "value": n / d if d else float(n), "missing_reason": None}
        for a, (n, d) in counts.items()
    ]
    return pl.DataFrame(rows)


TERMS = pl.DataFrame({"indicator": ["share_x", "share_x"], "role": ["numerator", "denominator"], "measure": ["m", "m"], "category": ["a", "tot"]})
#        R1 = D1 + D2 + D3,  R2 = D4,  M = R1 + R2
TREE = {"D1": "R1", "D2": "R1", "D3": "R1", "D4": "R2", "R1": "M", "R2": "M", "M": None}
LEVEL = {"D1": "deso", "D2": "deso", "D3": "deso", "D4": "deso", "R1": "regso", "R2": "regso", "M": "municipality"}


def _hidden(out: pl.DataFrame) -> dict[str, str]:
    return dict(out.filter(pl.col("suppressed").is_not_null()).select("area_code", "suppressed").iter_rows())


def test_small_count_and_its_sibling_are_hidden():
    counts = {"D1": (3, 900), "D2": (40, 800), "D3": (60, 1000), "D4": (50, 700), "R1": (103, 2700), "R2": (50, 700), "M": (153, 3400)}
    out = protect(_values(counts, LEVEL), _areas(TREE, LEVEL), TERMS, T, 100)
    # D1 is primary; D2 (the smallest published sibling) is hidden so R1 - D2 - D3 cannot give D1
    assert _hidden(out) == {"D1": "primary", "D2": "secondary"}
    row = out.filter(pl.col("area_code") == "D1").row(0, named=True)
    assert row["value"] is None and row["numerator"] is None and "färre än 5" in row["missing_reason"]
    assert row["denominator"] == 900  # the population a share is of stays public


def test_each_kind_of_link_is_protected_on_its_own():
    """M is the sum of its RegSO (R1, R2) and, again, of its named districts (X1, X2), which cut
    across the RegSO. R2 is hidden; so are D3, D4 and, by secondary suppression, D1 and D2, so
    X1 and X2 each hide a DeSO. Were M's RegSO and districts one group of children, R2 would not
    be "alone" and M - R1 would give it away; as two groups, R1 is hidden too."""
    tree = [("D1", "R1"), ("D2", "R1"), ("D3", "R2"), ("D4", "R2"), ("D1", "X1"), ("D3", "X1"), ("D2", "X2"),
            ("D4", "X2"), ("R1", "M"), ("R2", "M"), ("X1", "M"), ("X2", "M")]
    level = {"D1": "deso", "D2": "deso", "D3": "deso", "D4": "deso", "R1": "regso", "R2": "regso",
             "X1": "district", "X2": "district", "M": "municipality"}
    links = pl.DataFrame([(level[c], c, level[p], p) for c, p in tree], orient="row",
                         schema={c: pl.String for c in ("child_level", "child_code", "parent_level", "parent_code")})
    counts = {"D1": (10, None), "D2": (20, None), "D3": (2, None), "D4": (2, None), "R1": (30, None), "R2": (4, None),
              "X1": (12, None), "X2": (22, None), "M": (34, None)}
    hidden = _hidden(protect(_values(counts, level, indicator="count_x", kind="count"), links, TERMS, T, 100))
    assert hidden["R2"] == "primary" and hidden["R1"] == "secondary"


def test_complement_is_protected_like_the_count():
    counts = {"D1": (898, 900), "D2": (40, 800), "D3": (60, 1000), "D4": (50, 700), "R1": (998, 2700), "R2": (50, 700), "M": (1048, 3400)}
    out = protect(_values(counts, LEVEL), _areas(TREE, LEVEL), TERMS, T, 100)
    assert _hidden(out)["D1"] == "primary"  # 2 people in D1 are *not* in the numerator


def test_single_child_parent_is_hidden_with_its_child():
    # D4 is R2's only DeSO: hiding D4 must hide R2, and then M's group needs a second hidden RegSO
    counts = {"D1": (30, 900), "D2": (40, 800), "D3": (60, 1000), "D4": (4, 700), "R1": (130, 2700), "R2": (4, 700), "M": (134, 3400)}
    out = protect(_values(counts, LEVEL), _areas(TREE, LEVEL), TERMS, T, 100)
    hidden = _hidden(out)
    assert hidden["D4"] == hidden["R2"] == "primary"
    assert hidden["R1"] == "secondary"  # else M - R1 = R2
    assert any(hidden.get(d) for d in ("D1", "D2", "D3"))  # else R1 = D1 + D2 + D3


def test_nested_difference_under_threshold_hides_the_larger_indicator():
    terms = pl.DataFrame({
        "indicator": ["small", "small", "big", "big", "big"],
        "role": ["numerator", "denominator", "numerator", "numerator", "denominator"],
        "measure": ["age"] * 5, "category": ["0-4", "tot", "0-4", "5-9", "tot"],
    })
    tree = {"D1": None}
    level = {"D1": "deso"}
    values = pl.concat([_values({"D1": (50, 900)}, level, "small"), _values({"D1": (53, 900)}, level, "big")])
    out = protect(values, _areas(tree, level), terms, T, 100)
    assert dict(out.select("indicator", "suppressed").iter_rows()) == {"small": None, "big": "nested"}


def test_small_denominator_gets_a_reliability_flag():
    level = {"D1": "deso"}
    out = protect(_values({"D1": (20, 80)}, level), _areas({"D1": None}, level), TERMS, T, 100)
    assert out["reliability"][0].startswith("osäker")


# --- on the real published database ---------------------------------------------------------

def _published(published: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    with duckdb.connect(str(published), read_only=True) as con:
        rows = pl.from_arrow(con.execute(
            "SELECT area_level, area_code, year, indicator, unit, value, numerator, denominator, suppressed FROM profile_rows"
        ).to_arrow_table())
        links = pl.from_arrow(con.execute("SELECT * FROM area_links").to_arrow_table())
    return rows, links


def test_no_published_count_is_under_the_threshold(published: Path):
    rows, _ = _published(published)
    shown = rows.filter(pl.col("suppressed").is_null() & pl.col("unit").is_in(["persons", "share"]))
    assert shown.filter(pl.col("numerator") < T).height == 0
    assert shown.filter((pl.col("denominator") - pl.col("numerator")) < T).height == 0
    assert rows.filter(pl.col("suppressed").is_not_null() & pl.col("value").is_not_null()).height == 0
    assert rows.filter(pl.col("suppressed").is_not_null()).height > 0  # the real data has small cells


def test_no_hidden_cell_can_be_rederived_from_published_sums(published: Path):
    """For each indicator: unknowns are the hidden numerators; each parent = sum of children gives
    an equation over them. A hidden cell is derivable iff its unit vector lies in the row space."""
    rows, links = _published(published)
    hidden_total = 0
    for (indicator, year), cells in rows.filter(pl.col("unit").is_in(["persons", "share"])).group_by(["indicator", "year"]):
        hidden = cells.filter(pl.col("suppressed").is_not_null())
        if hidden.height == 0:
            continue
        hidden_total += hidden.height
        index = {(lvl, code): i for i, (lvl, code) in enumerate(hidden.select("area_level", "area_code").iter_rows())}
        equations = []
        present = set(cells.select("area_level", "area_code").iter_rows())
        # one equation per parent and kind of link: a municipality is the sum of its RegSO, and again of its districts
        for (plevel, pcode, _), group in links.group_by(["parent_level", "parent_code", "child_level"]):
            parent = (plevel, pcode)
            kids = [k for k in group.select("child_level", "child_code").iter_rows() if k in present]
            if parent not in present or not any(m in index for m in [parent, *kids]):
                continue
            row = np.zeros(len(index))
            if parent in index:
                row[index[parent]] = 1.0
            for child in kids:
                if child in index:
                    row[index[child]] -= 1.0
            equations.append(row)
        a = np.array(equations) if equations else np.zeros((0, len(index)))
        rank = np.linalg.matrix_rank(a) if len(a) else 0
        for code, i in index.items():
            probe = np.zeros(len(index))
            probe[i] = 1.0
            assert np.linalg.matrix_rank(np.vstack([a, probe])) > rank, f"{indicator} {year}: hidden {code} is derivable"
    assert hidden_total > 0


def test_suppression_counts_by_level_are_reported(built):
    _, result = built
    mat = [e for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION" and e.asset_key.to_user_string() == "ind_values_protected"]
    meta = mat[0].event_specific_data.materialization.metadata
    assert meta["threshold"].value == T and meta["hidden_cells"].value > 0
