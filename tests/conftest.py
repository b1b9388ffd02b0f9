"""Shared fixtures: a private copy of the embedded data for each build, so tests never touch data/."""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from pipelines.definitions import build_definitions
from pipelines.resources import Grannskap
from pipelines.settings import REPO_ROOT, Paths

SNAPSHOT = "scb-deso-2022-nationwide"


@dataclass
class Workspace:
    data_dir: Path

    @property
    def paths(self) -> Paths:
        return Paths(self.data_dir)

    @property
    def snapshot_dir(self) -> Path:
        return self.data_dir / "embedded" / SNAPSHOT

    def resource(self, source: str = "embedded", reports: tuple[str, ...] = ()) -> Grannskap:
        # reports are slow to draw; only the session build writes them (for 0581)
        return Grannskap(data_dir=str(self.data_dir), source=source, report_municipalities=list(reports))

    def build(self, source: str = "embedded", reports: tuple[str, ...] = ()) -> dg.ExecuteInProcessResult:
        """Run the main job in-process, as `make run` does."""
        defs = build_definitions(self.resource(source, reports))
        job = defs.resolve_job_def("build_profiles")
        return job.execute_in_process(raise_on_error=False, instance=dg.DagsterInstance.ephemeral())

    def published_sha256(self) -> str:
        return hashlib.sha256(self.paths.published_db.read_bytes()).hexdigest()


def make_workspace(root: Path) -> Workspace:
    data = root / "data"
    shutil.copytree(REPO_ROOT / "data" / "embedded", data / "embedded")
    shutil.copytree(REPO_ROOT / "data" / "reference", data / "reference")
    shutil.copytree(REPO_ROOT / "data" / "districts", data / "districts")
    if (REPO_ROOT / "data" / "local").exists():  # the municipality's own measures (none ship: README only)
        shutil.copytree(REPO_ROOT / "data" / "local", data / "local")
    shutil.copytree(REPO_ROOT / "data" / "investments", data / "investments")
    return Workspace(data)


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return make_workspace(tmp_path)


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> tuple[Workspace, dg.ExecuteInProcessResult]:
    """The whole asset graph materialised once on the real embedded data."""
    ws = make_workspace(tmp_path_factory.mktemp("built"))
    result = ws.build(reports=("0581",))
    return ws, result


@pytest.fixture(scope="session")
def published(built) -> Path:
    ws, result = built
    assert result.success, "the build on the real embedded data failed"
    return ws.paths.published_db


@pytest.fixture
def build_con(built):
    """A read-only connection to the real build's database, to publish from."""
    import duckdb

    ws, result = built
    assert result.success
    con = duckdb.connect(str(ws.paths.build_db), read_only=True)
    yield con
    con.close()


def run_record(run_id: str) -> dict:
    """What the published asset records about a run, for tests that publish directly."""
    return {"run_id": run_id, "published_at": "2026-11-23T12:00:00+00:00", "source": "embedded", "snapshot": "test", "notes": ""}
