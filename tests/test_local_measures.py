"""Local data: a municipality's own measures (data/local/) are landed with file and line, validated, turned
into indicator values at exactly the areas reported, and published under the same disclosure control.

One build on the real SCB snapshot plus the constructed file tests/fixtures/local/0581_forskola.csv (real
Norrköping areas, invented numbers; see the README there), and one failing build per kind of bad line."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from conftest import Workspace, make_workspace
from pipelines.assets.local import read_local_measures
from pipelines.settings import SQL_DIR
from test_bad_input import _assert_published_untouched, _failed_checks, _materialized

FIXTURE = Path(__file__).parent / "fixtures" / "local" / "0581_forskola.csv"
LOCAL = ("reports_of_concern_preschool", "share_extended_preschool_hours", "family_centre_visits")
SOURCE = "Kommunens egna uppgifter (data/local/)"


def _with_local(ws: Workspace, text: str | None = None) -> Workspace:
    (ws.data_dir / "local").mkdir(exist_ok=True)
    target = ws.data_dir / "local" / FIXTURE.name
    target.write_text(text if text is not None else FIXTURE.read_text(encoding="utf-8"), encoding="utf-8")
    return ws


@pytest.fixture(scope="module")
def local_build(tmp_path_factory) -> Workspace:
    ws = _with_local(make_workspace(tmp_path_factory.mktemp("local")))
    result = ws.build()
    assert result.success, _failed_checks(result)
    return ws


def _rows(ws: Workspace, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(ws.paths.published_db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def _value(ws: Workspace, area_code: str, year: int, indicator: str):
    [row] = _rows(ws, "SELECT value, suppressed FROM profiles WHERE area_code = ? AND year = ? AND indicator = ?",
                  [area_code, year, indicator])
    return row


# ---------------------------------------------------------------- the published values

def test_local_values_are_published_for_exactly_the_areas_reported(local_build: Workspace):
    # Klockaretorpet's two preschools (9 + 7) are one figure for the district; a preschool is not an area
    assert _value(local_build, "0581D:Klockaretorpet", 2022, "reports_of_concern_preschool") == (16.0, None)
    assert _value(local_build, "0581D:Klockaretorpet", 2021, "reports_of_concern_preschool") == (12.0, None)  # 8 + 4
    assert _value(local_build, "0581D:Hageby", 2022, "reports_of_concern_preschool") == (14.0, None)  # by district code
    assert _value(local_build, "0581", 2022, "reports_of_concern_preschool") == (91.0, None)  # the file's own total
    value, _ = _value(local_build, "0581D:Hageby", 2022, "share_extended_preschool_hours")
    assert value == pytest.approx(52 / 390)
    # a RegSO by its name (2022) and by Grannskap's code (2021), a DeSO by its code
    assert _value(local_build, "0581:Västra Klockaretorpet", 2022, "family_centre_visits") == (2385.0, None)
    assert _value(local_build, "0581:Västra Klockaretorpet", 2021, "family_centre_visits") == (2140.0, None)
    assert _value(local_build, "0581C1160", 2022, "family_centre_visits") == (610.0, None)
    # nothing is summed to areas the file does not report: no county or country, no RegSO of a district
    levels = dict(_rows(local_build, "SELECT indicator, list(DISTINCT area_level ORDER BY area_level) FROM profile_rows "
                                     "WHERE indicator IN (SELECT unnest(?::VARCHAR[])) GROUP BY indicator", [list(LOCAL)]))
    assert levels == {"reports_of_concern_preschool": ["district", "municipality"],
                      "share_extended_preschool_hours": ["district", "municipality"],
                      "family_centre_visits": ["deso", "regso"]}
    assert _rows(local_build, "SELECT count(*) FROM profile_rows WHERE indicator = 'family_centre_visits'") == [(3,)]


def test_local_values_name_their_source_and_compare_with_the_municipality(local_build: Workspace):
    rows = _rows(local_build, "SELECT DISTINCT indicator, source_table, municipality_value FROM profiles "
                              "WHERE area_code = '0581D:Marielund' AND year = 2022 AND indicator LIKE '%preschool%'")
    assert {(i, s) for i, s, _ in rows} == {("reports_of_concern_preschool", SOURCE), ("share_extended_preschool_hours", SOURCE)}
    assert dict((i, m) for i, _, m in rows)["share_extended_preschool_hours"] == pytest.approx(324 / 7430)
    catalogue = dict(_rows(local_build, "SELECT indicator, source_table FROM indicators WHERE indicator IN (SELECT unnest(?::VARCHAR[]))",
                           [list(LOCAL)]))
    assert catalogue == dict.fromkeys(LOCAL, SOURCE)


def test_meta_sources_names_every_local_file_with_its_checksum(local_build: Workspace):
    [(source, rows, query, notes)] = _rows(local_build, "SELECT source, rows, query, notes FROM meta_sources WHERE raw_table = 'local'")
    sha = hashlib.sha256(FIXTURE.read_bytes()).hexdigest()
    assert (source, rows) == ("local", 33)
    assert json.loads(query) == [{"file": FIXTURE.name, "sha256": sha, "rows": 33}]
    assert FIXTURE.name in notes and sha in notes
    # the preschools (units) appear nowhere in what is published
    tables = {t for (t,) in _rows(local_build, "SELECT table_name FROM information_schema.tables")}
    assert not {"raw_local_measures", "stg_local_measures"} & tables


# ---------------------------------------------------------------- disclosure control

def test_a_small_count_is_hidden_and_cannot_be_recovered_from_the_municipality_total(local_build: Workspace):
    year, indicator = 2022, "reports_of_concern_preschool"
    assert _value(local_build, "0581D:Navestad", year, indicator) == (None, "primary")  # 3 reports
    districts = dict(_rows(local_build, "SELECT area_code, value FROM profile_rows WHERE area_level = 'district' "
                                        "AND year = ? AND indicator = ?", [year, indicator]))
    hidden = {code for code, value in districts.items() if value is None}
    # the municipality total is published, so a second district must be hidden with Navestad
    assert _value(local_build, "0581", year, indicator) == (91.0, None)
    assert hidden == {"0581D:Navestad", "0581D:Skärblacka"}
    assert _value(local_build, "0581D:Skärblacka", year, indicator) == (None, "secondary")
    # the total minus the published districts gives only the sum of the hidden ones, never Navestad's 3
    remainder = 91 - sum(v for v in districts.values() if v is not None)
    assert remainder == 9 and remainder != 3
    # 2021 has no count under 5: nothing hidden, Skärblacka's 5 is shown
    assert _rows(local_build, "SELECT count(*) FROM profile_rows WHERE year = 2021 AND suppressed IS NOT NULL "
                              "AND indicator = ?", [indicator]) == [(0,)]
    assert _value(local_build, "0581D:Skärblacka", 2021, indicator) == (5.0, None)


def test_no_published_local_figure_is_under_the_threshold(local_build: Workspace):
    shown = _rows(local_build, "SELECT area_code, year, indicator, numerator, denominator FROM profile_rows "
                               "WHERE suppressed IS NULL AND indicator IN (SELECT unnest(?::VARCHAR[]))", [list(LOCAL)])
    assert shown
    for code, year, indicator, n, d in shown:
        assert n >= 5 and (d is None or d - n >= 5), (code, year, indicator, n, d)


def test_trends_and_the_needs_index_still_build(local_build: Workspace):
    trends = dict(_rows(local_build, "SELECT area_code, change FROM trends WHERE indicator = 'reports_of_concern_preschool' "
                                     "AND span_years = 1 AND to_year = 2022"))
    assert trends["0581D:Klockaretorpet"] == 4.0 and trends["0581D:Navestad"] is None  # hidden stays hidden
    columns = {c for (c,) in _rows(local_build, "SELECT column_name FROM information_schema.columns WHERE table_name = 'needs_index'")}
    assert not any(i in c for c in columns for i in LOCAL)  # local data does not join the default index
    assert _rows(local_build, "SELECT count(*) FROM needs_index WHERE area_level = 'district' AND municipality_code = '0581' "
                              "AND year = 2022 AND universe = 'municipality'") == [(6,)]


def test_a_build_without_local_data_says_so(built):
    ws, result = built
    assert result.success
    assert not list((ws.data_dir / "local").glob("*.csv"))  # data/local/ ships only its README
    with duckdb.connect(str(ws.paths.build_db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw_local_measures").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM stg_local_measures").fetchone() == (0,)
        assert con.execute("SELECT source, rows, notes FROM meta_sources WHERE raw_table = 'local'").fetchone() == (
            "local", 0, "no local data: data/local/ has no files")


# ---------------------------------------------------------------- bad local data

BAD = {
    "unknown area": (
        lambda t: t + "Klockartorpet,2022,barn_inskrivna_forskola,12,\n",
        ["column area_matches", "every area resolves to exactly one known area", "0581_forskola.csv line 35", "area Klockartorpet"],
    ),
    "undeclared measure": (
        lambda t: t + "Marielund,2022,orosanmalningar_skola,6,\n",
        ["column measure_declared", "every measure is declared in the catalogue", "0581_forskola.csv line 35", "area Marielund"],
    ),
    "numerator above its denominator": (
        lambda t: t.replace("\nSkärblacka,2022,barn_utokad_tid,8,\n", "\nSkärblacka,2022,barn_utokad_tid,160,\n"),
        ["column numerator_within_denominator", "numerator does not exceed its denominator",
         "0581_forskola.csv line 27", "area 0581D:Skärblacka", "160 of 150"],
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_local_data_fails_its_suite_and_keeps_the_published_database(tmp_path, local_build: Workspace, case: str):
    change, phrases = BAD[case]
    ws = make_workspace(tmp_path)
    ws.paths.published_db.parent.mkdir(parents=True)
    shutil.copy(local_build.paths.published_db, ws.paths.published_db)  # the last good publication
    before = ws.published_sha256()
    text = change(FIXTURE.read_text(encoding="utf-8"))
    assert text != FIXTURE.read_text(encoding="utf-8")
    result = _with_local(ws, text).build()
    message = _failed_checks(result)["stg_local_measures"]
    assert message.startswith("stg_local_measures: column")
    for phrase in phrases:
        assert phrase in message, message
    assert "profiles" not in _materialized(result)
    _assert_published_untouched(ws, before, result)


@pytest.mark.parametrize(
    "name, text, phrases",
    [
        ("0581_forskola.csv", "omrade,year,measure,value\nHageby,2022,besok_familjecentral,5\n", ["line 1", "columns must be"]),
        ("0581_forskola.csv", "area,year,measure,value\nHageby,2022,besok_familjecentral,5\nHageby,2022.0,besok_familjecentral,5\n",
         ["line 3", "year '2022.0' is not a whole number"]),
        ("0581_forskola.csv", "area,year,measure,value,unit\nHageby,2022,besok_familjecentral,,\n", ["line 2", "value '' is not a whole number"]),
        ("0581_forskola.csv", "area,year,measure,value\nHageby,2022,besok_familjecentral,5,förskola A\n", ["line 2", "5 field(s)"]),
        ("norrkoping.csv", "area,year,measure,value\n", ["4-digit municipality code"]),
    ],
)
def test_an_unreadable_local_file_fails_naming_file_and_line(tmp_path, name: str, text: str, phrases: list[str]):
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / name).write_text(text, encoding="utf-8")
    with pytest.raises(dg.Failure) as failure:
        read_local_measures(tmp_path)
    assert name in str(failure.value)
    for phrase in phrases:
        assert phrase in str(failure.value)


def test_a_byte_order_mark_and_blank_lines_are_read_as_intended(tmp_path):
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / "0581_x.csv").write_bytes("\ufeffarea,year,measure,value\n\nHageby,2022,besok_familjecentral,7\n".encode())
    frame, files = read_local_measures(tmp_path)
    assert frame.select("line", "area_ref", "value").rows() == [(3, "Hageby", 7)]
    assert files[0]["rows"] == 1


def test_areas_resolve_within_the_municipality_and_an_ambiguous_name_is_named():
    """The staged model and its suite on a few real areas, without a build: a district named like a RegSO is
    ambiguous, a municipality is named by its code only, and another municipality's DeSO is unknown."""
    from pipelines.checks.suites import validate_table

    con = duckdb.connect()
    con.execute("""
        CREATE TABLE ind_areas AS SELECT * FROM (VALUES
          ('0581C1020', '0581C1020', 'deso', '0581', 'DeSO2018'),
          ('0581:Navestad-Åselstad', 'Navestad-Åselstad', 'regso', '0581', 'RegSO2020'),
          ('0581D:Navestad-Åselstad', 'Navestad-Åselstad', 'district', '0581', 'DeSO2018'),
          ('0581', 'Norrköping', 'municipality', '0581', ''),
          ('0180C4050', '0180C4050', 'deso', '0180', 'DeSO2018')
        ) AS t(area_code, area_name, area_level, municipality_code, boundary_version);
        CREATE TABLE indicator_terms AS SELECT * FROM (VALUES
          ('family_centre_visits', 'numerator', 'local', 'besok_familjecentral')
        ) AS t(indicator, role, measure, category);
        CREATE TABLE raw_local_measures AS SELECT * FROM (VALUES
          ('0581_x.csv', 2, '0581', '0581C1020', 2022, 'besok_familjecentral', NULL::VARCHAR, 40),
          ('0581_x.csv', 3, '0581', '0581:Navestad-Åselstad', 2022, 'besok_familjecentral', NULL, 50),
          ('0581_x.csv', 4, '0581', 'Navestad-Åselstad', 2022, 'besok_familjecentral', NULL, 50),
          ('0581_x.csv', 5, '0581', 'Norrköping', 2022, 'besok_familjecentral', NULL, 90),
          ('0581_x.csv', 6, '0581', '0180C4050', 2022, 'besok_familjecentral', NULL, 9)
        ) AS t(file, line, municipality_code, area_ref, year, measure, unit, value);
    """)
    for model in ("ind_area_references", "stg_local_measures"):
        con.execute(f"CREATE TABLE {model} AS " + (SQL_DIR / f"{model}.sql").read_text(encoding="utf-8"))
    staged = dict(con.execute("SELECT area_ref, (area_level, area_code, area_matches) FROM stg_local_measures").fetchall())
    assert staged["0581C1020"] == ("deso", "0581C1020", 1)
    assert staged["0581:Navestad-Åselstad"] == ("regso", "0581:Navestad-Åselstad", 1)
    assert staged["Navestad-Åselstad"] == (None, None, 2)
    assert staged["Norrköping"] == (None, None, 0)
    assert staged["0180C4050"] == (None, None, 0)
    result = validate_table(con, "stg_local_measures")
    assert not result.success
    [failure] = result.failures
    assert failure.column == "area_matches" and failure.unexpected_count == 3
    assert "0581_x.csv line 4 (area Navestad-Åselstad" in failure.message()
