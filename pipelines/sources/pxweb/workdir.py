"""Per-fetch work directory: completed chunks survive an interruption, so a rerun fetches only the rest.

    <work_root>/<table>-<first 16 hex of sha256(api, lang, table, query)>/
        plan.json                 the plan, for people (chunks, cells, calls vs bound)
        table.json                metadata fingerprint (dimensions, `updated`) the chunks were fetched under
        chunk-<chunk key>.json    a chunk's labels, stamps and notes   (written first)
        chunk-<chunk key>.parquet its cells                            (written last: the chunk is done)

Chunks are named by the hash of their own query, so a changed plan (e.g. new limits) still reuses every
chunk that is identical. Files are written to a temporary name and renamed.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import polars as pl

from .parsed import Parsed


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:60] or "table"


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


class ChunkStore:
    def __init__(self, root: str | Path, table: str, fetch_key: str):
        self.dir = Path(root) / f"{_safe(table)}-{fetch_key[:16]}"

    def ensure(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)

    def _paths(self, chunk_key: str) -> tuple[Path, Path]:
        stem = f"chunk-{chunk_key[:24]}"
        return self.dir / f"{stem}.json", self.dir / f"{stem}.parquet"

    def has(self, chunk_key: str) -> bool:
        meta, cells = self._paths(chunk_key)
        return meta.exists() and cells.exists()

    def save(self, chunk_key: str, parsed: Parsed) -> None:
        self.ensure()
        meta_path, cells_path = self._paths(chunk_key)
        meta = {
            "format": parsed.format,
            "dims": parsed.dims,
            "dim_titles": parsed.dim_titles,
            "code_labels": parsed.code_labels,
            "categories": parsed.categories,
            "title": parsed.title,
            "updated": parsed.updated,
            "table_id": parsed.table_id,
            "time_dims": parsed.time_dims,
            "notes": parsed.notes,
            "normalised": parsed.normalised,
        }
        _atomic_write_text(meta_path, json.dumps(meta, ensure_ascii=False))
        tmp = cells_path.with_name(cells_path.name + ".tmp")
        parsed.cells.write_parquet(tmp)
        tmp.replace(cells_path)

    def load(self, chunk_key: str) -> Parsed:
        meta_path, cells_path = self._paths(chunk_key)
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        return Parsed(cells=pl.read_parquet(cells_path), **meta)

    def chunk_keys(self) -> list[str]:
        return sorted(p.stem.removeprefix("chunk-") for p in self.dir.glob("chunk-*.parquet"))

    def read_json(self, name: str) -> dict | None:
        path = self.dir / name
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    def write_json(self, name: str, doc: dict) -> None:
        self.ensure()
        _atomic_write_text(self.dir / name, json.dumps(doc, ensure_ascii=False, indent=1))

    def clear_chunks(self) -> None:
        for p in self.dir.glob("chunk-*"):
            p.unlink(missing_ok=True)

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def merge_parsed(parts: list[Parsed]) -> Parsed:
    """Concatenate chunk results of one fetch (same dimensions) into one Parsed."""
    if not parts:
        raise ValueError("nothing to merge")
    first = parts[0]
    for p in parts[1:]:
        if p.dims != first.dims:
            from .errors import LayoutChangedError

            raise LayoutChangedError(
                f"table {first.table_id}: chunks have different dimensions {first.dims} vs {p.dims}"
            )
    cells = pl.concat([p.cells for p in parts], how="vertical") if len(parts) > 1 else first.cells
    labels: dict[str, dict[str, str]] = {}
    categories: dict[str, list[str]] = {}
    notes: list[str] = []
    for p in parts:
        for dim, lab in p.code_labels.items():
            labels.setdefault(dim, {}).update(lab)
        for dim, cats in p.categories.items():
            seen = categories.setdefault(dim, [])
            known = set(seen)
            seen.extend(c for c in cats if c not in known)
        for n in p.notes:
            if n not in notes:
                notes.append(n)
    return Parsed(
        format=first.format,
        dims=first.dims,
        cells=cells,
        dim_titles=first.dim_titles,
        code_labels=labels,
        categories=categories,
        title=first.title,
        updated=max((p.updated for p in parts), default=""),
        table_id=first.table_id,
        time_dims=first.time_dims,
        notes=notes,
        normalised=all(p.normalised for p in parts),
    )
