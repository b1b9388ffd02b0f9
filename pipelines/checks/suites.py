"""Run a table's Great Expectations suite and explain every failure in the users' terms.

Each table with a suite in expectations/<table>.json is validated on its *check frame*: the
table itself, or, where sql/checks/<table>.sql exists, a frame that SQL derives from it in
DuckDB (one row per area and year, with sums of parts next to totals, key coverage, and so
on). Aggregating first keeps validation cheap at national scale and lets cross-row rules
(parts sum to totals, every DeSO in the key) be ordinary column expectations.

GX is imported lazily: it costs ~3 s, and loading the definitions or the CLI should not pay it.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.settings import EXPECTATIONS_DIR, SQL_DIR

log = logging.getLogger(__name__)
EXAMPLES = 5


@dataclass
class Failure:
    table: str
    column: str
    rule: str
    expectation: str
    unexpected_count: int
    examples: list = field(default_factory=list)  # area codes (or values) of failing rows

    def message(self) -> str:
        where = f"column {self.column}" if self.column else "table"
        return (
            f"{self.table}: {where} breaks rule '{self.rule}' ({self.expectation}) in "
            f"{self.unexpected_count} row(s); e.g. {', '.join(map(str, self.examples)) or 'n/a'}"
        )


@dataclass
class SuiteResult:
    table: str
    success: bool
    evaluated: int
    rows_checked: int
    failures: list[Failure]

    def summary(self) -> str:
        if self.success:
            return f"{self.table}: all {self.evaluated} expectations met on {self.rows_checked} row(s)"
        return "\n".join(f.message() for f in self.failures)


def suite_path(table: str) -> Path:
    return EXPECTATIONS_DIR / f"{table}.json"


def has_suite(table: str) -> bool:
    return suite_path(table).exists()


def load_suite_dict(table: str) -> dict:
    return json.loads(suite_path(table).read_text(encoding="utf-8"))


MACROS = SQL_DIR / "checks" / "_macros.sql"


def check_sql_path(table: str) -> Path:
    return SQL_DIR / "checks" / f"{table}.sql"


def check_dependencies(table: str) -> tuple[str, ...]:
    """Other tables a check frame reads (its `-- depends_on:` header), so Dagster runs the check after them."""
    from pipelines.assets.models import read_header, split_names

    path = check_sql_path(table)
    if not path.exists():
        return ()
    return split_names(read_header(path.read_text(encoding="utf-8")).get("depends_on", ""))


def check_frame(con: duckdb.DuckDBPyConnection, table: str) -> pd.DataFrame:
    """The frame a suite validates: sql/checks/<table>.sql if present, else the table itself."""
    sql_file = check_sql_path(table)
    if sql_file.exists():
        con.execute(MACROS.read_text(encoding="utf-8"))  # temporary: shared rules such as deso_coverage
        return con.execute(sql_file.read_text(encoding="utf-8")).df()
    return con.table(table).df()  # the name is one of our asset names, resolved as a relation


class SuiteError(ValueError):
    """A suite file that GX cannot load whole."""


def build_suite(suite_dict: dict):
    """The GX suite of a JSON file. GX logs and *skips* an expectation it cannot build (a misspelt
    type, a bad argument), which would silently weaken the check, so that is an error here."""
    import great_expectations as gx

    _context()
    wanted = [{k: v for k, v in e.items() if k in ("type", "kwargs", "meta")} for e in suite_dict["expectations"]]
    suite = gx.ExpectationSuite(name=suite_dict["name"], expectations=wanted)
    if len(suite.expectations) != len(wanted):
        built = {e.expectation_type for e in suite.expectations}
        missing = [w["type"] for w in wanted if w["type"] not in built]
        raise SuiteError(f"suite {suite_dict['name']}: GX could not build {missing or 'some expectations'}")
    return suite


@lru_cache(maxsize=1)
def _context():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    return ctx, ctx.data_sources.add_or_update_pandas("grannskap")


def _examples(result: dict, area_column: str | None) -> list:
    rows = result.get("partial_unexpected_index_list") or []
    if area_column and rows and isinstance(rows[0], dict) and area_column in rows[0]:
        seen = []
        for row in rows:
            code = str(row[area_column])
            if code not in seen:
                seen.append(code)
        return seen[:EXAMPLES]
    values = result.get("partial_unexpected_list") or []
    return [str(v) for v in dict.fromkeys(map(str, values))][:EXAMPLES]


def validate_frame(table: str, frame: pd.DataFrame, suite_dict: dict | None = None) -> SuiteResult:

    suite_dict = suite_dict or load_suite_dict(table)
    ctx, datasource = _context()
    area_column = suite_dict.get("meta", {}).get("area_column")
    name = f"{table}"
    asset = datasource.add_dataframe_asset(name) if name not in datasource.get_asset_names() else datasource.get_asset(name)
    batch_def = (
        asset.add_batch_definition_whole_dataframe(name)
        if name not in [b.name for b in asset.batch_definitions]
        else asset.get_batch_definition(name)
    )
    batch = batch_def.get_batch(batch_parameters={"dataframe": frame})
    suite = build_suite(suite_dict)
    result_format: dict = {"result_format": "SUMMARY", "partial_unexpected_count": 20}
    if area_column and area_column in frame.columns:
        result_format["unexpected_index_column_names"] = [area_column]
    validation = batch.validate(suite, result_format=result_format)
    failures = []
    for r in validation.results:
        if r.success:
            continue
        cfg = r.expectation_config
        kwargs = cfg.kwargs
        column = kwargs.get("column") or ", ".join(
            str(c) for c in (kwargs.get("column_list") or [kwargs.get("column_A"), kwargs.get("column_B")]) if c
        )
        res = r.result or {}
        failures.append(
            Failure(
                table=table,
                column=column,
                rule=(cfg.meta or {}).get("rule", cfg.type),
                expectation=cfg.type,
                unexpected_count=int(res.get("unexpected_count") or res.get("observed_value") or 0)
                if "unexpected_count" in res
                else 0,
                examples=_examples(res, area_column)
                or ([f"observed {res.get('observed_value')}"] if "observed_value" in res else []),
            )
        )
    return SuiteResult(
        table=table,
        success=validation.success,
        evaluated=len(validation.results),
        rows_checked=len(frame),
        failures=failures,
    )


def validate_table(con: duckdb.DuckDBPyConnection, table: str) -> SuiteResult:
    try:
        frame = check_frame(con, table)
    except duckdb.Error as exc:
        # A missing or renamed column surfaces here: the table's layout is not what the suite expects.
        failure = Failure(table, "", "the table has the expected layout", "check frame", 0, [str(exc).splitlines()[0]])
        return SuiteResult(table, False, 0, 0, [failure])
    return validate_frame(table, frame)
