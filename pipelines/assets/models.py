"""SQL models: every sql/<name>.sql becomes the asset <name>, a table in the build database.

A model's header declares what a reader needs and Dagster uses:
    -- layer: staged
    -- depends_on: raw_population_age, stg_areas
    -- description: ...
    -- materialize: view            (optional; default table)
A view costs nothing to build and is computed where it is read: right for a large model that is
read once or twice (staged national counts), wrong for one read by many. The SQL itself is
static; values it needs (a threshold, a run id) arrive as named parameters.
"""


import re
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from pipelines.assets.metadata import table_metadata
from pipelines.identifiers import ident
from pipelines.resources import Grannskap
from pipelines.settings import SQL_DIR

_HEADER = re.compile(r"^--\s*(layer|depends_on|description|materialize):\s?(.*)$")
_CONTINUATION = re.compile(r"^--\s{2,}(.*)$")


@dataclass(frozen=True)
class SqlModel:
    name: str
    layer: str
    depends_on: tuple[str, ...]
    description: str
    sql: str
    path: Path
    materialize: str = "table"


def read_header(text: str) -> dict[str, str]:
    """The leading `-- key: value` comment lines of a SQL file (continued by indented comments)."""
    header: dict[str, str] = {}
    last = None
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        m = _HEADER.match(line)
        if m:
            last = m.group(1)
            header[last] = m.group(2).strip()
            continue
        c = _CONTINUATION.match(line)
        if c and last:
            header[last] += " " + c.group(1).strip()
    return header


def split_names(value: str) -> tuple[str, ...]:
    return tuple(d.strip() for d in value.split(",") if d.strip())


def parse_model(path: Path) -> SqlModel:
    text = path.read_text(encoding="utf-8")
    header = read_header(text)
    missing = {"layer", "depends_on", "description"} - header.keys()
    if missing:
        raise ValueError(f"{path.name}: header lacks {sorted(missing)}")
    materialize = header.get("materialize", "table").strip()
    if materialize not in ("table", "view"):
        raise ValueError(f"{path.name}: materialize must be table or view, not {materialize!r}")
    return SqlModel(path.stem, header["layer"], split_names(header["depends_on"]), header["description"], text, path, materialize)


def load_models(sql_dir: Path = SQL_DIR) -> list[SqlModel]:
    return [parse_model(p) for p in sorted(sql_dir.glob("*.sql"))]


def _model_asset(model: SqlModel) -> dg.AssetsDefinition:
    @dg.asset(
        name=model.name,
        group_name=model.layer,
        deps=list(model.depends_on),
        description=model.description,
        kinds={"duckdb", "sql"},
        metadata={
            "sql_file": dg.MetadataValue.path(str(model.path.relative_to(model.path.parent.parent))),
            "materialized_as": model.materialize,
        },
    )
    def _asset(grannskap: Grannskap) -> dg.MaterializeResult:
        with grannskap.build_db() as con:
            # a model switched between table and view must first drop what the last build left
            existing = con.execute(
                "SELECT table_type FROM information_schema.tables WHERE table_schema = 'main' AND table_name = $name",
                {"name": model.name},
            ).fetchone()
            wanted = "VIEW" if model.materialize == "view" else "BASE TABLE"
            if existing and existing[0] != wanted:
                con.execute(f"DROP {'VIEW' if existing[0] == 'VIEW' else 'TABLE'} {ident(model.name)}")
            kind = "VIEW" if model.materialize == "view" else "TABLE"
            con.execute(f"CREATE OR REPLACE {kind} {ident(model.name)} AS {model.sql}")
            return dg.MaterializeResult(metadata=table_metadata(con, model.name))

    return _asset


model_assets = [_model_asset(m) for m in load_models()]
