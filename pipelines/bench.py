"""`make bench`: the figures users care about, each with its target and ratio.

Runs in temporary data directories so it never touches data/published. Figures:
  1. the build from the embedded snapshot to the published database, validation included (the
     job build_profiles, as `grannskap run` runs it): wall time and peak memory (a child process,
     so the peak is the build's own), and when the published database was swapped in;
  2. one municipality end to end through Dagster: its partition of the per-municipality assets
     (extract and reports) in a fresh process, on the published database;
  3. one district's profile query on the published database: median latency over many runs;
and on the national-scale input (issue 6; `pipelines/bench_data.py`: the real 2022 snapshot plus
single year of age x sex for every DeSO, 2008-2022):
  N1. the build from the raw layer to the published database, validation included: wall time,
      peak memory, the top steps by Dagster's STEP_SUCCESS durations, the share of the GX checks;
  N2. the same profiles by naive pandas (`pipelines/bench_baselines.py`), checked against the
      published database: build vs pandas;
  N3. the floor, a bare DuckDB scan-and-aggregate of the same parquet: build vs floor;
  N4. figure 3 on the national-scale database.

`python -m pipelines.bench [--pandas-years N] [--skip-national] [--keep DIR]`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipelines.settings import REPO_ROOT

KLOCKARETORPET = "SELECT * FROM profiles WHERE area_code = $code AND year = $year ORDER BY indicator"
GIB = 1024


def _row(name: str, value: float, unit: str, target: float | None, lower_is_better: bool = True) -> str:
    if target is None:
        return f"  {name:<58} {value:>10.3f} {unit}"
    ratio = value / target if lower_is_better else target / value
    verdict = "met" if ratio <= 1 else "NOT met"
    return f"  {name:<58} {value:>10.3f} {unit:<4} target {target:g} {unit}  ratio {ratio:5.2f}  {verdict}"


def _run_child(args: list[str], env: dict | None = None) -> tuple[str, str, float, float]:
    """Run a Python child; return its stdout, stderr, wall seconds and its own peak RSS (MiB),
    read from the child's rusage (os.wait4), so earlier children never count."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, *args], env={**os.environ, **(env or {})}, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])} failed (exit {proc.returncode}):\n{stderr[-4000:]}")
    return stdout, stderr, wall, usage.ru_maxrss / 1024


def _last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def _copy_inputs(data: Path) -> None:
    for sub in ("embedded", "reference", "districts", "investments"):
        shutil.copytree(REPO_ROOT / "data" / sub, data / sub)


# --- the build, in a child process -------------------------------------------------------------


def _child_build(data_dir: str, source: str) -> int:
    """In the child: run the build job as `grannskap run` does, and report every step's duration
    from Dagster's STEP_SUCCESS events, plus how long each suite spent computing its check frame
    (DuckDB) and validating it (GX), by wrapping the two functions of pipelines.checks.suites."""
    started = time.perf_counter()
    import dagster as dg

    from pipelines.checks import suites
    from pipelines.definitions import build_definitions
    from pipelines.resources import Grannskap

    imported = time.perf_counter()
    split: dict[str, dict[str, float]] = {}

    def timed(fn, part):
        def wrapper(con_or_table, table_or_frame, *args, **kwargs):
            table = table_or_frame if part == "frame" else con_or_table
            t = time.perf_counter()
            try:
                return fn(con_or_table, table_or_frame, *args, **kwargs)
            finally:
                split.setdefault(table, {}).setdefault(part, 0.0)
                split[table][part] += time.perf_counter() - t

        return wrapper

    suites.check_frame = timed(suites.check_frame, "frame")
    suites.validate_frame = timed(suites.validate_frame, "gx")

    defs = build_definitions(Grannskap(data_dir=data_dir, source=source))
    instance = dg.DagsterInstance.ephemeral()
    job_started = time.time()
    result = defs.resolve_job_def("build_profiles").execute_in_process(
        raise_on_error=False,
        instance=instance,
        run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
    )
    done = time.perf_counter()
    # when the published database was swapped in (the job goes on with the reports after it)
    published_at = [
        e.timestamp for e in instance.all_logs(result.run_id)
        if e.dagster_event and e.dagster_event.event_type_value == "STEP_SUCCESS" and e.step_key == "published_database"
    ]
    steps = []
    failures = []
    for event in result.all_events:
        if event.event_type_value == "STEP_SUCCESS":
            steps.append({"step": event.step_key, "seconds": event.event_specific_data.duration_ms / 1000})
        elif event.event_type_value == "STEP_FAILURE":
            failures.append(event.step_key)
    check_keys = {f"{t}_suite" for t in split} | {s["step"] for s in steps if s["step"].endswith("_suite")}
    for s in steps:
        s["check"] = s["step"] in check_keys
    print(
        json.dumps(
            {
                "success": result.success,
                "failed_steps": failures,
                "seconds": done - started,
                "imports": imported - started,
                "job": done - imported,
                "to_published": (published_at[0] - job_started) if published_at else None,
                "steps": steps,
                "suites": split,
                "peak_self_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )
    return 0  # the parent reads `success` from the JSON


def bench_build_steps(data_dir: Path, source: str) -> dict:
    stdout, stderr, wall, peak = _run_child(
        ["-m", "pipelines.bench", "--child-build", str(data_dir), source], {"GRANNSKAP_DATA_DIR": str(data_dir)}
    )
    result = _last_json(stdout)
    if not result["success"]:
        raise RuntimeError(f"the build failed in step(s) {result['failed_steps']}:\n{stderr[-4000:]}")
    return {**result, "wall": wall, "peak_mib": peak}


# --- queries ----------------------------------------------------------------------------------


def bench_one_municipality(data_dir: Path, code: str) -> float:
    """Refresh one municipality's outputs alone: materialise its partition of the per-municipality
    assets through Dagster in a fresh process (imports included), on the published database."""
    script = (
        "import dagster as dg, sys;"
        "from pipelines.assets.municipalities import municipality_extract;"
        "from pipelines.assets.reports import municipality_reports;"
        "from pipelines.resources import Grannskap;"
        f"r = dg.materialize([municipality_extract, municipality_reports], partition_key={code!r},"
        " resources={'grannskap': Grannskap()}, instance=dg.DagsterInstance.ephemeral());"
        "sys.exit(0 if r.success else 1)"
    )
    _, _, wall, _ = _run_child(["-c", script], env={"GRANNSKAP_DATA_DIR": str(data_dir)})
    return wall


def bench_query(db: Path, runs: int = 200, code: str = "0581:Västra Klockaretorpet", year: int = 2022) -> float:
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        con.execute(KLOCKARETORPET, {"code": code, "year": year}).fetchall()  # warm
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            rows = con.execute(KLOCKARETORPET, {"code": code, "year": year}).fetchall()
            times.append(time.perf_counter() - t)
    assert rows, f"no profile rows for {code} {year}"
    return statistics.median(times) * 1000


# --- the national-scale input ------------------------------------------------------------------


def single_years_parse() -> tuple[bool, str]:
    """Does sql/stg_population_age.sql type SCB's single-year codes ('7' is 7-7, '100+' is 100 and
    older)? Runs the model on four cells in memory."""
    import duckdb

    from pipelines.assets.models import load_models

    model = next(m for m in load_models() if m.name == "stg_population_age")
    with duckdb.connect() as con:
        con.execute(
            "CREATE TABLE raw_population_age AS SELECT * FROM (VALUES "
            "('0114A0010', '7', '1', '2022', 'DeSO2018', 1.0, ''), ('0114A0010', '100+', '1', '2022', 'DeSO2018', 1.0, ''),"
            "('0114A0010', '5-9', '1', '2022', 'DeSO2018', 1.0, ''), ('0114A0010', '80-', '1', '2022', 'DeSO2018', 1.0, '')"
            ") AS t(Region, Alder, Kon, Tid, boundary_version, value, status)"
        )
        try:
            got = dict(
                (r[0], (r[1], r[2]))
                for r in con.execute(f"SELECT age_group, age_from, age_to FROM ({model.sql})").fetchall()
            )
        except duckdb.Error as exc:
            return False, str(exc).splitlines()[0]
    want = {"7": (7, 7), "100+": (100, None), "5-9": (5, 9), "80-": (80, None)}
    return got == want, f"typed as {got}, expected {want}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child-build", nargs=2, metavar=("DATA_DIR", "SOURCE"), help=argparse.SUPPRESS)
    parser.add_argument("--skip-national", action="store_true", help="only the real-snapshot figures")
    parser.add_argument("--pandas-years", type=int, default=None,
                        help="years of the input the pandas baseline runs on (default: all 15; fewer is scaled)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the national data directory here")
    args = parser.parse_args(argv)
    if args.child_build:
        return _child_build(*args.child_build)

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="grannskap-bench-") as tmp:
        data = Path(tmp) / "data"
        _copy_inputs(data)
        build = bench_build_steps(data, "embedded")
        query_ms = bench_query(data / "published" / "grannskap.duckdb")
        one_municipality = bench_one_municipality(data, "0581")
    print("Grannskap benchmark (2 cores; the embedded real snapshot: 5,984 DeSO, 2022)")
    print(_row("1. build raw -> published, validation incl. (wall, process)", build["wall"], "s", 60))
    print(_row("   of which inside the build (after imports)", build["job"], "s", None))
    print(_row("   of which until the published database was swapped in", build["to_published"], "s", None))
    print(_row("   peak memory of the build process", build["peak_mib"], "MiB", 4096))
    print(_row("2. one municipality (0581) through Dagster, cold process", one_municipality, "s", 15))
    print("     (its partition of municipality_extract + municipality_reports, on the published database)")
    print(_row("3. one district's profile query (median of 200)", query_ms, "ms", 10))
    sys.stdout.flush()
    if not args.skip_national:
        national(args)
    print(f"(make bench took {time.perf_counter() - started:.0f} s)")
    return 0


def national(args: argparse.Namespace) -> None:
    from pipelines import bench_baselines
    from pipelines.bench_data import YEARS

    print("\nNational scale (issue 6): the real 2022 snapshot + generated single year of age x sex,")
    print(f"every DeSO, {YEARS[0]}-{YEARS[-1]} (pipelines/bench_data.py)")
    ok, why = single_years_parse()
    if not ok:
        print("  SKIPPED: sql/stg_population_age.sql does not type SCB's single-year age codes ('7', '100+'):")
        print(f"  {why}. The build cannot run on single years until it does.")
        return
    tmp = tempfile.mkdtemp(prefix="grannskap-bench-national-", dir=args.keep)
    try:
        data = Path(tmp) / "data"
        _copy_inputs(data)
        raw_dir = data / "raw"
        stdout, _, gen_wall, _ = _run_child(["-m", "pipelines.bench_data", str(raw_dir)])
        rows = json.loads(stdout.split("wrote ", 1)[1].split(" to ", 1)[0].replace("'", '"'))
        print(f"  input: {sum(rows.values()):,} raw cells ({rows['population_age']:,} of population by age), "
              f"generated in {gen_wall:.1f} s")

        build = bench_build_steps(data, "raw")
        published = data / "published" / "grannskap.duckdb"
        to_published = build["imports"] + build["to_published"]
        print(_row("N1. build raw -> published, validation incl. (process start", to_published, "s", 60))
        print("      to the swap of the published database; Dagster job build_profiles)")
        print(_row("    of which inside the job (after imports)", build["to_published"], "s", None))
        print(_row("    the whole job incl. what runs after publishing (wall)", build["wall"], "s", None))
        print(_row("    peak memory of the build process", build["peak_mib"], "MiB", 4096))
        report_steps(build)
        sys.stdout.flush()

        floor = bench_baselines.run_floor_child(raw_dir)
        pandas = bench_baselines.run_pandas_child(raw_dir, args.pandas_years, Path(tmp) / "pandas.parquet")
        checked = bench_baselines.verify_against_published(Path(tmp) / "pandas.parquet", published)
        print(f"  pandas baseline verified against the published database: {checked}")
        build_s = build["to_published"]
        note = "" if pandas["years"] == pandas["all_years"] else (
            f" (ran on {pandas['years']} of {pandas['all_years']} years in {pandas['measured']:.1f} s, "
            f"scaled by rows read: x{pandas['scale']:.2f})"
        )
        print(_row("N2. naive pandas, same profiles from the same parquet", pandas["seconds"], "s", None) + note)
        print(f"      its peak memory {pandas['peak_mib']:.0f} MiB; reading the parquet {pandas['read']:.1f} s of it")
        print(_row("    build vs pandas: pandas time / build time (x)", pandas["seconds"] / build_s, "x", 10, lower_is_better=False))
        print(_row("N3. floor: DuckDB scan + GROUP BY per level (age totals)", floor["seconds"], "s", None))
        print(_row("    build vs floor: build time / floor time (x)", build_s / floor["seconds"], "x", 5))
        print("    (ratios use time inside each process after imports: the job to the swap, pandas, DuckDB)")
        print(_row("N4. one district's profile query, national db (median of 200)", bench_query(published), "ms", 10))
        print(_row("    the same district, all 15 years (median of 200)", bench_query_all_years(published), "ms", None))
        import duckdb

        followup = sum(s["seconds"] for s in build["steps"] if s["step"].startswith(("followup_", "stg_investment")))
        with duckdb.connect(str(published), read_only=True) as con:
            estimated, outcomes = con.execute("SELECT count(did_after), count(*) FROM followup_estimates").fetchone()
        print(_row("N5. follow-up of the example register (its models and suites)", followup, "s", None))
        print(f"      {estimated} of {outcomes} outcome estimates computed on the generated years; the rest say why not")
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"  kept {tmp}")


def bench_query_all_years(db: Path, runs: int = 200) -> float:
    import duckdb

    sql = "SELECT * FROM profiles WHERE area_code = $code ORDER BY year, indicator"
    with duckdb.connect(str(db), read_only=True) as con:
        con.execute(sql, {"code": "0581:Västra Klockaretorpet"}).fetchall()
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            con.execute(sql, {"code": "0581:Västra Klockaretorpet"}).fetchall()
            times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def report_steps(build: dict, top: int = 8) -> None:
    """Top steps by Dagster's STEP_SUCCESS durations, and the share of the blocking GX suites (check
    frame in DuckDB + GX validation, split by timing the two functions the suites call)."""
    steps = sorted(build["steps"], key=lambda s: -s["seconds"])
    total = sum(s["seconds"] for s in steps)
    checks = sum(s["seconds"] for s in steps if s["check"])
    frame = sum(v.get("frame", 0.0) for v in build["suites"].values())
    gx = sum(v.get("gx", 0.0) for v in build["suites"].values())
    job, published = build["job"], build["to_published"]
    print(f"    where the time goes: {len(steps)} steps took {total:.1f} s of the {job:.1f} s job "
          f"(published after {published:.1f} s); top {top} by STEP_SUCCESS duration:")
    for s in steps[:top]:
        kind = "check" if s["check"] else "asset"
        print(f"      {s['step']:<44} {kind:<5} {s['seconds']:7.2f} s  {100 * s['seconds'] / job:5.1f} % of the job")
    print(f"    GX suites (blocking check steps): {checks:.1f} s = {100 * checks / published:.0f} % of raw -> published; "
          f"of it check frames in DuckDB {frame:.1f} s, GX validation {gx:.1f} s ({100 * gx / published:.0f} %)")
    slow = sorted(build["suites"].items(), key=lambda kv: -sum(kv[1].values()))[:3]
    print("      slowest suites (frame + GX): " + ", ".join(f"{t} {v.get('frame', 0):.1f}+{v.get('gx', 0):.1f} s" for t, v in slow))


if __name__ == "__main__":
    raise SystemExit(main())
