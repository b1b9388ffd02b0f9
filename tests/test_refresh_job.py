"""The strategy unit's refresh: fetch, then build from the fetched raw layer, on a schedule and a sensor."""

from __future__ import annotations

import dagster as dg
import duckdb
import polars as pl

from conftest import Workspace
from pipelines.definitions import build_definitions, defs
from pipelines.raw import RawTable, write_raw_table
from pipelines.sources.embedded import embedded_table_names, land_embedded_table


def test_refresh_job_fetches_then_rebuilds_everything():
    job = defs.resolve_job_def("refresh_from_scb")
    keys = {k.to_user_string() for k in job.asset_layer.executable_asset_keys}
    assert {"fetched_sources", "raw_population_age", "profiles", "published_database", "needs_index"} <= keys
    # the inputs that are not fetched are re-read too: a refresh never runs on a stale register or catalogue
    assert {"ref_districts", "ref_investments", "stg_investments", "indicator_catalogue", "followup_estimates"} <= keys
    assert not keys & {"municipality_extract", "municipality_reports"}  # partitioned: run per municipality
    assert job.tags["grannskap/source"] == "raw"
    schedule = defs.resolve_schedule_def("weekly_scb_refresh")
    assert schedule.job_name == "refresh_from_scb" and schedule.execution_timezone == "Europe/Stockholm"
    assert defs.resolve_sensor_def("scb_updates_sensor").job_name == "refresh_from_scb"
    published = defs.resolve_asset_graph().get(dg.AssetKey("published_database"))
    assert published.freshness_policy is not None


def test_a_run_tagged_raw_builds_from_the_raw_layer_not_the_snapshot(workspace: Workspace):
    """What a refresh does after its fetch: the raw layer, as fetched, is what gets published."""
    for name in embedded_table_names(workspace.snapshot_dir):
        table, _ = land_embedded_table(workspace.snapshot_dir, name)
        cells = table.cells
        if name == "population_age":  # as if SCB had revised one DeSO: 10 children moved from 5-9 to 0-4
            in_deso = pl.col("Region") == "0581C1110"
            cells = cells.with_columns(
                pl.when(in_deso & (pl.col("Alder") == "-4")).then(pl.col("value") + 10)
                .when(in_deso & (pl.col("Alder") == "5-9")).then(pl.col("value") - 10)
                .otherwise(pl.col("value")).alias("value")
            )
        write_raw_table(workspace.paths.raw_dir, RawTable(name, table.provenance, cells))
    job = build_definitions(workspace.resource("embedded")).resolve_job_def("build_profiles")
    result = job.execute_in_process(tags={"grannskap/source": "raw"}, instance=dg.DagsterInstance.ephemeral(),
                                    raise_on_error=False)
    assert result.success
    with duckdb.connect(str(workspace.paths.published_db), read_only=True) as con:
        share = con.execute("SELECT value FROM profiles WHERE area_code = '0581C1110' AND indicator = 'share_age_0_4'").fetchone()[0]
        runs = con.execute("SELECT source, snapshot FROM meta_runs").fetchall()
    assert share == (69 + 10) / 1513  # the snapshot says 69 of 1,513
    assert runs == [("raw", "raw layer")]
