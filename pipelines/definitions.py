"""Dagster definitions: `dagster dev -w workspace.yaml` loads `defs` from here."""

from __future__ import annotations

import dagster as dg

from pipelines.assets.investments import ref_investments
from pipelines.assets.live import REFRESH_JOB, live_assets, live_sensors
from pipelines.assets.local import raw_local_measures
from pipelines.assets.models import model_assets
from pipelines.assets.municipalities import municipality_extract, municipality_fanout
from pipelines.assets.needs_index import needs_index
from pipelines.assets.protected import ind_values_protected
from pipelines.assets.published import published_database
from pipelines.assets.reports import district_reports, municipality_reports
from pipelines.assets.raw import SOURCE_TAG, indicator_catalogue, meta_sources, raw_assets, reference_assets
from pipelines.checks.asset_checks import suite_checks
from pipelines.resources import Grannskap

ALL_ASSETS = [*raw_assets, raw_local_measures, meta_sources, *reference_assets, ref_investments, indicator_catalogue, *model_assets, ind_values_protected, needs_index, published_database, district_reports]
PARTITIONED_ASSETS = [municipality_extract, municipality_reports]


def _table_names() -> list[str]:
    names: list[str] = []
    for a in ALL_ASSETS:
        names.extend(k.to_user_string() for k in a.keys)
    return names


ALL_CHECKS = suite_checks(_table_names())

# Runs that write the build database carry this tag; a deployment's run queue lets one run at a
# time (deploy/k8s/values.yaml), and the build lock refuses a second one that starts anyway.
BUILD_TAGS = {"grannskap/build": "1"}

# The main job: everything, from the raw layer to the published database.
build_job = dg.define_asset_job(
    "build_profiles",
    selection=dg.AssetSelection.assets(*ALL_ASSETS),
    description="Land the sources in the raw layer, validate every layer, and publish the profiles.",
    tags=BUILD_TAGS,
)


# The strategy unit's refresh: fetch from SCB (pipelines/sources/live_tables.yaml), then rebuild and
# publish from the fetched raw layer. Requested by the sensor when SCB publishes, and weekly.
refresh_job = dg.define_asset_job(
    REFRESH_JOB,
    # the whole build, not only what lies downstream of the fetch: the reference tables, the catalogue
    # and the investment register are re-read too, so that a refresh never runs on stale ones
    selection=dg.AssetSelection.assets("fetched_sources", *ALL_ASSETS),
    tags={**BUILD_TAGS, SOURCE_TAG: "raw"},
    description="Fetch the live sources into the raw layer, then validate, build and publish from it.",
)

# SCB publishes at 08:00 on weekdays; DeSO tables come yearly, on dates that vary by table, so the
# sensor watches each table's `updated` stamp, and this weekly run is the safety net behind it.
weekly_refresh = dg.ScheduleDefinition(
    name="weekly_scb_refresh",
    job=refresh_job,
    cron_schedule="0 9 * * 1",
    execution_timezone="Europe/Stockholm",
    description="Monday 09:00: re-fetch and rebuild, in case the sensor missed a publication.",
)


def build_definitions(grannskap: Grannskap | None = None) -> dg.Definitions:
    defs = dg.Definitions(
        assets=[*ALL_ASSETS, *PARTITIONED_ASSETS, *live_assets],
        asset_checks=ALL_CHECKS,
        jobs=[build_job, refresh_job, municipality_fanout],
        schedules=[weekly_refresh],
        sensors=live_sensors,
        resources={"grannskap": grannskap or Grannskap()},
        # All steps share one DuckDB build file, which allows one writing process at a time.
        executor=dg.in_process_executor,
    )
    return defs


defs = build_definitions()


def fanout_job() -> dg.JobDefinition:
    """The fan-out job with its resources, importable by name so that the multiprocess executor's
    child processes can rebuild it (`dg.reconstructable(fanout_job)`)."""
    return build_definitions().resolve_job_def("municipality_fanout")
