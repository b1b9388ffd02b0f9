"""Named districts: validated against the municipality's DeSO and built by summing their counts."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from conftest import Workspace


def test_norrkoping_child_team_districts_are_sums_of_their_deso(published: Path):
    with duckdb.connect(str(published), read_only=True) as con:
        districts = dict(con.execute(
            "SELECT area_name, value FROM profiles WHERE area_level = 'district' AND indicator = 'population'"
        ).fetchall())
        # Klockaretorpet is RegSO Västra Klockaretorpet; Hageby is two RegSO together
        same = con.execute(
            """SELECT d.value, r.value FROM profiles d JOIN profiles r USING (indicator, year)
               WHERE d.area_code = '0581D:Klockaretorpet' AND r.area_code = '0581:Västra Klockaretorpet'
                 AND d.indicator = 'share_foreign_background'"""
        ).fetchone()
        hageby = con.execute(
            """SELECT sum(numerator) / sum(denominator) FROM profile_rows
               WHERE area_level = 'regso' AND area_name IN ('Nordöstra Hageby', 'Sydvästra Hageby')
                 AND indicator = 'share_age_0_4'"""
        ).fetchone()[0]
        hageby_district = con.execute(
            "SELECT value FROM profiles WHERE area_code = '0581D:Hageby' AND indicator = 'share_age_0_4'"
        ).fetchone()[0]
        norrkoping = con.execute(
            "SELECT value FROM profiles WHERE area_level = 'municipality' AND area_code = '0581' AND indicator = 'population'"
        ).fetchone()[0]
    assert set(districts) == {"Klockaretorpet", "Marielund", "Hageby", "Navestad", "Skärblacka", "Övriga Norrköping"}
    assert sum(districts.values()) == norrkoping  # the districts partition the municipality
    assert same[0] == same[1]
    assert hageby_district == pytest.approx(hageby, rel=1e-12)


def _failing_district_check(ws: Workspace, text: str) -> str:
    (ws.data_dir / "districts" / "0581_barnteam.csv").write_text(text, encoding="utf-8")
    result = ws.build()
    assert not result.success
    failed = {
        e.asset_check_evaluation_data.asset_key.to_user_string(): e.asset_check_evaluation_data.description
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.asset_check_evaluation_data.passed
    }
    assert "published_database" not in {
        e.asset_key.to_user_string() for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION"
    }
    return failed["stg_district_membership"]


def test_unknown_area_in_a_district_file_is_named(workspace: Workspace):
    message = _failing_district_check(workspace, "district,area\nKlockaretorpet,Östra Klockaretorpet\nÖvrigt,*\n")
    assert "every area named is a DeSO or RegSO of the municipality" in message
    assert "0581_barnteam.csv: line 2 (Klockaretorpet <- Östra Klockaretorpet)" in message


def test_deso_in_two_districts_is_named(workspace: Workspace):
    message = _failing_district_check(
        workspace, "district,area\nKlockaretorpet,Västra Klockaretorpet\nCentrum,0581C1110\nÖvrigt,*\n"
    )
    assert "every DeSO of the municipality is in exactly one district" in message
    assert "in 1 row(s); e.g. 0581_barnteam.csv: DeSO 0581C1110" in message


def test_deso_in_no_district_is_named(workspace: Workspace):
    message = _failing_district_check(workspace, "district,area\nKlockaretorpet,Västra Klockaretorpet\n")
    assert "every DeSO of the municipality is in exactly one district" in message
    assert "in 77 row(s)" in message  # Norrköping's 79 DeSO less the two of Västra Klockaretorpet
