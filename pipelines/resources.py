"""The one resource the assets share: where the data lives, which source feeds the raw layer,
and a connection to the build database (where every layer below `published` is a DuckDB table)."""


import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import dagster as dg
import duckdb

from pipelines.settings import DEFAULT_SNAPSHOT, Paths, default_paths

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def ident(name: str) -> str:
    """Quote a table name that comes from our own asset names; refuse anything else."""
    if not _IDENT.match(name):
        raise ValueError(f"not a table name Grannskap defines: {name!r}")
    return f'"{name}"'


class Grannskap(dg.ConfigurableResource):
    """Settings of a Grannskap deployment.

    source: "embedded" lands the embedded snapshot (data/embedded/<snapshot>) in the raw layer;
            "raw" uses the raw layer as it is, e.g. after `grannskap fetch` or `grannskap import`.
    """

    data_dir: str = str(default_paths().data_dir)
    source: str = "embedded"
    snapshot: str = DEFAULT_SNAPSHOT
    # Disclosure control: counts below this are never published (nor derivable).
    suppression_threshold: int = 5
    # Shares over fewer people than this are published with a reliability flag.
    min_reliable_denominator: int = 100

    @property
    def paths(self) -> Paths:
        return Paths(data_dir=Path(self.data_dir))

    @contextmanager
    def build_db(self) -> Iterator[duckdb.DuckDBPyConnection]:
        path = self.paths.build_db
        path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(path))
        try:
            yield con
        finally:
            con.close()
