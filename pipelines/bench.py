"""`make bench`: the figures users care about, each with its target and ratio.

Runs in a temporary data directory so it never touches data/published. Figures:
  1. the build from the embedded raw snapshot to the published database, validation included:
     wall time and peak memory (a child process, so the peak is the build's own);
  2. one district's profile query on the published database: median latency over many runs.
"""

from __future__ import annotations

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


def _row(name: str, value: float, unit: str, target: float | None, lower_is_better: bool = True) -> str:
    if target is None:
        return f"  {name:<58} {value:>10.3f} {unit}"
    ratio = value / target if lower_is_better else target / value
    verdict = "met" if ratio <= 1 else "NOT met"
    return f"  {name:<58} {value:>10.3f} {unit:<4} target {target:g} {unit}  ratio {ratio:5.2f}  {verdict}"


def bench_build(data_dir: Path) -> dict:
    """Build in a child process; its peak RSS is read from the child's rusage."""
    code = (
        "import time, json; t=time.perf_counter();"
        "from pipelines.cli import main; rc=main(['run']);"
        "print(json.dumps({'rc': rc, 'seconds': time.perf_counter()-t}))"
    )
    env = {**os.environ, "GRANNSKAP_DATA_DIR": str(data_dir)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["rc"] == 0, out.stderr
    return {"wall": wall, "in_process": result["seconds"], "peak_mib": max(peak_kib, before) / 1024}


def bench_query(db: Path, runs: int = 200) -> float:
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        code = "0581:Västra Klockaretorpet"
        con.execute(KLOCKARETORPET, {"code": code, "year": 2022}).fetchall()  # warm
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            con.execute(KLOCKARETORPET, {"code": code, "year": 2022}).fetchall()
            times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="grannskap-bench-") as tmp:
        data = Path(tmp) / "data"
        shutil.copytree(REPO_ROOT / "data" / "embedded", data / "embedded")
        shutil.copytree(REPO_ROOT / "data" / "reference", data / "reference")
        shutil.copytree(REPO_ROOT / "data" / "districts", data / "districts")
        build = bench_build(data)
        query_ms = bench_query(data / "published" / "grannskap.duckdb")
    print("Grannskap benchmark (2 cores; the embedded real snapshot: 5,984 DeSO, 2022)")
    print(_row("1. build raw -> published, validation incl. (wall, process)", build["wall"], "s", 60))
    print(_row("   of which inside the build (after imports)", build["in_process"], "s", None))
    print(_row("   peak memory of the build process", build["peak_mib"], "MiB", 4096))
    print(_row("3. one district's profile query (median of 200)", query_ms, "ms", 10))
    print("Not yet measured (issue 6): the 15-year national-scale input, the pandas baseline and the")
    print("DuckDB scan floor, one municipality through Dagster, and where the time goes per step.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
