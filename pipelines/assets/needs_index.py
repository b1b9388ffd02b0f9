"""The default children-and-families needs index: every area ranked within its municipality and in
Sweden, with the indicators that drive its rank."""


import dagster as dg
import polars as pl
import yaml

from pipelines.assets.metadata import table_metadata
from pipelines.index_builder import build_index
from pipelines.resources import Grannskap
from pipelines.settings import NEEDS_INDEX_FILE

UNIVERSES = {"municipality": ["municipality_code", "year"], "nation": ["year"]}


def index_spec(directions: dict[str, str]) -> tuple[dict, list[str]]:
    spec = yaml.safe_load(NEEDS_INDEX_FILE.read_text(encoding="utf-8"))
    levels = spec.pop("levels")
    columns = [c for cols in spec["themes"].values() for c in cols]
    spec["reverse"] = [c for c in columns if directions[c] == "more_is_less_need"]
    return spec, levels


def compute_needs_index(values: pl.DataFrame, catalogue: pl.DataFrame) -> pl.DataFrame:
    """values: area_level, area_code, area_name, municipality_code, year, indicator, value (protected)."""
    directions = dict(catalogue.select("indicator", "direction").iter_rows())
    titles = dict(catalogue.select("indicator", "title_sv").iter_rows())
    spec, levels = index_spec(directions)
    columns = [c for cols in spec["themes"].values() for c in cols]
    out = []
    for level in levels:
        wide = (
            values.filter((pl.col("area_level") == level) & pl.col("indicator").is_in(columns))
            .pivot(on="indicator", index=["area_code", "area_name", "municipality_code", "year"], values="value")
        )
        if wide.height == 0:
            continue
        for universe, groups in UNIVERSES.items():
            if universe == "municipality" and level == "municipality":
                continue  # a municipality is alone in its own municipality
            scored = build_index(wide, {**spec, "group_by": groups})
            scored = scored.join(wide.select("area_code", "area_name", "year"), on=["area_code", "year"])
            drivers = pl.concat_str(
                [pl.when(pl.col(f"flag_{c}") == 1).then(pl.lit(titles[c])) for c in columns], separator="; ", ignore_nulls=True
            )
            out.append(
                scored.select(
                    pl.lit(level).alias("area_level"),
                    "area_code",
                    "area_name",
                    "municipality_code" if "municipality_code" in scored.columns else pl.lit(None, pl.String).alias("municipality_code"),
                    "year",
                    pl.lit(universe).alias("universe"),
                    pl.col("rank_overall").alias("index_rank"),
                    (pl.col("rank_overall").rank("min", descending=True).over(groups)).cast(pl.Int32).alias("position"),
                    pl.col("rank_overall").count().over(groups).cast(pl.Int32).alias("areas_ranked"),
                    "sum_overall",
                    *[pl.col(f"rank_{t}").alias(f"rank_theme_{t}") for t in spec["themes"]],
                    *[pl.col(f"rank_{c}").alias(f"rank_{c}") for c in columns],
                    "flags_total",
                    pl.when(pl.col("rank_overall").is_null())
                    .then(pl.lit("ej rankad: minst ett värde saknas eller är dolt"))
                    .when(pl.col("flags_total") == 0)
                    .then(pl.lit(f"ingen indikator når tröskeln {spec['flag_threshold']:.2f}".replace(".", ",")))
                    .otherwise(drivers)
                    .alias("drivers"),
                )
            )
    return pl.concat(out, how="vertical_relaxed")


@dg.asset(
    group_name="profiles",
    deps=["ind_values_protected", "ind_areas", "indicator_catalogue"],
    description="Behovsindex för barn och familjer: the default needs index (pipelines/needs_index.yaml), SVI "
    "percentile method, per area level and year, ranked within the municipality and in Sweden; `position` 1 is "
    "the greatest need; `drivers` lists the indicators at or above the flag threshold.",
    kinds={"duckdb", "polars"},
)
def needs_index(grannskap: Grannskap) -> dg.MaterializeResult:
    with grannskap.build_db() as con:
        values = pl.from_arrow(
            con.execute(
                """SELECT v.area_level, v.area_code, a.area_name, a.municipality_code, v.year, v.indicator, v.value
                   FROM ind_values_protected AS v JOIN ind_areas AS a USING (area_level, area_code)"""
            ).to_arrow_table()
        )
        catalogue = pl.from_arrow(con.table("indicator_catalogue").to_arrow_table())
        index = compute_needs_index(values, catalogue)
        con.execute("CREATE OR REPLACE TABLE needs_index AS SELECT * FROM index")
        return dg.MaterializeResult(metadata=table_metadata(con, "needs_index"))
