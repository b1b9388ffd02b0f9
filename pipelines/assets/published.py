"""The published asset: the analysts' database, swapped in only after every check upstream passed."""


from datetime import timedelta

import dagster as dg

from pipelines.assets.raw import SOURCE_TAG
from pipelines.publish import PUBLISHED_TABLES
from pipelines.raw import now_utc
from pipelines.resources import Grannskap


@dg.asset(
    group_name="published",
    deps=list(PUBLISHED_TABLES.values()),
    description="The analysts' database: the views `profiles` and `followup`, the tables `areas`, `area_links`, "
    "`indicators`, `needs_index`, `trends`, `investments`, `investment_areas`, `followup_comparisons`, "
    "`followup_points`, `followup_estimates`, `meta_sources` and `meta_runs`. By default data/published/grannskap.duckdb, "
    "built as a candidate file and swapped in atomically; or a shared DuckLake (published_store).",
    kinds={"duckdb"},
    # The profiles should never be more than two weekly refreshes old.
    freshness_policy=dg.FreshnessPolicy.time_window(fail_window=timedelta(days=15), warn_window=timedelta(days=8)),
)
def published_database(context: dg.AssetExecutionContext, grannskap: Grannskap) -> dg.MaterializeResult:
    store = grannskap.store()
    source = context.run.tags.get(SOURCE_TAG, grannskap.source)
    run = {
        "run_id": context.run_id,
        "published_at": now_utc(),
        "source": source,
        "snapshot": grannskap.snapshot if source == "embedded" else "raw layer",
        "notes": "",
    }
    with grannskap.build_db() as con:
        counts = store.publish(con, run)
    context.log.info(f"published {store.describe()}: {counts}")
    return dg.MaterializeResult(
        metadata={
            "published_to": store.describe(),
            **{f"rows_{k}": dg.MetadataValue.int(v) for k, v in counts.items()},
            "dagster/row_count": dg.MetadataValue.int(counts["profile_rows"]),
        }
    )
