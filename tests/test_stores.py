"""The shared catalogue behind the same interface: a DuckLake, with a DuckDB-file catalogue and
with a real Postgres catalogue on a throwaway local cluster (unix socket only)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from conftest import run_record

from pipelines.stores import DuckLakeStore, FileStore, open_store






KLOCKARETORPET = "SELECT value FROM profiles WHERE area_code = '0581:Västra Klockaretorpet' AND indicator = 'share_foreign_background'"


def _exercise(store, build_con, reader_open_across_publish: bool) -> None:
    store.publish(build_con, run_record("first"))
    reader = store.connect()
    assert round(reader.execute(KLOCKARETORPET).fetchone()[0], 2) == 0.44
    if not reader_open_across_publish:
        reader.close()
    store.publish(build_con, run_record("second"))
    if reader_open_across_publish:
        # a reader attached before the publish keeps working and sees the committed new snapshot
        assert reader.execute("SELECT DISTINCT run_id FROM profiles").fetchall() == [("second",)]
        reader.close()
    with store.connect() as fresh:
        assert fresh.execute("SELECT DISTINCT run_id FROM profiles").fetchall() == [("second",)]
        assert round(fresh.execute(KLOCKARETORPET).fetchone()[0], 2) == 0.44
        runs = fresh.execute("SELECT run_id FROM meta_runs ORDER BY published_at, run_id").fetchall()
    assert [r[0] for r in runs] == ["first", "second"]


def test_configuration_chooses_the_store(tmp_path: Path):
    assert isinstance(open_store("file", tmp_path / "g.duckdb", tmp_path / "lake"), FileStore)
    assert isinstance(open_store("ducklake:/x/catalog.ducklake", tmp_path / "g.duckdb", tmp_path / "lake"), DuckLakeStore)
    with pytest.raises(ValueError, match="unknown published store"):
        open_store("s3://bucket", tmp_path / "g.duckdb", tmp_path / "lake")


def test_ducklake_with_a_duckdb_catalogue(build_con, tmp_path: Path):
    # a DuckDB-file catalogue serves one process at a time; many analysts need the Postgres one
    _exercise(DuckLakeStore(str(tmp_path / "catalog.ducklake"), tmp_path / "files"), build_con, False)


def test_a_failed_ducklake_publish_leaves_the_last_snapshot(build_con, tmp_path: Path, monkeypatch):
    from pipelines import publish as publishing

    store = DuckLakeStore(str(tmp_path / "catalog.ducklake"), tmp_path / "files")
    store.publish(build_con, run_record("good"))
    monkeypatch.setitem(publishing.PUBLISHED_TABLES, "broken", "no_such_table")
    with pytest.raises(duckdb.CatalogException):
        store.publish(build_con, run_record("bad"))
    with store.connect() as con:
        assert con.execute("SELECT DISTINCT run_id FROM profiles").fetchall() == [("good",)]
        assert con.execute("SELECT count(*) FROM meta_runs").fetchone()[0] == 1


def _postgres_bin() -> Path | None:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True):
        return candidate.parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


@pytest.fixture
def postgres(tmp_path_factory):
    """A throwaway Postgres cluster listening only on a unix socket in a temp dir."""
    bindir = _postgres_bin()
    if bindir is None:
        pytest.skip("no Postgres server binaries on this machine (Debian package postgresql)")
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="grannskap-pg-"))  # outside pytest's root-only tree
    root.chmod(0o755)
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
    subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "grannskap", "--auth=trust"],
                   check=True, capture_output=True)
    subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(root / "log"),
                    "-o", f"-k {sock} -c listen_addresses='' -p 54329", "start"], check=True, capture_output=True)
    try:
        subprocess.run([*as_user, str(bindir / "createdb"), "-h", str(sock), "-p", "54329", "-U", "grannskap", "lake"],
                       check=True, capture_output=True)
        yield f"postgres:dbname=lake host={sock} port=54329 user=grannskap"
    finally:
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def test_ducklake_with_a_postgres_catalogue(build_con, postgres, tmp_path: Path):
    files = tmp_path / "files"
    if os.geteuid() == 0:
        files.mkdir()
    _exercise(DuckLakeStore(postgres, files), build_con, True)
