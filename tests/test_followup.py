"""The follow-up of social investments: the register, measuring points, comparison districts and
difference-in-differences estimates, on the real 2022 build and the example register in
data/investments/."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from conftest import Workspace
from pipelines.assets.models import load_models
from pipelines.checks.suites import validate_table
from pipelines.investments import RegisterError, load_register
from test_bad_input import _assert_published_untouched, _failed_checks, ws_with_published  # noqa: F401

KLOCKARETORPET = "0581:Västra Klockaretorpet"
TIDIG_INSATS = "0581:Tidig insats"
MODELS = {m.name: m for m in load_models()}
REGISTER_MODELS = ("stg_investments", "stg_investment_areas")
FOLLOWUP_MODELS = ("followup_comparisons", "followup_points", "followup_estimates")


def _register(tmp_path: Path, text: str, name: str = "0581_test.yaml") -> Path:
    folder = tmp_path / "investments"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder


VALID = """municipality: "0581"
investments:
  - name: Familjecentral Navestad
    districts: [Navestad]
    target_group: {description: Barn 0–5 år och deras föräldrar, ages: [0, 5]}
    start: 2018-01-01
    end: 2020-12-31
    outcomes: [share_age_0_4, share_low_education]
    purpose: Föräldrastöd på familjecentralen.
"""


def test_the_example_register_reads_whole():
    register = load_register(Path(__file__).resolve().parent.parent / "data" / "investments")
    names = set(register["investment_id"])
    assert {TIDIG_INSATS, "1880:Team Oxhagen", "1485:TSI-teamet Magneten"} <= names
    oxhagen = register.filter(register["investment_id"] == "1880:Team Oxhagen").row(0, named=True)
    assert (str(oxhagen["start_date"]), str(oxhagen["end_date"]), oxhagen["budget_sek"]) == ("2015-02-01", "2018-01-31", 5_400_000)
    # matched on the needs index's indicators unless the register says otherwise
    assert "share_low_education" in oxhagen["matching_indicators"]


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda t: t.replace("    start: 2018-01-01\n", ""), ["0581_test.yaml", "Familjecentral Navestad", "'start'", "missing"]),
        (lambda t: t.replace("2018-01-01", "2018-13-01"), ["'start'", "'2018-13-01' is not a date"]),
        (lambda t: t.replace("    purpose:", "    purpsoe:"), ["'purpose'", "missing"]),
        (lambda t: t + "    budget: 100\n", ["'budget'", "unknown field"]),
        (lambda t: t.replace("start: 2018-01-01", "start: null"), ["'gaps'", "must be explained"]),
        (lambda t: t.replace('municipality: "0581"', 'municipality: "0582"'), ["0582", "does not match"]),
        (lambda t: t.replace("ages: [0, 5]", "ages: [0]"), ["'target_group'", "ages"]),
    ],
    ids=["missing start", "bad date", "misspelt field", "unknown field", "unexplained gap", "wrong municipality", "bad ages"],
)
def test_a_misshapen_register_names_file_investment_and_field(tmp_path, change, expected):
    folder = _register(tmp_path, change(VALID))
    with pytest.raises(RegisterError) as err:
        load_register(folder)
    for part in expected:
        assert part in str(err.value)


@pytest.fixture
def build_copy(built, tmp_path) -> duckdb.DuckDBPyConnection:
    """A private, writable copy of the real build's database."""
    ws, result = built
    assert result.success
    db = tmp_path / "build.duckdb"
    shutil.copy(ws.paths.build_db, db)
    con = duckdb.connect(str(db))
    yield con
    con.close()


def _run(con: duckdb.DuckDBPyConnection, *models: str) -> None:
    for name in models:
        con.execute(f"CREATE OR REPLACE TABLE {name} AS {MODELS[name].sql}")


MALFORMED = """municipality: "0581"
investments:
  - name: Tidig insats
    districts: [Västra Klockaretorpet]
    target_group: {description: Barn 0–3 år, ages: [0, 3]}
    start: 2016-08-01
    end: 2019-08-31
    outcomes: [share_age_0_4]
    purpose: Föräldrastöd.
  - name: Tidig  Insats
    districts: [Klockaretorp]
    target_group: {description: Barn 0–3 år, ages: [0, 3]}
    start: 2019-08-01
    end: 2016-08-31
    outcomes: [share_age_0_4, share_of_happy_children]
    purpose: Samma namn, okänt område, slut före start.
"""


def test_a_malformed_register_fails_its_suites_naming_investment_and_rule(build_copy, tmp_path):
    register = load_register(_register(tmp_path, MALFORMED))
    build_copy.execute("CREATE OR REPLACE TABLE ref_investments AS SELECT * FROM register")
    _run(build_copy, *REGISTER_MODELS)

    investments = validate_table(build_copy, "stg_investments")
    messages = {f.rule: f.message() for f in investments.failures}
    assert "Tidig Insats" in messages["no two investments of a municipality share a name"]
    assert "0581_test.yaml: Tidig Insats" in messages["an investment ends on or after its start"]
    assert "share_of_happy_children" in messages["every outcome and matching indicator is in the indicator catalogue"]

    areas = validate_table(build_copy, "stg_investment_areas")
    (failure,) = areas.failures
    assert failure.column == "matches" and "Klockaretorp" in failure.message()
    assert "every district named is exactly one area of the municipality" in failure.message()


def test_a_name_matching_two_areas_is_ambiguous(build_copy, tmp_path):
    # a named district called like a RegSO of the same municipality
    build_copy.execute(
        "INSERT INTO ind_areas (area_code, area_name, area_level, municipality_code) "
        "VALUES ('0581D:Västra Klockaretorpet', 'Västra Klockaretorpet', 'district', '0581')"
    )
    register = load_register(_register(tmp_path, MALFORMED.split("  - name: Tidig  Insats")[0]))
    build_copy.execute("CREATE OR REPLACE TABLE ref_investments AS SELECT * FROM register")
    _run(build_copy, "ind_area_references", *REGISTER_MODELS)  # the new name must be referable
    (failure,) = validate_table(build_copy, "stg_investment_areas").failures
    assert "district 0581D:Västra Klockaretorpet and regso 0581:Västra Klockaretorpet" in failure.message()


def test_a_malformed_register_blocks_publishing(ws_with_published: Workspace):  # noqa: F811
    before = ws_with_published.published_sha256()
    (ws_with_published.data_dir / "investments" / "0581_norrkoping.yaml").write_text(MALFORMED, encoding="utf-8")
    result = ws_with_published.build()
    failed = _failed_checks(result)
    assert "ends on or after its start" in failed["stg_investments"]
    assert "Klockaretorp" in failed["stg_investment_areas"]
    _assert_published_untouched(ws_with_published, before, result)


def test_the_published_followup_answers_the_klockaretorpet_question(published):
    with duckdb.connect(str(published), read_only=True) as con:
        rows = con.execute(
            "SELECT year, period, value, comparison_value, comparisons_with_value, did_estimate, no_estimate_reason, value_note "
            "FROM followup WHERE investment = 'Tidig insats' AND area_name = 'Västra Klockaretorpet' "
            "AND indicator = 'share_foreign_background' ORDER BY year"
        ).fetchall()
        # every year from the 2015 baseline (the last year before the start 2016-08-01) to the latest
        assert [r[0] for r in rows] == list(range(2015, 2023))
        assert [r[1] for r in rows] == ["baseline"] + ["during"] * 4 + ["after"] * 3
        assert "ingen statistik för 2015 i databasen" in rows[0][7]
        last = rows[-1]
        assert last[2] == pytest.approx(1764 / 4007)  # the raw files: 1,764 of 4,007 residents
        comparisons = [c for (c,) in con.execute(
            "SELECT comparison_code FROM followup_comparisons WHERE investment_id = ? AND area_code = ? ORDER BY comparison_rank",
            [TIDIG_INSATS, KLOCKARETORPET],
        ).fetchall()]
        assert len(comparisons) == 5 and last[4] == 5
        mean = con.execute(
            "SELECT avg(value) FROM profiles WHERE area_code IN (SELECT unnest(?)) AND indicator = 'share_foreign_background' AND year = 2022",
            [comparisons],
        ).fetchone()[0]
        assert last[3] == pytest.approx(mean)
        # no number where the data cannot carry one, and the reason says what is missing
        assert last[5] is None and "basåret 2015" in last[6]

        estimate = con.execute(
            "SELECT did_after, no_estimate_reason, caveats FROM followup_estimates "
            "WHERE investment_id = ? AND area_code = ? AND indicator = 'share_low_education'",
            [TIDIG_INSATS, KLOCKARETORPET],
        ).fetchone()
        assert estimate[0] is None and "basåret 2015" in estimate[1]
        assert "ingen individdata" in estimate[2] and "matchat på 2022" in estimate[2]

        unmeasured = con.execute(
            "SELECT DISTINCT no_estimate_reason FROM followup_estimates WHERE investment_id = '1485:TSI-teamet Magneten'"
        ).fetchall()
        assert len(unmeasured) == 1 and unmeasured[0][0].startswith("inga områden i registret")


def test_comparison_districts_exclude_areas_with_their_own_investment(published):
    with duckdb.connect(str(published), read_only=True) as con:
        # the DeSO of the child-team districts (their own investment in the same years) ...
        busy = {d for (d,) in con.execute(
            "SELECT l.child_code FROM area_links AS l JOIN investment_areas AS a ON a.area_code = l.parent_code "
            "WHERE a.investment_id = '0581:Barnteam inom Tidig insats' AND l.child_level = 'deso'"
        ).fetchall()}
        assert len(busy) > 10
        # ... never lie in Tidig insats's comparison districts, which are the nearest of the rest
        chosen = con.execute(
            "SELECT list(a.area_code) FROM followup_comparisons AS c JOIN areas AS a ON a.regso_code = c.comparison_code "
            "WHERE c.investment_id = ? AND a.area_level = 'deso'", [TIDIG_INSATS]
        ).fetchone()[0]
        assert chosen and not busy & set(chosen)
        distances = [d for (d,) in con.execute(
            "SELECT distance FROM followup_comparisons WHERE investment_id = ? ORDER BY comparison_rank", [TIDIG_INSATS]
        ).fetchall()]
        assert distances == sorted(distances) and distances[0] > 0


def test_difference_in_differences_on_a_baseline_year(build_copy):
    """A constructed baseline: the real 2022 profiles copied as 2015, unchanged, except that Västra
    Klockaretorpet's share with low education is 0.03 lower and its share with post-secondary
    education is hidden. The area's change since 2015 is then +0.03 and its comparison districts'
    0, so the estimate is exactly 0.03; a definition change in 2018 stops the estimate for
    children 0-4, a boundary change for foreign background, the hidden baseline for post-secondary education."""
    con = build_copy
    con.execute("INSERT INTO profiles SELECT * REPLACE (2015 AS year) FROM profiles WHERE year = 2022")
    con.execute(
        "UPDATE profiles SET value = value - 0.03 WHERE year = 2015 AND area_code = ? AND indicator = 'share_low_education'",
        [KLOCKARETORPET],
    )
    con.execute(
        "UPDATE profiles SET value = NULL, missing_reason = 'dolt: färre än 5 personer (primär röjandekontroll)' "
        "WHERE year = 2015 AND area_code = ? AND indicator = 'share_post_secondary'",
        [KLOCKARETORPET],
    )
    con.execute("INSERT INTO indicator_breaks VALUES ('share_age_0_4', 2018, 'new age bands')")
    con.execute(  # as if the area's 2015 figure rested on other boundaries
        "UPDATE profiles SET boundary_version = 'RegSO2025' WHERE year = 2015 AND area_code = ? AND indicator = 'share_foreign_background'",
        [KLOCKARETORPET],
    )
    _run(con, *FOLLOWUP_MODELS)

    matched = con.execute(
        "SELECT DISTINCT matched_year, match_note FROM followup_comparisons WHERE investment_id = ?", [TIDIG_INSATS]
    ).fetchall()
    assert matched == [(2015, None)]  # the baseline itself, no caveat

    def point(indicator: str, year: int = 2022):
        return con.execute(
            "SELECT change_since_baseline, comparison_change, did_estimate, no_estimate_reason, comparisons_with_change "
            "FROM followup_points WHERE investment_id = ? AND area_code = ? AND indicator = ? AND year = ?",
            [TIDIG_INSATS, KLOCKARETORPET, indicator, year],
        ).fetchone()

    change, comparison, did, reason, n = point("share_low_education")
    assert (change, comparison, did, reason, n) == (pytest.approx(0.03), pytest.approx(0.0), pytest.approx(0.03), None, 5)
    assert "definitionsändring" in point("share_age_0_4")[3]
    assert "gränsändring" in point("share_foreign_background")[3]
    assert point("share_post_secondary")[3].startswith("basårets värde saknas: dolt")
    assert "ingen statistik för 2017" in point("share_low_education", 2017)[3]

    did_after, years, outside, reason = con.execute(
        "SELECT did_after, years_after, outside_comparison_range, no_estimate_reason FROM followup_estimates "
        "WHERE investment_id = ? AND area_code = ? AND indicator = 'share_low_education'",
        [TIDIG_INSATS, KLOCKARETORPET],
    ).fetchone()
    assert (did_after, years, outside, reason) == (pytest.approx(0.03), [2022], True, None)

    # a named district with a single comparison district gets no number, and says so
    (reason,) = con.execute(
        "SELECT DISTINCT no_estimate_reason FROM followup_points WHERE investment_id = '0581:Barnteam inom Tidig insats' "
        "AND area_name = 'Hageby' AND indicator = 'share_low_education' AND year = 2022"
    ).fetchone()
    assert "för få jämförelseområden" in reason and "1 av 1" in reason

    for table in FOLLOWUP_MODELS:
        assert validate_table(con, table).success, validate_table(con, table).summary()
