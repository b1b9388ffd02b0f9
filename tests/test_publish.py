"""Publishing: analysts with the file open are never broken, and a failed publish changes nothing."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import duckdb
import pytest

from conftest import run_record

from pipelines import publish as publishing
from pipelines.publish import PublishError, publish, publish_lock






def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_open_reader_keeps_working_and_new_readers_see_the_new_data(build_con, tmp_path: Path):
    target = tmp_path / "published" / "grannskap.duckdb"
    publish(build_con, target, run_record("first"))
    analyst = duckdb.connect(str(target), read_only=True)
    before = analyst.execute("SELECT count(*), min(run_id) FROM profiles").fetchone()

    publish(build_con, target, run_record("second"))

    # the analyst's open connection still reads the old, complete database
    assert analyst.execute("SELECT count(*), min(run_id) FROM profiles").fetchone() == before == (before[0], "first")
    analyst.close()
    with duckdb.connect(str(target), read_only=True) as fresh:
        assert fresh.execute("SELECT DISTINCT run_id FROM profiles").fetchall() == [("second",)]
        assert [r[0] for r in fresh.execute("SELECT run_id FROM meta_runs").fetchall()] == ["first", "second"]
    assert sorted(p.name for p in target.parent.iterdir()) == [".grannskap.duckdb.lock", "grannskap.duckdb"]


def test_a_publish_that_fails_midway_leaves_the_published_file_untouched(build_con, tmp_path: Path, monkeypatch):
    target = tmp_path / "grannskap.duckdb"
    publish(build_con, target, run_record("good"))
    before = _sha(target)
    monkeypatch.setitem(publishing.PUBLISHED_TABLES, "broken", "no_such_table")
    with pytest.raises(duckdb.CatalogException):
        publish(build_con, target, run_record("bad"))
    assert _sha(target) == before
    assert [p.name for p in tmp_path.iterdir() if "candidate" in p.name] == []
    with duckdb.connect(str(target), read_only=True) as con:
        assert con.execute("SELECT DISTINCT run_id FROM profiles").fetchall() == [("good",)]


def test_a_second_publisher_waits_or_fails_clearly(tmp_path: Path):
    target = tmp_path / "grannskap.duckdb"
    holding, release = threading.Event(), threading.Event()

    def hold():
        with publish_lock(target):
            holding.set()
            release.wait(5)

    t = threading.Thread(target=hold)
    t.start()
    assert holding.wait(5)
    with pytest.raises(PublishError, match="another refresh is publishing"):
        with publish_lock(target, wait=False):
            pass
    release.set()
    t.join()
    with publish_lock(target, wait=False):  # free again
        pass
