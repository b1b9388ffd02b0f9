"""Format detection and the one entry point for files: `parse_file(path) -> RawTable`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pipelines.raw import RawTable

from .csvfmt import parse_csv
from .errors import FormatError
from .jsonstat import loads, parse_jsonstat2
from .parsed import Parsed, default_name, to_raw_table
from .pxjson import parse_px_json_v1

Format = Literal["json-stat2", "px-json-v1", "csv"]
_HEAD = 65536


def _strip_bom(data: bytes) -> bytes:
    return data[3:] if data.startswith(b"\xef\xbb\xbf") else data


def detect_format(data: bytes) -> Format:
    """"json-stat2" (also JSON-stat 1.x bundles), "px-json-v1" (v1 `json`) or "csv", from the content alone."""
    body = _strip_bom(data).lstrip()
    if not body:
        raise FormatError("empty file")
    if body[:1] == b"{":
        head = body[:_HEAD]
        if re.search(rb'"columns"\s*:', head) and re.search(rb'"data"\s*:', head):
            return "px-json-v1"
        if re.search(rb'"class"\s*:\s*"dataset"', head) or (
            re.search(rb'"dimension"\s*:', head) and re.search(rb'"(id|size|value)"\s*:', head)
        ):
            return "json-stat2"
        doc = loads(body, what="file")  # key order unusual: look at the whole document
        if "columns" in doc and "data" in doc:
            return "px-json-v1"
        if ("id" in doc and "size" in doc) or isinstance(doc.get("dataset"), dict):
            return "json-stat2"
        raise FormatError(f"JSON that is neither JSON-stat2 nor PxWeb v1 json (keys {sorted(doc)[:10]})")
    if body[:1] == b"[":
        raise FormatError("a JSON array is not a PxWeb table")
    if body.startswith(b"PK\x03\x04"):
        raise FormatError("an xlsx/zip file: download the table as CSV or JSON-stat2 instead")
    if re.match(rb"^(CHARSET|AXIS-VERSION|CODEPAGE|LANGUAGE)\s*=", body[:200]):
        raise FormatError("a PC-Axis (.px) file is not supported: download CSV or JSON-stat2 instead")
    if body[:1] == b"<":
        raise FormatError("an HTML/XML file is not a PxWeb table")
    return "csv"


def parse_bytes(data: bytes, *, codelists: dict[str, str] | None = None, what: str = "file") -> Parsed:
    fmt = detect_format(data)
    if fmt == "json-stat2":
        return parse_jsonstat2(loads(_strip_bom(data), what=what), codelists=codelists, what=what)
    if fmt == "px-json-v1":
        return parse_px_json_v1(loads(_strip_bom(data), what=what), what=what)
    return parse_csv(data, what=what)


def source_for(parsed: Parsed) -> str:
    return {"px-json-v1": "file:scb-pxweb-v1-json", "json-stat2": "file:json-stat2"}.get(parsed.format, "file:csv")


def parse_file(
    path: str | Path,
    *,
    name: str | None = None,
    codelists: dict[str, str] | None = None,
    source_table: str | None = None,
) -> RawTable:
    """Read a PxWeb file (format detected) into a RawTable. Provenance.query is the original file name."""
    path = Path(path)
    parsed = parse_bytes(path.read_bytes(), codelists=codelists, what=str(path.name))
    table_id = source_table if source_table is not None else (parsed.table_id or "")
    if parsed.format == "grannskap-long-csv":
        parsed.notes.append("re-imported from a Grannskap long CSV; provenance of the original is not in the file")
    return to_raw_table(
        parsed,
        name=name or default_name(table_id or path.stem),
        source=source_for(parsed),
        query=path.name,
        codelists=codelists,
        source_table=table_id,
    )
