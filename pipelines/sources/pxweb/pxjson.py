"""PxWeb API v1 `"format":"json"` -> `Parsed`.

Shape: `{"columns":[{code,text,type:"d"|"t"|"c"}], "comments":[], "data":[{"key":[...],"values":[...]}],
"metadata":[{infofile,updated,label,source}]}`. `key` holds the d/t codes in column order; `values` holds one
string per `c` (content) column, so a table with several contents gives one row per content, told apart by
a `ContentsCode` dimension (always added, so v1 json and JSON-stat2 output of one query have the same
dimensions). Values are strings; anything that is not a number (e.g. "..", "-") is kept as the status.
"""

from __future__ import annotations

import polars as pl

from pipelines.raw import STATUS, VALUE

from .errors import FormatError, TruncatedResponseError
from .jsonstat import loads
from .parsed import Parsed, values_and_status

CONTENTS = "ContentsCode"


def parse_px_json_v1(doc: dict | bytes | str, *, what: str = "PxWeb v1 json response") -> Parsed:
    if not isinstance(doc, dict):
        doc = loads(doc, what=what)
    columns = doc.get("columns")
    data = doc.get("data")
    if not isinstance(columns, list) or not isinstance(data, list):
        raise FormatError(f"{what}: no 'columns'/'data' lists")
    key_cols = [c for c in columns if c.get("type") in ("d", "t")]
    content_cols = [c for c in columns if c.get("type") == "c"]
    if not content_cols:
        raise FormatError(f"{what}: no content ('c') column")
    key_codes = [str(c["code"]) for c in key_cols]
    if CONTENTS in key_codes:
        raise FormatError(f"{what}: a key column is already called {CONTENTS}")
    content_codes = [str(c["code"]) for c in content_cols]
    nk, nc = len(key_codes), len(content_codes)

    if data:
        frame = pl.DataFrame(
            {
                "key": pl.Series([r.get("key") for r in data], dtype=pl.List(pl.String)),
                "values": pl.Series([r.get("values") for r in data], dtype=pl.List(pl.String)),
            }
        )
    else:
        frame = pl.DataFrame(schema={"key": pl.List(pl.String), "values": pl.List(pl.String)})
    bad_keys = frame.filter(pl.col("key").list.len().fill_null(-1) != nk)
    if bad_keys.height:
        raise TruncatedResponseError(
            f"{what}: {bad_keys.height} row(s) with a key of the wrong length (expected {nk}: {key_codes})"
        )
    bad_vals = frame.filter(pl.col("values").list.len().fill_null(-1) != nc)
    if bad_vals.height:
        raise TruncatedResponseError(f"{what}: {bad_vals.height} row(s) without {nc} value(s)")

    keys = frame.select([pl.col("key").list.get(i).alias(code) for i, code in enumerate(key_codes)])
    parts = []
    for j, ccode in enumerate(content_codes):
        raw = frame["values"].list.get(j)
        value, status = values_and_status(raw)
        parts.append(keys.with_columns(pl.lit(ccode, dtype=pl.String).alias(CONTENTS), value, status))
    cells = pl.concat(parts) if parts else pl.DataFrame()
    cells = cells.select([*key_codes, CONTENTS, VALUE, STATUS])

    meta = (doc.get("metadata") or [{}])[0] or {}
    notes = [str(c.get("comment") if isinstance(c, dict) else c) for c in (doc.get("comments") or [])]
    for c in columns:
        if c.get("comment"):
            notes.append(f"{c['code']}: {c['comment']}")
    if meta.get("infofile"):
        notes.append(f"infofile {meta['infofile']}")
    if meta.get("source"):
        notes.append(f"source {meta['source']}")
    dim_titles = {str(c["code"]): str(c.get("text", c["code"])) for c in key_cols}
    dim_titles[CONTENTS] = "tabellinnehåll"
    code_labels = {CONTENTS: {str(c["code"]): str(c.get("text", c["code"])) for c in content_cols}}
    return Parsed(
        format="px-json-v1",
        dims=[*key_codes, CONTENTS],
        cells=cells,
        dim_titles=dim_titles,
        code_labels=code_labels,
        categories={CONTENTS: content_codes},
        title=str(meta.get("label", "")),
        updated=str(meta.get("updated", "") or ""),
        table_id="",
        time_dims=[str(c["code"]) for c in key_cols if c.get("type") == "t"],
        notes=notes,
    )
