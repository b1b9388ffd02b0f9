"""The one resource the assets share: where the data lives, which source feeds the raw layer,
and a connection to the build database (where every layer below `published` is a DuckDB table)."""


import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import dagster as dg
import duckdb
from pydantic import PrivateAttr

from pipelines.publish import acquire_build_lock

from pipelines.settings import DEFAULT_SNAPSHOT, Paths, default_paths

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
    # Where the profiles are published: "file" (data/published/grannskap.duckdb, swapped in
    # atomically) or "ducklake:<catalog>" for a shared catalogue (pipelines/stores.py).
    published_store: str = os.environ.get("GRANNSKAP_PUBLISHED_STORE", "file")
    # Municipalities whose reports every build writes (data/reports/); any other one on demand
    # with `grannskap report --municipality CODE` or the municipality_reports partition.
    report_municipalities: list[str] = ["0581", "2081", "2080"]

    @property
    def paths(self) -> Paths:
        return Paths(data_dir=Path(self.data_dir))

    def store(self):
        from pipelines.stores import open_store

        return open_store(self.published_store, self.paths.published_db, self.paths.data_dir / "lake")

    # The build lock, taken on first use of the build database and held until the run ends, so
    # that two refreshes never interleave their steps in one build database.
    _build_lock = PrivateAttr(default=None)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._build_lock is not None:
            self._build_lock.close()
            self._build_lock = None

    @contextmanager
    def build_db(self) -> Iterator[duckdb.DuckDBPyConnection]:
        path = self.paths.build_db
        if self._build_lock is None:
            self._build_lock = acquire_build_lock(path)
        con = duckdb.connect(str(path))
        try:
            yield con
        finally:
            con.close()
