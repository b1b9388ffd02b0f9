"""Where the published profiles live, behind one interface, chosen by configuration.

    file                      data/published/grannskap.duckdb, built beside and swapped in
                              atomically (pipelines/publish.py): one machine, many readers
    ducklake:<catalog>        a DuckLake for many analysts on many machines: <catalog> is a DuckDB
                              file (ducklake:/srv/lake/catalog.ducklake) or a Postgres catalogue
                              (ducklake:postgres:dbname=grannskap host=db user=...), with the data
                              files under `data_path`. A publish is one transaction: readers see
                              the previous snapshot until it commits, then the new one.
    md:<database>             MotherDuck speaks the same SQL as DuckLake's attach; not tested here
                              (no network), documented in README.

Readers use `store.connect()` and query `profiles` the same way whichever store it is.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Protocol

import duckdb

from pipelines.publish import PublishError, publish, write_published_tables

LAKE = "lake"
# DuckDB extensions shipped as PyPI packages (this deployment cannot download them at run time).
EXTENSIONS = {"ducklake": "duckdb_extension_ducklake", "postgres_scanner": "duckdb_extension_postgres_scanner"}


class PublishedStore(Protocol):
    def publish(self, build: duckdb.DuckDBPyConnection, run: dict) -> dict[str, int]: ...
    def connect(self) -> duckdb.DuckDBPyConnection: ...
    def describe(self) -> str: ...


class FileStore:
    def __init__(self, path: Path):
        self.path = path

    def publish(self, build, run):
        return publish(build, self.path, run)

    def connect(self):
        return duckdb.connect(str(self.path), read_only=True)

    def describe(self) -> str:
        return str(self.path)


def _sql_string(text: str) -> str:
    """A configuration value as a SQL string literal (ATTACH takes no parameters)."""
    if "\x00" in text:
        raise ValueError("NUL in a configuration value")
    return "'" + text.replace("'", "''") + "'"


def load_extension(con: duckdb.DuckDBPyConnection, name: str) -> None:
    spec = importlib.util.find_spec(EXTENSIONS[name])
    if spec is None:
        raise PublishError(f"the DuckDB extension {name} is not installed: pip install 'grannskap[shared]'")
    path = next(Path(spec.submodule_search_locations[0]).rglob("*.duckdb_extension"))
    con.install_extension(str(path))
    con.load_extension(name)


class DuckLakeStore:
    def __init__(self, catalog: str, data_path: Path):
        self.catalog = catalog
        self.data_path = data_path

    def _attach(self, con: duckdb.DuckDBPyConnection) -> None:
        load_extension(con, "ducklake")
        if self.catalog.startswith("postgres:"):
            load_extension(con, "postgres_scanner")
        self.data_path.mkdir(parents=True, exist_ok=True)
        con.execute(
            f"ATTACH {_sql_string('ducklake:' + self.catalog)} AS {LAKE} (DATA_PATH {_sql_string(str(self.data_path))})"
        )

    def publish(self, build, run):
        with duckdb.connect() as con:
            self._attach(con)
            con.execute("BEGIN TRANSACTION")
            try:
                counts = write_published_tables(con, build, run, catalog=LAKE)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return counts

    def connect(self):
        con = duckdb.connect()
        self._attach(con)
        con.execute(f"USE {LAKE}")
        return con

    def describe(self) -> str:
        return f"ducklake:{self.catalog} (data in {self.data_path})"


def open_store(setting: str, published_db: Path, data_path: Path) -> PublishedStore:
    if setting == "file":
        return FileStore(published_db)
    if setting.startswith("ducklake:"):
        return DuckLakeStore(setting.removeprefix("ducklake:"), data_path)
    raise ValueError(f"unknown published store {setting!r}: use 'file' or 'ducklake:<catalog>'")
