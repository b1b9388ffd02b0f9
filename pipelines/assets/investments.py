"""The investment register as an asset: data/investments/*.yaml into the build database."""

import dagster as dg

from pipelines.assets.metadata import table_metadata
from pipelines.investments import RegisterError, load_register
from pipelines.resources import Grannskap


@dg.asset(
    group_name="reference",
    description="The investment register (data/investments/<municipality>_<name>.yaml): one row per social "
    "investment with its districts, target group, period, budget, outcome indicators and purpose, and the file "
    "it came from. The suite of stg_investments checks its contents.",
    kinds={"duckdb", "yaml"},
)
def ref_investments(grannskap: Grannskap) -> dg.MaterializeResult:
    try:
        register = load_register(grannskap.paths.data_dir / "investments")
    except RegisterError as exc:
        raise dg.Failure(str(exc)) from None
    with grannskap.build_db() as con:
        con.execute("CREATE OR REPLACE TABLE ref_investments AS SELECT * FROM register")
        return dg.MaterializeResult(metadata=table_metadata(con, "ref_investments"))
