"""Baselines for `make bench`: what the build is compared with.

pandas_profiles  a naive pandas implementation of the same profiles from the same raw parquet
                 files: read, take both sexes (SCB's '1+2' where delivered, else men + women, as
                 the build does), type the age codes, map DeSO -> RegSO / municipality / county /
                 country, sum numerators and denominators per level for each catalogue indicator,
                 compute shares, join the municipality's and the nation's values, rank within the
                 municipality and the nation. Idiomatic groupby/merge, no DuckDB, no validation,
                 no disclosure control, no named districts, no trends, no writes but its result.
duckdb_floor     the floor: a bare DuckDB scan-and-aggregate of the same input: read the age
                 parquet and one GROUP BY per level for the population (every age cell, men +
                 women, summed per area and year). No validation, no writes.

Each runs in a child process (`python -m pipelines.bench_baselines pandas|floor RAW_DIR ...`), so
its time and peak memory are its own; `verify_against_published` checks the pandas result
against the published database for a few areas, so that the comparison is apples to apples.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import sys
import time
from pathlib import Path

import pandas as pd

from pipelines.catalogue import load_catalogue

LEVELS = ("deso", "regso", "municipality", "county", "country")
TABLES = ("population_age", "population_background", "education", "income")
CATEGORY_COLUMN = {"population_age": "Alder", "population_background": "UtlBakgrund", "education": "UtbildningsNiva",
                   "income": "ContentsCode"}
_AGE = re.compile(r"^(\d*)(?:(-)(\d*))?(\+?)$")


def _cells(raw_dir: Path, name: str) -> Path:
    return raw_dir / name / "cells.parquet"


def age_range(code: str) -> tuple[float, float]:
    """SCB's age codes: '-4', '5-9', '80-' (five-year groups), '7', '100+' (single years);
    (from, to) with to = inf for 'and older'; 'totalt' is (nan, nan)."""
    m = _AGE.match(code)
    if code == "totalt" or not m:
        return float("nan"), float("nan")
    lo, dash, hi, plus = m.groups()
    start = float(lo) if lo else 0.0
    if plus or (dash and not hi):
        return start, float("inf")
    return start, float(hi) if dash else start


# --- the naive pandas implementation ------------------------------------------------------------


def _both_sexes(frame: pd.DataFrame, category: str) -> pd.DataFrame:
    """SCB's '1+2' where an area and year has it, otherwise men and women summed."""
    frame = frame.copy()
    frame["is_both"] = frame["Kon"] == "1+2"
    frame["has_both"] = frame.groupby(["Region", "Tid"])["is_both"].transform("any")
    keep = (frame["has_both"] & frame["is_both"]) | (~frame["has_both"] & frame["Kon"].isin(["1", "2"]))
    return frame[keep].groupby(["Region", "Tid", category], as_index=False)["value"].sum()


def pandas_profiles(raw_dir: Path, years: list[int] | None = None) -> tuple[pd.DataFrame, dict]:
    timings: dict[str, float] = {}
    t = time.perf_counter()
    filters = [("Tid", "in", [str(y) for y in years])] if years else None
    tables = {name: pd.read_parquet(_cells(raw_dir, name), filters=filters) for name in TABLES}
    key = pd.read_parquet(_cells(raw_dir, "deso_regso_key"))
    timings["read"] = time.perf_counter() - t
    rows_read = sum(len(f) for f in tables.values())

    # Both sexes, typed ages.
    tables["population_age"] = _both_sexes(tables["population_age"], "Alder")
    tables["population_background"] = _both_sexes(tables["population_background"], "UtlBakgrund")
    codes = pd.DataFrame({"Alder": tables["population_age"]["Alder"].unique()})
    codes[["age_from", "age_to"]] = pd.DataFrame(codes["Alder"].map(age_range).tolist(), index=codes.index)
    tables["population_age"] = tables["population_age"].merge(codes, on="Alder", how="left")

    # Numerator and denominator of every catalogue indicator per DeSO and year; published rates
    # (values SCB publishes for RegSO and larger areas) and local data are not built from DeSO.
    catalogue = [i for i in load_catalogue() if i.built_from_deso]
    per_deso = []
    for ind in catalogue:
        parts = []
        for role, term in (("numerator", ind.numerator), ("denominator", ind.denominator)):
            if not term:
                continue
            cells = tables[term["measure"]]
            if "ages" in term:
                lo, hi = term["ages"]
                hi = float("inf") if hi is None else hi
                chosen = cells[(cells["age_from"] >= lo) & (cells["age_to"] <= hi)]
            else:
                chosen = cells[cells[CATEGORY_COLUMN[term["measure"]]].isin([str(c) for c in term["categories"]])]
            parts.append(chosen.groupby(["Region", "Tid"])["value"].sum().rename(role))
        frame = pd.concat(parts, axis=1).reset_index()
        frame["indicator"] = ind.id
        per_deso.append(frame)
    deso = pd.concat(per_deso, ignore_index=True)
    if "denominator" not in deso:
        deso["denominator"] = float("nan")

    # DeSO -> every level, summed.
    key = key.assign(
        deso=key["Region"],
        municipality=key["Kommun"].str.strip(),
        regso=key["Kommun"].str.strip() + ":" + key["RegSO"].str.strip(),
        county=key["Kommun"].str.strip().str[:2],
        country="00",
    )[["Region", *LEVELS]]
    deso = deso.merge(key, on="Region", how="inner")
    kinds = {i.id: i.kind for i in catalogue}
    levels_of = {i.id: set(i.levels) for i in catalogue}
    out = []
    for level in LEVELS:
        wanted = deso[deso["indicator"].map(lambda i: level in levels_of[i])]
        summed = wanted.groupby([level, "Tid", "indicator"], as_index=False)[["numerator", "denominator"]].sum(min_count=1)
        summed = summed.rename(columns={level: "area_code"})
        summed["area_level"] = level
        if level in ("deso", "regso"):
            summed = summed.merge(key[[level, "municipality"]].drop_duplicates(), left_on="area_code", right_on=level).drop(columns=level)
        elif level == "municipality":
            summed["municipality"] = summed["area_code"]
        else:
            summed["municipality"] = None
        out.append(summed)
    values = pd.concat(out, ignore_index=True).rename(columns={"municipality": "municipality_code"})
    values["year"] = values.pop("Tid").astype(int)
    kind = values["indicator"].map(kinds)
    share = values["numerator"] / values["denominator"].where(values["denominator"] != 0)
    values["value"] = share.where(kind == "share", values["numerator"])

    # Side by side with the municipality and the nation.
    muni = values.loc[values["area_level"] == "municipality", ["area_code", "year", "indicator", "value"]]
    muni = muni.rename(columns={"area_code": "municipality_code", "value": "municipality_value"})
    nation = values.loc[values["area_level"] == "country", ["year", "indicator", "value"]].rename(columns={"value": "national_value"})
    profiles = values.merge(muni, on=["municipality_code", "year", "indicator"], how="left")
    profiles = profiles.merge(nation, on=["year", "indicator"], how="left")

    # Ranks: 1 is the greatest need.
    direction = profiles["indicator"].map({i.id: i.direction for i in catalogue})
    profiles["need_value"] = profiles["value"].where(direction != "more_is_less_need", -profiles["value"])
    profiles["rank_in_municipality"] = profiles.groupby(["area_level", "municipality_code", "year", "indicator"])[
        "need_value"
    ].rank(method="min", ascending=False)
    profiles["rank_in_nation"] = profiles.groupby(["area_level", "year", "indicator"])["need_value"].rank(
        method="min", ascending=False
    )
    timings["total"] = time.perf_counter() - t
    timings["rows_read"] = rows_read
    return profiles.drop(columns="need_value"), timings


# --- the floor ---------------------------------------------------------------------------------


FLOOR_LEVEL = {
    "deso": "Region",
    "regso": "trim(Kommun) || ':' || trim(RegSO)",
    "municipality": "trim(Kommun)",
    "county": "substr(trim(Kommun), 1, 2)",
    "country": "'00'",
}


def duckdb_floor(raw_dir: Path) -> tuple[dict, dict]:
    """Per level: scan the age parquet, join the DeSO's area of that level, GROUP BY area and year."""
    import duckdb

    t = time.perf_counter()
    results = {}
    with duckdb.connect() as con:
        for level, expr in FLOOR_LEVEL.items():
            results[level] = con.execute(
                f"""
                SELECT k.area_code, a.Tid, sum(a.value) AS population
                FROM read_parquet($age) AS a
                JOIN (SELECT Region, {expr} AS area_code FROM read_parquet($key)) AS k USING (Region)
                WHERE a.Alder <> 'totalt' AND a.Kon IN ('1', '2')
                GROUP BY ALL
                """,
                {"age": str(_cells(raw_dir, "population_age")), "key": str(_cells(raw_dir, "deso_regso_key"))},
            ).fetchall()
    seconds = time.perf_counter() - t
    national = {tid: pop for _, tid, pop in results["country"]}
    return {"seconds": seconds, "rows": {k: len(v) for k, v in results.items()}}, national


# --- verification ------------------------------------------------------------------------------

VERIFY_AREAS = {
    "deso": ["0581C1110", "0180C4420", "1480C3560"],
    "regso": ["0581:Västra Klockaretorpet"],
    "municipality": ["0581", "0180", "1480", "2584"],
    "county": ["05", "01"],
    "country": ["00"],
}


def verify_against_published(pandas_file: Path, published: Path) -> str:
    """Compare the pandas profiles with the published database for a few areas, every indicator and
    every year the pandas run covered. Values hidden by disclosure control are skipped; a rank is
    compared only where nothing in its ranking universe is hidden (else the two differ by design)."""
    import duckdb

    ours = pd.read_parquet(pandas_file)
    codes = [c for cs in VERIFY_AREAS.values() for c in cs]
    with duckdb.connect(str(published), read_only=True) as con:
        theirs = con.execute(
            "SELECT area_level, area_code, year, indicator, value, municipality_value, national_value, "
            "rank_in_municipality, areas_in_municipality, rank_in_nation, areas_in_nation FROM profiles "
            "WHERE list_contains($codes, area_code) AND area_level <> 'district'",
            {"codes": codes},
        ).df()
    theirs = theirs[theirs["year"].isin(ours["year"].unique())]
    counted = ours.assign(
        areas_m=ours.groupby(["area_level", "municipality_code", "year", "indicator"])["value"].transform("count"),
        areas_n=ours.groupby(["area_level", "year", "indicator"])["value"].transform("count"),
    )
    both = theirs.merge(counted, on=["area_level", "area_code", "year", "indicator"], suffixes=("", "_pd"), how="left")
    wanted_areas = {(lvl, c) for lvl, cs in VERIFY_AREAS.items() for c in cs}
    found = set(zip(both["area_level"], both["area_code"]))
    assert wanted_areas <= found, f"areas missing from the published database: {sorted(wanted_areas - found)}"
    assert both["value_pd"].notna().sum() > 0 and not both["areas_n"].isna().all(), "pandas result lacks the areas"

    checked = {"values": 0, "comparisons": 0, "ranks": 0}
    problems = []

    def compare(col: str, mask: pd.Series, rel: float = 1e-9) -> None:
        a, b = both.loc[mask, col].astype(float), both.loc[mask, f"{col}_pd"].astype(float)
        bad = ~((a - b).abs() <= rel * b.abs().clip(lower=1.0))
        checked["comparisons" if col != "value" else "values"] += int(mask.sum())
        for _, r in both.loc[mask][bad.values].head(3).iterrows():
            problems.append(f"{col} {r.area_level} {r.area_code} {r.year} {r.indicator}: published {r[col]}, pandas {r[col + '_pd']}")

    compare("value", both["value"].notna())
    compare("municipality_value", both["municipality_value"].notna())
    compare("national_value", both["national_value"].notna())
    for rank, areas, ours_areas in (("rank_in_municipality", "areas_in_municipality", "areas_m"),
                                    ("rank_in_nation", "areas_in_nation", "areas_n")):
        mask = both[rank].notna() & (both[areas] == both[ours_areas])
        a, b = both.loc[mask, rank].astype(float), both.loc[mask, f"{rank}_pd"].astype(float)
        checked["ranks"] += int(mask.sum())
        for _, r in both.loc[mask][(a != b).values].head(3).iterrows():
            problems.append(f"{rank} {r.area_level} {r.area_code} {r.year} {r.indicator}: published {r[rank]}, pandas {r[rank + '_pd']}")
    assert not problems, "the pandas baseline disagrees with the build:\n" + "\n".join(problems)
    assert checked["values"] >= 50 and checked["ranks"] >= 20, f"too little compared: {checked}"
    return (f"verified — {checked['values']} values, {checked['comparisons']} municipality/national values and "
            f"{checked['ranks']} ranks of {len(wanted_areas)} areas x {both['year'].nunique()} years x "
            f"{both['indicator'].nunique()} indicators agree")


# --- child processes ---------------------------------------------------------------------------


def run_pandas_child(raw_dir: Path, years: int | None, out: Path) -> dict:
    """The pandas baseline in a child process; on fewer years than the input, scaled by rows read."""
    from pipelines.bench import _last_json, _run_child

    args = ["-m", "pipelines.bench_baselines", "pandas", str(raw_dir), "--out", str(out)]
    if years:
        args += ["--years", str(years)]
    stdout, _, _, peak = _run_child(args)
    r = _last_json(stdout)
    scale = r["all_rows"] / r["rows_read"]
    return {**r, "measured": r["total"], "seconds": r["total"] * scale, "scale": scale, "peak_mib": peak}


def run_floor_child(raw_dir: Path) -> dict:
    from pipelines.bench import _last_json, _run_child

    stdout, _, _, peak = _run_child(["-m", "pipelines.bench_baselines", "floor", str(raw_dir)])
    return {**_last_json(stdout), "peak_mib": peak}


def _all_years(raw_dir: Path) -> list[int]:
    import pyarrow.parquet as pq

    return sorted({int(t) for t in pq.read_table(_cells(raw_dir, "population_age"), columns=["Tid"]).column("Tid").unique().to_pylist()})


def _all_rows(raw_dir: Path) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(_cells(raw_dir, n)).metadata.num_rows for n in TABLES)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The benchmark's baselines (see the module docstring).")
    parser.add_argument("which", choices=["pandas", "floor"])
    parser.add_argument("raw_dir", type=Path)
    parser.add_argument("--years", type=int, default=None, help="pandas: only the latest N years")
    parser.add_argument("--out", type=Path, default=None, help="pandas: write the profiles here (parquet)")
    args = parser.parse_args(argv)
    if args.which == "floor":
        result, national = duckdb_floor(args.raw_dir)
        result["national_2022"] = national.get("2022")
    else:
        all_years = _all_years(args.raw_dir)
        years = all_years[-args.years:] if args.years else None
        profiles, timings = pandas_profiles(args.raw_dir, years)
        if args.out:
            profiles.to_parquet(args.out)
        result = {**timings, "years": len(years or all_years), "all_years": len(all_years),
                  "all_rows": _all_rows(args.raw_dir), "profile_rows": len(profiles)}
    result["peak_self_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
