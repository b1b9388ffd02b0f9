"""Reports built from a real published database (SCB 2022, DeSO 2018): content, masking, links, self-containment.

The published database is built once per session from a copy of data/ (embedded snapshot, reference files and
shipped boundaries), exactly as `grannskap run` builds it; expected figures are read from it, not hard-coded.
test_maps.py and test_reports_browser.py reuse the builders below.
"""

from __future__ import annotations

import argparse
import csv
import html
import os
import re
import shutil
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from pipelines.reports import build_reports, fmt, load_target_groups, register_cli, report_asset_metadata
from pipelines.reports.data import load
from pipelines.reports.targeting import target_rows, write_csv

REPO = Path(__file__).resolve().parent.parent
BOUNDARIES = REPO / "data" / "boundaries"
KLOCKARETORPET = "0581:Västra Klockaretorpet"
NBSP = "\u00a0"

_cache: dict[str, object] = {}


def build_published_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run `grannskap run` once on a copy of data/ and return the published database (cached per session)."""
    if "db" not in _cache:
        root = tmp_path_factory.mktemp("grannskap-data")
        for name in ("embedded", "reference", "boundaries"):
            shutil.copytree(REPO / "data" / name, root / name)
        overrides = ("GRANNSKAP_DATA_DIR", "GRANNSKAP_RAW_DIR", "GRANNSKAP_BUILD_DB", "GRANNSKAP_PUBLISHED_DB")
        saved = {k: os.environ.pop(k, None) for k in overrides}
        os.environ["GRANNSKAP_DATA_DIR"] = str(root)
        try:
            from pipelines.cli import main

            assert main(["run"]) == 0, "the pipeline failed to build the published database"
        finally:
            for key, value in saved.items():
                os.environ.pop(key, None)
                if value is not None:
                    os.environ[key] = value
        _cache["db"] = root / "published" / "grannskap.duckdb"
    return _cache["db"]


def built_reports(tmp_path_factory: pytest.TempPathFactory, municipality: str, level: str) -> list[Path]:
    """build_reports for one municipality and level, once per session."""
    key = f"{municipality}-{level}"
    if key not in _cache:
        out = tmp_path_factory.mktemp(f"reports-{key}")
        _cache[key] = build_reports(build_published_db(tmp_path_factory), out, municipality, level,
                                    boundaries_dir=BOUNDARIES)
    return _cache[key]


@pytest.fixture(scope="session")
def published_db(tmp_path_factory) -> Path:
    return build_published_db(tmp_path_factory)


@pytest.fixture(scope="session")
def norrkoping(tmp_path_factory) -> list[Path]:
    return built_reports(tmp_path_factory, "0581", "regso")


@pytest.fixture(scope="session")
def borlange_deso(tmp_path_factory) -> list[Path]:
    return built_reports(tmp_path_factory, "2081", "deso")


@pytest.fixture(scope="session")
def borlange_regso(tmp_path_factory) -> list[Path]:
    return built_reports(tmp_path_factory, "2081", "regso")


def text_of(page: str) -> str:
    """Visible text, roughly: tags and inline SVG dropped, entities decoded, whitespace collapsed."""
    page = re.sub(r"<svg.*?</svg>", " ", page, flags=re.S)
    page = re.sub(r"<style.*?</style>", " ", page, flags=re.S)
    return re.sub(r"[ \t\r\n]+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page))).strip()  # NBSP kept


def section(page: str, element_id: str) -> str:
    """The text from the element with this id up to the next h2."""
    start = page.index(f'id="{element_id}"')
    end = page.find("<h2", start + 1)
    return text_of(page[start: end if end != -1 else None])


def by_name(paths: list[Path], name: str) -> Path:
    return next(p for p in paths if p.name == name)


def whole_percent(x: float) -> str:
    return f"{x * 100:.0f}{NBSP}%"


# ------------------------------------------------------------------------------------------------ Norrköping


def test_klockaretorpet_summary_states_foreign_background_against_municipality_and_nation(norrkoping, published_db):
    with duckdb.connect(str(published_db), read_only=True) as con:
        value, muni, nation = con.execute(
            "SELECT value, municipality_value, national_value FROM profiles"
            " WHERE area_code = ? AND indicator = 'share_foreign_background' AND year = 2022",
            [KLOCKARETORPET],
        ).fetchone()
    page = by_name(norrkoping, "0581-vastra-klockaretorpet.html").read_text(encoding="utf-8")
    summary = section(page, "sammanfattning")
    sentence = next(s for s in re.split(r"(?<=\.) ", summary) if "utländsk bakgrund" in s and "riket" in s)
    assert f"{whole_percent(value)}" in sentence  # 44 %
    assert f"{whole_percent(muni)} i Norrköping" in sentence  # 29 %
    assert f"{whole_percent(nation)} i riket" in sentence  # 27 %
    # Direction-aware: more foreign background is "more need" in the catalogue, and the area is above the municipality.
    assert "Större behov – högre än kommunen:" in summary and "andelen med utländsk bakgrund" in summary
    assert "lägre än kommunen: andelen 25–64 år med eftergymnasial utbildning" in summary


def test_klockaretorpet_report_has_every_indicator_and_all_sections(norrkoping, published_db):
    page = by_name(norrkoping, "0581-vastra-klockaretorpet.html").read_text(encoding="utf-8")
    with duckdb.connect(str(published_db), read_only=True) as con:
        titles = [t for (t,) in con.execute(
            "SELECT DISTINCT title_sv FROM profiles WHERE area_code = ?", [KLOCKARETORPET]).fetchall()]
        low_edu = con.execute(
            "SELECT value, municipality_value, county_value, national_value, diff_municipality FROM profiles"
            " WHERE area_code = ? AND indicator = 'share_low_education'", [KLOCKARETORPET]).fetchone()
        run_id = con.execute("SELECT run_id FROM meta_runs ORDER BY published_at DESC LIMIT 1").fetchone()[0]
        position, ranked = con.execute(
            "SELECT position, areas_ranked FROM needs_index WHERE area_code = ? AND universe = 'municipality'",
            [KLOCKARETORPET]).fetchone()
    table = section(page, "indikatorer")
    for title in titles:
        assert title in table
    row = table[table.index("Andel med förgymnasial"):]
    expected = [fmt.percent(x) for x in low_edu[:4]] + [fmt.difference(low_edu[4], "share")]
    assert " ".join(expected) in row  # area, municipality, county, nation, difference — side by side
    text = text_of(page)
    assert text.index("Befolkning") < text.index("Alla indikatorer")  # the demographic overview comes first
    assert "Karta saknas offline (gränser för DeSO finns bara för Dalarna i data/)." in text
    assert f"plats {position} av {ranked} i Norrköping" in section(page, "behovsindex")
    assert "Endast ett år (2022) finns" in text
    assert "Värden för små områden är osäkra" in text
    assert "FolkmDesoBakgrKon" in section(page, "kallor") and run_id in section(page, "kallor")
    assert page.count("<svg") == 2  # age structure and comparison; no map offline


def test_index_lists_all_40_regso_ranked_by_the_indicator(norrkoping, published_db):
    index = by_name(norrkoping, "index.html")
    page = index.read_text(encoding="utf-8")
    with duckdb.connect(str(published_db), read_only=True) as con:
        expected = [n for (n,) in con.execute(
            "SELECT area_name FROM profiles WHERE municipality_code = '0581' AND area_level = 'regso'"
            " AND indicator = 'share_age_0_4' AND year = 2022 ORDER BY rank_in_municipality, area_code").fetchall()]
    links = re.findall(r'<td class="text"><a href="([^"]+\.html)">([^<]+)</a>', page)
    assert len(expected) == 40
    assert [html.unescape(name) for _, name in links] == expected
    assert all((index.parent / href).is_file() for href, _ in links)
    assert len([p for p in norrkoping if p.suffix == ".html" and not p.name.startswith(("index", "malgrupp"))]) == 40


def test_targeting_list_follows_the_needs_index_with_reasons_and_one_year_note(norrkoping, published_db):
    path = by_name(norrkoping, "malgrupp_barn_0_5.csv")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["rang"]) for r in rows] == list(range(1, 41))
    with duckdb.connect(str(published_db), read_only=True) as con:
        by_position = [c for (c,) in con.execute(
            "SELECT area_code FROM needs_index WHERE municipality_code = '0581' AND area_level = 'regso'"
            " AND universe = 'municipality' ORDER BY position NULLS LAST, area_code").fetchall()]
        facts = {code: (share, pop) for code, share, pop in con.execute(
            "SELECT a.area_code, a.value, p.value FROM profiles a JOIN profiles p USING (area_code, year)"
            " WHERE a.municipality_code = '0581' AND a.area_level = 'regso' AND a.indicator = 'share_age_0_4'"
            " AND p.indicator = 'population'").fetchall()}
    assert [r["omradeskod"] for r in rows] == by_position
    for r in rows:
        share, population = facts[r["omradeskod"]]
        count = round(share * population)
        assert r["antal_i_malgruppen"] == (".." if count < 5 else str(count))
        assert r["forandring"] == "–, ett år"
    klockaretorpet = next(r for r in rows if r["omradeskod"] == KLOCKARETORPET)
    assert "låg andel med eftergymnasial utbildning (3/40)" in klockaretorpet["skal"]
    page = text_of(by_name(norrkoping, "malgrupp_barn_0_5.html").read_text(encoding="utf-8"))
    assert "Ordningen följer behovsindexet" in page and "färre än 5" in page


def test_small_and_suppressed_counts_are_masked_in_the_targeting_list(published_db, tmp_path):
    # Lund has DeSO with fewer than 5 children aged 0–4: no count, and no share that would give it back.
    data = load(published_db, "1281", "deso")
    rows, _ = target_rows(data, load_target_groups()["barn_0_5"])
    with duckdb.connect(str(published_db), read_only=True) as con:
        small = {code for (code,) in con.execute(
            "SELECT a.area_code FROM profiles a JOIN profiles p USING (area_code, year)"
            " WHERE a.municipality_code = '1281' AND a.area_level = 'deso' AND a.indicator = 'share_age_0_4'"
            " AND p.indicator = 'population'"
            " AND (a.value IS NULL OR isnan(a.value) OR round(a.value * p.value) < 5)").fetchall()}
    assert small, "expected real DeSO in Lund with fewer than 5 children aged 0–4"
    write_csv(tmp_path / "lund.csv", rows, data.year)
    with (tmp_path / "lund.csv").open(encoding="utf-8-sig", newline="") as handle:
        written = {r["omradeskod"]: r for r in csv.DictReader(handle)}
    assert [int(r["rang"]) for r in written.values()] == list(range(1, len(rows) + 1))
    for code, r in written.items():
        hidden = r["antal_i_malgruppen"] == ".."
        assert hidden == (code in small), code
        assert (r["andel_i_malgruppen"] == "..") == hidden
        assert bool(r["anmarkning"]) == hidden  # the reason is given
    # Our own rule, whatever the upstream disclosure control does: a derived count below 5 is never written.
    three = replace(rows[0], count=3, share=0.002, note="")
    write_csv(tmp_path / "three.csv", [three], data.year)
    with (tmp_path / "three.csv").open(encoding="utf-8-sig", newline="") as handle:
        (r,) = list(csv.DictReader(handle))
    assert (r["antal_i_malgruppen"], r["andel_i_malgruppen"]) == ("..", "..")
    assert three.shown_count == ".." and three.shown_share == ".."


def test_pages_are_self_contained(norrkoping, borlange_deso):
    for path in [p for p in norrkoping + borlange_deso if p.suffix == ".html"]:
        page = path.read_text(encoding="utf-8")
        assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page, flags=re.I), path.name
        assert "<script" not in page and "<link" not in page and "@import" not in page
        assert not re.search(r"""url\(\s*['"]?(?!#)""", page), path.name  # only in-page references (SVG clip paths)
        assert "<img" not in page  # charts are inline SVG


# ------------------------------------------------------------------------------------------------ Borlänge


def test_borlange_deso_report_has_a_map_with_the_version_note(borlange_deso, published_db):
    with duckdb.connect(str(published_db), read_only=True) as con:
        (n_deso,) = con.execute(
            "SELECT count(*) FROM areas WHERE area_level = 'deso' AND municipality_code = '2081'").fetchone()
    page = by_name(borlange_deso, "2081c1140.html").read_text(encoding="utf-8")
    karta = page[page.index('id="karta"'):page.index('id="behovsindex"')]
    assert karta.count('id="area-') == n_deso == 27  # every DeSO code matches a DeSO 2025 polygon
    assert karta.count('id="outline-2081c1140"') == 1
    assert "Gränser: DeSO 2025; statistik: DeSO 2018 — 0 områden saknar matchande gräns" in text_of(karta)
    assert "Medianinkomst" in section(page, "indikatorer")  # published per DeSO only
    assert len([p for p in borlange_deso if p.suffix == ".html"]) == 27 + 1 + 2


def test_borlange_regso_maps_are_dissolved_from_deso(borlange_regso, published_db):
    with duckdb.connect(str(published_db), read_only=True) as con:
        (n_regso,) = con.execute(
            "SELECT count(*) FROM areas WHERE area_level = 'regso' AND municipality_code = '2081'").fetchone()
    index = by_name(borlange_regso, "index.html").read_text(encoding="utf-8")
    assert index.count('id="area-') == 2 * n_regso  # the whole municipality and the town close-up
    report = by_name(borlange_regso, "2081-tjarna-angar.html").read_text(encoding="utf-8")
    assert report.count('id="outline-2081-tjarna-angar"') == 1


# ------------------------------------------------------------------------------------------------ later tables


@pytest.fixture()
def two_years_db(published_db, tmp_path) -> Path:
    """A copy with a second year (2021) for Vansbro, as later builds will publish."""
    db = tmp_path / "two-years.duckdb"
    shutil.copy(published_db, db)
    with duckdb.connect(str(db)) as con:
        con.execute(
            "INSERT INTO profile_rows SELECT * REPLACE (2021 AS year, value * 0.9 AS value)"
            " FROM profile_rows WHERE municipality_code = '2021' AND year = 2022"
        )
    return db


def test_trend_and_change_render_with_two_years(two_years_db, tmp_path):
    paths = build_reports(two_years_db, tmp_path / "out", "2021", "regso", boundaries_dir=BOUNDARIES)
    reports = [p.read_text(encoding="utf-8") for p in paths if p.suffix == ".html" and p.name[0].isdigit()]
    assert reports
    for page in reports:
        assert page[page.index('id="trend"'):page.index('id="karta"')].count("<svg") == 1
        assert "Endast ett år" not in page
    with by_name(paths, "malgrupp_barn_0_5.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and all(r["forandring"].endswith("sedan 2021") for r in rows)


def test_without_a_needs_index_the_report_says_so_and_ranks_by_indicators(published_db, tmp_path):
    db = tmp_path / "no-index.duckdb"
    shutil.copy(published_db, db)
    with duckdb.connect(str(db)) as con:
        con.execute("DROP TABLE needs_index")
    paths = build_reports(db, tmp_path / "out", "2021", "regso", boundaries_dir=BOUNDARIES)
    for path in [p for p in paths if p.suffix == ".html"]:
        assert "Behovsindex: ännu inte beräknat" in text_of(path.read_text(encoding="utf-8")), path.name
    with by_name(paths, "malgrupp_barn_0_5.csv").open(encoding="utf-8-sig", newline="") as handle:
        scores = [float(r["ordnat_efter"].removeprefix("medelrang ").replace(",", ".")) for r in csv.DictReader(handle)]
    assert scores == sorted(scores)


def test_needs_index_section_shows_place_themes_and_drivers(norrkoping, published_db):
    with duckdb.connect(str(published_db), read_only=True) as con:
        local, drivers = con.execute(
            "SELECT position, drivers FROM needs_index WHERE area_code = ? AND universe = 'municipality'",
            [KLOCKARETORPET]).fetchone()
        national, of = con.execute(
            "SELECT position, areas_ranked FROM needs_index WHERE area_code = ? AND universe = 'nation'",
            [KLOCKARETORPET]).fetchone()
    needs = section(by_name(norrkoping, "0581-vastra-klockaretorpet.html").read_text(encoding="utf-8"), "behovsindex")
    assert f"plats {local} av 40" in needs and f"plats {fmt.number(national)} av {fmt.number(of)} i riket" in needs
    for driver in drivers.split("; "):
        assert driver in needs


# ------------------------------------------------------------------------------------------------ CLI, metadata


def test_cli_report_and_asset_metadata(published_db, tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="grannskap")
    register_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["report", "--municipality", "2021", "--db", str(published_db), "--out", str(tmp_path),
                              "--group", "skolbarn"])
    assert args.func(args) == 0
    out_dir = tmp_path / "2021-regso"
    assert (out_dir / "index.html").is_file() and (out_dir / "malgrupp_skolbarn.csv").is_file()
    assert not (out_dir / "malgrupp_barn_0_5.csv").exists()
    metadata = report_asset_metadata(sorted(out_dir.iterdir()))
    assert metadata["index"].value == str(out_dir / "index.html")
    preview = metadata["targeting_top_5"].value
    assert len(re.findall(r"^\| \d+ \|", preview, flags=re.M)) == min(5, len(list(out_dir.glob("2021-*.html"))))

    bad = parser.parse_args(["report", "--municipality", "9999", "--db", str(published_db), "--out", str(tmp_path)])
    assert bad.func(bad) == 1
    assert "9999" in capsys.readouterr().err
