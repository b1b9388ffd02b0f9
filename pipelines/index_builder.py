"""Composite needs indices from a declarative spec: SVI percentile ranks, COI z-scores or IMD exponential.

A spec (YAML file or dict) names the area id, the method, the themes and their input columns:

    id: area_code            # column naming the area
    method: percentile       # percentile | zscore | exponential
    themes:                  # theme name -> input columns
      socioeconomic: [share_low_education, share_income_support]
      household: [share_age_0_4]
    reverse: []              # columns where more means LESS need
    weights: {}              # theme weights (zscore/exponential only); equal when absent
    group_by: null           # column (or list of columns): rank within each group instead of overall
    flag_threshold: 0.90
    base: {column: year, value: 2022}   # zscore only: the fixed base rows; all rows when absent

Output, one row per input row and in input order: the id and group_by columns, then

    rank_<column>   per input column      sum_<theme>, rank_<theme>   per theme
    sum_overall, rank_overall             flag_<column>, flags_<theme>, flags_total
    exp_<theme>     per theme, exponential method only (the IMD exponential score X)

Direction: every rank, score and flag is oriented so that HIGHER = MORE NEED (reversed columns are
turned round first). A "percentile rank" is always SVI's: (r - 1) / (N - 1), ties at the lowest r, N the
non-missing values in the group, rounded half-up to 4 decimals, and 0 when N = 1.

What the columns hold per method:

    percentile   (CDC/ATSDR SVI 2018-2022, exactly)
        rank_<column>  percentile rank of the value; reversed columns 1 - percentile rank, each rounded
                       half-up from the exact rational (so a reversed column with N = 1 gets 1)
        sum_<theme>    sum of the rounded ranks of the theme's columns (exact at 4 decimals)
        rank_<theme>   percentile rank of sum_<theme>
        sum_overall    sum of the theme sums;  rank_overall its percentile rank
    zscore       (Child Opportunity Index style)
        rank_<column>  the z-score, NOT a rank: the value winsorised at the base rows' 1st/99th percentiles
                       (linear interpolation), minus the base mean, over the base sample SD (ddof=1);
                       sign flipped for reversed columns. Base statistics come from all base rows,
                       not per group; only the ranks are per group.
        sum_<theme>    theme score = mean of its z-scores;  rank_<theme> its percentile rank
        sum_overall    weighted sum of theme scores (weights normalised to 1); rank_overall its
                       percentile rank
    exponential  (English IMD transform)
        rank_<column>  percentile rank as in the percentile method
        sum_<theme>    theme score = mean of the theme's rounded column ranks
        rank_<theme>   percentile rank of the theme score
        exp_<theme>    X = -23 ln(1 - R (1 - exp(-100/23))), R = (N - rank + 1) / N, rank 1 = most need
                       (ties share the best rank), so X is in (0, 100] and 100 for the most deprived
        sum_overall    weighted sum of exp_<theme> (weights normalised to 1); rank_overall its percentile rank

Flags are the same for every method: flag_<column> is 1 when the column's percentile rank (of the raw,
direction-adjusted value, as in the percentile method) is >= flag_threshold, else 0; flags_<theme> counts the
flagged columns of the theme and flags_total sums them over themes.

Missing values (null, an empty CSV cell, or NaN) are not ranked, not counted in N, not summed and not flagged:
rank_<column> and flag_<column> are null, and every sum, score and rank that needs the value is null for that
row. Flag counts count only flags that exist (SVI: "total flags do not include fields with a -999 value").

CLI: `grannskap index --spec SPEC.yaml --input IN.csv --output OUT.csv` (wired in pipelines/cli.py through
`register_cli`). Every input column is read as text so ids such as 0581 and 0114A0010 keep their leading
zeros; theme columns are then parsed as numbers and any cell that is not a number is an error.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from functools import reduce
from operator import add
from pathlib import Path
from typing import Any

import polars as pl
import yaml

METHODS = ("percentile", "zscore", "exponential")
SPEC_KEYS = {"id", "method", "themes", "reverse", "weights", "group_by", "flag_threshold", "base"}
SCALE = 10_000  # percentile ranks are held as integer ten-thousandths so rounding, sums and ties are exact
WINSOR_LOW, WINSOR_HIGH = 0.01, 0.99
IMD_SPREAD = 23.0  # the IMD constant: X = -23 ln(1 - R (1 - exp(-100/23)))


class IndexSpecError(ValueError):
    """The spec, or the input it is applied to, cannot make an index. The message names the key or column."""


@dataclass(frozen=True)
class BaseRows:
    """The fixed base rows of the zscore method: rows where `column` equals `value` (e.g. year 2022)."""

    column: str
    value: Any


@dataclass(frozen=True)
class IndexSpec:
    id: str
    method: str
    themes: Mapping[str, tuple[str, ...]]  # theme -> input columns, in spec order
    reverse: frozenset[str] = frozenset()
    weights: Mapping[str, float] | None = None  # as given; None = equal
    group_by: tuple[str, ...] = ()
    flag_threshold: float = 0.90
    base: BaseRows | None = None

    @property
    def columns(self) -> list[str]:
        """All input columns, theme by theme."""
        return [c for cols in self.themes.values() for c in cols]

    def theme_weights(self) -> dict[str, float]:
        """Weights as given, 1.0 each when absent; callers divide by their total (normalise)."""
        return {t: (self.weights[t] if self.weights else 1.0) for t in self.themes}

    def output_columns(self) -> list[str]:
        cols = [self.id, *self.group_by]
        cols += [f"rank_{c}" for c in self.columns]
        for t in self.themes:
            cols += [f"sum_{t}", f"rank_{t}"]
            if self.method == "exponential":
                cols.append(f"exp_{t}")
        cols += ["sum_overall", "rank_overall"]
        cols += [f"flag_{c}" for c in self.columns]
        cols += [f"flags_{t}" for t in self.themes]
        cols.append("flags_total")
        return cols


# --------------------------------------------------------------------------------------------------- spec


def load_spec(source: str | Path | Mapping[str, Any] | IndexSpec) -> IndexSpec:
    """Read and validate a spec from a YAML file path or a dict (an IndexSpec is returned as is)."""
    if isinstance(source, IndexSpec):
        return source
    if isinstance(source, (str, Path)):
        path = Path(source)
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise IndexSpecError(f"spec {path}: not valid YAML: {exc}") from exc
    else:
        raw = source
    if not isinstance(raw, Mapping):
        raise IndexSpecError(f"spec must be a mapping of keys, got {type(raw).__name__}")
    unknown = sorted(set(raw) - SPEC_KEYS)
    if unknown:  # a typo such as `weight:` must not be silently ignored
        raise IndexSpecError(f"unknown spec key(s) {unknown}; allowed: {sorted(SPEC_KEYS)}")

    id_col = _name(raw.get("id"), "id")
    method = raw.get("method")
    if method not in METHODS:
        raise IndexSpecError(f"method: unknown method {method!r}; use one of {list(METHODS)}")

    themes = _parse_themes(raw.get("themes"))
    columns = [c for cols in themes.values() for c in cols]

    reverse_raw = raw.get("reverse") or []
    if not isinstance(reverse_raw, (list, tuple)):
        raise IndexSpecError("reverse: must be a list of input columns")
    reverse = [_name(c, "reverse") for c in reverse_raw]
    stray = [c for c in reverse if c not in columns]
    if stray:
        raise IndexSpecError(f"reverse: column(s) {stray} are not in any theme")

    weights = _parse_weights(raw.get("weights"), themes, method)
    group_by = _parse_group_by(raw.get("group_by"))
    threshold = _parse_threshold(raw.get("flag_threshold", 0.90))
    base = _parse_base(raw.get("base"), method)

    spec = IndexSpec(
        id=id_col,
        method=method,
        themes=themes,
        reverse=frozenset(reverse),
        weights=weights,
        group_by=group_by,
        flag_threshold=threshold,
        base=base,
    )
    _check_roles(spec)
    return spec


def _name(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value:
        raise IndexSpecError(f"{key}: must be a column name (non-empty string), got {value!r}")
    return value


def _parse_themes(raw: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, Mapping) or not raw:
        raise IndexSpecError("themes: must map at least one theme name to a list of input columns")
    themes: dict[str, tuple[str, ...]] = {}
    seen: dict[str, str] = {}
    for theme, cols in raw.items():
        theme = _name(theme, "themes")
        if not isinstance(cols, (list, tuple)) or not cols:
            raise IndexSpecError(f"themes.{theme}: must be a non-empty list of input columns")
        for col in cols:
            col = _name(col, f"themes.{theme}")
            if col in seen:  # one rank_<column> per column: a column cannot count twice
                raise IndexSpecError(f"themes.{theme}: column {col!r} is already in theme {seen[col]!r}")
            seen[col] = theme
        themes[theme] = tuple(cols)
    return themes


def _parse_weights(raw: Any, themes: Mapping[str, Any], method: str) -> dict[str, float] | None:
    if raw is None or raw == {}:
        return None
    if method == "percentile":  # SVI sums themes unweighted; a weight here would be silently ignored
        raise IndexSpecError("weights: the percentile (SVI) method is unweighted; use zscore or exponential")
    if not isinstance(raw, Mapping):
        raise IndexSpecError("weights: must map theme names to numbers")
    unknown = [t for t in raw if t not in themes]
    if unknown:
        raise IndexSpecError(f"weights: unknown theme(s) {unknown}; themes are {list(themes)}")
    missing = [t for t in themes if t not in raw]
    if missing:  # no guessing what an omitted theme weighs
        raise IndexSpecError(f"weights: no weight for theme(s) {missing}; give every theme a weight or none")
    weights: dict[str, float] = {}
    for theme, w in raw.items():
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w):
            raise IndexSpecError(f"weights.{theme}: must be a number, got {w!r}")
        if w < 0:
            raise IndexSpecError(f"weights.{theme}: must not be negative, got {w}")
        weights[theme] = float(w)
    if sum(weights.values()) <= 0:
        raise IndexSpecError("weights: at least one weight must be positive")
    return weights


def _parse_group_by(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    cols = [raw] if isinstance(raw, str) else raw
    if not isinstance(cols, (list, tuple)):
        raise IndexSpecError("group_by: must be a column name or a list of column names")
    names = tuple(_name(c, "group_by") for c in cols)
    if len(set(names)) != len(names):
        raise IndexSpecError(f"group_by: repeated column in {list(names)}")
    return names


def _parse_threshold(raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not (0 < raw <= 1):
        raise IndexSpecError(f"flag_threshold: must be a number in (0, 1], got {raw!r}")
    return float(raw)


def _parse_base(raw: Any, method: str) -> BaseRows | None:
    if raw is None:
        return None
    if method != "zscore":
        raise IndexSpecError(f"base: only the zscore method has base rows, not {method!r}")
    if not isinstance(raw, Mapping) or set(raw) != {"column", "value"}:
        raise IndexSpecError("base: must be {column: <name>, value: <value>}")
    if raw["value"] is None:
        raise IndexSpecError("base.value: must not be empty")
    return BaseRows(column=_name(raw["column"], "base.column"), value=raw["value"])


def _check_roles(spec: IndexSpec) -> None:
    """A column has one role (id, group, base or input), and no two output columns share a name."""
    columns = set(spec.columns)
    for key, col in [("id", spec.id), *(("group_by", g) for g in spec.group_by)]:
        if col in columns:
            raise IndexSpecError(f"{key}: column {col!r} is also an input column of a theme")
    if spec.id in spec.group_by:
        raise IndexSpecError(f"group_by: {spec.id!r} is the id column")
    if spec.base and spec.base.column in columns | {spec.id}:
        raise IndexSpecError(f"base.column: {spec.base.column!r} is the id or an input column")
    names = spec.output_columns()
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:  # e.g. a theme called "overall", or a theme and a column with the same name
        raise IndexSpecError(f"themes: names give clashing output columns {clashes}; rename a theme")


# --------------------------------------------------------------------------------------------------- build


def build_index(df: pl.DataFrame, spec: IndexSpec | str | Path | Mapping[str, Any]) -> pl.DataFrame:
    """Compute the index for every row of `df`; see the module docstring for what each column holds."""
    spec = load_spec(spec)
    data = _prepare(df, spec)
    groups = list(spec.group_by)
    threshold_e4 = int((Decimal(repr(spec.flag_threshold)) * SCALE).to_integral_value(ROUND_CEILING))

    # Percentile ranks of the raw values: the output ranks of percentile/exponential and every method's flags.
    data = data.with_columns(
        _pct_rank_e4(pl.col(c), groups, reverse=c in spec.reverse).alias(f"_e4_{c}") for c in spec.columns
    )
    if spec.method == "percentile":
        out = _percentile(data, spec, groups)
    elif spec.method == "zscore":
        out = _zscore(data, spec, groups)
    else:
        out = _exponential(data, spec, groups)

    # rank >= threshold  <=>  rank_e4 >= ceil(threshold * 10000), both exact
    out = out.with_columns(
        (pl.col(f"_e4_{c}") >= threshold_e4).cast(pl.Int32).alias(f"flag_{c}") for c in spec.columns
    )
    out = out.with_columns(
        pl.sum_horizontal(*(pl.col(f"flag_{c}") for c in cols)).cast(pl.Int32).alias(f"flags_{t}")
        for t, cols in spec.themes.items()
    )
    out = out.with_columns(
        pl.sum_horizontal(*(pl.col(f"flags_{t}") for t in spec.themes)).cast(pl.Int32).alias("flags_total")
    )
    return out.select(spec.output_columns())


def _prepare(df: pl.DataFrame, spec: IndexSpec) -> pl.DataFrame:
    """Check the input against the spec; return keys and Float64 inputs (NaN as missing)."""
    present = set(df.columns)
    if spec.id not in present:
        raise IndexSpecError(f"id: column {spec.id!r} is not in the input")
    for col in spec.group_by:
        if col not in present:
            raise IndexSpecError(f"group_by: column {col!r} is not in the input")
    missing = [c for c in spec.columns if c not in present]
    if missing:
        raise IndexSpecError(f"themes: column(s) {missing} are not in the input")
    if spec.base and spec.base.column not in present:
        raise IndexSpecError(f"base.column: column {spec.base.column!r} is not in the input")

    keys = [spec.id, *spec.group_by]
    for col in keys:
        nulls = df[col].null_count()
        if nulls:
            key = "id" if col == spec.id else "group_by"
            raise IndexSpecError(f"{key}: column {col!r} has {nulls} empty value(s)")
    dups = df.filter(pl.struct(keys).is_duplicated()).select(keys).unique(maintain_order=True)
    if dups.height:
        where = f" within {list(spec.group_by)}" if spec.group_by else ""
        hint = ""
        if spec.base and spec.base.column not in spec.group_by:
            hint = f" (several {spec.base.column!r} values? add {spec.base.column!r} to group_by)"
        raise IndexSpecError(
            f"id: duplicated id(s) in column {spec.id!r}{where}{hint}: {dups.head(5).rows()}"
        )

    values = []
    for col in spec.columns:
        s = df[col]
        if s.dtype == pl.Null or (s.dtype == pl.String and s.null_count() == len(s)):
            s = s.cast(pl.Float64)  # an entirely empty column is numeric, just missing
        elif not s.dtype.is_numeric():
            raise IndexSpecError(f"themes: input column {col!r} is not numeric (dtype {s.dtype})")
        s = s.cast(pl.Float64).fill_nan(None)
        if s.is_infinite().any():
            raise IndexSpecError(f"themes: input column {col!r} has infinite values")
        values.append(s)
    extra = [df[spec.base.column]] if spec.base and spec.base.column not in keys else []
    return pl.DataFrame([*(df[k] for k in keys), *extra, *values])


def _over(expr: pl.Expr, groups: list[str]) -> pl.Expr:
    return expr.over(groups) if groups else expr


def _pct_rank_e4(expr: pl.Expr, groups: list[str], reverse: bool = False) -> pl.Expr:
    """SVI percentile rank in integer ten-thousandths, rounded half-up from the exact rational.

    p = (r - 1) / (N - 1) with r = rank("min") (ties share the lowest rank) and N the non-missing values in
    the group; a reversed column takes 1 - p = (N - r) / (N - 1). Half-up of a/b at 4 decimals is
    floor((20000 a + b) / (2 b)) on integers, so 1/32 -> 313 (0.0313) where float or banker's rounding
    gives 0.0312. N = 1 has no spread: p is defined as 0 (so 1 - p = 1 for a reversed column), as SQL's
    percent_rank does. Missing values stay null.
    """
    r = _over(expr.rank("min"), groups).cast(pl.Int64)
    n = _over(expr.count(), groups).cast(pl.Int64)
    num = (n - r) if reverse else (r - 1)
    den = n - 1
    return (
        pl.when(expr.is_null())
        .then(None)
        .when(den == 0)
        .then(pl.lit(SCALE if reverse else 0, dtype=pl.Int64))
        .otherwise((num * (2 * SCALE) + den) // (2 * den))
    )


def _from_e4(expr: pl.Expr) -> pl.Expr:
    """Ten-thousandths to Float64, correctly rounded (1667 -> 0.1667).

    Through Decimal because Polars turns division by a literal into multiplication by its reciprocal,
    which gives 0.16670000000000001; the Decimal -> Float64 cast is the exact division.
    """
    return (expr.cast(pl.Decimal(38, 4)) / SCALE).cast(pl.Float64)


def _add_all(exprs: list[pl.Expr]) -> pl.Expr:
    """Sum that is null when any term is null (sum_horizontal would skip missing values)."""
    return reduce(add, exprs)


def _percentile(data: pl.DataFrame, spec: IndexSpec, groups: list[str]) -> pl.DataFrame:
    # Everything stays in integer ten-thousandths: sums are exact at 4 decimals, and equal sums tie exactly.
    data = data.with_columns(
        _add_all([pl.col(f"_e4_{c}") for c in cols]).alias(f"_sum_{t}") for t, cols in spec.themes.items()
    )
    data = data.with_columns(
        _pct_rank_e4(pl.col(f"_sum_{t}"), groups).alias(f"_rank_{t}") for t in spec.themes
    ).with_columns(_add_all([pl.col(f"_sum_{t}") for t in spec.themes]).alias("_sum_overall"))
    data = data.with_columns(_pct_rank_e4(pl.col("_sum_overall"), groups).alias("_rank_overall"))
    return data.with_columns(
        *(_from_e4(pl.col(f"_e4_{c}")).alias(f"rank_{c}") for c in spec.columns),
        *(_from_e4(pl.col(f"_sum_{t}")).alias(f"sum_{t}") for t in spec.themes),
        *(_from_e4(pl.col(f"_rank_{t}")).alias(f"rank_{t}") for t in spec.themes),
        _from_e4(pl.col("_sum_overall")).alias("sum_overall"),
        _from_e4(pl.col("_rank_overall")).alias("rank_overall"),
    )


def _zscore(data: pl.DataFrame, spec: IndexSpec, groups: list[str]) -> pl.DataFrame:
    base = data.filter(_base_mask(data, spec))
    z_exprs = []
    for col in spec.columns:
        values = base[col].drop_nulls()
        if values.len() < 2:
            raise IndexSpecError(f"themes: column {col!r} has fewer than 2 values in the base rows")
        low = values.quantile(WINSOR_LOW, "linear")
        high = values.quantile(WINSOR_HIGH, "linear")
        clipped = values.clip(low, high)
        mean, sd = clipped.mean(), clipped.std(ddof=1)
        if not sd:  # a constant column carries no information and cannot be standardised
            raise IndexSpecError(f"themes: column {col!r} does not vary in the base rows (SD 0)")
        z = (pl.col(col).clip(low, high) - mean) / sd
        z_exprs.append((-z if col in spec.reverse else z).alias(f"rank_{col}"))
    data = data.with_columns(z_exprs)
    data = data.with_columns(
        (_add_all([pl.col(f"rank_{c}") for c in cols]) / len(cols)).alias(f"sum_{t}")
        for t, cols in spec.themes.items()
    )
    return _weighted_overall(data, spec, groups, score_prefix="sum_")


def _base_mask(data: pl.DataFrame, spec: IndexSpec) -> pl.Expr:
    if spec.base is None:
        return pl.lit(True)
    col, value = spec.base.column, spec.base.value
    numeric = data[col].dtype.is_numeric() and isinstance(value, (int, float)) and not isinstance(value, bool)
    # CSV input is text: compare as text unless both sides are numbers (2022 matches "2022" and 2022).
    mask = (pl.col(col) == value) if numeric else (pl.col(col).cast(pl.String) == str(value))
    if not data.select(mask.any()).item():
        raise IndexSpecError(f"base: no rows where {col!r} equals {value!r}")
    return mask


def _exponential(data: pl.DataFrame, spec: IndexSpec, groups: list[str]) -> pl.DataFrame:
    c = math.exp(-100 / IMD_SPREAD)
    data = data.with_columns(
        _add_all([pl.col(f"_e4_{col}") for col in cols]).alias(f"_sum_{t}") for t, cols in spec.themes.items()
    )
    exprs = []
    for t, cols in spec.themes.items():
        score = pl.col(f"_sum_{t}")  # ranking the integer sum = ranking the mean, with exact ties
        imd_rank = _over((-score).rank("min"), groups).cast(pl.Int64)  # 1 = most need; ties share the best
        n = _over(score.count(), groups).cast(pl.Int64)
        big_r = (n - imd_rank + 1) / n
        # 1 - R(1 - c) written as (1 - R) + R c: the same value, but exactly c at R = 1, so X = 100.0 exactly
        exprs += [
            (_from_e4(score) / len(cols)).alias(f"sum_{t}"),
            _from_e4(_pct_rank_e4(score, groups)).alias(f"rank_{t}"),
            (-IMD_SPREAD * ((1 - big_r) + big_r * c).log()).alias(f"exp_{t}"),
        ]
    data = data.with_columns(
        *exprs, *(_from_e4(pl.col(f"_e4_{col}")).alias(f"rank_{col}") for col in spec.columns)
    )
    return _weighted_overall(data, spec, groups, score_prefix="exp_")


def _weighted_overall(
    data: pl.DataFrame, spec: IndexSpec, groups: list[str], score_prefix: str
) -> pl.DataFrame:
    """Themes' scores weighted into sum_overall; percentile ranks of the theme scores and of the overall."""
    weights = spec.theme_weights()
    total = sum(weights.values())
    # sum(w X) / sum(w) rather than sum((w / total) X): equal weights give the plain mean, so equal scores
    # give exactly that score (three themes at 100 -> 100.0, not 99.99999999999999)
    weighted = _add_all([pl.col(f"{score_prefix}{t}") * w for t, w in weights.items()]) / total
    data = data.with_columns(weighted.alias("sum_overall"))
    ranks = [] if spec.method == "exponential" else [
        _from_e4(_pct_rank_e4(pl.col(f"sum_{t}"), groups)).alias(f"rank_{t}") for t in spec.themes
    ]
    overall = _from_e4(_pct_rank_e4(pl.col("sum_overall"), groups)).alias("rank_overall")
    return data.with_columns(*ranks, overall)


# --------------------------------------------------------------------------------------------------- CLI


def read_input_csv(path: str | Path, spec: IndexSpec) -> pl.DataFrame:
    """Read a CSV as text (ids keep leading zeros; empty cells are missing), then parse the input columns."""
    df = pl.read_csv(path, infer_schema=False)
    parsed = []
    for col in spec.columns:
        if col not in df.columns:
            continue  # build_index names every missing column at once
        numbers = df[col].str.strip_chars().cast(pl.Float64, strict=False)
        bad = df[col].is_not_null() & numbers.is_null()
        if bad.any():
            row = int(bad.arg_true()[0])
            raise IndexSpecError(
                f"themes: input column {col!r} is not numeric: {df[col][row]!r} on line {row + 2} of {path}"
            )
        parsed.append(numbers)
    return df.with_columns(parsed)


def register_cli(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `index` subcommand to an argparse subparsers object; it dispatches to `run_cli`."""
    parser = subparsers.add_parser(
        "index",
        help="build a composite needs index (SVI percentile, z-score or IMD exponential) from a spec",
        description="Build a composite needs index. Higher ranks, scores and flags mean more need.",
    )
    parser.add_argument("--spec", required=True, type=Path, metavar="SPEC.yaml", help="index spec (YAML)")
    parser.add_argument("--input", required=True, type=Path, metavar="IN.csv", help="one row per area")
    parser.add_argument("--output", required=True, type=Path, metavar="OUT.csv", help="index CSV to write")
    parser.set_defaults(func=run_cli)
    return parser


def run_cli(args: argparse.Namespace) -> int:
    """Run the `index` subcommand; 0 on success, 2 on a spec, input or file error (message on stderr)."""
    try:
        spec = load_spec(args.spec)
        out = build_index(read_input_csv(args.input, spec), spec)
        args.output.parent.mkdir(parents=True, exist_ok=True)
        out.write_csv(args.output)  # nulls are written as empty cells
    except (IndexSpecError, OSError, pl.exceptions.PolarsError) as exc:
        print(f"grannskap index: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {out.height} rows ({spec.method}) to {args.output}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (`python -m pipelines.index_builder index ...`)."""
    parser = argparse.ArgumentParser(prog="grannskap")
    register_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
