"""PxWeb CSV (API v2 `outputFormat=csv`, v1 `csv`, the web's and the bulk files' CSV) -> `Parsed`.

PxWeb writes a *wide* table: the stub variables as leading columns, then one column per combination of the
heading variables (by default ContentsCode and Tid), whose header joins their codes or texts with a space:

    "Region","Alder","Kon","000007Y7 2024"          (v2 csv, UseCodes: the default)
    "region","ålder","kön","Folkmängd 2024"          (texts: v1 csv, UseTexts, the web's downloads)

Detected: encoding (UTF-8 with or without BOM, UTF-16 with BOM, else Windows-1252), separator (comma,
semicolon, tab; space as a last resort), decimal comma (with a non-comma separator), title lines above the
header and footnote lines below the data (kept as notes), and the header style (codes or texts).

Stub vs value columns: reading left to right, a column belongs to the stub while any of its cells is not a
number or an SCB marker, or while its header is a plain identifier (`Tid`, `Kon`) that is not the last
column; the rest are value columns. The value headers are split into the heading variables: a trailing
period (`2024`, `2024M01`, `2024K1`) becomes `Tid`, the rest `ContentsCode`. Pass `heading=[...]` to name
the heading variables explicitly when the guess is wrong.

Grannskap's own long CSV (`grannskap import --out`: dimension columns, then `value`, `status`) is
recognised by its last two headers and read back as is.
"""

from __future__ import annotations

import csv
import io
import re

import polars as pl

from pipelines.raw import STATUS, VALUE

from .errors import FormatError
from .parsed import BOUNDARY_VERSION, MISSING_NO_MARKER, Parsed, values_and_status

NUMBER_RE = re.compile(r"^[+-]?\d[\d \u00a0]*([.,]\d+)?([eE][+-]?\d+)?$|^[+-]?[.,]\d+$")
MARKER_RE = re.compile(r"^[^\w\s]{0,4}$|^\.\.[A-Za-z]?$")  # "", ".", "..", "...", "-", "–", "..C"
IDENT_RE = re.compile(r"^[^\W\d]\w*$")
ASCII_IDENT_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
PERIOD_RE = re.compile(r"^\d{4}([MKQHVWU]\d{1,2}|M\d{2}D\d{2}|-\d{2})?$")
CONTENTS_CODE_RE = re.compile(r"^\d{6}[0-9A-Z]{2}$")


def decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "windows-1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def _count_outside_quotes(line: str, ch: str) -> int:
    n, inside = 0, False
    for c in line:
        if c == '"':
            inside = not inside
        elif c == ch and not inside:
            n += 1
    return n


def sniff_separator(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()][:20]
    if not lines:
        raise FormatError("empty CSV")
    best, best_score = None, 0
    for sep in (",", ";", "\t"):
        counts = [_count_outside_quotes(ln, sep) for ln in lines]
        # the separator of the table is the one most lines agree on (title/footnote lines may differ)
        common = max(set(counts), key=lambda k: (counts.count(k), k))
        score = common * counts.count(common)
        if common > 0 and score > best_score:
            best, best_score = sep, score
    if best is None:
        if any(_count_outside_quotes(ln, " ") for ln in lines):
            return " "
        raise FormatError("cannot find the CSV separator (no comma, semicolon or tab)")
    return best


def _is_valueish(cell: str) -> bool:
    cell = cell.strip()
    return bool(NUMBER_RE.match(cell) or MARKER_RE.match(cell))


def _split_rows(rows: list[list[str]]) -> tuple[list[str], list[list[str]], list[str], list[str]]:
    """-> header, data rows, title lines above the header, footnote lines below the data."""
    notes: list[str] = []
    start = None
    for i, row in enumerate(rows):
        if len(row) >= 2 and i + 1 < len(rows) and len(rows[i + 1]) == len(row):
            start = i
            break
        if any(c.strip() for c in row):
            notes.append(" ".join(c for c in row if c.strip()))
    if start is None:
        if rows and len(rows[0]) >= 2:  # a header without data
            return rows[0], [], notes, []
        raise FormatError("no table header found in CSV")
    header = rows[start]
    width = len(header)
    data, footer = [], []
    for row in rows[start + 1 :]:
        if len(row) == width and not footer:
            data.append(row)
        elif any(c.strip() for c in row):
            footer.append(" ".join(c for c in row if c.strip()))
    return header, data, notes, footer


def _classify(header: list[str], data: list[list[str]]) -> int:
    """Number of stub columns."""
    ncols = len(header)
    for i in range(ncols):
        col = [r[i] for r in data]
        name = header[i].strip()
        if any(not _is_valueish(c) for c in col):
            continue
        if (
            i < ncols - 1
            and IDENT_RE.match(name)
            and not PERIOD_RE.match(name)
            and not CONTENTS_CODE_RE.match(name)
        ):
            continue
        return i
    raise FormatError(f"CSV has no value column (every column holds text): {header}")


def _split_heading(headers: list[str], heading: list[str] | None) -> tuple[list[str], list[list[str]]]:
    if heading:
        k = len(heading)
        parts = []
        for h in headers:
            p = h.strip().rsplit(" ", k - 1) if k > 1 else [h.strip()]
            if len(p) != k:
                raise FormatError(f"value column {h!r} does not split into {k} heading values {heading}")
            parts.append(p)
        return list(heading), parts
    split = [h.strip().rsplit(" ", 1) for h in headers]
    if all(len(p) == 2 and PERIOD_RE.match(p[1]) for p in split):
        return ["ContentsCode", "Tid"], split
    if all(PERIOD_RE.match(h.strip()) for h in headers):
        return ["Tid"], [[h.strip()] for h in headers]
    return ["ContentsCode"], [[h.strip()] for h in headers]


def _read_long(header: list[str], data: list[list[str]], notes: list[str], sep: str) -> Parsed:
    dims = [h for h in header[:-2] if h != BOUNDARY_VERSION]
    cols = list(zip(*data)) if data else [[] for _ in header]
    frame = pl.DataFrame({h: pl.Series(h, list(c), dtype=pl.String) for h, c in zip(header, cols)})
    value = frame[VALUE].str.strip_chars().replace("", None).cast(pl.Float64, strict=False)
    bad = frame.filter(value.is_null() & frame[VALUE].str.strip_chars().ne(""))
    if bad.height:
        raise FormatError(f"long CSV: {bad.height} non-numeric value(s), e.g. {bad.row(0)}")
    status = frame[STATUS].fill_null("")
    status = pl.select(
        pl.when(value.is_not_null())
        .then(pl.lit(""))
        .when(status == "")
        .then(pl.lit(MISSING_NO_MARKER))
        .otherwise(status)
    ).to_series()
    cells = frame.with_columns(value.alias(VALUE), status.alias(STATUS))
    has_bv = BOUNDARY_VERSION in header
    cells = cells.select([*dims, *([BOUNDARY_VERSION] if has_bv else []), VALUE, STATUS])
    return Parsed(
        format="grannskap-long-csv",
        dims=dims,
        cells=cells,
        notes=notes + ["Grannskap long CSV"],
        normalised=has_bv,
    )


def parse_csv(data: bytes | str, *, heading: list[str] | None = None, what: str = "CSV") -> Parsed:
    if isinstance(data, bytes | bytearray):
        text, encoding = decode(bytes(data))
    else:
        text, encoding = data.lstrip("\ufeff"), "text"
    sep = sniff_separator(text)
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=sep, quotechar='"', skipinitialspace=sep == " "))
    header, data_rows, above, below = _split_rows(rows)
    notes = above + below
    header = [h.strip() for h in header]
    if len(set(header)) != len(header):
        raise FormatError(f"{what}: duplicate column names in header {header}")
    if [h.lower() for h in header[-2:]] == [VALUE, STATUS]:
        return _read_long(header, data_rows, notes, sep)

    nstub = _classify(header, data_rows) if data_rows else len(header) - 1
    stub, value_headers = header[:nstub], header[nstub:]
    style = "codes" if all(ASCII_IDENT_RE.match(h) for h in stub) else "texts"
    heading_dims, heading_parts = _split_heading(value_headers, heading)
    clash = set(heading_dims) & set(stub)
    if clash:
        raise FormatError(f"{what}: heading variable(s) {sorted(clash)} also in the stub; pass heading=[...]")
    value_cells = [c for r in data_rows for c in r[nstub:]]
    decimal_comma = sep != "," and any(re.match(r"^[+-]?\d[\d \u00a0]*,\d+$", c.strip()) for c in value_cells)

    cols = list(zip(*data_rows)) if data_rows else [() for _ in header]
    wide = pl.DataFrame({h: pl.Series(h, list(c), dtype=pl.String) for h, c in zip(header, cols)})
    long = wide.unpivot(index=stub, on=value_headers, variable_name="__heading", value_name="__cell")
    mapping = pl.DataFrame(
        {"__heading": value_headers, **{d: [p[i] for p in heading_parts] for i, d in enumerate(heading_dims)}},
        schema={"__heading": pl.String, **{d: pl.String for d in heading_dims}},
    )
    long = long.join(mapping, on="__heading", how="left", maintain_order="left")
    value, status = values_and_status(long["__cell"], decimal_comma=decimal_comma)
    dims = [*stub, *heading_dims]
    cells = long.select(dims).with_columns(value, status)
    notes = [
        f"CSV: encoding {encoding}, separator {sep!r}, header style {style}, "
        f"stub {stub}, heading {heading_dims}{', decimal comma' if decimal_comma else ''}",
        *notes,
    ]
    return Parsed(
        format="csv",
        dims=dims,
        cells=cells,
        dim_titles={},
        code_labels={},
        title=above[0] if above else "",
        time_dims=[d for d in dims if d in ("Tid", "år", "tid")],
        notes=notes,
    )
