"""The benchmark's generated raw layer (pipelines/bench_data.py): a small version — one county
(Östergötland, which holds Norrköping and its named districts), 2021 and 2022 — is consistent in
itself and passes every suite when built with source="raw"."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

from conftest import Workspace
from pipelines.bench_baselines import pandas_profiles
from pipelines.bench_data import generate
from pipelines.catalogue import load_catalogue
from pipelines.checks.suites import check_frame
from pipelines.raw import read_manifest

COUNTY = "05"
YEARS = (2021, 2022)


@pytest.fixture
def small(workspace: Workspace) -> Workspace:
    rows = generate(workspace.paths.raw_dir, YEARS, counties=[COUNTY], snapshot_dir=workspace.snapshot_dir)
    assert rows["deso_regso_key"] == 276
    # The official control total is Sweden's; for one county its own real 2022 total stands in,
    # so that the control-total rule is still exercised on the subset.
    age = pl.read_parquet(workspace.paths.raw_dir / "population_age" / "cells.parquet")
    total = age.filter((pl.col("Kon") == "1+2") & (pl.col("Alder") == "totalt"))["value"].sum()
    (workspace.paths.reference_dir / "control_totals.csv").write_text(
        f'area_code,year,measure,value,source\n00,2022,population,{int(total)},"county {COUNTY}, real 2022 cells"\n',
        encoding="utf-8",
    )
    return workspace


def _sql(ws: Workspace, query: str) -> list[tuple]:
    con = duckdb.connect()
    for name in ("population_age", "population_background", "education", "income"):
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{ws.paths.raw_dir / name / 'cells.parquet'}')")
    return con.execute(query).fetchall()


def test_generated_cells_are_consistent(small: Workspace):
    # every sex's total is the sum of its single years; SCB's single-year codes
    assert _sql(small, """
        SELECT count(*) FROM (
            SELECT Region, Kon, Tid, sum(value) FILTER (WHERE Alder <> 'totalt') AS parts,
                   max(value) FILTER (WHERE Alder = 'totalt') AS total, count(*) AS cells
            FROM population_age GROUP BY ALL)
        WHERE parts <> total OR cells <> CASE WHEN Kon = '1+2' THEN 18 ELSE 102 END""") == [(0,)]
    codes = {r[0] for r in _sql(small, "SELECT DISTINCT Alder FROM population_age WHERE Kon = '1'")}
    assert codes == {"totalt", "100+", *map(str, range(100))}
    # 2022's single years sum exactly to SCB's real five-year groups, DeSO by DeSO
    assert _sql(small, """
        WITH single AS (
            SELECT Region, CASE WHEN Alder = '100+' OR CAST(Alder AS INT) >= 80 THEN '80-'
                                WHEN CAST(Alder AS INT) < 5 THEN '-4'
                                ELSE (CAST(Alder AS INT) // 5 * 5) || '-' || (CAST(Alder AS INT) // 5 * 5 + 4) END AS band,
                   sum(value) AS persons
            FROM population_age WHERE Tid = '2022' AND Kon IN ('1', '2') AND Alder <> 'totalt' GROUP BY ALL)
        SELECT count(*), count(*) FILTER (WHERE s.persons IS DISTINCT FROM r.value)
        FROM population_age AS r LEFT JOIN single AS s ON s.Region = r.Region AND s.band = r.Alder
        WHERE r.Kon = '1+2' AND r.Alder <> 'totalt'""") == [(276 * 17, 0)]
    # education levels sum to the age table's population 25-64 (men + women), every DeSO and year
    assert _sql(small, """
        WITH a AS (SELECT Region, Tid, sum(value) AS p FROM population_age
                   WHERE Kon IN ('1', '2') AND Alder NOT IN ('totalt', '100+') AND CAST(Alder AS INT) BETWEEN 25 AND 64 GROUP BY ALL),
             e AS (SELECT Region, Tid, sum(value) AS e FROM education GROUP BY ALL)
        SELECT count(*), count(*) FILTER (WHERE a.p IS DISTINCT FROM e.e) FROM a FULL JOIN e USING (Region, Tid)""") == [(276 * 2, 0)]
    # background: foreign + Swedish = all = the age table's population
    assert _sql(small, """
        WITH b AS (SELECT Region, Tid, sum(value) FILTER (WHERE UtlBakgrund <> 'SA') AS parts,
                          max(value) FILTER (WHERE UtlBakgrund = 'SA') AS sa FROM population_background GROUP BY ALL),
             a AS (SELECT Region, Tid, sum(value) AS p FROM population_age WHERE Kon IN ('1', '2') AND Alder = 'totalt' GROUP BY ALL)
        SELECT count(*), count(*) FILTER (WHERE parts <> sa OR sa <> p) FROM b JOIN a USING (Region, Tid)""") == [(276 * 2, 0)]
    assert read_manifest(small.paths.raw_dir, "education")["provenance"]["source"].startswith("generated:bench")


def test_generation_is_deterministic(small: Workspace, tmp_path):
    generate(tmp_path / "again", YEARS, counties=[COUNTY], snapshot_dir=small.snapshot_dir)
    for name in ("population_age", "population_background", "education", "income"):
        first = read_manifest(small.paths.raw_dir, name)["cells_sha256"]
        assert read_manifest(tmp_path / "again", name)["cells_sha256"] == first, name


TEST_INVESTMENT = """municipality: "0581"
investments:
  - name: Testinsats 2022
    districts: [Västra Klockaretorpet]
    target_group: {description: constructed for this test, ages: [0, 4]}
    start: 2022-01-01
    end: 2022-12-31
    outcomes: [share_age_0_4]
    purpose: A constructed investment whose baseline (2021) is among the generated years.
"""


def test_small_national_input_passes_every_suite(small: Workspace):
    (small.data_dir / "investments" / "0581_test.yaml").write_text(TEST_INVESTMENT, encoding="utf-8")
    result = small.build(source="raw")
    failed = [
        e.asset_check_evaluation_data.description
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.asset_check_evaluation_data.passed
    ]
    errors = [
        f"{e.step_key}: {(e.step_failure_data.error.cause or e.step_failure_data.error).message.strip()}"
        for e in result.all_events
        if e.is_step_failure and e.step_failure_data.error
    ]
    assert result.success, f"failed checks: {failed}; failed steps: {errors}"
    evaluations = [e for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert evaluations and all(e.asset_check_evaluation_data.passed for e in evaluations)
    with duckdb.connect(str(small.paths.build_db), read_only=True) as con:
        # single years are typed as one-year ranges, '100+' as 100 and older
        assert con.execute(
            "SELECT DISTINCT age_group, age_from, age_to FROM stg_population_age WHERE age_group IN ('7', '100+', '80-') ORDER BY 1"
        ).fetchall() == [("100+", 100, None), ("7", 7, 7), ("80-", 80, None)]
        # the suites really compared the generated year: education against the men + women aged 25-64
        frame = check_frame(con, "stg_education")
        unchecked = frame[frame["population_25_64"].isna()]
        assert unchecked.empty, (
            f"sql/checks/stg_education.sql compares nothing for {len(unchecked)} DeSO-year(s) (e.g. "
            f"{unchecked.iloc[0].area_code} {unchecked.iloc[0].year}): it takes sex '1+2' only, not men + women"
        )
        assert (frame["population_25_64"] == frame["all_levels"]).all()
    with duckdb.connect(str(small.paths.published_db), read_only=True) as con:
        got = dict(con.execute(
            "SELECT year, value FROM profiles WHERE area_code = '0581C1110' AND indicator = 'population'").fetchall())
    assert set(got) == set(YEARS) and got[2022] == 1513  # the real snapshot's figure
    with duckdb.connect(str(small.paths.published_db), read_only=True) as con:
        # with a baseline year in the data, the follow-up estimates (a constructed investment in 2022)
        years, did, reason = con.execute(
            "SELECT years_during, did_during, no_estimate_reason FROM followup_estimates "
            "WHERE investment_id = '0581:Testinsats 2022' AND indicator = 'share_age_0_4'").fetchone()
        assert years == [2022] and did is not None and "inga år efter insatsen" in reason
        # an investment of a municipality outside the build is kept, and says so
        reasons = {r for (r,) in con.execute(
            "SELECT DISTINCT no_estimate_reason FROM followup_estimates WHERE investment_id LIKE '1480:%'").fetchall()}
        assert reasons == {"kommunen 1480 finns inte i databasen: bygget omfattar den inte"}


def test_the_pandas_baseline_computes_every_indicator_built_from_deso(small: Workspace):
    """`make bench` compares the build with a naive pandas computation of the same profiles: it must
    keep up with the catalogue (and leave out what is not summed from DeSO: published rates, local data)."""
    profiles, _ = pandas_profiles(small.paths.raw_dir)
    built = {i.id for i in load_catalogue() if i.built_from_deso}
    assert set(profiles["indicator"]) == built
    assert not built & {"share_openly_unemployed", "reports_of_concern_preschool"}
