"""Tests for pipelines.index_builder: SVI percentile ranks (exact), z-scores against a base year, IMD transform."""

from __future__ import annotations

import argparse
import math
import statistics
from fractions import Fraction
from pathlib import Path

import polars as pl
import pytest

from pipelines.index_builder import IndexSpecError, build_index, load_spec, register_cli, run_cli


def half_up(num: int, den: int) -> float:
    """Reference: the exact rational num/den rounded half-up to 4 decimals."""
    return math.floor(Fraction(num * 10_000, den) + Fraction(1, 2)) / 10_000


def one_column(values: list, *, reverse: bool = False, **extra) -> pl.DataFrame:
    ids = [f"{i:04d}" for i in range(len(values))]
    df = pl.DataFrame({"id": ids, "x": values}, schema_overrides={"x": pl.Float64})
    spec = {"id": "id", "method": "percentile", "themes": {"t": ["x"]}, "reverse": ["x"] if reverse else []}
    return build_index(df, {**spec, **extra})


# ----------------------------------------------------------------------------------------- percentile: rounding


def test_rank_at_an_exact_half_rounds_up_not_to_even() -> None:
    # 33 distinct values: r - 1 = k, N - 1 = 32, so rank_k = k/32 exactly (binary-exact halves).
    out = one_column(list(range(33)))
    ranks = out["rank_x"].to_list()
    assert ranks[1] == 0.0313  # 1/32 = 0.03125 -> 0.0313; round(1/32, 4) gives banker's 0.0312
    assert ranks[5] == 0.1563  # 5/32 = 0.15625 -> 0.1563; round() gives 0.1562
    assert ranks[3] == 0.0938  # 3/32 = 0.09375 -> 0.0938
    assert ranks == [half_up(k, 32) for k in range(33)]


def test_rank_one_sixty_sixth_and_a_half_not_representable_in_binary() -> None:
    out = one_column(list(range(67)))  # N - 1 = 66
    assert out["rank_x"][1] == 0.0152  # 1/66 = 0.015151... (published by SVI as 0.0152)
    assert out["rank_x"][65] == 0.9848  # 65/66 = 0.984848...
    # N - 1 = 20000: 3/20000 = 0.00015 exactly as a rational, but the float 3/20000 is 0.000149999...
    # so naive float rounding gives 0.0001; the exact half-up rule gives 0.0002.
    out = one_column(list(range(20001)))
    assert round(3 / 20000, 4) == 0.0001
    assert out["rank_x"][3] == 0.0002
    assert out["rank_x"][1] == 0.0001  # 0.00005 -> 0.0001


def test_ties_take_the_lowest_rank() -> None:
    # sorted 1(r1) 3(r2) 3(r2) 5(r4) 8(r5); (r - 1)/4
    out = one_column([5.0, 3.0, 3.0, 8.0, 1.0])
    assert out["rank_x"].to_list() == [0.75, 0.25, 0.25, 1.0, 0.0]


def test_reversed_column_is_one_minus_rank_rounded_from_the_exact_value() -> None:
    # 1 - p = (N - r)/(N - 1): 5 -> (5-4)/4, 3 -> (5-2)/4 (ties), 8 -> 0, 1 -> 1
    out = one_column([5.0, 3.0, 3.0, 8.0, 1.0], reverse=True)
    assert out["rank_x"].to_list() == [0.25, 0.75, 0.75, 0.0, 1.0]
    # 31/32 = 0.96875 -> 0.9688 (half-up of the exact 1 - p), not 1 - 0.0313 = 0.9687
    out = one_column(list(range(33)), reverse=True)
    assert out["rank_x"][1] == 0.9688


def test_single_value_ranks_zero_and_reversed_one() -> None:
    assert one_column([4.2])["rank_x"].to_list() == [0.0]
    assert one_column([4.2], reverse=True)["rank_x"].to_list() == [1.0]
    # one value among missing ones: N counts only non-missing values
    assert one_column([None, 4.2, None])["rank_x"].to_list() == [None, 0.0, None]


# ----------------------------------------------------------------------------------------- percentile: SVI table


SVI_SPEC = {
    "id": "area_code",
    "method": "percentile",
    "themes": {"ses": ["pov", "unemp"], "hh": ["inc"]},
    "reverse": ["inc"],  # higher income = less need
    "flag_threshold": 0.90,
}


def svi_input() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "area_code": ["0114A0010", "0114A0020", "0114C1010", "0581B1001", "0581C1020", "0581A0030",
                          "0581C1090"],
            #       A     B     C     D     E     F     G
            "pov": [12.0, 25.0, 25.0, 8.0, 30.0, 18.0, 40.0],
            "unemp": [3.0, 5.0, 9.0, 4.0, 7.0, 2.0, 8.0],
            "inc": [300.0, 250.0, 180.0, 320.0, 150.0, 200.0, 150.0],
        }
    )


def test_svi_example_by_hand() -> None:
    out = build_index(svi_input(), SVI_SPEC)
    # N = 7, N - 1 = 6.
    # pov sorted: 8 D r1, 12 A r2, 18 F r3, 25 B,C r4 (tie), 30 E r6, 40 G r7
    #   (r-1)/6: A 1/6=.1667  B 3/6=.5  C .5  D 0  E 5/6=.8333  F 2/6=.3333  G 1
    assert out["rank_pov"].to_list() == [0.1667, 0.5, 0.5, 0.0, 0.8333, 0.3333, 1.0]
    # unemp sorted: 2 F, 3 A, 4 D, 5 B, 7 E, 8 G, 9 C
    assert out["rank_unemp"].to_list() == [0.1667, 0.5, 1.0, 0.3333, 0.6667, 0.0, 0.8333]
    # inc reversed, (N - r)/6 with r ascending: 150 E,G r1 -> 1; 180 C r3 -> 4/6; 200 F r4 -> 3/6;
    #   250 B r5 -> 2/6; 300 A r6 -> 1/6; 320 D r7 -> 0
    assert out["rank_inc"].to_list() == [0.1667, 0.3333, 0.6667, 0.0, 1.0, 0.5, 1.0]
    # sum_ses = sum of ROUNDED ranks: A .1667+.1667 = .3334 (unrounded 1/3 would tie D and F),
    #   B 1.0, C 1.5, D .3333, E .8333+.6667 = 1.5, F .3333, G 1.8333
    assert out["sum_ses"].to_list() == [0.3334, 1.0, 1.5, 0.3333, 1.5, 0.3333, 1.8333]
    # ranks of sums: D,F .3333 r1; A .3334 r3; B r4; C,E 1.5 r5; G r7 -> (r-1)/6
    assert out["rank_ses"].to_list() == [0.3333, 0.5, 0.6667, 0.0, 0.6667, 0.0, 1.0]
    assert out["sum_hh"].to_list() == out["rank_inc"].to_list()
    # hh: D 0 r1, A r2, B r3, F r4, C r5, E,G 1.0 r6 (tie) -> 5/6 = .8333
    assert out["rank_hh"].to_list() == [0.1667, 0.3333, 0.6667, 0.0, 0.8333, 0.5, 0.8333]
    # overall = sum_ses + sum_hh: A .5001, B 1.3333, C 2.1667, D .3333, E 2.5, F .8333, G 2.8333
    assert out["sum_overall"].to_list() == [0.5001, 1.3333, 2.1667, 0.3333, 2.5, 0.8333, 2.8333]
    # order D A F B C E G -> 0, 1/6, 2/6, ... 1
    assert out["rank_overall"].to_list() == [0.1667, 0.5, 0.6667, 0.0, 0.8333, 0.3333, 1.0]
    # flags at rank >= 0.90: pov G; unemp C; inc E and G
    assert out["flag_pov"].to_list() == [0, 0, 0, 0, 0, 0, 1]
    assert out["flag_unemp"].to_list() == [0, 0, 1, 0, 0, 0, 0]
    assert out["flag_inc"].to_list() == [0, 0, 0, 0, 1, 0, 1]
    assert out["flags_ses"].to_list() == [0, 0, 1, 0, 0, 0, 1]
    assert out["flags_hh"].to_list() == [0, 0, 0, 0, 1, 0, 1]
    assert out["flags_total"].to_list() == [0, 0, 1, 0, 1, 0, 2]
    assert out["area_code"].to_list() == svi_input()["area_code"].to_list()


def test_output_columns_are_the_documented_ones_in_order() -> None:
    out = build_index(svi_input(), SVI_SPEC)
    assert out.columns == [
        "area_code",
        "rank_pov", "rank_unemp", "rank_inc",
        "sum_ses", "rank_ses", "sum_hh", "rank_hh",
        "sum_overall", "rank_overall",
        "flag_pov", "flag_unemp", "flag_inc",
        "flags_ses", "flags_hh", "flags_total",
    ]  # fmt: skip


def test_flag_threshold_is_inclusive_and_exact() -> None:
    # E's pov rank is exactly 0.8333
    at = build_index(svi_input(), {**SVI_SPEC, "flag_threshold": 0.8333})
    above = build_index(svi_input(), {**SVI_SPEC, "flag_threshold": 0.8334})
    assert at["flag_pov"].to_list() == [0, 0, 0, 0, 1, 0, 1]
    assert above["flag_pov"].to_list() == [0, 0, 0, 0, 0, 0, 1]
    # flags_ses for E: pov (.8333) and unemp (.6667 < .8333) -> 1; G: pov 1 and unemp .8333 -> 2
    assert at["flags_ses"].to_list() == [0, 0, 1, 0, 1, 0, 2]


def test_theme_sums_tie_exactly_where_float_sums_would_not() -> None:
    # N - 1 = 10. Row 0: a = .1, b = .2; row 1: a = .3, b = 0. In floats .1 + .2 != .3, and a float
    # sum would rank row 0 above row 1; the sums of rounded ranks are both exactly .3 and tie.
    a = [1, 3, 0, 2, 4, 5, 6, 7, 8, 9, 10]
    b = [2, 0, 1, 3, 4, 5, 6, 7, 8, 9, 10]
    df = pl.DataFrame({"id": [str(i) for i in range(11)], "a": a, "b": b})
    out = build_index(df, {"id": "id", "method": "percentile", "themes": {"t": ["a", "b"]}})
    assert out["sum_t"][0] == out["sum_t"][1] == 0.3
    assert out["rank_t"][0] == out["rank_t"][1]
    assert out["rank_overall"][0] == out["rank_overall"][1]


# ----------------------------------------------------------------------------------------- missing values


def test_missing_values_are_not_ranked_summed_or_flagged() -> None:
    is_g = pl.col("area_code") == "0581C1090"
    df = svi_input().with_columns(pl.when(is_g).then(None).otherwise(pl.col("pov")).alias("pov"))
    out = build_index(df, SVI_SPEC)
    # pov without G: N = 6, N - 1 = 5; sorted 8 D, 12 A, 18 F, 25 B,C (r4), 30 E -> (r-1)/5
    assert out["rank_pov"].to_list() == [0.2, 0.6, 0.6, 0.0, 1.0, 0.4, None]
    assert out["flag_pov"].to_list() == [0, 0, 0, 0, 1, 0, None]
    g = out.row(6, named=True)
    # G's ses sum, ses rank and overall are empty; its hh theme is unaffected
    assert (g["sum_ses"], g["rank_ses"], g["sum_overall"], g["rank_overall"]) == (None, None, None, None)
    assert g["sum_hh"] == 1.0 and g["rank_hh"] == 0.8333
    # G's unemp flag (.8333 < .9) is 0, its inc flag 1, the missing pov flag is not counted
    assert (g["flags_ses"], g["flags_hh"], g["flags_total"]) == (0, 1, 1)
    # other rows are ranked among 6 overall sums: N - 1 = 5
    assert out["rank_overall"].null_count() == 1
    assert out["rank_ses"].drop_nulls().max() == 1.0
    # NaN counts as missing too
    df_nan = svi_input().with_columns(pl.when(is_g).then(float("nan")).otherwise(pl.col("pov")).alias("pov"))
    assert build_index(df_nan, SVI_SPEC).equals(out)


# ----------------------------------------------------------------------------------------- group_by


def test_group_by_ranks_within_each_group() -> None:
    df = pl.DataFrame(
        {
            "kommun": ["0114", "0114", "0114", "0581", "0581", "2480"],
            "id": ["A", "B", "C", "A", "B", "A"],  # the same id may repeat in another group
            "x": [1.0, 2.0, 3.0, 10.0, 5.0, 7.0],
            "y": [3.0, 2.0, 1.0, 1.0, 1.0, 9.0],
        }
    )
    spec = {"id": "id", "method": "percentile", "themes": {"t": ["x", "y"]}, "reverse": ["y"]}
    spec["group_by"] = "kommun"
    out = build_index(df, spec)
    assert out.columns[:2] == ["id", "kommun"]
    # 0114: x ranks 0, .5, 1; 0581: 10 -> 1, 5 -> 0; 2480 alone -> 0 (N = 1)
    assert out["rank_x"].to_list() == [0.0, 0.5, 1.0, 1.0, 0.0, 0.0]
    # y reversed: 0114: 3 -> 0, 2 -> .5, 1 -> 1; 0581 tie 1,1 -> (2-1)/1 = 1 both; 2480 alone -> 1 - 0 = 1
    assert out["rank_y"].to_list() == [0.0, 0.5, 1.0, 1.0, 1.0, 1.0]
    # sums 0114: 0, 1, 2 -> 0, .5, 1; 0581: 2, 1 -> 1, 0
    assert out["sum_t"].to_list() == [0.0, 1.0, 2.0, 2.0, 1.0, 1.0]
    assert out["rank_overall"].to_list() == [0.0, 0.5, 1.0, 1.0, 0.0, 0.0]
    # ranked over all rows instead (unique ids needed): x 1,2,3,10,5,7 -> 0, .2, .4, 1, .6, .8
    unique_ids = df.with_columns(pl.format("{}{}", "kommun", "id").alias("id"))
    ungrouped = build_index(unique_ids, {**spec, "group_by": None})
    assert ungrouped["rank_x"].to_list() == [0.0, 0.2, 0.4, 1.0, 0.6, 0.8]
    # ids repeat across groups, so without group_by they are duplicates
    with pytest.raises(IndexSpecError, match="duplicated id"):
        build_index(df, {**spec, "group_by": None})


# ----------------------------------------------------------------------------------------- zscore


def zscore_input() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "year": [2022] * 5 + [2023] * 3,
            "id": ["a", "b", "c", "d", "e", "a", "b", "c"],
            "x": [1.0, 2.0, 3.0, 4.0, 100.0, 3.0, 200.0, 0.0],
            "y": [5.0, 4.0, 3.0, 2.0, 1.0, 3.0, 3.0, 5.0],
        }
    )


ZSPEC = {
    "id": "id",
    "method": "zscore",
    "themes": {"t1": ["x"], "t2": ["y"]},
    "reverse": ["y"],
    "group_by": "year",
    "base": {"column": "year", "value": 2022},
    "weights": {"t1": 3, "t2": 1},
}


def test_zscore_uses_the_base_year_limits_mean_and_sd() -> None:
    out = build_index(zscore_input(), ZSPEC)
    # Base x (2022) = 1, 2, 3, 4, 100. Winsor limits, linear interpolation over n - 1 = 4 gaps:
    #   p01 = 1 + 0.04 * (2 - 1) = 1.04;  p99 = 4 + 0.96 * (100 - 4) = 96.16
    clipped = [1.04, 2.0, 3.0, 4.0, 96.16]  # the outlier 100 is clipped to 96.16
    mean, sd = statistics.mean(clipped), statistics.stdev(clipped)  # 21.24, sample SD
    assert mean == pytest.approx(21.24)
    # 2023 values use the 2022 limits and moments: 200 -> 96.16, 0 -> 1.04
    expected_x = [(v - mean) / sd for v in clipped + [3.0, 96.16, 1.04]]
    assert out["rank_x"].to_list() == pytest.approx(expected_x, rel=1e-12)
    # y reversed: base y = 5..1, p01 = 1.04, p99 = 4.96, mean 3, sign flipped
    y_clipped = [4.96, 4.0, 3.0, 2.0, 1.04]
    y_mean, y_sd = statistics.mean(y_clipped), statistics.stdev(y_clipped)
    expected_y = [-(v - y_mean) / y_sd for v in y_clipped + [3.0, 3.0, 4.96]]
    assert out["rank_y"].to_list() == pytest.approx(expected_y, rel=1e-12)
    # one column per theme: theme score = its z-score; overall = (3 t1 + 1 t2) / 4
    assert out["sum_t1"].to_list() == out["rank_x"].to_list()
    expected_overall = [(3 * zx + zy) / 4 for zx, zy in zip(expected_x, expected_y)]
    assert out["sum_overall"].to_list() == pytest.approx(expected_overall, rel=1e-12)
    # ranks within year: 2023 x z-scores 3 -> mid, 200 -> top, 0 -> bottom
    assert out["rank_t1"].to_list()[5:] == [0.5, 1.0, 0.0]
    assert out["rank_t1"].to_list()[:5] == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_zscore_later_years_do_not_move_the_base_year() -> None:
    both = build_index(zscore_input(), ZSPEC)
    base_only = build_index(zscore_input().filter(pl.col("year") == 2022), ZSPEC)
    assert both.head(5).equals(base_only)
    # without a base, all rows are the base: the 2022 z-scores change
    no_base = build_index(zscore_input(), {k: v for k, v in ZSPEC.items() if k != "base"})
    assert no_base["rank_x"].head(5).to_list() != pytest.approx(both["rank_x"].head(5).to_list())


def test_zscore_theme_score_is_the_mean_and_flags_use_percentile_ranks() -> None:
    df = pl.DataFrame({"id": ["a", "b", "c", "d"], "x": [1.0, 2.0, 3.0, 10.0], "y": [4.0, 3.0, 2.0, None]})
    spec = {"id": "id", "method": "zscore", "themes": {"t": ["x", "y"]}, "flag_threshold": 0.9}
    out = build_index(df, spec)
    mean_of_z = [(zx + zy) / 2 for zx, zy in zip(out["rank_x"].to_list()[:3], out["rank_y"].to_list()[:3])]
    assert out["sum_t"].to_list()[:3] == pytest.approx(mean_of_z, rel=1e-12)
    assert out["sum_t"][3] is None and out["rank_overall"][3] is None  # y missing
    # flags: percentile ranks of the raw values (x: d top; y: a top among 3), as the percentile method
    assert out["flag_x"].to_list() == [0, 0, 0, 1]
    assert out["flag_y"].to_list() == [1, 0, 0, None]
    pct = build_index(df, {**spec, "method": "percentile"})
    assert out.select("flag_x", "flag_y", "flags_t").equals(pct.select("flag_x", "flag_y", "flags_t"))


def test_base_value_matches_text_year_from_csv() -> None:
    df = zscore_input().with_columns(pl.col("year").cast(pl.String))
    out = build_index(df, ZSPEC)
    assert out["rank_x"].to_list() == pytest.approx(build_index(zscore_input(), ZSPEC)["rank_x"].to_list())


# ----------------------------------------------------------------------------------------- exponential


def imd_x(big_r: float) -> float:
    return -23 * math.log(1 - big_r * (1 - math.exp(-100 / 23)))


def test_exponential_transform() -> None:
    df = pl.DataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "p": [4.0, 3.0, 2.0, 1.0],  # a most need
            "q": [1.0, 2.0, 3.0, 4.0],  # reversed below: a most need
            "s": [1.0, 3.0, 2.0, 4.0],
        }
    )
    spec = {"id": "id", "method": "exponential", "themes": {"inc": ["p", "q"], "env": ["s"]},
            "reverse": ["q"], "weights": {"inc": 22.5, "env": 9.3}}  # fmt: skip
    out = build_index(df, spec)
    assert out.columns[1:8] == ["rank_p", "rank_q", "rank_s", "sum_inc", "rank_inc", "exp_inc", "sum_env"]
    # inc score = mean of ranks: a (1 + 1)/2 = 1, b 2/3 ~ .6667 (.6667+.6667)/2, c .3333, d 0
    assert out["sum_inc"].to_list() == [1.0, 0.6667, 0.3333, 0.0]
    assert out["rank_inc"].to_list() == [1.0, 0.6667, 0.3333, 0.0]
    # IMD rank 1 = most need: a 1, b 2, c 3, d 4; R = (N - rank + 1)/N = 1, .75, .5, .25
    assert out["exp_inc"][0] == 100.0  # X(1) = -23 ln(exp(-100/23)) = 100 exactly
    assert out["exp_inc"].to_list() == pytest.approx([imd_x(1), imd_x(0.75), imd_x(0.5), imd_x(0.25)], rel=1e-12)
    assert imd_x(0.5) == pytest.approx(15.6467900726, rel=1e-10)  # X is far from linear in R
    # env: s ranks d 1, b 2, c 3, a 4 -> R: a .25, b .75, c .5, d 1
    env = [imd_x(0.25), imd_x(0.75), imd_x(0.5), imd_x(1)]
    assert out["exp_env"].to_list() == pytest.approx(env, rel=1e-12)
    inc = [imd_x(1), imd_x(0.75), imd_x(0.5), imd_x(0.25)]
    overall = [(22.5 * i + 9.3 * e) / 31.8 for i, e in zip(inc, env)]
    assert out["sum_overall"].to_list() == pytest.approx(overall, rel=1e-12)
    # X(.25) = 6.52, X(.5) = 15.65, X(.75) = 31.01. overall: a (22.5*100 + 9.3*6.52)/31.8 = 72.66,
    # b 31.01, c 15.65, d (22.5*6.52 + 9.3*100)/31.8 = 33.86 -> order c b d a
    assert out["sum_overall"][1] == pytest.approx(31.009143532807, rel=1e-12)
    assert out["rank_overall"].to_list() == [1.0, 0.3333, 0.0, 0.6667]


def test_exponential_ties_share_the_most_deprived_rank_and_missing_is_empty() -> None:
    df = pl.DataFrame({"id": ["a", "b", "c", "d"], "p": [5.0, 5.0, 1.0, None]})
    out = build_index(df, {"id": "id", "method": "exponential", "themes": {"t": ["p"]}})
    # N = 3 non-missing; a and b tie at IMD rank 1 -> R = 1; c rank 3 -> R = 1/3
    assert out["exp_t"].to_list()[:3] == pytest.approx([100.0, 100.0, imd_x(1 / 3)], rel=1e-12)
    assert out["exp_t"][3] is None and out["sum_overall"][3] is None and out["rank_overall"][3] is None
    assert out["sum_overall"].to_list()[:3] == out["exp_t"].to_list()[:3]  # one theme, weight 1


# ----------------------------------------------------------------------------------------- spec errors


def base_df() -> pl.DataFrame:
    return pl.DataFrame({"id": ["1", "2", "3"], "g": ["x", "x", "y"], "a": [1.0, 2.0, 3.0], "b": [3, 2, 1]})


BASE_SPEC = {"id": "id", "method": "zscore", "themes": {"t": ["a"], "u": ["b"]}}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"method": "ranks"}, r"method: unknown method 'ranks'"),
        ({"themes": {"t": ["a", "nope"]}}, r"themes: column\(s\) \['nope'\] are not in the input"),
        ({"reverse": ["c"]}, r"reverse: column\(s\) \['c'\] are not in any theme"),
        ({"weights": {"t": 1, "zzz": 1}}, r"weights: unknown theme\(s\) \['zzz'\]"),
        ({"weights": {"t": -1, "u": 2}}, r"weights.t: must not be negative"),
        ({"weights": {"t": 1}}, r"weights: no weight for theme\(s\) \['u'\]"),
        ({"weights": {"t": 0, "u": 0}}, r"weights: at least one weight must be positive"),
        ({"id": "area"}, r"id: column 'area' is not in the input"),
        ({"flag_threshold": 0}, r"flag_threshold: must be a number in \(0, 1\]"),
        ({"flag_threshold": 1.5}, r"flag_threshold"),
        ({"flag_threshold": "0.9"}, r"flag_threshold"),
        ({"weight": {"t": 1}}, r"unknown spec key\(s\) \['weight'\]"),
        ({"themes": {"t": ["a"], "u": ["a"]}}, r"themes.u: column 'a' is already in theme 't'"),
        ({"themes": {"overall": ["a"]}}, r"clashing output columns \['rank_overall', 'sum_overall'\]"),
        ({"themes": {}}, r"themes: must map at least one theme"),
        ({"group_by": "kommun"}, r"group_by: column 'kommun' is not in the input"),
        ({"themes": {"t": ["a", "id"]}}, r"id: column 'id' is also an input column"),
        ({"base": {"column": "g", "value": "zzz"}}, r"base: no rows where 'g' equals 'zzz'"),
        ({"base": {"column": "g"}}, r"base: must be \{column"),
    ],
)
def test_spec_errors_name_the_key(change: dict, message: str) -> None:
    with pytest.raises(IndexSpecError, match=message):
        build_index(base_df(), {**BASE_SPEC, **change})


def test_errors_for_the_percentile_method_and_the_data() -> None:
    svi = {**BASE_SPEC, "method": "percentile"}
    with pytest.raises(IndexSpecError, match="weights: the percentile"):
        load_spec({**svi, "weights": {"t": 1, "u": 1}})
    with pytest.raises(IndexSpecError, match="base: only the zscore method"):
        load_spec({**svi, "base": {"column": "g", "value": "x"}})
    with pytest.raises(IndexSpecError, match=r"id: duplicated id\(s\) in column 'id'"):
        build_index(base_df().with_columns(pl.lit("1").alias("id")), svi)
    # duplicated within a group is an error; the same ids in different groups are fine
    dup_in_group = base_df().with_columns(pl.Series("id", ["1", "1", "1"]))
    with pytest.raises(IndexSpecError, match=r"duplicated id\(s\) in column 'id' within \['g'\]"):
        build_index(dup_in_group, {**svi, "group_by": "g"})
    build_index(base_df().with_columns(pl.Series("id", ["1", "2", "1"])), {**svi, "group_by": "g"})
    with pytest.raises(IndexSpecError, match=r"themes: input column 'a' is not numeric \(dtype String\)"):
        build_index(base_df().with_columns(pl.Series("a", ["1", "2", ".."])), svi)
    with pytest.raises(IndexSpecError, match="id: column 'id' has 1 empty value"):
        build_index(base_df().with_columns(pl.Series("id", ["1", None, "3"])), svi)
    with pytest.raises(IndexSpecError, match="does not vary in the base rows"):
        build_index(base_df().with_columns(pl.lit(2.0).alias("a")), BASE_SPEC)
    assert load_spec({**svi, "flag_threshold": 1}).flag_threshold == 1.0  # 1 is allowed


def test_load_spec_from_yaml_equals_dict(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(
        "id: area_code\nmethod: percentile\nthemes:\n  ses: [pov, unemp]\n  hh: [inc]\n"
        "reverse: [inc]\nweights: {}\ngroup_by: null\nflag_threshold: 0.90\n",
        encoding="utf-8",
    )
    assert load_spec(path) == load_spec(SVI_SPEC)
    assert list(load_spec(path).themes) == ["ses", "hh"]


# ----------------------------------------------------------------------------------------- CLI


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="grannskap")
    register_cli(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_cli_round_trip_keeps_leading_zero_ids_and_empty_cells(tmp_path: Path, capsys) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "id: area_code\nmethod: percentile\ngroup_by: kommun\n"
        "themes:\n  ses: [share_low_education, share_income_support]\n  household: [share_age_0_4]\n",
        encoding="utf-8",
    )
    src = tmp_path / "in.csv"
    src.write_text(
        "area_code,kommun,share_low_education,share_income_support,share_age_0_4\n"
        "0114A0010,0114,0.10,0.02,0.05\n"
        "0114C1020,0114,0.30,,0.07\n"
        "0114C1030,0114,0.20,0.04,0.06\n"
        "0581B1001,0581,0.15,0.03,0.04\n"
        "0581C1002,0581,0.25,0.01,0.08\n",
        encoding="utf-8",
    )
    dst = tmp_path / "out" / "index.csv"
    args = parse(["index", "--spec", str(spec), "--input", str(src), "--output", str(dst)])
    assert args.func is run_cli
    assert run_cli(args) == 0
    assert "wrote 5 rows" in capsys.readouterr().out
    out = pl.read_csv(dst, infer_schema=False)
    assert out["area_code"].to_list() == ["0114A0010", "0114C1020", "0114C1030", "0581B1001", "0581C1002"]
    assert out["kommun"].to_list() == ["0114", "0114", "0114", "0581", "0581"]
    # within 0114: low education .10 .30 .20 -> 0, 1, .5; income support missing for 0114C1020
    assert out["rank_share_low_education"].to_list() == ["0.0", "1.0", "0.5", "0.0", "1.0"]
    assert out["rank_share_income_support"].to_list() == ["0.0", None, "1.0", "1.0", "0.0"]
    row = out.row(1, named=True)
    assert (row["sum_ses"], row["rank_overall"], row["flag_share_income_support"]) == (None, None, None)
    assert out["flags_total"].to_list() == ["0", "2", "1", "1", "2"]
    # the CSV holds the same table as the Python API
    as_text = {"area_code": pl.String, "kommun": pl.String}
    direct = build_index(pl.read_csv(src, schema_overrides=as_text), load_spec(spec))
    assert direct.cast(pl.String).equals(out)


def test_cli_reports_a_non_numeric_cell(tmp_path: Path, capsys) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("id: id\nmethod: percentile\nthemes:\n  t: [x]\n", encoding="utf-8")
    src = tmp_path / "in.csv"
    src.write_text("id,x\n0001,1.5\n0002,..\n", encoding="utf-8")
    code = run_cli(parse(["index", "--spec", str(spec), "--input", str(src), "--output", str(tmp_path / "o.csv")]))
    assert code == 2
    err = capsys.readouterr().err
    assert "input column 'x' is not numeric: '..' on line 3" in err
    assert not (tmp_path / "o.csv").exists()
    missing_spec = str(tmp_path / "none.yaml")
    argv = ["index", "--spec", missing_spec, "--input", str(src), "--output", str(tmp_path / "p.csv")]
    assert run_cli(parse(argv)) == 2
