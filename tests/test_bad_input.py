"""Bad input stops the build at the table that is wrong, with a message naming the table, the
column, the rule and example areas, and the last published database stays as it was."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from conftest import Workspace


def _edit(ws: Workspace, file: str, change) -> None:
    path = ws.snapshot_dir / file
    path.write_text(change(path.read_text(encoding="utf-8-sig")), encoding="utf-8")


def _failed_checks(result) -> dict[str, str]:
    return {
        e.asset_check_evaluation_data.asset_key.to_user_string(): e.asset_check_evaluation_data.description
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.asset_check_evaluation_data.passed
    }


def _materialized(result) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION"}


@pytest.fixture
def ws_with_published(workspace: Workspace, published) -> Workspace:
    """A workspace whose last good published database is the real build's."""
    workspace.paths.published_db.parent.mkdir(parents=True)
    shutil.copy(published, workspace.paths.published_db)
    return workspace


def _assert_published_untouched(ws: Workspace, before: str, result) -> None:
    assert not result.success
    assert "published_database" not in _materialized(result)
    assert ws.published_sha256() == before
    with duckdb.connect(str(ws.paths.published_db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM profiles WHERE area_level = 'country'").fetchone()[0] > 0


CASES = {
    "malformed DeSO code": (
        "age_demographics_deso.csv",
        lambda t: t.replace("\n0581C1110,", "\n0581X1110,"),
        "raw_population_age",
        ["column Region", "DeSO code format", "0581X1110"],
    ),
    "duplicated area": (
        "foreignborn_demographics_deso.csv",
        lambda t: t.rstrip("\n") + "\n" + next(line for line in t.splitlines() if line.startswith("0581C1110,")) + "\n",
        "raw_population_background",
        ["cells, distinct_backgrounds", "no duplicate cells", "0581C1110"],
    ),
    "negative count": (
        "education_demographics_deso.csv",
        lambda t: t.replace("\n0581C1250,267,", "\n0581C1250,-3,"),
        "raw_education",
        ["column min_value", "counts are non-negative", "0581C1250"],
    ),
    "parts not summing to the total": (
        "age_demographics_deso.csv",
        lambda t: t.replace("\n0581C1110,1513,69,", "\n0581C1110,1513,70,"),
        "raw_population_age",
        ["sum_of_age_groups, reported_total", "age groups sum to the total", "0581C1110"],
    ),
    "education not summing to the population 25-64": (
        "education_demographics_deso.csv",
        lambda t: t.replace("\n0581C1250,267,618,", "\n0581C1250,267,619,"),
        "stg_education",
        ["all_levels, population_25_64", "education levels sum to the population aged 25-64", "0581C1250"],
    ),
    "DeSO missing from the key": (
        "kopplingstabell-deso-regso-20210702.csv",
        lambda t: "\n".join(line for line in t.splitlines() if ";0581C1110;" not in line) + "\n",
        "stg_population_age",
        ["column in_key", "every DeSO in the table is in the DeSO->RegSO key", "0581C1110"],
    ),
    "file truncated at a line end": (
        "education_demographics_deso.csv",
        lambda t: "\n".join(t.splitlines()[:-50]) + "\n",
        "stg_education",
        ["column in_table", "every DeSO in the key has education figures"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_fails_its_check_and_keeps_the_published_database(ws_with_published: Workspace, case: str):
    file, change, table, phrases = CASES[case]
    before = ws_with_published.published_sha256()
    _edit(ws_with_published, file, change)
    result = ws_with_published.build()
    failed = _failed_checks(result)
    assert table in failed, failed
    message = failed[table]
    assert message.startswith(table)
    for phrase in phrases:
        assert phrase in message, message
    # nothing downstream of the failing table was built
    assert "profiles" not in _materialized(result)
    _assert_published_untouched(ws_with_published, before, result)


def test_file_truncated_mid_line_is_rejected_when_landed(ws_with_published: Workspace):
    before = ws_with_published.published_sha256()
    _edit(ws_with_published, "age_demographics_deso.csv", lambda t: t[: t.index("\n0581C1110,") + 20])
    result = ws_with_published.build()
    failures = [e for e in result.all_events if e.is_step_failure]
    messages = " ".join(str(e.step_failure_data.error.cause.message) for e in failures if e.step_failure_data.error.cause)
    assert [e.step_key for e in failures] == ["raw_population_age"]
    assert "raw table population_age" in messages and "truncated" in messages and "0581C1110" in messages
    # the raw layer keeps no half-written snapshot of the table
    assert not (ws_with_published.paths.raw_dir / "population_age").exists()
    _assert_published_untouched(ws_with_published, before, result)
