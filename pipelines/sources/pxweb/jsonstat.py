"""JSON-stat 2.0 (PxWeb API v2 and v1 `json-stat2` output) -> `Parsed`, vectorised.

`value` is a flat row-major array over `id`/`size` (the last dimension varies fastest). Instead of looping
over cells, each dimension's position for every cell is built with numpy
(`tile(repeat(arange(size), stride), outer)`), and the (few, already normalised) category codes are
gathered by those positions in polars. Values are converted in one `polars.Series(..., Float64)` call
(JSON null -> null). Sparse `value` / `status` objects ({"index": x}) are supported, as is the JSON-stat
1.x `{"dataset": {...}}` wrapper of the old v1 `json-stat` format.
"""

from __future__ import annotations

import json
from math import prod

import numpy as np
import polars as pl

from pipelines.raw import STATUS, VALUE

from .codes import is_region_dimension, normalise_codes
from .errors import FormatError, TruncatedResponseError
from .parsed import BOUNDARY_VERSION, MISSING_NO_MARKER, Parsed


def loads(data: bytes | str, *, what: str = "response") -> dict:
    try:
        doc = json.loads(data)
    except json.JSONDecodeError as exc:
        text = data if isinstance(data, str) else data[:200].decode("utf-8", "replace")
        if isinstance(data, bytes | bytearray) and not data.strip():
            raise TruncatedResponseError(f"{what}: empty body") from exc
        raise TruncatedResponseError(
            f"{what}: invalid or truncated JSON at char {exc.pos} of {len(data)} ({exc.msg}); starts {text[:80]!r}"
        ) from exc
    if not isinstance(doc, dict):
        raise FormatError(f"{what}: expected a JSON object, got {type(doc).__name__}")
    return doc


def _unwrap(doc: dict) -> tuple[dict, list[str], list[int], dict]:
    """-> (dataset, ids, sizes, roles) for JSON-stat 2.0 or a 1.x {"dataset": ...} bundle."""
    if "id" in doc and "size" in doc:
        return doc, list(doc["id"]), [int(s) for s in doc["size"]], doc.get("role") or {}
    if "dataset" in doc and isinstance(doc["dataset"], dict):
        ds = doc["dataset"]
        dim = ds.get("dimension") or {}
        if "id" in dim and "size" in dim:
            return ds, list(dim["id"]), [int(s) for s in dim["size"]], dim.get("role") or {}
    raise FormatError("not a JSON-stat dataset: no 'id'/'size'")


def category_codes(dim_doc: dict, size: int | None = None, dim: str = "?") -> list[str]:
    cat = dim_doc.get("category") or {}
    index = cat.get("index")
    if index is None:
        codes = list((cat.get("label") or {}).keys())
    elif isinstance(index, list):
        codes = [str(c) for c in index]
    else:
        codes = [""] * len(index)
        for code, pos in index.items():
            if not 0 <= pos < len(index):
                raise FormatError(f"dimension {dim}: category index {pos} out of range")
            codes[pos] = str(code)
    if size is not None and len(codes) != size:
        raise FormatError(f"dimension {dim}: {len(codes)} categories but size says {size}")
    return codes


def _sparse_positions(obj: dict, n: int, what: str) -> tuple[np.ndarray, list]:
    pos = np.fromiter((int(k) for k in obj.keys()), dtype=np.int64, count=len(obj))
    if len(pos) and (pos.min() < 0 or pos.max() >= n):
        raise FormatError(f"{what} index out of range 0..{n - 1}")
    return pos, list(obj.values())


def parse_jsonstat2(
    doc: dict | bytes | str,
    *,
    codelists: dict[str, str] | None = None,
    what: str = "JSON-stat2 response",
) -> Parsed:
    if not isinstance(doc, dict):
        doc = loads(doc, what=what)
    ds, ids, sizes, roles = _unwrap(doc)
    codelists = codelists or {}
    if len(ids) != len(sizes):
        raise FormatError(f"{what}: {len(ids)} ids but {len(sizes)} sizes")
    dims_doc = ds.get("dimension") or {}
    n = prod(sizes) if sizes else 0

    # values
    raw_values = ds.get("value")
    if raw_values is None:
        raise TruncatedResponseError(f"{what}: no 'value' array")
    if isinstance(raw_values, dict):
        values = np.full(n, np.nan)
        pos, vals = _sparse_positions(raw_values, n, f"{what}: value")
        if len(pos):
            values[pos] = np.array(vals, dtype=np.float64)
    else:
        if len(raw_values) != n:
            raise TruncatedResponseError(
                f"{what}: {len(raw_values)} values but the dimensions give {n} cells (truncated response?)"
            )
        try:  # JSON null -> polars null, in one pass in Rust
            value = pl.Series(VALUE, raw_values, dtype=pl.Float64)
        except (TypeError, ValueError, pl.exceptions.PolarsError):  # numbers delivered as strings
            value = pl.Series(VALUE, [None if v is None else str(v) for v in raw_values], dtype=pl.String)
            value = value.str.strip_chars().cast(pl.Float64, strict=False)
    if isinstance(raw_values, dict):
        value = pl.Series(VALUE, values, dtype=pl.Float64, nan_to_null=True)
    missing = value.is_null().to_numpy()

    # status: SCB's markers, at the positions they were given (usually a sparse {"index": ".."} object)
    raw_status = ds.get("status")
    if isinstance(raw_status, str):
        raw_status = [raw_status] * n if raw_status else None
    elif isinstance(raw_status, list) and len(raw_status) == 1 and n != 1:
        raw_status = raw_status * n
    if isinstance(raw_status, list):
        if len(raw_status) != n:
            raise TruncatedResponseError(f"{what}: {len(raw_status)} statuses for {n} cells")
        st = pl.Series(raw_status, dtype=pl.String)
        marked = (st.is_not_null() & (st != "")).to_numpy()
        marker_pos = np.flatnonzero(marked)
        markers = st.filter(pl.Series(marked)).to_list()
    elif isinstance(raw_status, dict) and raw_status:
        marker_pos, markers = _sparse_positions(raw_status, n, f"{what}: status")
        markers = ["" if m is None else str(m) for m in markers]
        keep = np.array([m != "" for m in markers], dtype=bool)
        marker_pos = marker_pos[keep]
        markers = [m for m, k in zip(markers, keep) if k]
    else:
        marker_pos, markers = np.zeros(0, dtype=np.int64), []
    # dimensions: normalise the (few) category codes first, then gather them by cell position
    columns: list[pl.Series] = []
    categories: dict[str, list[str]] = {}
    code_labels: dict[str, dict[str, str]] = {}
    dim_titles: dict[str, str] = {}
    notes: list[str] = []
    version_col: pl.Series | None = None
    version_found = False
    stride = n
    for dim, size in zip(ids, sizes):
        d = dims_doc.get(dim)
        if d is None:
            raise FormatError(f"{what}: dimension {dim} listed in 'id' but not described")
        codes = category_codes(d, size, dim)
        categories[dim] = codes
        labels = (d.get("category") or {}).get("label") or {}
        code_labels[dim] = {c: str(labels.get(c, c)) for c in codes}
        dim_titles[dim] = str(d.get("label", dim))
        for code, unit in ((d.get("category") or {}).get("unit") or {}).items():
            if isinstance(unit, dict):
                notes.append(
                    f"{dim} {code}: unit {unit.get('base', '')!s}, decimals {unit.get('decimals', '')!s}".strip()
                )
        outer = n // (stride or 1) if stride else 0
        stride //= max(size, 1)
        if size > 1 and n:
            idx = np.tile(np.repeat(np.arange(size, dtype=np.uint32), stride), outer)
        else:
            idx = np.zeros(n, dtype=np.uint32)
        idx_s = pl.Series(idx)
        if is_region_dimension(dim, codes, codelists.get(dim)):
            plain, versions = normalise_codes(codes, codelists.get(dim))
            columns.append(pl.Series(dim, plain, dtype=pl.String).gather(idx_s))
            # the first region dimension that carries versions supplies boundary_version
            if version_col is None or (not version_found and any(versions)):
                version_col = pl.Series(BOUNDARY_VERSION, versions, dtype=pl.String).gather(idx_s)
                version_found = any(versions)
        else:
            columns.append(pl.Series(dim, codes, dtype=pl.String).gather(idx_s))
    if version_col is None:
        version_col = pl.repeat("", n, dtype=pl.String, eager=True).alias(BOUNDARY_VERSION)

    # raw-layer status: a delivered value has status ""; a missing value always has a marker
    notes_flagged = []
    if len(marker_pos):
        on_delivered = ~missing[marker_pos]
        if on_delivered.any():
            flagged = sorted({m for m, f in zip(markers, on_delivered) if f})
            notes_flagged.append(
                f"{int(on_delivered.sum())} delivered value(s) carried status marker(s) {flagged}; "
                "kept the value, status ''"
            )
            marker_pos = marker_pos[~on_delivered]
            markers = [m for m, f in zip(markers, on_delivered) if not f]
    if missing.any():
        status = pl.Series(["", MISSING_NO_MARKER], dtype=pl.String).gather(pl.Series(missing.astype(np.uint32)))
        if len(marker_pos):
            status = status.scatter(marker_pos, pl.Series(markers, dtype=pl.String))
    else:
        status = pl.repeat("", n, dtype=pl.String, eager=True)
    status = status.alias(STATUS)
    notes.extend(notes_flagged)

    cells = pl.DataFrame([*columns, version_col.alias(BOUNDARY_VERSION), value, status])
    for note in ds.get("note") or []:
        notes.append(str(note))
    px = ((ds.get("extension") or {}).get("px")) or {}
    time_dims = [t for t in (roles.get("time") or []) if t in ids]
    return Parsed(
        format="json-stat2",
        dims=ids,
        cells=cells,
        dim_titles=dim_titles,
        code_labels=code_labels,
        categories=categories,
        title=str(ds.get("label", "")),
        updated=str(ds.get("updated", "") or ""),
        table_id=str(px.get("tableid") or px.get("matrix") or ""),
        time_dims=time_dims,
        notes=notes,
        normalised=True,
    )
