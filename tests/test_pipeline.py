"""The whole asset graph on the real SCB snapshot: every check passes and the published figures
are the ones computed by hand from the delivered files."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from pipelines.settings import REPO_ROOT

SNAPSHOT = REPO_ROOT / "data" / "embedded" / "scb-deso-2022-nationwide"
KLOCKARETORPET = ("0581C1110", "0581C1250")  # the DeSO of RegSO Västra Klockaretorpet (SCB's key)


def _read(name: str, sep: str = ",") -> dict[str, dict[str, str]]:
    with open(SNAPSHOT / name, encoding="utf-8-sig") as fh:
        return {row[next(iter(row))]: row for row in csv.DictReader(fh, delimiter=sep) if row.get("deso")}


def test_every_asset_and_check_succeeds(built):
    ws, result = built
    assert result.success
    checks = [e.asset_check_evaluation_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert len(checks) == 28, [c.asset_check_key for c in checks]  # 21 + 2 local data + 5 register and follow-up
    assert all(c.passed for c in checks), [c.description for c in checks if not c.passed]
    materialized = {e.asset_key.to_user_string() for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION"}
    assert {"raw_population_age", "stg_population_age", "ind_values", "profiles", "published_database"} <= materialized


def test_area_levels_are_complete(published: Path):
    with duckdb.connect(str(published), read_only=True) as con:
        counts = dict(con.execute("SELECT area_level, count(*) FROM areas GROUP BY 1").fetchall())
    # 5,984 DeSO (2018); 3,363 RegSO once the key's trailing spaces are trimmed; 290 municipalities; 21 counties.
    assert counts == {"deso": 5984, "regso": 3363, "district": 6, "municipality": 290, "county": 21, "country": 1}


def test_national_population_is_scbs_official_figure(published: Path):
    age = _read("age_demographics_deso.csv")
    by_hand = sum(int(r["total"]) for r in age.values())
    with duckdb.connect(str(published), read_only=True) as con:
        value = con.execute(
            "SELECT value FROM profiles WHERE area_level = 'country' AND indicator = 'population'"
        ).fetchone()[0]
    assert by_hand == 10_521_556 == value


def test_klockaretorpet_prestudy_query_matches_the_raw_files(published: Path):
    """The pre-study as one query; expected figures computed here from the delivered CSVs."""
    age, bg, edu = _read("age_demographics_deso.csv"), _read("foreignborn_demographics_deso.csv"), _read(
        "education_demographics_deso.csv"
    )
    kt = lambda table, col: sum(int(table[d][col]) for d in KLOCKARETORPET)  # noqa: E731
    norrkoping = [d for d in age if d.startswith("0581")]
    nk = lambda table, col: sum(int(table[d][col]) for d in norrkoping)  # noqa: E731
    edu_cols = ["middle_school", "gymnasium", "post_gymnasium_less_than_3", "post_gymnasium_more_than_3", "education_missing"]
    expected = {
        "population": (kt(age, "total"), nk(age, "total")),
        "share_age_0_4": (kt(age, "0-4 år") / kt(age, "total"), nk(age, "0-4 år") / nk(age, "total")),
        "share_foreign_background": (kt(bg, "foreign") / kt(bg, "total"), nk(bg, "foreign") / nk(bg, "total")),
        "share_low_education": (
            kt(edu, "middle_school") / sum(kt(edu, c) for c in edu_cols),
            nk(edu, "middle_school") / sum(nk(edu, c) for c in edu_cols),
        ),
    }
    with duckdb.connect(str(published), read_only=True) as con:
        rows = con.execute(
            """
            SELECT indicator, value, municipality_value, national_value, rank_in_municipality, areas_in_municipality
            FROM profiles
            WHERE area_level = 'regso' AND municipality_code = '0581' AND area_name = 'Västra Klockaretorpet' AND year = 2022
            """
        ).fetchall()
    got = {r[0]: r[1:] for r in rows}
    for indicator, (area, municipality) in expected.items():
        assert got[indicator][0] == pytest.approx(area, rel=1e-12), indicator
        assert got[indicator][1] == pytest.approx(municipality, rel=1e-12), indicator
    # The pre-study's claims hold on 2022 data: more small children, a higher foreign-background
    # share and lower education than Norrköping as a whole.
    for indicator in ("share_age_0_4", "share_foreign_background", "share_low_education"):
        value, municipality, national, rank, n = got[indicator]
        assert value > municipality and n == 40 and 1 <= rank <= n
    assert round(got["share_foreign_background"][0], 2) == 0.44


def test_shares_are_sums_of_counts_not_averages_of_shares(published: Path):
    age = _read("age_demographics_deso.csv")
    kids, people = sum(int(age[d]["0-4 år"]) for d in KLOCKARETORPET), sum(int(age[d]["total"]) for d in KLOCKARETORPET)
    mean_of_shares = sum(int(age[d]["0-4 år"]) / int(age[d]["total"]) for d in KLOCKARETORPET) / 2
    with duckdb.connect(str(published), read_only=True) as con:
        value = con.execute(
            "SELECT value FROM profiles WHERE area_code = '0581:Västra Klockaretorpet' AND indicator = 'share_age_0_4'"
        ).fetchone()[0]
    assert value == pytest.approx(kids / people, rel=1e-12)
    assert abs(value - mean_of_shares) > 1e-4  # the two DeSO differ in size, so averaging would be wrong


def test_median_income_exists_only_for_deso(published: Path):
    with duckdb.connect(str(published), read_only=True) as con:
        levels = con.execute("SELECT DISTINCT area_level FROM profiles WHERE indicator = 'median_income_tkr'").fetchall()
        value = con.execute(
            "SELECT value FROM profiles WHERE area_code = '0581C1110' AND indicator = 'median_income_tkr'"
        ).fetchone()[0]
    assert levels == [("deso",)]
    assert value == float(_read("income_demographics_deso.csv")["0581C1110"]["Median income tkr"])


def test_ranks_put_greatest_need_first(published: Path):
    with duckdb.connect(str(published), read_only=True) as con:
        top_low_edu, top_post_sec = con.execute(
            """
            SELECT
              (SELECT area_code FROM profiles WHERE area_level='regso' AND municipality_code='0581'
                 AND indicator='share_low_education' ORDER BY value DESC LIMIT 1),
              (SELECT area_code FROM profiles WHERE area_level='regso' AND municipality_code='0581'
                 AND indicator='share_post_secondary' ORDER BY value ASC LIMIT 1)
            """
        ).fetchone()
        ranks = dict(con.execute(
            """SELECT indicator, rank_in_municipality FROM profiles
               WHERE area_code IN ($a, $b) AND indicator IN ('share_low_education', 'share_post_secondary')
                 AND area_code = CASE indicator WHEN 'share_low_education' THEN $a ELSE $b END""",
            {"a": top_low_edu, "b": top_post_sec},
        ).fetchall())
    # more low education = more need; less post-secondary education = more need
    assert ranks == {"share_low_education": 1, "share_post_secondary": 1}


def test_every_figure_traces_to_source_vintage_and_run(built, published: Path):
    _, result = built
    with duckdb.connect(str(published), read_only=True) as con:
        untraced = con.execute(
            "SELECT count(*) FROM profiles WHERE source_table IS NULL OR run_id IS NULL OR source_reference_year IS NULL"
        ).fetchone()[0]
        runs = con.execute("SELECT run_id FROM meta_runs").fetchall()
        income = con.execute("SELECT updated, notes FROM meta_sources WHERE raw_table = 'income'").fetchone()
    assert untraced == 0
    assert runs[-1][0] == result.run_id
    # SCB's "Senaste uppdatering 20240123 08:00", read from the footer the pipeline drops
    assert income[0] == "2024-01-23T08:00"
    assert "82 footer line(s)" in income[1]


def test_the_build_writes_the_planners_reports(built):
    ws, result = built
    reports = ws.data_dir / "reports"
    for level in ("0581-regso", "0581-district"):
        index = (reports / level / "index.html").read_text(encoding="utf-8")
        assert "Norrköping" in index
    assert "Klockaretorpet" in (reports / "0581-district" / "index.html").read_text(encoding="utf-8")
    mat = [e for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION" and e.asset_key.to_user_string() == "district_reports"]
    assert "targeting_top_5" in mat[0].event_specific_data.materialization.metadata
