"""Per-municipality outputs: what one municipality's strategy unit takes away from a refresh.

`write_municipality_extract` writes, for one municipality, its areas' profiles (with the
municipality, county and nation rows they are compared with), its needs-index rows and trends,
as Parquet under data/published/municipalities/<code>/ — atomically, like the database.
It only reads the published database, so many municipalities can be written in parallel.
"""

from __future__ import annotations

import csv
import os
import shutil
import uuid
from pathlib import Path

import duckdb

from pipelines.settings import REPO_ROOT, DEFAULT_SNAPSHOT

KEY_FILE = REPO_ROOT / "data" / "embedded" / DEFAULT_SNAPSHOT / "kopplingstabell-deso-regso-20210702.csv"

EXTRACTS = {
    "profiles": """SELECT * FROM profiles
                   WHERE municipality_code = $m OR (area_level = 'county' AND area_code = substr($m, 1, 2))
                      OR area_level = 'country'""",
    "needs_index": "SELECT * FROM needs_index WHERE municipality_code = $m",
    "trends": "SELECT * FROM trends WHERE municipality_code = $m",
}


def municipality_codes() -> list[str]:
    """Sweden's 290 municipality codes, from SCB's key in the embedded snapshot (static partitions)."""
    with open(KEY_FILE, encoding="utf-8-sig") as fh:
        rows = csv.reader(fh, delimiter=";")
        next(rows)
        return sorted({r[0].strip() for r in rows if r and r[0].strip()})


def extract_dir(published_db: Path) -> Path:
    return published_db.parent / "municipalities"


def write_municipality_extract(published_db: Path, code: str) -> dict[str, int]:
    out = extract_dir(published_db)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".{code}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    counts: dict[str, int] = {}
    try:
        with duckdb.connect(str(published_db), read_only=True) as con:
            for name, sql in EXTRACTS.items():
                rel = con.execute(sql, {"m": code}).to_arrow_table()
                import pyarrow.parquet as pq

                pq.write_table(rel, tmp / f"{name}.parquet")
                counts[name] = rel.num_rows
        if counts["profiles"] == 0:
            raise ValueError(f"municipality {code} has no areas in {published_db}")
        final = out / code
        old = None
        if final.exists():
            old = out / f".{code}.old-{uuid.uuid4().hex[:8]}"
            os.rename(final, old)
        os.rename(tmp, final)
        if old:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return counts
