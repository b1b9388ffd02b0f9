"""Where things live. One place, overridable by environment variables for tests and deployments."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = REPO_ROOT / "sql"
EXPECTATIONS_DIR = REPO_ROOT / "expectations"
CATALOGUE_FILE = Path(__file__).resolve().parent / "indicators.yaml"
NEEDS_INDEX_FILE = Path(__file__).resolve().parent / "needs_index.yaml"


@dataclass(frozen=True)
class Paths:
    data_dir: Path

    @property
    def embedded_dir(self) -> Path:
        return self.data_dir / "embedded"

    @property
    def reference_dir(self) -> Path:
        return self.data_dir / "reference"

    @property
    def raw_dir(self) -> Path:
        return Path(os.environ.get("GRANNSKAP_RAW_DIR", self.data_dir / "raw"))

    @property
    def build_db(self) -> Path:
        return Path(os.environ.get("GRANNSKAP_BUILD_DB", self.data_dir / "build" / "grannskap-build.duckdb"))

    @property
    def published_db(self) -> Path:
        return Path(os.environ.get("GRANNSKAP_PUBLISHED_DB", self.data_dir / "published" / "grannskap.duckdb"))


def default_paths() -> Paths:
    return Paths(data_dir=Path(os.environ.get("GRANNSKAP_DATA_DIR", REPO_ROOT / "data")))


# Default snapshot that `make run` builds from: real SCB data, reference year 2022, DeSO 2018.
DEFAULT_SNAPSHOT = "scb-deso-2022-nationwide"
