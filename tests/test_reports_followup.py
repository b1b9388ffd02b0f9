"""The follow-up section of the district reports ("Uppföljning av sociala investeringar"), on the real
build: the 2022 embedded data and the example register in data/investments/.

The pages are the ones the session build (`built`, as `make run`) wrote for Norrköping by RegSO and by
named district; expected figures are read from the published database, not hard-coded. Two small
renders of Norrköping's six named districts check a database with an estimate in it and one published
before the follow-up tables existed.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines.reports import build_reports, fmt
from pipelines.reports.build import report_name
from test_reports import section, text_of

TIDIG_INSATS = "0581:Tidig insats"
KLOCKARETORPET = "0581:Västra Klockaretorpet"
PAGES = {"regso": "0581-vastra-klockaretorpet.html", "district": "0581d-klockaretorpet.html"}
HEADING = "Uppföljning av sociala investeringar"


def built_page(built, level: str, name: str) -> str:
    ws, result = built
    assert result.success
    return (ws.data_dir / "reports" / f"0581-{level}" / name).read_text(encoding="utf-8")


def followup_html(page: str) -> str:
    """The section's HTML, from its heading to the next h2."""
    start = page.index('id="uppfoljning"')
    return page[start:page.index("<h2", start)]


def rows_of(fragment: str) -> dict[str, list[str]]:
    """Every table row in the fragment: first cell's text -> the other cells' texts."""
    rows = {}
    for tr in re.findall(r"<tr>(.*?)</tr>", fragment, flags=re.S):
        cells = [text_of(c) for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", tr, flags=re.S)]
        rows[cells[0]] = cells[1:]
    return rows


def published_facts(published: Path) -> dict:
    with duckdb.connect(str(published), read_only=True) as con:
        comparisons = con.execute(
            "SELECT comparison_name, distance, matched_year FROM followup_comparisons"
            " WHERE investment_id = ? AND area_code = ? ORDER BY comparison_rank", [TIDIG_INSATS, KLOCKARETORPET],
        ).fetchall()
        estimates = con.execute(
            "SELECT e.indicator, k.title_sv, k.unit, e.baseline_value, e.did_after, e.did_during, e.no_estimate_reason,"
            " e.caveats FROM followup_estimates AS e JOIN indicators AS k USING (indicator)"
            " WHERE e.investment_id = ? AND e.area_code = ? ORDER BY e.outcome_position", [TIDIG_INSATS, KLOCKARETORPET],
        ).fetchall()
        latest = {r[0]: r[1:] for r in con.execute(
            "SELECT indicator, value, comparison_value, municipality_value, national_value FROM followup_points"
            " WHERE investment_id = ? AND area_code = ? AND year = (SELECT max(year) FROM profiles)",
            [TIDIG_INSATS, KLOCKARETORPET],
        ).fetchall()}
        start, end, gaps = con.execute(
            "SELECT start_date, end_date, gaps FROM investments WHERE investment_id = ?", [TIDIG_INSATS]).fetchone()
    return {"comparisons": comparisons, "estimates": estimates, "latest": latest, "period": f"{start} – {end}",
            "gaps": gaps}


@pytest.mark.parametrize("level", ["regso", "district"])
def test_klockaretorpet_pages_follow_up_tidig_insats(built, published, level):
    facts = published_facts(published)
    page = built_page(built, level, PAGES[level])
    part = section(page, "uppfoljning")
    assert HEADING in part and "Tidig insats" in part
    assert facts["period"] == "2016-08-01 – 2019-08-31" and f"Period {facts['period']}" in part
    assert "Budget anges inte" in part
    for gap in facts["gaps"]:
        assert gap in part
    if level == "regso":
        assert "Uppföljningen mäts för det här området (RegSO Västra Klockaretorpet)." in part
    else:
        assert "Uppföljningen mäts för RegSO Västra Klockaretorpet, som består av samma 2 DeSO som Klockaretorpet." in part

    # the comparison districts as published, in rank order
    names = [name for name, _, _ in facts["comparisons"]]
    assert len(names) == 5
    positions = [part.index(name) for name in names]
    assert positions == sorted(positions)

    # no estimate on the 2022 data: every outcome says why, in words, and no number is printed as one
    assert all(did_after is None and did_during is None for *_, did_after, did_during, _, _ in facts["estimates"])
    assert part.count("Ingen skattning: ") == len(facts["estimates"]) == 10
    for *_, reason, _ in facts["estimates"]:
        assert f"Ingen skattning: {reason}" in part
    assert "Ingen skattning: ingen statistik för basåret 2015 i databasen" in part
    assert "Ännu kan ingen effekt skattas för någon av de 10 utfallsindikatorerna" in part
    assert "<sup>" not in followup_html(page) and not re.search(r"p\.e\. \(\d{4}", part)
    # the caveats, once, since there is no estimate to print them next to
    (caveat,) = {c for *_, c in facts["estimates"]}
    assert part.count(f"Förbehåll: {caveat}") == 1


@pytest.mark.parametrize("level", ["regso", "district"])
def test_followup_figures_are_the_published_numbers(built, published, level):
    facts = published_facts(published)
    rows = rows_of(followup_html(built_page(built, level, PAGES[level])))
    for rank, (name, distance, matched_year) in enumerate(facts["comparisons"], start=1):
        assert rows[str(rank)] == [name, fmt.number(distance, 2), str(matched_year)]
    shown = 0
    for indicator, title, unit, baseline, *_ in facts["estimates"]:
        value, comparison, municipality, nation = facts["latest"][indicator]
        expected = [fmt.value(x, unit) for x in (baseline, value, comparison, municipality, nation)]
        assert rows[title][:5] == expected, title
        shown += fmt.is_number(value)
    assert shown == 4  # the four SCB shares in the embedded data; the rest are '..' with their reason
    # spot check against the raw files: foreign background 1,764 of 4,007 residents, 44,0 %
    assert rows["Andel med utländsk bakgrund"][1] == f"44,0{fmt.NBSP}%"


def test_only_pages_of_areas_sharing_deso_with_an_investment_have_the_section(built, published):
    ws, _ = built
    with duckdb.connect(str(published), read_only=True) as con:
        expected = {(level, report_name(code)) for level, code in con.execute(
            "WITH invested AS ("
            "  SELECT DISTINCT l.child_code FROM investment_areas AS a JOIN area_links AS l"
            "    ON l.parent_level = a.area_level AND l.parent_code = a.area_code"
            "  WHERE a.matches = 1 AND a.municipality_code = '0581' AND l.child_level = 'deso')"
            " SELECT DISTINCT l.parent_level, l.parent_code FROM area_links AS l JOIN invested USING (child_code)"
            " WHERE l.child_level = 'deso' AND l.parent_level IN ('regso', 'district')"
        ).fetchall()}
    with_section, without = set(), []
    for level in ("regso", "district"):
        for path in (ws.data_dir / "reports" / f"0581-{level}").glob("0581*.html"):
            page = path.read_text(encoding="utf-8")
            if 'id="uppfoljning"' in page:
                with_section.add((level, path.name))
            else:
                without.append(page)
    assert with_section == expected
    assert ("regso", PAGES["regso"]) in expected and ("district", PAGES["district"]) in expected
    assert len(without) > 30  # e.g. every RegSO of central Norrköping away from the investments
    assert not any(HEADING in page for page in without)


def test_an_estimate_is_printed_with_its_caveats(published, tmp_path):
    """A constructed estimate (the 2022 data has none): shown as p.e. with its years, range and caveats."""
    db = tmp_path / "with-estimate.duckdb"
    shutil.copy(published, db)
    with duckdb.connect(str(db)) as con:
        con.execute(
            "UPDATE followup_estimates SET did_after = 0.0304, years_after = [2021, 2022], outside_comparison_range = true,"
            " no_estimate_reason = NULL WHERE investment_id = ? AND area_code = ? AND indicator = 'share_low_education'",
            [TIDIG_INSATS, KLOCKARETORPET],
        )
        caveat, during_reason = con.execute(
            "SELECT e.caveats, p.no_estimate_reason FROM followup_estimates AS e JOIN followup_points AS p"
            " USING (investment_id, area_code, indicator) WHERE investment_id = ? AND area_code = ?"
            " AND indicator = 'share_low_education' AND p.period = 'during' ORDER BY p.year DESC LIMIT 1",
            [TIDIG_INSATS, KLOCKARETORPET],
        ).fetchone()
    paths = build_reports(db, tmp_path / "out", "0581", "district")
    page = next(p for p in paths if p.name == PAGES["district"]).read_text(encoding="utf-8")
    row = rows_of(followup_html(page))["Andel med förgymnasial utbildning (25–64 år)"]
    # after and during in one cell; '1' marks the caveats printed under the table
    assert row[5] == (f"Efter: +3,0{fmt.NBSP}p.e. (2021–2022) 1 utanför jämförelseområdenas spridning"
                      f" Under: ingen skattning – {during_reason}")
    assert during_reason == "ingen statistik för 2019 i databasen (år som finns: 2022)"
    part = section(page, "uppfoljning")
    assert "Skattning finns för 1 av 10 utfallsindikatorer" in part
    assert part.count("Ingen skattning: ") == 9  # the other outcomes
    assert f"1 Förbehåll: {caveat}" in part and "<sup>1</sup> Förbehåll" in page


def test_a_database_without_the_followup_tables_still_renders(published, tmp_path):
    db = tmp_path / "before-followup.duckdb"
    shutil.copy(published, db)
    with duckdb.connect(str(db)) as con:
        con.execute("DROP VIEW followup")
        for table in ("followup_estimates", "followup_points", "followup_comparisons", "investment_areas", "investments"):
            con.execute(f"DROP TABLE {table}")
    paths = build_reports(db, tmp_path / "out", "0581", "district")
    pages = [p.read_text(encoding="utf-8") for p in paths if p.suffix == ".html" and p.name.startswith("0581")]
    assert len(pages) == 6
    assert not any(HEADING in page or 'id="uppfoljning"' in page for page in pages)
    assert all('id="behovsindex"' in page and 'id="definitioner"' in page for page in pages)
