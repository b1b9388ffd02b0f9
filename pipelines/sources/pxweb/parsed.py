"""The common intermediate every parser produces, and its conversion into the raw layer's `RawTable`.

Parsers first build a `Parsed` table with SCB's codes exactly as delivered (suffixes included), so
responses can be validated against the request; `to_raw_table` then normalises region codes, adds the
`boundary_version` column and builds the `Provenance`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import polars as pl

from pipelines.raw import STATUS, VALUE, Provenance, RawTable, now_utc

from .codes import is_region_dimension, normalise_codes, split_code

BOUNDARY_VERSION = "boundary_version"
# Status for a cell the source left empty without saying why (no SCB marker). Never "" (that means delivered).
MISSING_NO_MARKER = "missing"
TIME_DIM_NAMES = ("Tid", "tid", "år", "Time", "time")


@dataclass
class Parsed:
    format: str  # "json-stat2" | "px-json-v1" | "csv" | "grannskap-long-csv"
    dims: list[str]  # dimension codes, in the source's order
    cells: pl.DataFrame  # one String column per dim (codes as delivered) + value (Float64) + status (String)
    dim_titles: dict[str, str] = field(default_factory=dict)  # Region -> "region"
    code_labels: dict[str, dict[str, str]] = field(default_factory=dict)  # Region -> {code: label}
    categories: dict[str, list[str]] = field(default_factory=dict)  # distinct codes per dim when known
    title: str = ""
    updated: str = ""
    table_id: str = ""
    time_dims: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Set by parsers that already normalised codes (JSON-stat2 gathers normalised categories directly).
    normalised: bool = False


def region_dimensions(parsed: Parsed, codelists: dict[str, str] | None) -> list[str]:
    codelists = codelists or {}
    out = []
    for dim in parsed.dims:
        if dim == BOUNDARY_VERSION:
            continue
        cats = parsed.categories.get(dim)
        if cats is None:
            cats = parsed.cells[dim].unique().to_list()
            parsed.categories[dim] = cats
        if is_region_dimension(dim, cats, codelists.get(dim)):
            out.append(dim)
    return out


def normalise_cells(parsed: Parsed, codelists: dict[str, str] | None = None) -> pl.DataFrame:
    """Strip version suffixes in region dimensions and add `boundary_version` (vectorised over unique codes)."""
    cells = parsed.cells
    if parsed.normalised:
        return cells
    codelists = codelists or {}
    version_expr: pl.Expr | None = None
    new_cols = []
    for dim in region_dimensions(parsed, codelists):
        cats = [c for c in parsed.categories[dim] if c is not None]
        plain, versions = normalise_codes(cats, codelists.get(dim))
        v = pl.col(dim).replace_strict(cats, versions, default="", return_dtype=pl.String)
        version_expr = v if version_expr is None else pl.when(version_expr == "").then(v).otherwise(version_expr)
        if plain != cats:
            new_cols.append(pl.col(dim).replace_strict(cats, plain, default=pl.col(dim), return_dtype=pl.String))
    if version_expr is None:
        version_expr = pl.lit("", dtype=pl.String)
    # versions are computed from the delivered codes, before the codes are replaced
    cells = cells.with_columns(version_expr.alias(BOUNDARY_VERSION))
    if new_cols:
        cells = cells.with_columns(new_cols)
    order = [d for d in parsed.dims if d != BOUNDARY_VERSION] + [BOUNDARY_VERSION, VALUE, STATUS]
    return cells.select(order)


def _normalised_labels(parsed: Parsed, codelists: dict[str, str] | None) -> dict[str, dict[str, str]]:
    codelists = codelists or {}
    out: dict[str, dict[str, str]] = {}
    for dim, labels in parsed.code_labels.items():
        if any(True for c in labels if "_" in c):
            out[dim] = {}
            for code, label in labels.items():
                out[dim].setdefault(split_code(code, codelists.get(dim))[0], label)
        else:
            out[dim] = dict(labels)
    return out


def reference_period(cells: pl.DataFrame, time_dims: list[str]) -> str:
    for dim in time_dims:
        if dim in cells.columns:
            periods = sorted(cells[dim].unique().drop_nulls().to_list())
            if not periods:
                return ""
            if len(periods) <= 3:
                return ",".join(periods)
            return f"{periods[0]}..{periods[-1]}"
    return ""


def guess_time_dims(dims: list[str]) -> list[str]:
    return [d for d in dims if d in TIME_DIM_NAMES]


_NAME_RE = re.compile(r"[^a-z0-9_]+")


def default_name(text: str) -> str:
    """A raw table name from a table id or file stem: lower case, [a-z0-9_]."""
    name = _NAME_RE.sub("_", text.lower()).strip("_")
    return name or "pxweb_table"


def to_raw_table(
    parsed: Parsed,
    *,
    name: str | None = None,
    source: str,
    query: dict | str | None = None,
    codelists: dict[str, str] | None = None,
    source_table: str | None = None,
    fetched_at: str | None = None,
    extra_notes: list[str] | None = None,
) -> RawTable:
    cells = normalise_cells(parsed, codelists)
    versions = sorted(v for v in cells[BOUNDARY_VERSION].unique().to_list() if v)
    time_dims = parsed.time_dims or guess_time_dims(parsed.dims)
    notes = list(parsed.notes)
    for dim, title in parsed.dim_titles.items():
        notes.append(f"dimension {dim}: {title}")
    notes.extend(extra_notes or [])
    table_id = source_table if source_table is not None else parsed.table_id
    prov = Provenance(
        source=source,
        source_table=table_id,
        title=parsed.title,
        reference_year=reference_period(cells, time_dims),
        boundary_version=",".join(versions),
        updated=parsed.updated,
        fetched_at=fetched_at or now_utc(),
        query=query,
        dimension_labels=_normalised_labels(parsed, codelists),
        notes=notes,
    )
    return RawTable(name=name or default_name(table_id or "pxweb_table"), provenance=prov, cells=cells)


def values_and_status(raw: pl.Series, *, decimal_comma: bool = False) -> tuple[pl.Series, pl.Series]:
    """Text cells -> (Float64 value, status). Numbers are delivered; anything else is SCB's marker."""
    text = raw.cast(pl.String).str.strip_chars()
    cleaned = text.str.replace_all(r"[\s\u00a0]", "")
    if decimal_comma:
        cleaned = cleaned.str.replace(",", ".", literal=True)
    value = cleaned.cast(pl.Float64, strict=False)
    # "nan"/"inf" are text to us, not numbers
    value = pl.select(
        pl.when(cleaned.str.contains(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")).then(value).otherwise(None)
    ).to_series()
    status = pl.select(
        pl.when(value.is_not_null())
        .then(pl.lit(""))
        .when(text.is_null() | (text == ""))
        .then(pl.lit(MISSING_NO_MARKER))
        .otherwise(text)
    ).to_series()
    return value.alias(VALUE), status.alias(STATUS)
