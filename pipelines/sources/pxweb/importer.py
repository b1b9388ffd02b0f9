"""`grannskap import FILE`: read a hand-downloaded PxWeb file (JSON-stat2, v1 json or CSV) into the raw layer.

    grannskap import TAB6574.csv --out population.csv     # only writes the long CSV
    grannskap import TAB6574.json --name population_age    # writes data/raw/population_age/ (or --raw-dir)

The lead wires `register_cli(subparsers)` into `pipelines/cli.py`; `run_import(args)` returns the exit code.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines.raw import RawTable, write_raw_table

from .errors import PxWebError
from .formats import parse_file


def import_file(
    path: str | Path,
    *,
    name: str | None = None,
    codelists: dict[str, str] | None = None,
    source_table: str | None = None,
) -> RawTable:
    """Read any supported PxWeb file into a RawTable (format detected from the content)."""
    return parse_file(path, name=name, codelists=codelists, source_table=source_table)


def write_long_csv(table: RawTable, out: str | Path) -> Path:
    """The cells as a long CSV: one column per dimension code (and boundary_version), value, status."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    table.cells.write_csv(tmp, null_value="")
    tmp.replace(out)
    return out


def register_cli(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "import",
        help="läs in en nedladdad PxWeb-fil (JSON-stat2, PxWeb v1 json, CSV) som rådatatabell",
        description="Läs en PxWeb-fil (formatet känns igen automatiskt) till rådatalagret, eller till en lång CSV med --out.",
    )
    p.add_argument("file", type=Path, help="den nedladdade filen")
    p.add_argument("--out", type=Path, help="skriv den långa tabellen som CSV hit och rör inget annat")
    p.add_argument("--name", help="rådatatabellens namn (standard: från tabell-id eller filnamn)")
    p.add_argument("--raw-dir", type=Path, default=None, help="katalog för rådatalagret (standard: data/raw)")
    p.add_argument(
        "--codelist",
        action="append",
        default=[],
        metavar="VAR=CODELIST",
        help="kodlista som frågan använde, t.ex. Region=vs_DeSO2018 (anger indelningsversion för koder utan suffix)",
    )
    p.set_defaults(func=run_import)
    return p


def run_import(args: argparse.Namespace) -> int:
    codelists = {}
    for item in getattr(args, "codelist", None) or []:
        var, sep, cl = item.partition("=")
        if not sep or not var or not cl:
            print(f"import: --codelist expects VAR=CODELIST, got {item!r}", file=sys.stderr)
            return 2
        codelists[var] = cl
    path = Path(args.file)
    if not path.is_file():
        print(f"import: no such file: {path}", file=sys.stderr)
        return 2
    try:
        table = import_file(path, name=getattr(args, "name", None), codelists=codelists or None)
        if getattr(args, "out", None):
            out = write_long_csv(table, args.out)
            print(f"wrote {table.cells.height:,} cells ({', '.join(table.dimensions)}) to {out}")
            return 0
        raw_dir = Path(args.raw_dir) if getattr(args, "raw_dir", None) else Path.cwd() / "data" / "raw"
        final = write_raw_table(raw_dir, table)
    except (PxWebError, ValueError, OSError) as exc:
        print(f"import: {path}: {exc}", file=sys.stderr)
        return 1
    prov = table.provenance
    print(
        f"wrote raw table {table.name}: {table.cells.height:,} cells, dimensions {table.dimensions}, "
        f"boundary version {prov.boundary_version or '-'}, period {prov.reference_year or '-'} -> {final}"
    )
    return 0
