"""Beyond one machine, as far as one machine can test it: the Kubernetes switch and Helm values."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _fanout_executor_name(env: dict) -> str:
    code = "from pipelines.definitions import defs; print(defs.resolve_job_def('municipality_fanout').executor_def.name)"
    out = subprocess.run([sys.executable, "-c", code], env={**env}, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip().splitlines()[-1]


def test_kubernetes_switch_puts_the_fanout_on_the_k8s_executor():
    import os

    base = {k: v for k, v in os.environ.items() if k != "GRANNSKAP_EXECUTOR"}
    assert _fanout_executor_name(base) == "multiprocess"
    assert _fanout_executor_name({**base, "GRANNSKAP_EXECUTOR": "k8s"}) == "k8s"


def test_helm_values_name_what_the_code_expects():
    values = yaml.safe_load((ROOT / "deploy" / "k8s" / "values.yaml").read_text(encoding="utf-8"))
    deployment = values["dagster-user-deployments"]["deployments"][0]
    assert deployment["dagsterApiGrpcArgs"] == ["--module-name", "pipelines.definitions"]
    env = {e["name"]: e for e in deployment["env"]}
    assert env["GRANNSKAP_EXECUTOR"]["value"] == "k8s"
    assert {"GRANNSKAP_DATA_DIR", "GRANNSKAP_PUBLISHED_STORE"} <= set(env)
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    limits = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]["tagConcurrencyLimits"]
    assert {"key": "grannskap/build", "limit": 1} in limits
    from pipelines.definitions import defs

    for job in ("build_profiles", "refresh_from_scb"):
        assert defs.resolve_job_def(job).tags.get("grannskap/build") == "1"
