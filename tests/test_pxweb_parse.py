"""Parsing PxWeb output (real SCB files, plus small constructed snippets) into raw-layer cells."""

from __future__ import annotations

import json
import time
from math import prod
from pathlib import Path

import polars as pl
import pytest

from pipelines.raw import validate_shape
from pipelines.sources.pxweb import (
    BOUNDARY_VERSION,
    MISSING_NO_MARKER,
    FormatError,
    TruncatedResponseError,
    codelist_version,
    detect_format,
    parse_bytes,
    parse_csv,
    parse_file,
    parse_jsonstat2,
    parse_metadata,
    split_code,
    to_raw_table,
)

FIX = Path(__file__).parent / "fixtures" / "pxweb"
V1_NORRKOPING = FIX / "real" / "scb_v1_FolkmDesoAldKon_norrkoping_regso2025_2024.json"
TAB5974 = FIX / "real" / "scb_v2_TAB5974_data_jsonstat2.json"
DALARNA = FIX / "real" / "scb_v2_TAB6574_dalarna_deso2025_2024.csv"


# ---------------------------------------------------------------- real files


def test_v1_json_norrkoping_real():
    t = parse_file(V1_NORRKOPING)
    validate_shape(t)
    c = t.cells
    assert c.height == 2160
    assert t.dimensions == ["Region", "Alder", "Kon", "Tid", "ContentsCode", BOUNDARY_VERSION]
    assert c.schema["value"] == pl.Float64
    # codes normalised, version kept with each row
    assert c["Region"].n_unique() == 40
    assert not c["Region"].str.contains("_").any()
    assert set(c[BOUNDARY_VERSION].unique()) == {"RegSO2025"}
    assert c.filter(pl.col("Region") == "0581R037").height == 54
    tot = c.filter((pl.col("Kon") == "1+2") & (pl.col("Alder") == "totalt"))
    assert tot.height == 40
    assert tot["value"].sum() == 144_980
    # Kon 1 + Kon 2 = 1+2 for every region and age (the file is internally consistent)
    wide = c.pivot(on="Kon", index=["Region", "Alder"], values="value")
    assert (wide["1"] + wide["2"] == wide["1+2"]).all()
    assert (c["status"] == "").all()
    p = t.provenance
    assert p.updated == "2025-05-09T06:00:00Z"
    assert p.reference_year == "2024"
    assert p.boundary_version == "RegSO2025"
    assert p.title.startswith("Folkmängden per region")
    assert p.query == V1_NORRKOPING.name
    assert "dimension Alder: ålder" in p.notes


def test_jsonstat2_tab5974_real():
    doc = json.loads(TAB5974.read_text(encoding="utf-8"))
    t = parse_file(TAB5974)
    validate_shape(t)
    assert t.cells.height == prod(doc["size"]) == 2
    assert t.dimensions == ["InrikesUtrikes", "Alder", "Kon", "ContentsCode", "Tid", BOUNDARY_VERSION]
    rows = {r["Kon"]: r for r in t.cells.iter_rows(named=True)}
    assert rows["1"]["value"] == 50080 and rows["2"]["value"] == 47361
    assert rows["1"]["InrikesUtrikes"] == "83" and rows["1"]["Tid"] == "2026"
    assert rows["1"][BOUNDARY_VERSION] == ""  # not an areal table
    p = t.provenance
    assert p.source_table == "TAB5974"
    assert p.updated == "2026-04-16T06:00:00Z"
    assert p.dimension_labels["Kon"] == {"1": "män", "2": "kvinnor"}
    assert p.dimension_labels["InrikesUtrikes"]["83"] == "inrikes och utrikes födda"
    assert p.dimension_labels["ContentsCode"] == {"000005NO": "Antal"}
    assert any("unit antal" in n for n in p.notes)
    assert t.name == "tab5974"


def test_v2_csv_dalarna_real():
    t = parse_file(DALARNA)
    validate_shape(t)
    c = t.cells
    assert c.height == 875  # 175 DeSO x 5 age groups
    assert t.dimensions == ["Region", "Alder", "Kon", "ContentsCode", "Tid", BOUNDARY_VERSION]
    assert c["Region"].n_unique() == 175
    assert not c["Region"].str.contains("_DeSO").any()
    assert c["Region"].str.len_chars().unique().to_list() == [9]
    assert set(c[BOUNDARY_VERSION].unique()) == {"DeSO2025"}
    assert set(c["ContentsCode"].unique()) == {"000007Y7"} and set(c["Tid"].unique()) == {"2024"}
    first = c.row(0, named=True)
    assert (first["Region"], first["Alder"], first["value"]) == ("2021A0010", "totalt", 1402.0)
    assert t.provenance.boundary_version == "DeSO2025"
    assert any("header style codes" in n for n in t.provenance.notes)


def test_metadata_tab5974_real():
    m = parse_metadata((FIX / "real" / "scb_v2_TAB5974_metadata.json").read_bytes())
    assert m.table_id == "TAB5974"
    assert m.codes == ["InrikesUtrikes", "Alder", "Kon", "ContentsCode", "Tid"]
    alder = m.variable("Alder")
    assert len(alder.values) == 106 and alder.values[-1] == "105+" and alder.elimination
    assert "agg_Ålder5år_1" in alder.codelists
    assert m.variable("Tid").is_time and not m.variable("Tid").elimination


# ---------------------------------------------------------------- codes


@pytest.mark.parametrize(
    "code,codelist,expected",
    [
        ("0581C1110_DeSO2025", None, ("0581C1110", "DeSO2025")),
        ("0581R037_RegSO2025", None, ("0581R037", "RegSO2025")),
        ("0581C1110", "vs_DeSO2018", ("0581C1110", "DeSO2018")),
        ("0581R037", "vs_RegSO2020", ("0581R037", "RegSO2020")),
        ("0581C1110", None, ("0581C1110", "DeSO2018")),  # shape rule
        ("0581R037", None, ("0581R037", "RegSO2020")),
        ("0581", "vs_DeSO2018", ("0581", "")),  # a municipality is not areal
        ("00", None, ("00", "")),
        ("0581C1110", "vs_RegSO2020", ("0581C1110", "DeSO2018")),  # codelist of the other kind: shape decides
    ],
)
def test_split_code(code, codelist, expected):
    assert split_code(code, codelist) == expected


def test_codelist_version():
    assert codelist_version("vs_DeSO2025") == "DeSO2025"
    assert codelist_version("vs_RegSO2020") == "RegSO2020"
    assert codelist_version("agg_Ålder5år_1") is None and codelist_version(None) is None


def _jsonstat(ids, cats, values, status=None):
    doc = {
        "version": "2.0",
        "class": "dataset",
        "label": "constructed",
        "id": ids,
        "size": [len(cats[i]) for i in ids],
        "dimension": {i: {"label": i.lower(), "category": {"index": {c: k for k, c in enumerate(cats[i])}}} for i in ids},
        "value": values,
    }
    if status is not None:
        doc["status"] = status
    return doc


def test_plain_codes_take_version_from_codelist_then_shape():
    doc = _jsonstat(["Region", "Tid"], {"Region": ["0581", "0581C1110", "0581R037"], "Tid": ["2020"]}, [1, 2, 3])
    by_list = to_raw_table(parse_jsonstat2(doc, codelists={"Region": "vs_RegSO2020"}), source="t")
    assert by_list.cells[BOUNDARY_VERSION].to_list() == ["", "DeSO2018", "RegSO2020"]
    mixed = _jsonstat(["Region"], {"Region": ["0581C1110_DeSO2025", "0581C1110"]}, [1, 2])
    t = to_raw_table(parse_jsonstat2(mixed), source="t")
    assert t.cells["Region"].to_list() == ["0581C1110", "0581C1110"]
    assert t.cells[BOUNDARY_VERSION].to_list() == ["DeSO2025", "DeSO2018"]
    assert t.provenance.boundary_version == "DeSO2018,DeSO2025"


# ---------------------------------------------------------------- status markers


def test_jsonstat_dotdot_is_status_with_null_not_zero():
    doc = _jsonstat(
        ["Region", "Kon"],
        {"Region": ["0581R001_RegSO2025", "0581R002_RegSO2025"], "Kon": ["1", "2"]},
        [0, None, 5, None],
        status={"1": "..", "3": "-"},
    )
    t = to_raw_table(parse_jsonstat2(doc), source="t")
    validate_shape(t)
    rows = t.cells.select("Region", "Kon", "value", "status").rows()
    assert rows == [
        ("0581R001", "1", 0.0, ""),  # a real zero stays a delivered 0
        ("0581R001", "2", None, ".."),
        ("0581R002", "1", 5.0, ""),
        ("0581R002", "2", None, "-"),
    ]


def test_jsonstat_null_without_marker_and_marker_on_value():
    doc = _jsonstat(["Kon"], {"Kon": ["1", "2", "3"]}, [None, 7, 8], status=[None, "p", ""])
    p = parse_jsonstat2(doc)
    assert p.cells["status"].to_list() == [MISSING_NO_MARKER, "", ""]
    assert any("status marker" in n and "'p'" in n for n in p.notes)


def test_jsonstat_sparse_values_and_bundle():
    doc = _jsonstat(["Kon"], {"Kon": ["1", "2", "3"]}, {"0": 4, "2": 6}, status={"1": ".."})
    assert parse_jsonstat2(doc).cells["value"].to_list() == [4.0, None, 6.0]
    bundle = {"dataset": {"dimension": {"id": ["Kon"], "size": [2], "Kon": {"category": {"index": ["1", "2"]}}}, "value": [1, 2]}}
    assert parse_jsonstat2(bundle).cells["Kon"].to_list() == ["1", "2"]


def test_v1_json_markers_and_several_contents():
    doc = {
        "columns": [
            {"code": "Region", "text": "region", "type": "d"},
            {"code": "Tid", "text": "år", "type": "t"},
            {"code": "BE0101N1", "text": "Folkmängd", "type": "c"},
            {"code": "BE0101N2", "text": "Folkökning", "type": "c"},
        ],
        "comments": [],
        "data": [
            {"key": ["0581", "2023"], "values": ["144000", ".."]},
            {"key": ["0581", "2024"], "values": ["0", "-"]},
        ],
        "metadata": [{"infofile": "BE0101", "updated": "2025-02-21T08:00:00Z", "label": "x", "source": "SCB"}],
    }
    t = to_raw_table(parse_bytes(json.dumps(doc).encode()), source="t")
    validate_shape(t)
    got = sorted(t.cells.select("Tid", "ContentsCode", "value", "status").rows())
    assert got == [
        ("2023", "BE0101N1", 144000.0, ""),
        ("2023", "BE0101N2", None, ".."),
        ("2024", "BE0101N1", 0.0, ""),
        ("2024", "BE0101N2", None, "-"),
    ]
    assert t.provenance.dimension_labels["ContentsCode"]["BE0101N2"] == "Folkökning"
    assert t.cells[BOUNDARY_VERSION].to_list() == [""] * 4  # municipality: not areal


def test_csv_windows1252_semicolon_texts_decimal_comma():
    text = (
        '"Medianinkomst efter region och år"\n\n'
        '"region";"kön";"Medianinkomst, tkr 2022";"Medianinkomst, tkr 2023"\n'
        '"0581C1110 Klockaretorpet";"män";"251,5";".."\n'
        '"0581C1250 Klockaretorpet";"kvinnor";"0";"260,0"\n'
        '\n"Källa: SCB. Värden under 5 är undertryckta (..)"\n'
    )
    p = parse_csv(text.encode("cp1252"))
    assert p.dims == ["region", "kön", "ContentsCode", "Tid"]
    rows = sorted(p.cells.select("kön", "Tid", "value", "status").rows())
    assert rows == [
        ("kvinnor", "2022", 0.0, ""),
        ("kvinnor", "2023", 260.0, ""),
        ("män", "2022", 251.5, ""),
        ("män", "2023", None, ".."),
    ]
    assert set(p.cells["ContentsCode"].unique()) == {"Medianinkomst, tkr"}
    assert p.title == "Medianinkomst efter region och år"
    assert any("windows-1252" in n and "texts" in n and "decimal comma" in n for n in p.notes)
    assert any("undertryckta" in n for n in p.notes)


def test_csv_bom_tab_and_time_in_stub():
    text = "\ufeffRegion\tTid\t000007Y7\n0581C1110_DeSO2025\t2024\t1200\n0581C1250_DeSO2025\t2024\t..\n"
    t = to_raw_table(parse_csv(text.encode("utf-8")), source="t")
    assert t.dimensions == ["Region", "Tid", "ContentsCode", BOUNDARY_VERSION]
    assert t.cells.select("Region", "Tid", "value", "status").rows() == [
        ("0581C1110", "2024", 1200.0, ""),
        ("0581C1250", "2024", None, ".."),
    ]


# ---------------------------------------------------------------- detection and errors


def test_detect_format():
    assert detect_format(TAB5974.read_bytes()) == "json-stat2"
    assert detect_format(V1_NORRKOPING.read_bytes()) == "px-json-v1"
    assert detect_format(DALARNA.read_bytes()) == "csv"
    assert detect_format(b"\xef\xbb\xbf" + TAB5974.read_bytes()) == "json-stat2"
    # key order that the head sniff does not catch: decided by the whole document
    odd = json.dumps({"value": [1], "note": [], "id": ["A"], "size": [1], "dimension": {"A": {"category": {"index": ["x"]}}}})
    assert detect_format(odd.encode()) == "json-stat2"
    with pytest.raises(FormatError, match="PC-Axis"):
        detect_format(b'CHARSET="ANSI";\nAXIS-VERSION="2013";')
    with pytest.raises(FormatError):
        detect_format(b"   ")


def test_truncated_jsonstat_is_a_clear_error():
    body = TAB5974.read_bytes()
    with pytest.raises(TruncatedResponseError, match="truncated"):
        parse_bytes(body[: len(body) // 2])
    doc = json.loads(body)
    doc["value"] = doc["value"][:1]
    with pytest.raises(TruncatedResponseError, match="1 values but the dimensions give 2"):
        parse_jsonstat2(doc)


def test_fast_jsonstat_parser_throughput():
    """Vectorised: ~1.2 M cells (6160 regions x 18 ages x 11 years) in well under a few seconds."""
    regions = [f"{2000 + i // 40:04d}C{i % 40:04d}_DeSO2025" for i in range(6160)]
    cats = {"Region": regions, "Alder": [f"a{i}" for i in range(18)], "Tid": [str(2014 + i) for i in range(11)]}
    n = prod(len(v) for v in cats.values())
    values = list(range(n))
    values[7] = None
    doc = _jsonstat(["Region", "Alder", "Tid"], cats, values, status={"7": ".."})
    t0 = time.perf_counter()
    p = parse_jsonstat2(doc)
    elapsed = time.perf_counter() - t0
    assert p.cells.height == n
    assert p.cells.row(0) == ("2000C0000", "a0", "2014", "DeSO2025", 0.0, "")
    last = p.cells.row(n - 1)
    assert last[:3] == ("2153C0039", "a17", "2024") and last[4] == n - 1
    assert p.cells.row(7)[4:] == (None, "..")
    assert elapsed < 5.0, elapsed
