"""Raw and reference assets: land each source table in the raw layer, then load it into the
build database unchanged, with its provenance in `meta_sources`."""


import json

import dagster as dg
import polars as pl

from pipelines import raw as raw_layer
from pipelines.assets.local import local_sources_row
from pipelines.assets.metadata import table_metadata
from pipelines.catalogue import breaks_table, catalogue_table, levels_table, load_catalogue, terms_table
from pipelines.identifiers import ident
from pipelines.resources import Grannskap
from pipelines.sources.embedded import embedded_table_names, land_embedded_table

SOURCE_TAG = "grannskap/source"

# The raw tables of the spine, and what each holds.
RAW_TABLES = {
    "population_age": "Population by DeSO and five-year age group (SCB FolkmDesoAldKon).",
    "population_background": "Population by DeSO and Swedish/foreign background (SCB FolkmDesoBakgrKon).",
    "education": "People aged 25-64 by DeSO and highest education level (SCB UtbSUNBefDesoRegso).",
    "income": "Median income and number of people aged 20+ by DeSO (SCB HE0110), with SCB's footer dropped.",
    "deso_regso_key": "SCB's key from DeSO 2018 to RegSO 2020 and municipality.",
    "regso_labour_market": "Labour-market shares in percent per RegSO by sex and background: employed, registered "
    "and openly unemployed, ... (SCB IntGr1RegSOBASN; live source only).",
    "regso_ill_health": "Ohälsotal in days (and the share contributing to it) per RegSO by sex and background "
    "(SCB IntGr10RegSOKon; live source only).",
    "regso_transfers": "Transfers as percent of net income per RegSO by sex and background, e.g. income support "
    "(SCB IntGr4RegSOKon; live source only).",
    "kolada_kpis": "Kolada's municipal key figures (ohälsotal, sjukpenningtal, share receiving income support) for "
    "municipalities, regions (00<county>) and Sweden (0000) (live source only).",
}

# Raw tables that only a live fetch lands (`grannskap fetch`, pipelines/sources/live_tables.yaml): the
# embedded snapshot has none of them. Their dimension columns as the live fetch lands them (then
# boundary_version, value, status), so that a build without them - `make run` on the embedded data, or a
# raw layer where they were never fetched - loads an empty table of the same shape and every model
# downstream runs unchanged, with zero rows from these sources.
LIVE_ONLY_TABLES = {
    "regso_labour_market": ("Region", "Kon", "BakgrVar", "ContentsCode", "Tid"),
    "regso_ill_health": ("Region", "Bakgrund", "Kon", "ContentsCode", "Tid"),
    "regso_transfers": ("Region", "Kon", "Bakgrund", "ContentsCode", "Tid"),
    "kolada_kpis": ("kpi", "Region", "Tid", "gender"),
}
NOT_LANDED = "not landed"


def labels_table(name: str) -> str:
    """The build table holding a raw table's code labels: raw_<name>_labels (dimension, code, label)."""
    return f"raw_{name}_labels"


def _labels_frame(manifest: dict | None) -> pl.DataFrame:
    """The manifest's `dimension_labels` as rows. The cells carry codes only; a label (a RegSO's name, a
    content's wording) lives in the manifest, and SQL needs it as a table (e.g. to map SCB's RegSO codes
    onto the key's RegSO names)."""
    labels = ((manifest or {}).get("provenance") or {}).get("dimension_labels") or {}
    rows = [{"dimension": dim, "code": str(code), "label": str(label)}
            for dim, codes in labels.items() for code, label in codes.items()]
    return pl.DataFrame(rows, schema={"dimension": pl.String, "code": pl.String, "label": pl.String})


def _raw_asset(name: str, description: str) -> dg.AssetsDefinition:
    live_only = name in LIVE_ONLY_TABLES
    extra = (
        " Only a live fetch lands it: when the raw layer has no such table (always so for `make run` on the "
        "embedded snapshot, which never overwrites a fetched one), an empty table of the live shape is loaded "
        "instead, so the build runs with zero rows from this source."
        if live_only else ""
    )

    @dg.asset(
        name=f"raw_{name}",
        group_name="raw",
        description=description + " As delivered: one row per cell, SCB's dimension codes, value and status; "
        f"the code labels of its manifest in {labels_table(name)} (dimension, code, label)." + extra,
        kinds={"duckdb", "parquet"},
        deps=["fetched_sources"],  # a live fetch lands the same raw tables (refresh_from_scb)
    )
    def _asset(context: dg.AssetExecutionContext, grannskap: Grannskap) -> dg.MaterializeResult:
        paths = grannskap.paths
        landing_notes: list[str] = []
        # A run may say where its raw tables come from (the refresh job takes the fetched raw layer).
        source = context.run.tags.get(SOURCE_TAG, grannskap.source)
        if source not in ("embedded", "raw"):
            raise dg.Failure(f"unknown source {source!r}: use 'embedded' or 'raw'")
        if live_only and not (paths.raw_dir / name / "manifest.json").exists():
            return _load_absent_live_table(context, grannskap, name)
        if source == "embedded" and not live_only:
            snapshot_dir = paths.embedded_dir / grannskap.snapshot
            if name not in embedded_table_names(snapshot_dir):
                raise dg.Failure(f"raw table {name}: snapshot {grannskap.snapshot} has no such table")
            table, report = land_embedded_table(snapshot_dir, name)
            raw_layer.write_raw_table(paths.raw_dir, table)
            landing_notes = table.provenance.notes
            context.log.info(f"raw table {name}: " + "; ".join(landing_notes))
        manifest = raw_layer.read_manifest(paths.raw_dir, name)
        labels = _labels_frame(manifest)
        with grannskap.build_db() as con:
            con.execute(
                f"CREATE OR REPLACE TABLE {ident('raw_' + name)} AS SELECT * FROM read_parquet($path)",
                {"path": str(raw_layer.cells_path(paths.raw_dir, name))},
            )
            con.execute(f"CREATE OR REPLACE TABLE {ident(labels_table(name))} AS SELECT * FROM labels")
            meta = table_metadata(con, f"raw_{name}")
        prov = manifest["provenance"]
        return dg.MaterializeResult(
            metadata={
                **meta,
                "source": prov["source"],
                "source_table": prov["source_table"],
                "reference_year": prov["reference_year"],
                "boundary_version": prov["boundary_version"],
                "scb_updated": prov["updated"] or "not stated",
                "raw_snapshot": dg.MetadataValue.path(str(paths.raw_dir / name)),
                "cells_sha256": manifest["cells_sha256"],
                "landing": "; ".join(landing_notes) or "taken from the raw layer as it was",
                "labels": labels.height,
            }
        )

    return _asset


def _load_absent_live_table(context: dg.AssetExecutionContext, grannskap: Grannskap, name: str) -> dg.MaterializeResult:
    """A live-only table the raw layer lacks: an empty table of its live shape (and no labels). Nothing is
    written to the raw layer, so a later fetch is never mistaken for, or shadowed by, a stand-in."""
    columns = [*LIVE_ONLY_TABLES[name], "boundary_version"]
    schema = {**{c: pl.String for c in columns}, raw_layer.VALUE: pl.Float64, raw_layer.STATUS: pl.String}
    cells, labels = pl.DataFrame(schema=schema), _labels_frame(None)
    note = f"not in the raw layer ({grannskap.paths.raw_dir / name}): loaded empty; `grannskap fetch --tables {name}` lands it"
    context.log.info(f"raw table {name}: {note}")
    with grannskap.build_db() as con:
        con.execute(f"CREATE OR REPLACE TABLE {ident('raw_' + name)} AS SELECT * FROM cells")
        con.execute(f"CREATE OR REPLACE TABLE {ident(labels_table(name))} AS SELECT * FROM labels")
        meta = table_metadata(con, f"raw_{name}")
    return dg.MaterializeResult(metadata={**meta, "source": NOT_LANDED, "landing": note, "labels": 0})


raw_assets = [_raw_asset(name, desc) for name, desc in RAW_TABLES.items()]


@dg.asset(
    group_name="raw",
    deps=[*(f"raw_{name}" for name in RAW_TABLES), "raw_local_measures"],
    description="Provenance of every raw table: source, SCB table, reference year, SCB's update stamp, "
    "fetch time, checksum and the run that loaded it; and one row 'local' for the municipality's own "
    "files in data/local/ (file names, sha256 and rows, or 'no local data').",
    kinds={"duckdb"},
)
def meta_sources(context: dg.AssetExecutionContext, grannskap: Grannskap) -> dg.MaterializeResult:
    rows = []
    for name in RAW_TABLES:
        if name in LIVE_ONLY_TABLES and not (grannskap.paths.raw_dir / name / "manifest.json").exists():
            # loaded empty by its raw asset: say so rather than leave the source out
            rows.append({"raw_table": name, "source": NOT_LANDED, "source_table": "", "title": RAW_TABLES[name],
                         "reference_year": "", "boundary_version": "", "updated": "", "fetched_at": "", "query": "",
                         "rows": 0, "cells_sha256": "", "notes": "live source not fetched: no rows in this build",
                         "run_id": context.run_id})
            continue
        m = raw_layer.read_manifest(grannskap.paths.raw_dir, name)
        p = m["provenance"]
        rows.append(
            {
                "raw_table": name,
                "source": p["source"],
                "source_table": p["source_table"],
                "title": p["title"],
                "reference_year": p["reference_year"],
                "boundary_version": p["boundary_version"],
                "updated": p["updated"],
                "fetched_at": p["fetched_at"],
                "query": json.dumps(p["query"], ensure_ascii=False),
                "rows": m["rows"],
                "cells_sha256": m["cells_sha256"],
                "notes": "; ".join(p["notes"]),
                "run_id": context.run_id,
            }
        )
    with grannskap.build_db() as con:
        rows.append(local_sources_row(con, context.run_id))
        frame = pl.DataFrame(rows)
        con.execute("CREATE OR REPLACE TABLE meta_sources AS SELECT * FROM frame")
        return dg.MaterializeResult(metadata=table_metadata(con, "meta_sources"))


REFERENCE_FILES = {
    "ref_counties": ("counties.csv", "Sweden's 21 counties (län): code and name."),
    "ref_control_totals": ("control_totals.csv", "SCB's official totals the build must reproduce, e.g. Sweden's population."),
}


def _reference_asset(table: str, file: str, description: str) -> dg.AssetsDefinition:
    @dg.asset(name=table, group_name="reference", description=description, kinds={"duckdb", "csv"})
    def _asset(grannskap: Grannskap) -> dg.MaterializeResult:
        frame = pl.read_csv(grannskap.paths.reference_dir / file, infer_schema=False)
        if "value" in frame.columns:
            frame = frame.with_columns(pl.col("value").cast(pl.Float64), pl.col("year").cast(pl.Int32))
        with grannskap.build_db() as con:
            con.execute(f"CREATE OR REPLACE TABLE {ident(table)} AS SELECT * FROM frame")
            return dg.MaterializeResult(metadata=table_metadata(con, table))

    return _asset


@dg.asset(
    group_name="reference",
    description="Named districts defined by municipalities (data/districts/<municipality>_<name>.csv): "
    "one row per line of each file, with the file and line it came from.",
    kinds={"duckdb", "csv"},
)
def ref_districts(grannskap: Grannskap) -> dg.MaterializeResult:
    frames = []
    for path in sorted((grannskap.paths.data_dir / "districts").glob("*.csv")):
        municipality = path.name.split("_", 1)[0]
        if not (len(municipality) == 4 and municipality.isdigit()):
            raise dg.Failure(f"district file {path.name}: the name must start with a 4-digit municipality code")
        frame = pl.read_csv(path, infer_schema=False)
        if set(frame.columns) != {"district", "area"}:
            raise dg.Failure(f"district file {path.name}: columns must be district,area (found {frame.columns})")
        frames.append(
            frame.with_row_index("line", offset=2).select(
                pl.lit(path.name).alias("file"),
                pl.col("line").cast(pl.Int32),
                pl.lit(municipality).alias("municipality_code"),
                pl.col("district").str.strip_chars().alias("district_name"),
                pl.col("area").str.strip_chars().alias("area_ref"),
            )
        )
    schema = {"file": pl.String, "line": pl.Int32, "municipality_code": pl.String, "district_name": pl.String, "area_ref": pl.String}
    districts = pl.concat(frames) if frames else pl.DataFrame(schema=schema)
    with grannskap.build_db() as con:
        con.execute("CREATE OR REPLACE TABLE ref_districts AS SELECT * FROM districts")
        return dg.MaterializeResult(metadata=table_metadata(con, "ref_districts"))


reference_assets = [*(_reference_asset(t, f, d) for t, (f, d) in REFERENCE_FILES.items()), ref_districts]


@dg.multi_asset(
    group_name="reference",
    specs=[
        dg.AssetSpec("indicator_catalogue", description="The indicator catalogue (pipelines/indicators.yaml) as a table.", kinds={"duckdb", "yaml"}),
        dg.AssetSpec("indicator_terms", description="Which staged measure and categories make each indicator's numerator and denominator.", kinds={"duckdb"}),
        dg.AssetSpec("indicator_levels", description="The area levels each indicator can be computed for.", kinds={"duckdb"}),
        dg.AssetSpec("indicator_breaks", description="Years from which an indicator's definition changed (series breaks).", kinds={"duckdb"}),
    ],
)
def indicator_catalogue(grannskap: Grannskap):
    indicators = load_catalogue()
    tables = {
        "indicator_catalogue": catalogue_table(indicators),
        "indicator_terms": terms_table(indicators),
        "indicator_levels": levels_table(indicators),
        "indicator_breaks": breaks_table(indicators),
    }
    with grannskap.build_db() as con:
        for table, frame in tables.items():
            con.register("frame", frame)
            con.execute(f"CREATE OR REPLACE TABLE {ident(table)} AS SELECT * FROM frame")
            con.unregister("frame")
            yield dg.MaterializeResult(asset_key=table, metadata=table_metadata(con, table))


__all__ = ["raw_assets", "meta_sources", "reference_assets", "indicator_catalogue"]
