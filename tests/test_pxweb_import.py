"""`grannskap import FILE [--out table.csv] [--name RAWNAME] [--raw-dir DIR]` (register_cli / run_import)."""

from __future__ import annotations

import argparse
from pathlib import Path

import polars as pl
import pytest

from pipelines.raw import read_raw_table
from pipelines.sources.pxweb import import_file, register_cli

FIX = Path(__file__).parent / "fixtures" / "pxweb" / "real"
V1_NORRKOPING = FIX / "scb_v1_FolkmDesoAldKon_norrkoping_regso2025_2024.json"
DALARNA = FIX / "scb_v2_TAB6574_dalarna_deso2025_2024.csv"
TAB5974 = FIX / "scb_v2_TAB5974_data_jsonstat2.json"


def cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="grannskap")
    register_cli(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["import", *map(str, argv)])
    return args.func(args)


@pytest.mark.parametrize("src", [V1_NORRKOPING, DALARNA, TAB5974], ids=["v1-json", "v2-csv", "json-stat2"])
def test_import_out_csv_round_trip(src, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "long.csv"
    assert cli(src, "--out", out) == 0
    original = import_file(src)
    header = out.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header == [*original.dimensions, "value", "status"]
    back = import_file(out)
    assert back.cells.equals(original.cells)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.csv"]  # touched nothing else (no data/raw)


def test_import_out_keeps_markers_distinct_from_zero(tmp_path):
    src = tmp_path / "marked.csv"
    src.write_text('"Region","Kon","000007Y7 2024"\n"0581R001_RegSO2025","1",0\n"0581R001_RegSO2025","2",..\n', encoding="utf-8")
    out = tmp_path / "long.csv"
    assert cli(src, "--out", out) == 0
    text = out.read_text(encoding="utf-8").splitlines()
    assert text[1:] == ["0581R001,1,000007Y7,2024,RegSO2025,0.0,\"\"", "0581R001,2,000007Y7,2024,RegSO2025,,.."]
    back = import_file(out).cells
    assert back["value"].to_list() == [0.0, None] and back["status"].to_list() == ["", ".."]


def test_import_writes_raw_table_to_default_dir(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli(V1_NORRKOPING, "--name", "population_age_regso") == 0
    raw = read_raw_table(tmp_path / "data" / "raw", "population_age_regso")
    assert raw.cells.height == 2160
    assert raw.cells.filter((pl.col("Kon") == "1+2") & (pl.col("Alder") == "totalt"))["value"].sum() == 144_980
    assert raw.provenance.boundary_version == "RegSO2025"
    assert raw.provenance.updated == "2025-05-09T06:00:00Z"
    assert raw.provenance.query == V1_NORRKOPING.name
    assert "population_age_regso" in capsys.readouterr().out


def test_import_raw_dir_and_codelist_option(tmp_path):
    src = tmp_path / "plain.csv"
    src.write_text('"Region","000007Y7 2024"\n"0581C1110",1200\n"0581",144980\n', encoding="utf-8")
    assert cli(src, "--raw-dir", tmp_path / "raw", "--codelist", "Region=vs_DeSO2025", "--name", "x") == 0
    raw = read_raw_table(tmp_path / "raw", "x")
    assert raw.cells["boundary_version"].to_list() == ["DeSO2025", ""]  # the codelist beats the shape rule
    assert cli(src, "--raw-dir", tmp_path / "raw", "--name", "y") == 0
    assert read_raw_table(tmp_path / "raw", "y").cells["boundary_version"].to_list() == ["DeSO2018", ""]


def test_import_errors_are_exit_codes(tmp_path, capsys):
    assert cli(tmp_path / "missing.csv") == 2
    px = tmp_path / "table.px"
    px.write_bytes(b'CHARSET="ANSI";\nAXIS-VERSION="2013";\n')
    assert cli(px, "--out", tmp_path / "o.csv") == 1
    assert "PC-Axis" in capsys.readouterr().err
    assert not (tmp_path / "o.csv").exists()
    assert cli(V1_NORRKOPING, "--codelist", "Region") == 2
