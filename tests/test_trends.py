"""Trends over the years in the raw layer: computed within one boundary version and definition,
marked as a break otherwise."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

from conftest import Workspace
from pipelines.raw import RawTable, write_raw_table
from pipelines.sources.embedded import embedded_table_names, land_embedded_table

DESO = "0581C1110"


def _land_two_years(ws: Workspace, years: tuple[str, str], later_version: dict[str, str] | None = None) -> None:
    """The real 2022 snapshot as two years in the raw layer: the earlier year has 10 fewer
    0-4-year-olds (and people) in one DeSO, so its parts still sum to its total."""
    later_version = later_version or {}
    for name in embedded_table_names(ws.snapshot_dir):
        table, _ = land_embedded_table(ws.snapshot_dir, name)
        cells = table.cells
        if "Tid" in cells.columns:
            early = cells.with_columns(pl.lit(years[0]).alias("Tid"))
            if name == "population_age":
                early = early.with_columns(
                    pl.when((pl.col("Region") == DESO) & pl.col("Alder").is_in(["-4", "totalt"]))
                    .then(pl.col("value") - 10).otherwise(pl.col("value")).alias("value")
                )
            late = cells.with_columns(
                pl.lit(years[1]).alias("Tid"),
                pl.lit(later_version.get(name, "DeSO2018")).alias("boundary_version"),
            )
            cells = pl.concat([early, late])
        write_raw_table(ws.paths.raw_dir, RawTable(name, table.provenance, cells))


def _trend(ws: Workspace, indicator: str, area: str = DESO) -> dict:
    with duckdb.connect(str(ws.paths.published_db), read_only=True) as con:
        row = con.execute(
            "SELECT * FROM trends WHERE area_code = $a AND indicator = $i AND span_years = 1", {"a": area, "i": indicator}
        ).fetch_df()
    assert len(row) == 1
    return row.iloc[0].to_dict()


def test_one_year_change_is_computed_from_both_years(workspace: Workspace):
    _land_two_years(workspace, ("2021", "2022"))
    result = workspace.build(source="raw")
    assert result.success
    trend = _trend(workspace, "share_age_0_4")
    # 0581C1110: 69 of 1,513 in 2022; 59 of 1,503 in 2021
    assert trend["from_value"] == pytest.approx(59 / 1503) and trend["to_value"] == pytest.approx(69 / 1513)
    assert trend["change"] == pytest.approx(69 / 1513 - 59 / 1503)
    assert trend["series_break"] is None
    assert _trend(workspace, "population")["change"] == 10


def test_boundary_version_change_is_a_break_not_a_change(workspace: Workspace):
    _land_two_years(workspace, ("2021", "2022"), later_version={"population_age": "DeSO2025"})
    assert workspace.build(source="raw").success
    age = _trend(workspace, "share_age_0_4")
    assert age["change"] is None or age["change"] != age["change"]  # null
    assert age["series_break"] == "gränsändring: DeSO2018 -> DeSO2025"
    assert _trend(workspace, "share_foreign_background")["series_break"] is None  # its table kept DeSO 2018


def test_definition_change_between_the_years_is_a_break(workspace: Workspace):
    _land_two_years(workspace, ("2023", "2024"))
    assert workspace.build(source="raw").success
    education = _trend(workspace, "share_low_education", area="0581")
    assert education["series_break"].startswith("definitionsändring 2024")
    assert education["change"] is None or education["change"] != education["change"]
    assert _trend(workspace, "share_age_0_4")["series_break"] is None
