"""`grannskap fetch`: land live SCB (and Kolada) tables in the raw layer, then `grannskap run --source raw`.

    grannskap fetch --municipality 0581 --tables population_age             # Norrköping, newest year
    grannskap fetch --county 20 --years 2023,2024                           # Dalarna, two years (two DeSO vintages)
    grannskap fetch                                                          # every table, all of Sweden, newest year
    grannskap fetch --list                                                   # the catalogue
    grannskap fetch --dry-run                                                # plan only: calls vs lower bound
    grannskap fetch --record tape/ ...   /   grannskap fetch --replay tape/ ...   # the same run offline

Only the raw layer (--raw-dir, default data/raw) and a work directory next to it (resumable chunks) are
written; every raw table is replaced atomically, so a failed or interrupted fetch leaves each table either
as it was or complete. The published database is never opened. Exit code 0 when every table landed, 1 when
some did not (the summary says which landed), 2 for a usage error.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TextIO

from pipelines.sources.live import (
    CATALOGUE_FILE,
    FetchProgress,
    FetchReport,
    LiveFetcher,
    Scope,
    load_catalogue,
    parse_years,
    years_text,
)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class StderrProgress:
    """One status line, redrawn in place on a terminal; on a pipe a line at most every `every` seconds."""

    def __init__(self, stream: TextIO | None = None, every: float = 5.0):
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.every = every
        self._last = 0.0
        self._last_table = ""
        self._drawn = False

    def line(self, p: FetchProgress) -> str:
        return (
            f"fetch [{p.tables_done + 1}/{p.tables_total}] {p.table} ({p.source}): "
            f"calls {p.calls_made}/{p.calls_planned} · cells {p.cells_fetched:,}/{p.cells_planned:,} · "
            f"~{_duration(p.eta_seconds)} left"
        )

    def __call__(self, p: FetchProgress) -> None:
        text = self.line(p)
        if self.tty:
            self.stream.write("\r\x1b[K" + text)
            self._drawn = True
        else:
            now = time.monotonic()
            if p.table != self._last_table or now - self._last >= self.every:
                self.stream.write(text + "\n")
                self._last, self._last_table = now, p.table
        self.stream.flush()

    def done(self) -> None:
        if self.tty and self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def register_cli(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "fetch",
        help="hämta tabeller live från SCB (och Kolada) till rålagret",
        description="Hämta katalogens tabeller (pipelines/sources/live_tables.yaml) från SCB:s API och Kolada till "
        "rålagret. Därefter: grannskap run --source raw. Den publicerade databasen rörs inte.",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument("--municipality", metavar="KOD", help="en kommun, t.ex. 0581 (Norrköping)")
    where.add_argument("--county", metavar="KOD", help="ett län, t.ex. 20 (Dalarna)")
    p.add_argument("--tables", default="", help="kommaseparerade rådatatabeller (standard: alla i katalogen)")
    p.add_argument("--years", default="latest", help="'latest' (standard), år som 2022,2023 eller ett intervall 2020-2023")
    p.add_argument("--raw-dir", type=Path, default=None, help="rålagrets katalog (standard: data/raw)")
    tape = p.add_mutually_exclusive_group()
    tape.add_argument("--record", type=Path, metavar="DIR", help="spara varje svar i DIR (för --replay)")
    tape.add_argument("--replay", type=Path, metavar="DIR", help="svara från de sparade svaren i DIR, utan nätverk")
    p.add_argument("--dry-run", action="store_true", help="planera bara (metadata): anrop mot undre gränsen")
    p.add_argument("--list", action="store_true", help="visa katalogen och avsluta")
    p.add_argument("--no-progress", action="store_true", help="ingen förloppsrad")
    p.set_defaults(func=run_fetch)
    return p


def _print_catalogue() -> None:
    cat = load_catalogue()
    print(f"Live tables ({CATALOGUE_FILE}):")
    for t in cat.values():
        src = ", ".join(s.describe() for s in t.sources) or "Kolada " + ", ".join(k.id for k in t.kpis)
        print(f"  {t.name:<24} {t.level:<12} {src}")
        print(f"  {'':<24} {t.purpose}")
        if t.verify:
            print(f"  {'':<24} verify: {t.verify}")


def run_fetch(args: argparse.Namespace) -> int:
    if getattr(args, "list", False):
        _print_catalogue()
        return 0
    try:
        scope = Scope(municipality=args.municipality, county=args.county)
        years = parse_years(args.years)
        catalogue = load_catalogue()
    except ValueError as exc:
        print(f"fetch: {exc}", file=sys.stderr)
        return 2
    names = [n.strip() for n in (args.tables or "").split(",") if n.strip()] or list(catalogue)
    unknown = [n for n in names if n not in catalogue]
    if unknown:
        print(f"fetch: unknown table(s) {unknown}; known: {', '.join(catalogue)}", file=sys.stderr)
        return 2
    if args.replay is not None and not args.replay.is_dir():
        print(f"fetch: --replay {args.replay}: no such directory", file=sys.stderr)
        return 2
    if args.raw_dir is None:
        from pipelines.settings import default_paths

        raw_dir = default_paths().raw_dir
    else:
        raw_dir = Path(args.raw_dir)
    bar = None if args.no_progress else StderrProgress()
    print(
        f"fetch: {', '.join(names)} for {scope.describe()}, years {years_text(years)} -> {raw_dir}"
        + (f" (recording to {args.record})" if args.record else "")
        + (f" (replaying {args.replay})" if args.replay else ""),
        file=sys.stderr,
    )
    report = FetchReport(scope=scope, years=years)
    interrupted = False
    with LiveFetcher(raw_dir, catalogue=catalogue, record_dir=args.record, replay_dir=args.replay, progress=bar) as fetcher:
        try:
            fetcher.run(names, scope, years, dry_run=args.dry_run, report=report)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            if bar:
                bar.done()
    if args.dry_run:
        print("Plan (metadata read, no data fetched):")
        for tp in report.planned.values():
            print(f"  {tp.describe()}")
        total = sum(tp.calls for tp in report.planned.values() if tp.kolada is None)
        bound = sum(tp.lower_bound for tp in report.planned.values() if tp.kolada is None)
        print(f"  total: {total} data call(s) to SCB, lower bound {bound}; {report.calls_made} call(s) made while planning "
              "(/config, metadata, Kolada KPI descriptions)")
        for name, msg in report.failed.items():
            print(f"  FAILED  {name}: {msg}")
        return 0 if report.ok else 1
    print(f"Fetched in {report.seconds:.1f} s, {report.calls_made} HTTP call(s):")
    for line in report.summary_lines():
        print(line)
    if interrupted:
        print("fetch: interrupted; the tables listed as landed are complete, the rest are as they were", file=sys.stderr)
        return 130
    if report.landed and report.ok:
        print("Next: grannskap run --source raw")
    return 0 if report.ok else 1


__all__ = ["StderrProgress", "register_cli", "run_fetch"]
