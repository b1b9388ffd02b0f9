"""`grannskap`: build, query and feed the profiles from the command line.

    grannskap run                 materialise every asset on the embedded data and publish
    grannskap summary             what the published database holds (Norrköping as the example)
    grannskap index ...           build a composite needs index from your own indicators
    grannskap fetch ...           fetch live SCB/Kolada tables into the raw layer (then: run --source raw)
    grannskap import FILE ...     land a file downloaded from Statistikdatabasen in the raw layer
    grannskap report ...          profile reports, index and targeting lists for a municipality
"""

from __future__ import annotations

import argparse
import sys
import time

from pipelines.settings import default_paths


def _run(args: argparse.Namespace) -> int:
    import dagster as dg

    from pipelines.definitions import build_definitions
    from pipelines.publish import PublishError, acquire_build_lock
    from pipelines.resources import Grannskap

    paths = default_paths()
    started = time.perf_counter()
    try:  # say so at once, rather than let every step of the job fail on the lock one by one
        acquire_build_lock(paths.build_db).close()
    except PublishError as exc:
        print(f"Bygget startade inte: {exc}. Den publicerade databasen är orörd: {paths.published_db}", file=sys.stderr)
        return 1
    defs = build_definitions(Grannskap(data_dir=str(paths.data_dir), source=args.source))
    log_level = "INFO" if args.verbose else "ERROR"
    result = defs.resolve_job_def("build_profiles").execute_in_process(
        raise_on_error=False,
        instance=dg.DagsterInstance.ephemeral(),
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
    )
    elapsed = time.perf_counter() - started
    failed_checks = [
        e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.asset_check_evaluation_data.passed
    ]
    if not result.success:
        print(f"Bygget misslyckades efter {elapsed:.1f} s. Den publicerade databasen är orörd: {paths.published_db}", file=sys.stderr)
        for check in failed_checks:
            print(f"  ✗ {check.description}", file=sys.stderr)
        for event in result.all_events:
            if event.is_step_failure and not event.step_key.endswith("_suite"):
                err = event.step_failure_data.error
                cause = err.cause.message if err and err.cause else (err.message if err else "")
                first = next((line for line in cause.splitlines() if line.strip()), "failed")
                print(f"  ✗ {event.step_key}: {first.strip()}", file=sys.stderr)
        return 1
    print(f"Klart på {elapsed:.1f} s: alla tabeller validerade och publicerade.")
    return _summary(args)


def _summary(args: argparse.Namespace) -> int:
    import duckdb

    db = default_paths().published_db
    if not db.exists():
        print(f"Ingen publicerad databas ännu ({db}); kör `make run`.", file=sys.stderr)
        return 1
    with duckdb.connect(str(db), read_only=True) as con:
        areas = con.execute("SELECT area_level, count(*) FROM areas GROUP BY 1 ORDER BY count(*) DESC").fetchall()
        year = con.execute("SELECT max(year) FROM profiles").fetchone()[0]
        print(f"\nAnalytikernas databas: {db}")
        print("  " + ", ".join(f"{n} {lvl}" for lvl, n in areas) + f"; senaste år {year}")
        print("  Vyerna `profiles` och `followup`, tabellerna `areas`, `indicators`, `needs_index`, `meta_sources` m.fl.; öppna skrivskyddat,")
        print(f"  t.ex. .venv/bin/python -c \"import duckdb; print(duckdb.connect('{db}', read_only=True).sql('FROM profiles LIMIT 5'))\"")
        rows = con.execute(
            """
            SELECT area_name, value, municipality_value, national_value, rank_in_municipality, areas_in_municipality
            FROM profiles
            WHERE municipality_code = $municipality AND area_level = 'regso' AND indicator = $indicator AND year = $year
            ORDER BY rank_in_municipality NULLS LAST, area_name
            LIMIT 5
            """,
            {"municipality": args.municipality, "indicator": "share_age_0_4", "year": year},
        ).fetchall()
        name = con.execute(
            "SELECT area_name FROM areas WHERE area_level = 'municipality' AND area_code = $code", {"code": args.municipality}
        ).fetchone()
        reports = sorted((db.parent.parent / "reports").glob("*/index.html"))
        if reports:
            print("  Rapporter för planerare (öppna i en webbläsare): " + ", ".join(str(p) for p in reports))
        print(f"\nDe fem områdena (RegSO) i {name[0] if name else args.municipality} med högst andel barn 0–4 år, {year}:")
        for area, value, muni, nation, rank, n in rows:
            shown = f"{value:6.1%}" if value is not None else "   –  "
            print(f"  {rank:>2}/{n}  {area:<32} {shown}   (kommunen {muni:.1%}, riket {nation:.1%})")
        _followup_summary(con, args.municipality)
    return 0


def _followup_summary(con, municipality: str) -> None:
    """The municipality's investments and whether the data can estimate anything for them yet."""
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if "followup_estimates" not in tables:
        return
    rows = con.execute(
        """
        SELECT i.name, i.start_date, i.end_date, count(e.did_after) AS estimates, count(*) AS outcomes,
               mode(e.no_estimate_reason) AS usual_reason
        FROM investments AS i JOIN followup_estimates AS e USING (investment_id)
        WHERE i.municipality_code = $municipality
        GROUP BY ALL ORDER BY i.start_date NULLS LAST, i.name
        """,
        {"municipality": municipality},
    ).fetchall()
    if not rows:
        return
    print("\nUppföljning av sociala investeringar (vyn `followup`, tabellen `followup_estimates`; registret i data/investments/):")
    for name, start, end, estimates, outcomes, reason in rows:
        period = f"{start} – {end}" if start and end else "period saknas"
        status = f"skattning för {estimates} av {outcomes} utfall" + (f"; vanligaste skälet när den saknas: {reason}" if reason else "")
        print(f"  {name} ({period}): {status}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grannskap", description="Grannskap: områdesprofiler för sociala investeringar")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="bygg och publicera profilerna (alla tillgångar, alla kontroller)")
    run.add_argument("--source", choices=["embedded", "raw"], default="embedded",
                     help="embedded: den inbäddade SCB-ögonblicksbilden; raw: rålagret som det är (efter fetch/import)")
    run.add_argument("--municipality", default="0581", help="kommunkod för sammanfattningen (standard 0581 Norrköping)")
    run.add_argument("--verbose", action="store_true", help="visa Dagsters logg för varje steg")
    run.set_defaults(func=_run)

    summary = sub.add_parser("summary", help="sammanfatta den publicerade databasen")
    summary.add_argument("--municipality", default="0581", help="kommunkod (standard 0581 Norrköping)")
    summary.set_defaults(func=_summary)

    for module in ("pipelines.sources.fetch_cli", "pipelines.sources.pxweb.importer", "pipelines.index_builder",
                   "pipelines.reports.cli"):
        try:
            mod = __import__(module, fromlist=["register_cli"])
        except ImportError:
            continue
        mod.register_cli(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        raise SystemExit("no handler for this command")
    return int(func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
