"""A refresh killed at any point, or two at once, never harms the published database."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import duckdb
import pytest

from conftest import Workspace


def _start(ws: Workspace, pause_before_swap: float = 0) -> subprocess.Popen:
    env = {**os.environ, "GRANNSKAP_DATA_DIR": str(ws.data_dir), "GRANNSKAP_PAUSE_BEFORE_SWAP": str(pause_before_swap)}
    return subprocess.Popen([sys.executable, "-m", "pipelines.cli", "run"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_line(proc: subprocess.Popen, marker: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if marker in line:
            return
        if not line and proc.poll() is not None:
            raise AssertionError(f"process ended before {marker!r}")
    raise AssertionError(f"no {marker!r} within {timeout} s")


def _assert_intact(ws: Workspace, sha: str) -> None:
    assert ws.published_sha256() == sha
    with duckdb.connect(str(ws.paths.published_db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM profiles WHERE area_level = 'country'").fetchone()[0] > 0


@pytest.fixture
def ws(workspace: Workspace, published) -> Workspace:
    workspace.paths.published_db.parent.mkdir(parents=True)
    shutil.copy(published, workspace.paths.published_db)
    return workspace


def test_kill_9_during_the_build(ws: Workspace):
    sha = ws.published_sha256()
    proc = _start(ws)
    deadline = time.monotonic() + 120
    while not (ws.paths.raw_dir / "income").exists():  # several raw tables landed: mid-build
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    _assert_intact(ws, sha)
    again = _start(ws)  # the next refresh recovers the build database and succeeds
    assert again.wait(180) == 0, again.stderr.read()
    assert ws.published_sha256() != sha


def test_kill_9_during_the_swap(ws: Workspace):
    sha = ws.published_sha256()
    proc = _start(ws, pause_before_swap=60)
    _wait_for_line(proc, "candidate ready")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    _assert_intact(ws, sha)
    leftovers = list(ws.paths.published_db.parent.glob(".grannskap.candidate-*"))
    assert len(leftovers) == 1  # the killed publisher's complete candidate, never swapped in
    again = _start(ws)
    assert again.wait(180) == 0, again.stderr.read()
    assert not list(ws.paths.published_db.parent.glob(".grannskap.candidate-*"))  # cleaned up
    with duckdb.connect(str(ws.paths.published_db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM meta_runs").fetchone()[0] >= 2


def test_two_refreshes_at_once_one_fails_clearly(ws: Workspace):
    sha = ws.published_sha256()
    first = _start(ws, pause_before_swap=10)
    _wait_for_line(first, "candidate ready")
    second = _start(ws)
    _, err = second.communicate(timeout=120)  # read as it runs: a full pipe must not stall it
    assert second.returncode == 1
    assert "another refresh is already running" in err
    _assert_intact(ws, sha)  # the second touched nothing
    assert first.wait(120) == 0
    with duckdb.connect(str(ws.paths.published_db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM profiles").fetchone()[0] > 0
