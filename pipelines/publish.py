"""Publishing the analysts' database: build a complete candidate file beside the published one,
check it, then swap it in with an atomic rename.

An analyst holding the old file open keeps reading the old inode undisturbed; new connections
see the new file; a failure at any step before the rename leaves the published file as it was.
A lock file serialises publishers, so two refreshes never write the same candidate or swap at once.
"""

from __future__ import annotations

import fcntl
import os
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

import duckdb

from pipelines.identifiers import ident

# Tables copied from the build database into the published one (published name -> build table).
PUBLISHED_TABLES = {
    "areas": "ind_areas",
    "area_links": "ind_area_links",
    "indicators": "indicator_catalogue",
    "profile_rows": "profiles",
    "meta_sources": "meta_sources",
    "needs_index": "needs_index",
    "trends": "profile_trends",
    "investments": "stg_investments",
    "investment_areas": "stg_investment_areas",
    "followup_comparisons": "followup_comparisons",
    "followup_points": "followup_points",
    "followup_estimates": "followup_estimates",
}
# Published tables whose every row carries the run that published it (figures an analyst quotes).
RUN_STAMPED = ("profile_rows", "followup_points", "followup_estimates")

# Views over the published tables; {p} is the catalogue prefix ('' for the file store).
VIEWS = {
    "profiles": """
SELECT area_code, area_name, area_level, regso_code, municipality_code, municipality_name,
       county_code, county_name, year, indicator, title_sv, unit, direction,
       value, municipality_value, county_value, national_value,
       diff_municipality, ratio_municipality, diff_national, ratio_national,
       rank_in_municipality, areas_in_municipality, rank_in_nation, areas_in_nation,
       missing_reason, suppressed, reliability, value_area_level, value_area_code,
       boundary_version, source_table, source_reference_year, source_updated, run_id
FROM {p}profile_rows
""",
    # The follow-up of every investment, one row per area, outcome and year, readable on its own.
    "followup": """
SELECT i.name AS investment, p.investment_id, i.municipality_code, i.start_date, i.end_date, i.baseline_year,
       p.area_level, p.area_code, p.area_name, p.indicator, k.title_sv, k.unit, k.direction,
       p.year, p.period, p.value, p.comparison_value, p.municipality_value, p.national_value,
       p.baseline_value, p.change_since_baseline, p.comparison_change,
       p.comparison_change_min, p.comparison_change_max, p.did_estimate, p.no_estimate_reason,
       p.value_note, p.reliability, p.comparisons_with_value, p.comparisons_with_change, p.comparisons,
       e.caveats, k.source_table, p.run_id
FROM {p}followup_points AS p
JOIN {p}investments AS i USING (investment_id)
LEFT JOIN {p}indicators AS k USING (indicator)
LEFT JOIN {p}followup_estimates AS e
       ON e.investment_id = p.investment_id AND e.area_code IS NOT DISTINCT FROM p.area_code AND e.indicator = p.indicator
""",
}


class PublishError(RuntimeError):
    pass


@contextmanager
def publish_lock(published: Path, wait: bool = True) -> Iterator[None]:
    published.parent.mkdir(parents=True, exist_ok=True)
    with open(published.parent / f".{published.name}.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError as exc:
            raise PublishError(f"another refresh is publishing {published}; try again when it is done") from exc
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def acquire_build_lock(build_db: Path) -> IO:
    """One refresh at a time per build database: a second one fails at once, clearly. The lock is
    held by the returned open file until it is closed (or the process dies)."""
    build_db.parent.mkdir(parents=True, exist_ok=True)
    fh = open(build_db.parent / f".{build_db.name}.lock", "w")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        fh.close()
        raise PublishError(f"another refresh is already running on {build_db}; try again when it is done") from exc
    return fh


def _previous_runs(published: Path):
    if not published.exists():
        return None
    try:
        with duckdb.connect(str(published), read_only=True) as old:
            if "meta_runs" in {r[0] for r in old.execute("SELECT table_name FROM information_schema.tables").fetchall()}:
                return old.table("meta_runs").to_arrow_table()
    except duckdb.Error:
        return None
    return None


def _remove_stale_candidates(published: Path) -> list[str]:
    """Candidates left by a publisher that was killed (we hold the lock, so none is in use)."""
    stale = sorted(published.parent.glob(f".{published.stem}.candidate-*"))
    for path in stale:
        path.unlink()
    return [p.name for p in stale]


def _fault_injection_pause() -> None:
    """Tests of kill -9 during the swap set GRANNSKAP_PAUSE_BEFORE_SWAP=<seconds>: the publisher
    announces it on stderr and waits with a complete candidate, right before the rename."""
    pause = float(os.environ.get("GRANNSKAP_PAUSE_BEFORE_SWAP", "0") or 0)
    if pause > 0:
        print("GRANNSKAP: candidate ready, about to swap", file=__import__("sys").stderr, flush=True)
        time.sleep(pause)


META_RUNS_COLUMNS = (
    "run_id VARCHAR, published_at VARCHAR, source VARCHAR, snapshot VARCHAR, profile_rows BIGINT, notes VARCHAR"
)


def write_published_tables(out: duckdb.DuckDBPyConnection, build: duckdb.DuckDBPyConnection, run: dict,
                           catalog: str | None = None, previous_runs=None) -> dict[str, int]:
    """Create (or replace) the published tables and the `profiles` view in `out`, in `catalog` when
    given (an attached DuckLake), and append this run to meta_runs. Shared by every store."""
    prefix = f"{ident(catalog)}." if catalog else ""
    counts: dict[str, int] = {}
    for name, source in PUBLISHED_TABLES.items():
        data = build.table(source).to_arrow_table()
        target = prefix + ident(name)
        if name in RUN_STAMPED:
            out.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT *, $run_id AS run_id FROM data", {"run_id": run["run_id"]})
        else:
            out.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM data")
        counts[name] = data.num_rows
    for view, body in VIEWS.items():
        out.execute(f"CREATE OR REPLACE VIEW {prefix}{ident(view)} AS " + body.format(p=prefix))
    out.execute(f"CREATE TABLE IF NOT EXISTS {prefix}meta_runs ({META_RUNS_COLUMNS})")
    if previous_runs is not None:
        out.execute(f"INSERT INTO {prefix}meta_runs SELECT * FROM previous_runs")
    out.execute(
        f"INSERT INTO {prefix}meta_runs VALUES ($run_id, $published_at, $source, $snapshot, $rows, $notes)",
        {**run, "rows": counts["profile_rows"]},
    )
    return counts


def publish(build: duckdb.DuckDBPyConnection, published: Path, run: dict) -> dict[str, int]:
    """Copy the published tables out of the build database into a new file and swap it in."""
    with publish_lock(published):
        _remove_stale_candidates(published)
        candidate = published.parent / f".{published.stem}.candidate-{uuid.uuid4().hex[:8]}{published.suffix}"
        try:
            previous_runs = _previous_runs(published)
            with duckdb.connect(str(candidate)) as out:
                counts = write_published_tables(out, build, run, previous_runs=previous_runs)
                out.execute("CHECKPOINT")
            # The candidate must read back whole before it may replace anything.
            with duckdb.connect(str(candidate), read_only=True) as check:
                for name, rows in counts.items():
                    got = check.execute(f"SELECT count(*) FROM {ident(name)}").fetchone()[0]
                    if got != rows:
                        raise PublishError(f"candidate database: {name} has {got} rows, expected {rows}")
                for view in VIEWS:
                    check.execute(f"SELECT count(*) FROM {ident(view)}").fetchone()
            with open(candidate, "rb") as fh:
                os.fsync(fh.fileno())
            _fault_injection_pause()
            os.replace(candidate, published)
            dir_fd = os.open(published.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        finally:
            for leftover in (candidate, candidate.with_name(candidate.name + ".wal")):
                if leftover.exists():
                    leftover.unlink()
        return counts
