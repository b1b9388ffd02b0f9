"""The embedded snapshot's real, dirty files are parsed deliberately, never by accident."""

from __future__ import annotations

import logging

import polars as pl
import pytest

from pipelines.raw import RawFormatError, read_raw_table, write_raw_table
from pipelines.sources.embedded import land_embedded_table


def test_income_footer_is_dropped_and_counted_and_its_update_stamp_kept(workspace, caplog):
    caplog.set_level(logging.INFO)
    table, report = land_embedded_table(workspace.snapshot_dir, "income")
    assert report.data_lines == 5984
    assert report.footer_lines_dropped == 82  # SCB's notes, contacts, "#ERROR!" cells and stamps
    assert "dropped 82 footer line(s)" in caplog.text
    assert table.provenance.updated == "2024-01-23T08:00"
    assert table.cells.height == 2 * 5984
    assert table.cells["Region"].str.contains("ERROR").sum() == 0


def test_scb_markers_become_missing_with_a_status_never_zero(workspace):
    path = workspace.snapshot_dir / "income_demographics_deso.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("\n0581C1110,295.2,1054,", "\n0581C1110,..,1054,"), encoding="utf-8")
    table, _ = land_embedded_table(workspace.snapshot_dir, "income", verify_checksum=False)
    cell = table.cells.filter((pl.col("Region") == "0581C1110") & (pl.col("ContentsCode") == "median_tkr")).row(0, named=True)
    assert cell["value"] is None and cell["status"] == ".."


def test_a_line_with_too_many_fields_is_rejected(workspace):
    path = workspace.snapshot_dir / "foreignborn_demographics_deso.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("\n0581C1110,911,602,1513", "\n0581C1110,911,602,1513,7"), encoding="utf-8")
    with pytest.raises(RawFormatError, match=r"population_background: line \d+ has 5 fields.*0581C1110"):
        land_embedded_table(workspace.snapshot_dir, "population_background", verify_checksum=False)


def test_key_keeps_names_as_delivered_and_skips_blank_lines(workspace):
    table, report = land_embedded_table(workspace.snapshot_dir, "deso_regso_key")
    assert table.cells.height == 5984 and report.blank_lines_dropped == 19
    assert table.cells.filter(pl.col("RegSO").str.ends_with(" ")).height > 0  # trimmed later, in staging


def test_changed_file_is_noticed_by_its_checksum(workspace, caplog):
    path = workspace.snapshot_dir / "age_demographics_deso.csv"
    path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    land_embedded_table(workspace.snapshot_dir, "population_age")
    assert "differs from the checksum" in caplog.text


def test_raw_layer_round_trip_keeps_cells_and_provenance(workspace, tmp_path):
    table, _ = land_embedded_table(workspace.snapshot_dir, "population_background")
    write_raw_table(tmp_path, table)
    back = read_raw_table(tmp_path, "population_background")
    assert back.cells.equals(table.cells)
    assert back.provenance.source_table == "BE/BE0101/BE0101Y/FolkmDesoBakgrKon"
    assert back.provenance.boundary_version == "DeSO2018"
    (tmp_path / "population_background" / "cells.parquet").write_bytes(b"corrupt")
    with pytest.raises(RawFormatError, match="checksum"):
        read_raw_table(tmp_path, "population_background")
