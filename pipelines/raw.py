"""The raw layer: source tables exactly as delivered, one row per cell, with provenance.

Every source (the embedded SCB snapshot, a live PxWeb fetch, a hand-downloaded file) ends
in the same shape, written by `write_raw_table`, so that from raw onwards there is one
code path:

    data/raw/<name>/cells.parquet   one column per dimension code (strings, e.g. Region,
                                    Alder, Tid, ContentsCode), then `value` (float, null
                                    when not delivered) and `status` ("" for a delivered
                                    value; SCB's marker such as ".." otherwise, never 0)
    data/raw/<name>/manifest.json   provenance: source, source table, query, SCB's
                                    `updated` stamp, fetch time, boundary version,
                                    dimension labels, row count and checksum

A snapshot is written to a temporary directory and renamed into place, so a failed or
interrupted write never leaves a half-written raw table behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

VALUE = "value"
STATUS = "status"
DELIVERED = ""  # status of a cell that carries a value


@dataclass(frozen=True)
class Provenance:
    """Where a raw table came from. Kept next to the cells and copied into the published meta tables."""

    source: str  # e.g. "scb-pxweb-v2", "scb-pxweb-v1", "embedded:scb-deso-2022-nationwide"
    source_table: str  # SCB's table id or path, e.g. "TAB6574" or "BE/BE0101/BE0101Y/FolkmDesoAldKon"
    title: str
    reference_year: str  # the statistics' reference period(s), e.g. "2022"
    boundary_version: str  # "DeSO2018", "DeSO2025", "RegSO2020", "RegSO2025" or "" when not areal
    updated: str = ""  # SCB's own `updated` / "Senaste uppdatering" stamp, ISO 8601 when known
    fetched_at: str = ""  # when the cells were received (or the file copied), ISO 8601 UTC
    query: dict | str | None = None  # the exact request, or the original file name
    dimension_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class RawTable:
    name: str  # our raw table name, e.g. "population_age"; the asset is raw_<name>
    provenance: Provenance
    cells: pl.DataFrame

    @property
    def dimensions(self) -> list[str]:
        return [c for c in self.cells.columns if c not in (VALUE, STATUS)]


class RawFormatError(ValueError):
    """A delivered table does not have the raw layer's shape."""


def now_utc() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def validate_shape(table: RawTable) -> None:
    cells = table.cells
    missing = {VALUE, STATUS} - set(cells.columns)
    if missing:
        raise RawFormatError(f"raw table {table.name}: missing column(s) {sorted(missing)}")
    for dim in table.dimensions:
        if cells.schema[dim] != pl.String:
            raise RawFormatError(f"raw table {table.name}: dimension {dim} must be text, is {cells.schema[dim]}")
    if cells.schema[VALUE] != pl.Float64:
        raise RawFormatError(f"raw table {table.name}: value must be Float64, is {cells.schema[VALUE]}")
    bad = cells.filter(pl.col(VALUE).is_null() & (pl.col(STATUS) == DELIVERED))
    if bad.height:
        raise RawFormatError(
            f"raw table {table.name}: {bad.height} cell(s) have no value and no status, e.g. {bad.row(0, named=True)}"
        )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_raw_table(raw_dir: Path, table: RawTable) -> Path:
    """Write a raw table atomically: a reader sees the old snapshot or the new one, never a mix."""
    validate_shape(table)
    raw_dir.mkdir(parents=True, exist_ok=True)
    final = raw_dir / table.name
    tmp = raw_dir / f".{table.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        table.cells.write_parquet(tmp / "cells.parquet")
        manifest = {
            "name": table.name,
            "dimensions": table.dimensions,
            "rows": table.cells.height,
            "cells_sha256": _sha256(tmp / "cells.parquet"),
            "written_at": now_utc(),
            "provenance": asdict(table.provenance),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        old = None
        if final.exists():
            old = raw_dir / f".{table.name}.old-{uuid.uuid4().hex[:8]}"
            os.rename(final, old)
        os.rename(tmp, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def read_manifest(raw_dir: Path, name: str) -> dict:
    path = raw_dir / name / "manifest.json"
    if not path.exists():
        raise FileNotFoundError(f"raw table {name} has not been landed in {raw_dir} (no manifest.json)")
    return json.loads(path.read_text(encoding="utf-8"))


def read_raw_table(raw_dir: Path, name: str) -> RawTable:
    manifest = read_manifest(raw_dir, name)
    path = raw_dir / name / "cells.parquet"
    if _sha256(path) != manifest["cells_sha256"]:
        raise RawFormatError(f"raw table {name}: cells.parquet does not match the checksum in its manifest")
    prov = Provenance(**manifest["provenance"])
    return RawTable(name=name, provenance=prov, cells=pl.read_parquet(path))


def cells_path(raw_dir: Path, name: str) -> Path:
    return raw_dir / name / "cells.parquet"
