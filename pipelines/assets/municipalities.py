"""Municipality partitions: refresh one municipality's outputs alone, or fan out over all of them.

- `municipality_extract` is partitioned by municipality code: materialising partition 0581
  refreshes Norrköping's outputs alone (a backfill over all partitions launches one run each —
  on Kubernetes one pod each, see deploy/).
- `municipality_fanout` does all (or some) municipalities in one run, mapped dynamically over
  Dagster's multiprocess executor, so a national refresh uses every core.
Both read the published database (read-only), so they never contend with the build.
"""

import os

import dagster as dg

from pipelines.municipalities import extract_dir, municipality_codes, write_municipality_extract
from pipelines.resources import Grannskap

municipality_partitions = dg.StaticPartitionsDefinition(municipality_codes())


@dg.asset(
    group_name="published",
    deps=["published_database"],
    partitions_def=municipality_partitions,
    description="One municipality's profiles, needs index and trends as Parquet "
    "(data/published/municipalities/<code>/), for the strategy unit that owns it.",
    kinds={"parquet"},
)
def municipality_extract(context: dg.AssetExecutionContext, grannskap: Grannskap) -> dg.MaterializeResult:
    code = context.partition_key
    counts = write_municipality_extract(grannskap.paths.published_db, code)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(extract_dir(grannskap.paths.published_db) / code)),
            **{f"rows_{k}": v for k, v in counts.items()},
        }
    )


class FanoutConfig(dg.Config):
    municipalities: list[str] = []  # empty = all of Sweden


@dg.op(out=dg.DynamicOut(str))
def list_municipalities(config: FanoutConfig):
    for code in config.municipalities or municipality_codes():
        yield dg.DynamicOutput(code, mapping_key=f"m{code}")


@dg.op
def extract_one(grannskap: Grannskap, code: str) -> dict:
    counts = write_municipality_extract(grannskap.paths.published_db, code)
    return {"municipality": code, "pid": os.getpid(), **counts}


@dg.op
def summarise_extracts(context: dg.OpExecutionContext, results: list[dict]) -> dict:
    pids = sorted({r["pid"] for r in results})
    context.log.info(f"{len(results)} municipalities written by {len(pids)} process(es)")
    context.add_output_metadata({"municipalities": len(results), "processes": len(pids)})
    return {"municipalities": sorted(r["municipality"] for r in results), "pids": pids}


def fanout_executor() -> dg.ExecutorDefinition:
    """Processes on this machine, or one Kubernetes pod per step when GRANNSKAP_EXECUTOR=k8s."""
    if os.environ.get("GRANNSKAP_EXECUTOR") == "k8s":
        from dagster_k8s import k8s_job_executor

        return k8s_job_executor
    return dg.multiprocess_executor.configured({"max_concurrent": 0})  # 0 = one per core


@dg.job(executor_def=fanout_executor(), description="Write every municipality's outputs, fanned out over processes or pods.")
def municipality_fanout():
    summarise_extracts(list_municipalities().map(extract_one).collect())
