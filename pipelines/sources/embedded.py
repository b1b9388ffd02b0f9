"""The embedded snapshot: wide CSV exports from SCB's Statistikdatabasen -> raw layer cells.

The exports are real and dirty (a BOM, empty trailing columns, SCB footnotes and "#ERROR!"
lines under the data). Everything here is deliberate: a data line must have the header's
field count or the file is rejected as truncated; SCB's markers ("..", ".", "-") become a
null value with that marker as status; the footer (from the first line that carries no
values onwards) is dropped and counted; the checksum in snapshot.yaml is checked so that a
changed file is noticed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import yaml

from pipelines.raw import DELIVERED, Provenance, RawFormatError, RawTable, now_utc

log = logging.getLogger(__name__)

# SCB's markers for a value that is not delivered (suppressed, missing, not applicable).
SCB_MARKERS = {"..", "...", ".", "-", "#ERROR!"}
_UPDATED = re.compile(r"^(\d{4})(\d{2})(\d{2}) (\d{2}:\d{2})$")


@dataclass(frozen=True)
class LandingReport:
    """What the parser did with the lines of one file, for the asset's metadata and the log."""

    data_lines: int
    footer_lines_dropped: int
    blank_lines_dropped: int
    updated: str


def load_snapshot_spec(snapshot_dir: Path) -> dict:
    return yaml.safe_load((snapshot_dir / "snapshot.yaml").read_text(encoding="utf-8"))


def _read_text(path: Path, expected_sha256: str | None, verify: bool) -> str:
    data = path.read_bytes()
    if verify and expected_sha256 and hashlib.sha256(data).hexdigest() != expected_sha256:
        log.warning("%s differs from the checksum recorded in snapshot.yaml (edited or replaced file)", path.name)
    return data.decode("utf-8-sig")


def _code_and_label(mapping) -> tuple[str, str]:
    if isinstance(mapping, dict):
        return str(mapping["code"]), str(mapping.get("label", mapping["code"]))
    return str(mapping), str(mapping)


def _parse_value(text: str) -> tuple[float | None, str]:
    text = text.strip()
    if text in SCB_MARKERS:
        return None, text
    if text == "":
        return None, "missing"
    try:
        return float(text.replace("\u2009", "").replace(" ", "")), DELIVERED
    except ValueError:
        return None, f"unparseable:{text}"


def _footer_updated(lines: list[list[str]]) -> str:
    """SCB's footer has 'Senaste uppdatering:' followed by stamps like '20240123 08:00'."""
    for row in lines:
        m = _UPDATED.match(row[0].strip()) if row else None
        if m:
            return f"{m.group(1)}-{m.group(2)}-{m.group(3)}T{m.group(4)}"
    return ""


def parse_wide_export(name: str, text: str, spec: dict, year: str, boundary: str) -> tuple[pl.DataFrame, LandingReport]:
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    wanted = spec["columns"]
    region_col = spec["region_column"]
    try:
        region_idx = header.index(region_col)
        idx = {col: header.index(col) for col in wanted}
    except ValueError as exc:
        raise RawFormatError(f"raw table {name}: the export's header {header} lacks a column: {exc}") from exc

    width = max(idx.values()) + 1
    records: list[tuple] = []
    footer_start = None
    blank = 0
    for lineno, row in enumerate(rows[1:], start=2):
        values = [row[i] if i < len(row) else None for i in idx.values()]
        if not any(v not in (None, "") for v in values):
            if not any(c.strip() for c in row):
                blank += 1
                continue
            if spec.get("has_footer"):
                footer_start = lineno
                break
        if len(row) < width:
            raise RawFormatError(
                f"raw table {name}: line {lineno} has {len(row)} fields, the header has {len(header)}"
                f" — the file looks truncated (region {row[0] if row else '?'!r})"
            )
        if len(row) > len(header):
            raise RawFormatError(
                f"raw table {name}: line {lineno} has {len(row)} fields, the header has {len(header)}"
                f" — two lines run together? (region {row[0]!r})"
            )
        region = row[region_idx].strip()
        for col, raw_value in zip(idx, values):
            code, _ = _code_and_label(wanted[col])
            value, status = _parse_value(raw_value)
            records.append((region, code, value, status))

    footer = rows[footer_start - 1 :] if footer_start else []
    footer_lines = sum(1 for r in footer if any(c.strip() for c in r))
    if footer_lines:
        log.info("raw table %s: dropped %d footer line(s) of SCB notes below the data", name, footer_lines)
    dim = spec["melt_to"]
    cells = pl.DataFrame(
        records,
        schema={"Region": pl.String, dim: pl.String, "value": pl.Float64, "status": pl.String},
        orient="row",
    )
    cells = cells.with_columns(
        *[pl.lit(v, pl.String).alias(k) for k, v in (spec.get("fixed") or {}).items()],
        pl.lit(year, pl.String).alias("Tid"),
        pl.lit(boundary, pl.String).alias("boundary_version"),
    )
    dims = ["Region", dim, *(spec.get("fixed") or {}).keys(), "Tid", "boundary_version"]
    report = LandingReport(
        data_lines=len(records) // max(len(wanted), 1),
        footer_lines_dropped=footer_lines,
        blank_lines_dropped=blank,
        updated=_footer_updated(footer),
    )
    return cells.select(*dims, "value", "status"), report


def parse_classification(name: str, text: str, spec: dict, boundary: str) -> tuple[pl.DataFrame, LandingReport]:
    cls = spec["classification"]
    rows = list(csv.reader(io.StringIO(text), delimiter=cls["separator"]))
    header = rows[0]
    idx = {header.index(col): code for col, code in cls["columns"].items()}
    records, blank = [], 0
    for lineno, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            blank += 1
            continue
        if len(row) < len(header):
            raise RawFormatError(f"raw table {name}: line {lineno} has {len(row)} fields, the header has {len(header)}")
        records.append(tuple(row[i] for i in idx))  # as delivered: names keep their trailing spaces
    cells = pl.DataFrame(records, schema={code: pl.String for code in idx.values()}, orient="row")
    cells = cells.with_columns(
        pl.lit(boundary, pl.String).alias("boundary_version"),
        pl.lit(1.0).alias("value"),
        pl.lit(DELIVERED).alias("status"),
    )
    return cells, LandingReport(len(records), 0, blank, "")


def land_embedded_table(snapshot_dir: Path, name: str, verify_checksum: bool = True) -> tuple[RawTable, LandingReport]:
    """Read one table of the embedded snapshot into the raw layer's shape (not yet written)."""
    snapshot = load_snapshot_spec(snapshot_dir)
    spec = snapshot["tables"][name]
    path = snapshot_dir / spec["file"]
    text = _read_text(path, spec.get("sha256"), verify_checksum)
    boundary = spec.get("boundary_version", snapshot["boundary_version"])
    if "classification" in spec:
        cells, report = parse_classification(name, text, spec, boundary)
        labels: dict = {}
    else:
        cells, report = parse_wide_export(name, text, spec, snapshot["year"], boundary)
        labels = {spec["melt_to"]: dict(_code_and_label(m) for m in spec["columns"].values())}
    provenance = Provenance(
        source=f"embedded:{snapshot['snapshot']}",
        source_table=spec["source_table"],
        title=spec["title"],
        reference_year=snapshot["year"],
        boundary_version=boundary,
        updated=report.updated,
        fetched_at=now_utc(),
        query=spec["file"],
        dimension_labels=labels,
        notes=[
            f"{report.data_lines} data line(s) read",
            f"{report.footer_lines_dropped} footer line(s) of SCB notes dropped",
            f"{report.blank_lines_dropped} blank line(s) dropped",
        ],
    )
    return RawTable(name=name, provenance=provenance, cells=cells), report


def embedded_table_names(snapshot_dir: Path) -> list[str]:
    return list(load_snapshot_spec(snapshot_dir)["tables"])
