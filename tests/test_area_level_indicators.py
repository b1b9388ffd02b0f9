"""Indicators SCB and Kolada publish only for larger areas (kind published_rate): RegSO rates from SCB's
integration statistics and Kolada's municipal key figures, landed in their exact live shape and built with
source="raw" on a private data directory.

The raw tables are landed by the live fetch itself (`LiveFetcher`, pipelines/sources/live.py) against the local
fake SCB and fake Kolada of tests/test_live_fetch.py and tests/test_live_kolada.py, serving the CONSTRUCTED
metadata in tests/fixtures/pxweb/constructed/live/. The numbers are CONSTRUCTED (`published`, below). The RegSO
labels are set to Norrköping's real RegSO names from /work/shared/data/scb-norrkoping-regso-2024/
norrkoping_0581_deso_regso_2018_2025.csv (SCB's RegSO 2025 code and name, and the RegSO 2020 name from the 2021
key). SCB's RegSO 2020 *codes* are not in our data: which 2020 code carries which name here is constructed (the
2025 code's number), only the names are SCB's. The spine (population, background, education, income, the key)
is the embedded 2022 snapshot, landed in the same raw layer.
"""

from __future__ import annotations

import csv
import zlib
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
from conftest import Workspace, make_workspace
from test_live_fetch import LiveFakeSCB
from test_live_kolada import FakeKolada
from test_live_kolada import constructed_value as kolada_value

from pipelines.raw import RawTable, read_raw_table, write_raw_table
from pipelines.sources.embedded import embedded_table_names, land_embedded_table
from pipelines.sources.live import LiveFetcher, Scope, parse_years

KEY_2025 = Path("/work/shared/data/scb-norrkoping-regso-2024/norrkoping_0581_deso_regso_2018_2025.csv")
V1 = {
    "regso_labour_market": "AA/AA0003/AA0003B/IntGr1RegSOBASN",
    "regso_ill_health": "AA/AA0003/AA0003I/IntGr10RegSOKon",
    "regso_transfers": "AA/AA0003/AA0003G/IntGr4RegSOKon",
}
LIVE_TABLES = [*V1, "kolada_kpis"]
KT = "0581:Västra Klockaretorpet"  # RegSO 0581R037 (2025); DeSO 0581C1110 and 0581C1250
KT_CODE = "0581R037"
SUPPRESSED = "0581R005"  # SCB's '..' for openly unemployed here
UNEMPLOYED, EMPLOYED, OHALSOTAL, INCOME_SUPPORT = "000008B2", "000008AW", "000004X8", "000004WZ"


def regso_names() -> dict[str, tuple[str, str]]:
    """RegSO 2025 code -> (RegSO 2025 name, RegSO 2020 name of the 2021 key), Norrköping."""
    with KEY_2025.open(encoding="utf-8") as fh:
        return {r["regso2025_code"]: (r["regso2025_name"], r["regso2020_name_from_2021_table"]) for r in csv.DictReader(fh)}


def published(cell: dict) -> float | None:
    """The CONSTRUCTED published figure of one cell (a percentage, or ohälsotal days), 1.0-90.9."""
    region = cell["Region"].split("_")[0]
    if region == SUPPRESSED and cell.get("ContentsCode") == UNEMPLOYED:
        return None  # the fake serves '..'
    key = "|".join(f"{k}={v.split('_')[0] if k == 'Region' else v}" for k, v in sorted(cell.items()))
    return round(1 + (zlib.crc32(key.encode()) % 900) / 10, 1)


def total(region: str, content: str, year: str = "2022", table: str = "regso_labour_market") -> float | None:
    """The figure of SCB's total row (both sexes, background tot20-64) the staged model takes."""
    background = "BakgrVar" if table == "regso_labour_market" else "Bakgrund"
    return published({"Region": region, "Kon": "1+2", background: "tot20-64", "ContentsCode": content, "Tid": year})


def serve_names(scb: LiveFakeSCB, labels: dict[str, str] | None = None) -> None:
    """Label the fake's RegSO codes with Norrköping's RegSO names, as SCB's metadata labels RegSO codes."""
    names = regso_names()
    mapping = {}
    for code, (name_2025, name_2020) in names.items():
        mapping[code] = name_2020
        mapping[f"{code}_RegSO2025"] = name_2025
    mapping[KT_CODE] = f"{KT_CODE} {names[KT_CODE][1]}"  # a label may lead with the code
    mapping.update(labels or {})
    for path in V1.values():
        scb.relabel[(path, "Region")] = mapping
        scb.values[path] = published


def with_larger_areas(raw_dir: Path, name: str) -> None:
    """Add the municipality's and Sweden's rows SCB's table also publishes (its metadata lists 00, 05 and
    0581; the live fetch of a `level: regso` table asks for RegSO codes only), in the same shape."""
    table = read_raw_table(raw_dir, name)
    one = table.cells.filter(pl.col("Region") == "0581R001")
    extra = []
    for region in ("0581", "00"):
        rows = one.with_columns(pl.lit(region).alias("Region"), pl.lit("").alias("boundary_version")).to_dicts()
        for r in rows:
            dims = {k: v for k, v in r.items() if k not in ("value", "status", "boundary_version")}
            r["value"] = published(dims)
            r["status"] = "" if r["value"] is not None else ".."
        extra.append(pl.DataFrame(rows, schema=table.cells.schema))
    cells = pl.concat([table.cells, *extra])
    write_raw_table(raw_dir, RawTable(name, table.provenance, cells))


def land(ws: Workspace, labels: dict[str, str] | None = None, labour_years: str = "2022") -> None:
    """The embedded spine and the four live tables (2022), in one raw layer."""
    raw_dir = ws.paths.raw_dir
    for name in embedded_table_names(ws.snapshot_dir):
        table, _ = land_embedded_table(ws.snapshot_dir, name)
        write_raw_table(raw_dir, table)
    scb, kolada = LiveFakeSCB(), FakeKolada()
    try:
        serve_names(scb, labels)
        with LiveFetcher(raw_dir, scb_v2=scb.v2, scb_v1=scb.v1, kolada=kolada.kolada) as fetcher:
            report = fetcher.run(LIVE_TABLES, Scope(municipality="0581"), parse_years("2022"))
            assert report.ok, report.failed
            if labour_years != "2022":
                report = fetcher.run(["regso_labour_market"], Scope(municipality="0581"), parse_years(labour_years))
                assert report.ok, report.failed
    finally:
        scb.stop()
        kolada.stop()
    for name in V1:
        with_larger_areas(raw_dir, name)


def failures(result: dg.ExecuteInProcessResult) -> list[str]:
    return [
        e.asset_check_evaluation_data.description
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.asset_check_evaluation_data.passed
    ]


@pytest.fixture(scope="module")
def live_build(tmp_path_factory) -> tuple[Workspace, dg.ExecuteInProcessResult]:
    ws = make_workspace(tmp_path_factory.mktemp("area_level"))
    land(ws, labour_years="2022,2024")  # 2024 is RegSO 2025
    result = ws.build(source="raw")
    return ws, result


@pytest.fixture(scope="module")
def profiles(live_build):
    ws, result = live_build
    assert result.success, failures(result)
    con = duckdb.connect(str(ws.paths.published_db), read_only=True)
    yield con
    con.close()


def row(con, area_code: str, indicator: str, year: int = 2022) -> dict:
    rel = con.execute("SELECT * FROM profile_rows WHERE area_code = ? AND indicator = ? AND year = ?", [area_code, indicator, year])
    names = [d[0] for d in rel.description]
    found = rel.fetchall()
    assert len(found) == 1, (area_code, indicator, year, found)
    return dict(zip(names, found[0]))


# ---------------------------------------------------------------- the live shape lands and builds


def test_the_raw_tables_are_the_live_fetchs_and_carry_the_regso_names(live_build):
    ws, result = live_build
    assert result.success, failures(result)
    t = read_raw_table(ws.paths.raw_dir, "regso_labour_market")
    assert t.provenance.source == "scb-pxweb-v1"
    assert t.provenance.boundary_version == "RegSO2020,RegSO2025"
    assert t.provenance.dimension_labels["Region"]["0581R012"] == "Kolmården"
    with duckdb.connect(str(ws.paths.build_db), read_only=True) as con:
        labels = dict(con.execute(
            "SELECT code, label FROM raw_regso_ill_health_labels WHERE dimension = 'Region'").fetchall())
        assert labels[KT_CODE] == f"{KT_CODE} Västra Klockaretorpet"
        checks = [e for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
        assert {"raw_regso_labour_market", "raw_kolada_kpis", "stg_regso_rates", "stg_municipality_rates"} <= {
            c.asset_check_evaluation_data.asset_check_key.asset_key.to_user_string() for c in checks}
        # every Norrköping RegSO 2020 code of every table mapped onto the key by its name
        unmatched = con.execute(
            "SELECT count(*) FROM stg_regso_rates WHERE area_code IS NULL AND boundary_version = 'RegSO2020'").fetchone()[0]
        assert unmatched == 0
        assert con.execute(
            "SELECT count(DISTINCT area_code) FROM stg_regso_rates WHERE area_level = 'regso'").fetchone()[0] == 40


def test_the_regso_value_is_published_as_a_fraction_and_ranked_among_regso(profiles):
    r = row(profiles, KT, "share_openly_unemployed")
    expected = total(KT_CODE, UNEMPLOYED)
    assert r["value"] == pytest.approx(expected / 100, rel=1e-12)
    assert 0 <= r["value"] <= 1 and r["unit"] == "share"
    assert r["value_area_level"] is None and r["value_area_code"] is None and r["missing_reason"] is None
    assert r["numerator"] is None and r["denominator"] is None
    # ranked among Norrköping's RegSO that have a value (one is '..')
    assert r["areas_in_municipality"] == 39 and 1 <= r["rank_in_municipality"] <= 39
    assert r["source_table"] == "AA/AA0003/AA0003B/IntGr1RegSOBASN"
    # days are stored as published
    days = row(profiles, KT, "ohalsotal_days")
    assert days["value"] == pytest.approx(total(KT_CODE, OHALSOTAL, table="regso_ill_health"), rel=1e-12)
    support = row(profiles, KT, "share_income_support")
    assert support["value"] == pytest.approx(total(KT_CODE, INCOME_SUPPORT, table="regso_transfers") / 100, rel=1e-12)


def test_municipality_and_national_comparisons_where_published(profiles):
    r = row(profiles, KT, "share_employed_20_64")
    assert r["municipality_value"] == pytest.approx(total("0581", EMPLOYED) / 100, rel=1e-12)
    assert r["national_value"] == pytest.approx(total("00", EMPLOYED) / 100, rel=1e-12)
    assert r["diff_municipality"] == pytest.approx(r["value"] - r["municipality_value"], abs=1e-12)
    assert r["county_value"] is None  # SCB's county row was not landed: no value, none imputed
    municipality = row(profiles, "0581", "share_employed_20_64")
    assert municipality["value"] == r["municipality_value"] and municipality["value_area_level"] is None


def test_a_deso_shows_its_regsos_value_and_says_so_unranked(profiles):
    regso = row(profiles, KT, "share_openly_unemployed")
    for deso in ("0581C1110", "0581C1250"):
        r = row(profiles, deso, "share_openly_unemployed")
        assert r["value"] == regso["value"]
        assert r["value_area_level"] == "regso" and r["value_area_code"] == KT
        assert r["missing_reason"] == "publiceras bara för RegSO: värdet avser Västra Klockaretorpet"
        assert r["rank_in_municipality"] is None and r["rank_in_nation"] is None
        assert r["areas_in_municipality"] is None and r["areas_in_nation"] is None
        assert r["municipality_value"] == regso["municipality_value"]
    # a DeSO's own indicators are untouched
    own = row(profiles, "0581C1110", "share_age_0_4")
    assert own["value_area_level"] is None and own["rank_in_municipality"] is not None


def test_nothing_is_imputed_where_scb_published_nothing(profiles):
    regso = profiles.execute(
        "SELECT area_code, value, missing_reason FROM profiles WHERE area_level = 'regso' AND regso_code IS NOT NULL"
        " AND indicator = 'share_openly_unemployed' AND value IS NULL").fetchall()
    assert len(regso) == 1 and regso[0][2] == "not published by SCB (..)"
    deso = profiles.execute(
        "SELECT value, missing_reason, value_area_code FROM profiles WHERE area_level = 'deso'"
        " AND regso_code = ? AND indicator = 'share_openly_unemployed'", [regso[0][0]]).fetchall()
    assert deso and all(v is None and code == regso[0][0] and reason.endswith("; not published by SCB (..)")
                        for v, reason, code in deso)


def test_named_districts_borrow_only_from_a_single_regso(profiles):
    kt = row(profiles, "0581D:Klockaretorpet", "share_openly_unemployed")
    assert kt["value"] == row(profiles, KT, "share_openly_unemployed")["value"]
    assert kt["value_area_level"] == "regso" and kt["rank_in_municipality"] is None
    marielund = row(profiles, "0581D:Marielund", "share_openly_unemployed")  # two RegSO
    assert marielund["value"] is None and marielund["value_area_code"] is None
    assert "flera RegSO" in marielund["missing_reason"]


def test_kolada_figures_at_their_own_levels_and_the_finest_one_below(profiles):
    muni = row(profiles, "0581", "sick_leave_days")
    assert muni["value"] == kolada_value("N00938", "0581", "2022", "T")[0]
    assert muni["county_value"] == kolada_value("N00938", "0005", "2022", "T")[0]
    assert muni["national_value"] == kolada_value("N00938", "0000", "2022", "T")[0]
    share = row(profiles, "0581", "share_receiving_income_support")
    assert share["value"] == pytest.approx(kolada_value("N31807", "0581", "2022", "T")[0] / 100, rel=1e-12)
    deso = row(profiles, "0581C1110", "sick_leave_days")
    assert deso["value"] == muni["value"] and deso["value_area_level"] == "municipality"
    assert deso["missing_reason"] == "publiceras bara för kommun: värdet avser Norrköping"
    assert deso["rank_in_nation"] is None
    # Kolada publishes nothing by RegSO: the RegSO row says it is the municipality's figure
    assert row(profiles, KT, "sick_leave_days")["value_area_code"] == "0581"


def test_disclosure_control_leaves_published_rates_alone(live_build):
    ws, _ = live_build
    with duckdb.connect(str(ws.paths.build_db), read_only=True) as con:
        rates, touched = con.execute(
            """SELECT count(*), count(*) FILTER (WHERE p.suppressed IS NOT NULL OR p.reliability IS NOT NULL
                                                  OR p.value IS DISTINCT FROM v.value)
               FROM ind_values_protected AS p JOIN ind_values AS v USING (area_level, area_code, year, indicator)
               JOIN indicator_catalogue AS k USING (indicator) WHERE k.kind = 'published_rate'"""
        ).fetchone()
    assert rates > 0 and touched == 0


def test_regso_2025_codes_are_not_joined_to_the_2020_key(live_build, profiles):
    ws, _ = live_build
    with duckdb.connect(str(ws.paths.build_db), read_only=True) as con:
        notes = con.execute(
            "SELECT DISTINCT area_code, mapping_note FROM stg_regso_rates WHERE boundary_version = 'RegSO2025'").fetchall()
    assert len(notes) == 1 and notes[0][0] is None and notes[0][1].startswith("RegSO 2025: not joined")
    years = profiles.execute(
        "SELECT DISTINCT area_level FROM profiles WHERE indicator = 'share_openly_unemployed' AND year = 2024").fetchall()
    assert sorted(years) == [("country",), ("municipality",)]  # no RegSO, DeSO or district value for 2024


# ---------------------------------------------------------------- failures and the embedded build


def test_an_unmatched_regso_code_fails_the_staged_suite_naming_it(tmp_path):
    ws = make_workspace(tmp_path)
    land(ws, labels={"0581R012": "Kolmården Norra"})  # no such RegSO in Norrköping in the key
    result = ws.build(source="raw")
    assert not result.success
    [failure] = [f for f in failures(result) if f.startswith("stg_regso_rates")]
    assert "every RegSO code maps to a RegSO of the key" in failure and "0581R012" in failure
    with duckdb.connect(str(ws.paths.build_db), read_only=True) as con:
        note = con.execute("SELECT DISTINCT mapping_note FROM stg_regso_rates WHERE region_code = '0581R012'").fetchall()
    assert note == [("no RegSO named 'Kolmården Norra' in municipality 0581 of the key",)]
    assert not ws.paths.published_db.exists()  # nothing downstream of a failed suite was published


def test_the_embedded_build_runs_without_the_live_tables(built):
    ws, result = built
    assert result.success
    assert not any((ws.paths.raw_dir / name).exists() for name in LIVE_TABLES)  # nothing written for them
    with duckdb.connect(str(ws.paths.build_db), read_only=True) as con:
        for name in LIVE_TABLES:
            assert con.execute(f"SELECT count(*) FROM raw_{name}").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM stg_regso_rates").fetchone()[0] == 0
        sources = dict(con.execute("SELECT raw_table, source FROM meta_sources").fetchall())
        rates = con.execute(
            "SELECT count(*) FROM profiles JOIN indicator_catalogue USING (indicator) WHERE kind = 'published_rate'").fetchone()[0]
    assert all(sources[name] == "not landed" for name in LIVE_TABLES)
    assert rates == 0


def test_the_catalogue_checks_published_rates():
    from pipelines.catalogue import CatalogueError, _check

    good = {"id": "x", "title_sv": "x", "title_en": "x", "definition": "x", "unit": "share", "kind": "published_rate",
            "published_unit": "percent", "direction": "neutral", "source_table": "T",
            "numerator": {"measure": "regso_transfers", "categories": ["000004WZ"]}, "levels": ["regso"]}
    assert _check(good).scale == 0.01
    with pytest.raises(CatalogueError, match="named district"):
        _check({**good, "levels": ["regso", "district"]})
    with pytest.raises(CatalogueError, match="needs a published_unit"):
        _check({k: v for k, v in good.items() if k != "published_unit"})
    with pytest.raises(CatalogueError, match="percent or a share"):
        _check({**good, "published_unit": "days"})
    with pytest.raises(CatalogueError, match="one content code"):
        _check({**good, "numerator": {"measure": "income", "categories": ["median_tkr"]}})
