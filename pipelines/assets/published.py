"""The published asset: the analysts' database, swapped in only after every check upstream passed."""


import dagster as dg

from pipelines.publish import PUBLISHED_TABLES, publish
from pipelines.raw import now_utc
from pipelines.resources import Grannskap


@dg.asset(
    group_name="published",
    deps=list(PUBLISHED_TABLES.values()),
    description="data/published/grannskap.duckdb: the view `profiles`, the tables `areas`, `indicators`, "
    "`meta_sources` and `meta_runs`. Built as a candidate file and swapped in atomically.",
    kinds={"duckdb"},
)
def published_database(context: dg.AssetExecutionContext, grannskap: Grannskap) -> dg.MaterializeResult:
    target = grannskap.paths.published_db
    run = {
        "run_id": context.run_id,
        "published_at": now_utc(),
        "source": grannskap.source,
        "snapshot": grannskap.snapshot if grannskap.source == "embedded" else "raw layer",
        "notes": "",
    }
    with grannskap.build_db() as con:
        counts = publish(con, target, run)
    context.log.info(f"published {target}: {counts}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(target)),
            **{f"rows_{k}": dg.MetadataValue.int(v) for k, v in counts.items()},
            "dagster/row_count": dg.MetadataValue.int(counts["profile_rows"]),
        }
    )
