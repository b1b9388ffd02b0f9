"""The live catalogue and its fetch plans, against CONSTRUCTED metadata (fixtures/pxweb/constructed/live/):
no HTTP. Each plan is checked for the codes it selects and for its calls against the lower bound."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import pytest

from pipelines.sources.live import (
    AmbiguousLabelError,
    LabelNotFoundError,
    LiveCatalogueError,
    NoRegionsError,
    Scope,
    YearNotAvailableError,
    load_catalogue,
    parse_years,
    plan_live_table,
)
from pipelines.sources.pxweb import QueryError, parse_metadata

LIVE = Path(__file__).parent / "fixtures" / "pxweb" / "constructed" / "live"
CATALOGUE = load_catalogue()
V1_FILES = {
    "AA/AA0003/AA0003B/IntGr1RegSOBASN": "v1_IntGr1RegSOBASN_metadata.json",
    "AA/AA0003/AA0003I/IntGr10RegSOKon": "v1_IntGr10RegSOKon_metadata.json",
    "AA/AA0003/AA0003G/IntGr4RegSOKon": "v1_IntGr4RegSOKon_metadata.json",
}
LIMITS = {"v2": 150_000, "v1": 100_000}  # SCB's /config (v2) and SCB's published v1 limit


def metadata_for(source, *, edit=None):
    if source.api == "v2":
        path = LIVE / f"v2_{source.table}_metadata_{source.region_codelist}.json"
    else:
        path = LIVE / V1_FILES[source.v1_path]
    if not path.exists():
        pytest.skip(f"no constructed metadata {path.name}")
    doc = json.loads(path.read_text(encoding="utf-8"))
    if edit:
        edit(doc)
    return parse_metadata(doc, source.id)


def plan_for(name, scope=Scope(municipality="0581"), years="latest", max_cells=None, edit=None):
    return plan_live_table(
        CATALOGUE[name], scope, parse_years(years), lambda s: metadata_for(s, edit=edit),
        lambda s: max_cells or LIMITS[s.api],
    )


# table -> (expected source, year, Region codes, contents codes, cells) for Norrköping, latest year
EXPECTED = {
    "population_age": ("TAB6574", "2024", 79, ["000007Y7"], 79 * 18 * 3),
    "population_background": ("TAB6571", "2024", 79, ["000007Y5"], 79 * 3 * 3),
    "education": ("TAB6534", "2024", 79, ["000007Z6"], 79 * 5),
    "labour_market_deso": ("TAB6680", "2024", 79, ["0000089X", "0000089W", "0000089V", "0000089U", "0000089Y"], 79 * 5 * 3 * 5),
    "low_economic_standard": ("TAB6685", "2024", 79, ["000008AC"], 79 * 4),
    "regso_labour_market": ("AA/AA0003/AA0003B/IntGr1RegSOBASN", "2024", 40,
                            ["000008AW", "000008B1", "000008B2", "000008B3", "000008B4"], 40 * 3 * 19 * 5),
    "regso_ill_health": ("AA/AA0003/AA0003I/IntGr10RegSOKon", "2024", 40, ["000004X8", "000004X9"], 40 * 18 * 3 * 2),
    "regso_transfers": ("AA/AA0003/AA0003G/IntGr4RegSOKon", "2023", 40,
                        ["000004WR", "000004WT", "000004WX", "000004WY", "000004WZ"], 40 * 3 * 18 * 5),
}


def test_catalogue_names_and_spine_tables():
    assert set(EXPECTED) | {"kolada_kpis"} == set(CATALOGUE)
    assert {n for n, t in CATALOGUE.items() if t.spine} == {"population_age", "population_background", "education"}
    assert [k.id for k in CATALOGUE["kolada_kpis"].kpis] == ["N00957", "N00938", "N31807"]
    assert all(k.verify.startswith(f"GET /v3/kpi/{k.id}") for k in CATALOGUE["kolada_kpis"].kpis)
    for t in CATALOGUE.values():
        assert t.purpose
        for s in t.sources:
            assert s.v1_path, f"{t.name}: every source names its v1 path"
            specs = t.variables_for(s)["ContentsCode"]
            assert specs and all(v.label for v in specs)  # never a bare ContentsCode


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_plan_each_live_table_for_norrkoping(name):
    table_id, year, regions, contents, cells = EXPECTED[name]
    tp = plan_for(name)
    [part] = tp.parts
    assert part.source.id == table_id and part.years == [year]
    sel = {s.code: s.values for s in part.plan.expanded.selections}
    plain = {c.split("_")[0] for c in sel["Region"]}
    assert len(sel["Region"]) == regions and all(c.startswith("0581") for c in plain)
    assert list(sel["ContentsCode"]) == contents
    assert sel["Tid"] == (year,)
    assert part.plan.cells == cells
    assert (part.plan.calls, part.plan.lower_bound) == (1, 1)
    assert tp.calls == tp.lower_bound == 1


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_split_plans_stay_at_the_lower_bound(name):
    """Under a small cell limit every table is cut into box-shaped calls: exactly the bound here, and the
    chunks cover the query once."""
    tp = plan_for(name, scope=Scope(county="05"), max_cells=1000)
    [part] = tp.parts
    p = part.plan
    assert p.lower_bound == math.ceil(p.cells / 1000)
    assert p.calls <= p.lower_bound + 1, p.describe()
    cells = [c for ch in p.chunks for c in itertools.product(*(s.values for s in ch.selections))]
    assert len(cells) == len(set(cells)) == p.cells
    assert all(ch.cells() <= 1000 for ch in p.chunks)


def test_scopes_pick_regions_by_level_boundary_and_prefix():
    county = plan_for("population_age", scope=Scope(county="05"), years="2022").parts[0]
    codes = county.plan.expanded.selection("Region").values
    assert len(codes) == 173 and {c[:4] for c in codes} == {"0580", "0581"}
    sweden = plan_for("population_age", scope=Scope(), years="2022").parts[0]
    assert sweden.plan.expanded.selection("Region").values == codes  # the constructed metadata has only county 05
    v1 = plan_for("regso_ill_health", years="2023").parts[0]
    assert all("_" not in c for c in v1.plan.expanded.selection("Region").values)  # RegSO 2020: plain codes
    v1_2024 = plan_for("regso_ill_health", years="2024").parts[0]
    assert all(c.endswith("_RegSO2025") for c in v1_2024.plan.expanded.selection("Region").values)
    with pytest.raises(NoRegionsError, match=r"no DESO code of boundary DeSO2018 for municipality 0180"):
        plan_for("population_age", scope=Scope(municipality="0180"), years="2022")


def test_years_pick_the_table_version():
    tp = plan_for("education", years="2022-2024")
    assert [(p.source.id, p.years) for p in tp.parts] == [("TAB5956", ["2022", "2023"]), ("TAB6534", ["2024"])]
    assert tp.calls == 2 and tp.lower_bound == 2
    with pytest.raises(YearNotAvailableError, match=r"year\(s\) \['2009'\] are in no source's range"):
        plan_for("education", years="2009")
    with pytest.raises(YearNotAvailableError, match=r"TAB5956 .*no year \['2019'\].*2021\.\.2023"):
        plan_for("education", years="2019")


def test_label_problems_are_clear():
    def rename(doc):
        doc["dimension"]["ContentsCode"]["category"]["label"]["000007Y7"] = "Invånare"

    with pytest.raises(LabelNotFoundError, match=r"table TAB6574: no ContentsCode value has a label matching /\(\?i\)folkmängd/ "
                       r"\(it was 000007Y7 when the catalogue was written\); the table's ContentsCode values now are: 000007Y7 = 'Invånare'"):
        plan_for("population_age", edit=rename)

    def two(doc):
        cat = doc["dimension"]["ContentsCode"]["category"]
        cat["index"]["000007Y8"] = 1
        cat["label"]["000007Y8"] = "Folkmängd, preliminär"
        doc["size"][doc["id"].index("ContentsCode")] = 2

    with pytest.raises(AmbiguousLabelError, match=r"2 ContentsCode values match /\(\?i\)folkmängd/"):
        plan_for("population_age", edit=two)

    def drop_var(doc):
        i = doc["id"].index("UtlBakgrund")
        del doc["id"][i], doc["size"][i], doc["dimension"]["UtlBakgrund"]

    with pytest.raises(QueryError, match=r"\['UtlBakgrund'\] of live_tables.yaml .* not in the metadata"):
        plan_for("population_background", edit=drop_var)


def test_parse_years_and_scope():
    assert parse_years("latest") is None and parse_years("") is None and parse_years(None) is None
    assert parse_years("2023,2022") == ("2022", "2023")
    assert parse_years("2020-2022,2024") == ("2020", "2021", "2022", "2024")
    with pytest.raises(ValueError):
        parse_years("22")
    with pytest.raises(ValueError):
        Scope(municipality="581")
    with pytest.raises(ValueError):
        Scope(municipality="0581", county="05")
    assert Scope().describe() == "all of Sweden" and Scope(county="20").matches("2021A0010")


def test_catalogue_rejects_a_bare_contents_code(tmp_path):
    bad = tmp_path / "live.yaml"
    bad.write_text(
        "tables:\n  t:\n    level: deso\n    variables: {ContentsCode: ['000007Y7']}\n"
        "    sources: [{table: TAB1, boundary: DeSO2025, years: '2024-'}]\n",
        encoding="utf-8",
    )
    with pytest.raises(LiveCatalogueError, match="ContentsCode must be given by label"):
        load_catalogue(bad)
    bad.write_text(
        "tables:\n  t:\n    level: deso\n    variables: {Region: '*', ContentsCode: [{label: x}]}\n"
        "    sources: [{table: TAB1, boundary: DeSO2025}]\n",
        encoding="utf-8",
    )
    with pytest.raises(LiveCatalogueError, match="Region is not set in the catalogue"):
        load_catalogue(bad)
