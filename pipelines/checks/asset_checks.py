"""One blocking asset check per table that has a suite in expectations/: generated, not hand-written.

A failing check stops everything downstream of its table in the run, so bad data never
reaches the published database; its metadata names the table, column, rule and example areas.
"""


import dagster as dg

from pipelines.checks.suites import check_dependencies, has_suite, load_suite_dict, validate_table
from pipelines.resources import Grannskap


def _suite_check(table: str) -> dg.AssetChecksDefinition:
    suite = load_suite_dict(table)

    @dg.asset_check(
        asset=table,
        name="suite",
        blocking=True,
        additional_deps=list(check_dependencies(table)),
        description=suite.get("meta", {}).get("description", f"Great Expectations suite for {table}"),
    )
    def _check(context: dg.AssetCheckExecutionContext, grannskap: Grannskap) -> dg.AssetCheckResult:
        with grannskap.build_db() as con:
            result = validate_table(con, table)
        if not result.success:
            context.log.error(f"{table} failed its suite:\n{result.summary()}")
        return dg.AssetCheckResult(
            passed=result.success,
            severity=dg.AssetCheckSeverity.ERROR,
            description=result.summary()[:2000],
            metadata={
                "expectations": result.evaluated,
                "rows_checked": result.rows_checked,
                "failures": [f.message() for f in result.failures],
            },
        )

    return _check


def suite_checks(table_names: list[str]) -> list[dg.AssetChecksDefinition]:
    return [_suite_check(t) for t in table_names if has_suite(t)]
