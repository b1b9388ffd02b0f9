"""`grannskap report`: render a municipality's reports; plus the metadata the Dagster asset shows.

    grannskap report --municipality 0581 [--level regso|deso|district] [--out data/reports]
                     [--db data/published/grannskap.duckdb] [--indicator share_age_0_4] [--group barn_0_5]
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path
from typing import Any

from pipelines.settings import default_paths

LEVELS = ("regso", "deso", "district")


def register_cli(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `report` subcommand to an argparse subparsers object; it dispatches to `run_report`."""
    parser = subparsers.add_parser(
        "report",
        help="skriv områdesrapporter (HTML), index och målgruppslistor för en kommun",
        description="Skriv en fristående HTML-rapport per område, ett index och målgruppslistor (HTML + CSV).",
    )
    parser.add_argument("--municipality", default="0581", help="kommunkod, fyra siffror (standard 0581 Norrköping)")
    parser.add_argument("--level", choices=LEVELS, default="regso", help="områdesnivå (standard regso)")
    parser.add_argument("--out", type=Path, default=None, help="utkatalog (standard data/reports)")
    parser.add_argument("--db", type=Path, default=None,
                        help="publicerad databas (standard data/published/grannskap.duckdb)")
    parser.add_argument("--indicator", default="share_age_0_4", help="indikator som ordnar indexet och färgar kartan")
    parser.add_argument("--group", action="append", default=None, metavar="KEY",
                        help="målgrupp ur target_groups.yaml (kan upprepas; standard: alla)")
    parser.set_defaults(func=run_report)
    return parser


def run_report(args: argparse.Namespace) -> int:
    """Run the `report` subcommand; 0 on success, 1 when there is no database or nothing to report."""
    from pipelines.reports.build import build_reports
    from pipelines.reports.data import ReportDataError

    paths = default_paths()
    db = args.db or paths.published_db
    out = args.out or paths.data_dir / "reports"
    if not Path(db).exists():
        print(f"Ingen publicerad databas ({db}); kör `grannskap run` först.", file=sys.stderr)
        return 1
    started = time.perf_counter()
    try:
        written = build_reports(db, out, args.municipality, args.level, indicator=args.indicator, groups=args.group)
    except ReportDataError as exc:
        print(f"grannskap report: {exc}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - started
    pages = sum(1 for p in written if p.suffix == ".html")
    print(f"Skrev {pages} HTML-sidor och {len(written) - pages} CSV-filer på {elapsed:.1f} s. Öppna {written[0]}")
    return 0


def report_asset_metadata(paths: list[Path]) -> dict[str, Any]:
    """Dagster metadata for a report run: the index path, the page count and the top 5 of the first targeting list."""
    import dagster as dg

    paths = [Path(p) for p in paths]
    index = next(p for p in paths if p.name == "index.html")
    metadata: dict[str, Any] = {
        "index": dg.MetadataValue.path(str(index)),
        "pages": dg.MetadataValue.int(sum(1 for p in paths if p.suffix == ".html")),
    }
    lists = [p for p in paths if p.suffix == ".csv" and p.name.startswith("malgrupp_")]
    if lists:
        metadata["targeting_top_5"] = dg.MetadataValue.md(targeting_preview(lists[0]))
    return metadata


def targeting_preview(csv_path: Path, top: int = 5) -> str:
    """The first rows of a targeting CSV as a markdown table (hidden counts stay '..')."""
    with csv_path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))[:top]
    lines = [
        f"**{csv_path.stem.removeprefix('malgrupp_')}**, topp {len(rows)}",
        "",
        "| Rang | Område | Folkmängd | I målgruppen | Skäl |",
        "|---:|---|---:|---:|---|",
    ]
    for r in rows:
        reasons = r["skal"].replace("|", "/") or "–"
        lines.append(f"| {r['rang']} | {r['omrade']} | {r['folkmangd']} | {r['antal_i_malgruppen']} | {reasons} |")
    return "\n".join(lines)
