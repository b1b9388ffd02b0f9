"""Local data: a municipality's own measures (data/local/<municipality code>_<name>.csv), landed with the
file and line every row came from. Which areas and measures are valid is the staged suite's business
(stg_local_measures); here only what makes a file unreadable stops the build, naming the file and line."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from pathlib import Path

import dagster as dg
import polars as pl

from pipelines.assets.metadata import table_metadata
from pipelines.resources import Grannskap

LOCAL_SOURCE = "local"  # the catalogue's measure for local data, and its row in meta_sources
REQUIRED = ("area", "year", "measure", "value")
OPTIONAL = ("unit",)
SCHEMA = {
    "file": pl.String, "line": pl.Int32, "municipality_code": pl.String, "area_ref": pl.String,
    "year": pl.Int32, "measure": pl.String, "unit": pl.String, "value": pl.Int64,
}


def local_dir(data_dir: Path) -> Path:
    return data_dir / "local"


_WHOLE = re.compile(r"^-?[0-9]+$")


def _whole(text: str, what: str, where: str) -> int:
    # a whole number as written: "12.0", "1 200" or "" is refused rather than guessed at (a negative
    # number is read, and refused by the staged suite, which names the rule)
    if not _WHOLE.match(text):
        raise dg.Failure(f"{where}: {what} {text!r} is not a whole number")
    return int(text)


def read_local_file(path: Path) -> tuple[list[dict], str]:
    """The rows of one local file and the sha256 of its bytes; dg.Failure for anything unreadable."""
    municipality = path.name.split("_", 1)[0]
    if not (len(municipality) == 4 and municipality.isdigit() and "_" in path.name):
        raise dg.Failure(f"local file {path.name}: the name must be <4-digit municipality code>_<name>.csv")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")  # a spreadsheet's byte-order mark is not part of the header
    except UnicodeDecodeError as exc:
        raise dg.Failure(f"local file {path.name}: not UTF-8 ({exc})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(reader, [])]
    if not set(REQUIRED) <= set(header) or not set(header) <= {*REQUIRED, *OPTIONAL} or len(set(header)) != len(header):
        raise dg.Failure(
            f"local file {path.name} line 1: columns must be {','.join(REQUIRED)} and optionally unit (found {header})"
        )
    rows = []
    for fields in reader:
        where = f"local file {path.name} line {reader.line_num}"
        if not any(f.strip() for f in fields):
            continue  # a blank line carries nothing
        if len(fields) != len(header):
            raise dg.Failure(f"{where}: {len(fields)} field(s), the header has {len(header)}")
        row = {k: v.strip() for k, v in zip(header, fields)}
        rows.append({
            "file": path.name,
            "line": reader.line_num,
            "municipality_code": municipality,
            "area_ref": row["area"],
            "year": _whole(row["year"], "year", where),
            "measure": row["measure"],
            "unit": row.get("unit") or None,  # no unit: the row is the area's figure itself
            "value": _whole(row["value"], "value", where),
        })
    return rows, hashlib.sha256(data).hexdigest()


def read_local_measures(data_dir: Path) -> tuple[pl.DataFrame, list[dict]]:
    """Every local file's rows (file, line, municipality_code, area_ref, year, measure, unit, value) and each
    file's provenance (file, sha256, rows). No files (data/local/ holds only its README) is an empty table."""
    rows, files = [], []
    for path in sorted(local_dir(data_dir).glob("*.csv")):
        file_rows, sha256 = read_local_file(path)
        rows += file_rows
        files.append({"file": path.name, "sha256": sha256, "rows": len(file_rows)})
    return pl.DataFrame(rows, schema=SCHEMA), files


FILES_TABLE = "raw_local_measures_files"  # the files the landed rows came from: file, sha256, rows
FILES_SCHEMA = {"file": pl.String, "sha256": pl.String, "rows": pl.Int64}


def local_sources_row(con, run_id: str) -> dict:
    """The row of meta_sources for local data, from what raw_local_measures landed (never a second read
    of the files, which could have changed since): which files, their checksums and row counts."""
    files = con.execute(f"SELECT file, sha256, rows FROM {FILES_TABLE} ORDER BY file").pl().to_dicts()
    years = [y for (y,) in con.execute("SELECT DISTINCT year FROM raw_local_measures ORDER BY year").fetchall()]
    notes = "; ".join(f"{f['file']}: {f['rows']} row(s), sha256 {f['sha256']}" for f in files)
    return {
        "raw_table": LOCAL_SOURCE,
        "source": LOCAL_SOURCE,
        "source_table": "data/local/",
        "title": "Kommunens egna uppgifter (data/local/<kommunkod>_<namn>.csv), table raw_local_measures",
        "reference_year": f"{years[0]}–{years[-1]}" if len(years) > 1 else "".join(map(str, years)),
        "boundary_version": "",
        "updated": "",
        "fetched_at": "",
        "query": json.dumps(files, ensure_ascii=False),
        "rows": sum(f["rows"] for f in files),
        # one checksum over every file: it changes when any local file does
        "cells_sha256": hashlib.sha256("\n".join(f"{f['file']} {f['sha256']}" for f in files).encode()).hexdigest()
        if files else "",
        "notes": notes or "no local data: data/local/ has no files",
        "run_id": run_id,
    }


@dg.asset(
    group_name="raw",
    deps=["fetched_sources"],  # a refresh re-reads the local files with the fetched sources
    description="A municipality's own measures (data/local/<municipality code>_<name>.csv: reports of concern, "
    "extended preschool hours, family-centre visits): one row per line with its file and line, as delivered. "
    "A file that cannot be read as area,year,measure,value[,unit] with whole-number year and value fails, "
    "naming file and line; no local files give an empty table. The files' names, sha256 and rows go to "
    "raw_local_measures_files, which meta_sources reads.",
    kinds={"duckdb", "csv"},
)
def raw_local_measures(grannskap: Grannskap) -> dg.MaterializeResult:
    measures, files = read_local_measures(grannskap.paths.data_dir)
    provenance = pl.DataFrame(files, schema=FILES_SCHEMA)
    with grannskap.build_db() as con:
        con.execute("CREATE OR REPLACE TABLE raw_local_measures AS SELECT * FROM measures")
        con.execute(f"CREATE OR REPLACE TABLE {FILES_TABLE} AS SELECT * FROM provenance")
        meta = table_metadata(con, "raw_local_measures")
    return dg.MaterializeResult(
        metadata={**meta, "files": dg.MetadataValue.json(files) if files else "no local data"}
    )
