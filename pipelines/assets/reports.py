"""Reports for planners as assets: a profile page per area, an index and targeting lists.

`district_reports` writes the municipalities a deployment lists in `report_municipalities`
(by default Norrköping by RegSO and by its named districts, and Borlänge and Falun, whose real
boundaries ship in data/ so their reports carry maps). `municipality_reports` is the same per
municipality partition, for any of the 290.
"""

import time

import dagster as dg

from pipelines.assets.municipalities import municipality_partitions
from pipelines.resources import Grannskap


def write_reports(grannskap: Grannskap, municipality: str, levels: list[str]) -> tuple[list, dict]:
    from pipelines.reports.build import build_reports

    written, seconds = [], {}
    for level in levels:
        started = time.perf_counter()
        written += build_reports(grannskap.paths.published_db, grannskap.paths.data_dir / "reports", municipality, level)
        seconds[f"{municipality}-{level}"] = round(time.perf_counter() - started, 2)
    return written, seconds


def _levels_with_districts(grannskap: Grannskap, municipality: str) -> list[str]:
    has_districts = any((grannskap.paths.data_dir / "districts").glob(f"{municipality}_*.csv"))
    return ["regso", "district"] if has_districts else ["regso"]


@dg.asset(
    group_name="reports",
    deps=["published_database"],
    description="Områdesrapporter (HTML), index and targeting lists (HTML + CSV) in data/reports/ for the "
    "municipalities in `report_municipalities`; self-contained pages, no network needed to read them.",
    kinds={"html"},
)
def district_reports(context: dg.AssetExecutionContext, grannskap: Grannskap) -> dg.MaterializeResult:
    from pipelines.reports.cli import report_asset_metadata

    first, timings = None, {}
    for municipality in grannskap.report_municipalities:
        written, seconds = write_reports(grannskap, municipality, _levels_with_districts(grannskap, municipality))
        first = first or written
        timings.update(seconds)
    context.log.info(f"reports written: {timings}")
    if first is None:
        return dg.MaterializeResult(metadata={"pages": 0, "note": "report_municipalities is empty"})
    return dg.MaterializeResult(metadata={**report_asset_metadata(first), "seconds": timings})


@dg.asset(
    group_name="reports",
    deps=["published_database"],
    partitions_def=municipality_partitions,
    description="One municipality's reports (by RegSO, and by named district where it defines them).",
    kinds={"html"},
)
def municipality_reports(context: dg.AssetExecutionContext, grannskap: Grannskap) -> dg.MaterializeResult:
    from pipelines.reports.cli import report_asset_metadata

    code = context.partition_key
    written, seconds = write_reports(grannskap, code, _levels_with_districts(grannskap, code))
    return dg.MaterializeResult(metadata={**report_asset_metadata(written), "seconds": seconds})
