"""What every table asset reports to Dagster: row count, column schema and a preview."""

from __future__ import annotations

import dagster as dg
import duckdb

from pipelines.identifiers import ident


def table_metadata(con: duckdb.DuckDBPyConnection, table: str, preview_rows: int = 5) -> dict:
    rel = con.table(table)
    rows = con.execute(f"SELECT count(*) FROM {ident(table)}").fetchone()[0]
    schema = dg.TableSchema(columns=[dg.TableColumn(name=n, type=str(t)) for n, t in zip(rel.columns, rel.types)])
    preview = rel.limit(preview_rows).df().to_markdown(index=False) if rows else "(empty)"
    return {
        "dagster/row_count": dg.MetadataValue.int(int(rows)),
        "dagster/column_schema": schema,
        "preview": dg.MetadataValue.md(preview),
    }
