"""The `fetched_sources` asset and the `scb_updates_sensor`, against the local fake SCB of test_live_fetch.py."""

from __future__ import annotations

import json

import dagster as dg
from test_live_fetch import NORRKOPING_DESO, scb  # noqa: F401 (scb: the shared fake-SCB fixture)

from pipelines.assets.live import (
    REFRESH_JOB,
    check_scb_updates,
    fetched_sources,
    is_newer,
    live_assets,
    live_sensors,
    scb_updates_sensor,
)
from pipelines.raw import read_raw_table
from pipelines.resources import Grannskap

NORRKOPING_2022 = {"municipality": "0581", "tables": ["population_age"], "years": "2022"}


def materialize(data_dir, config: dict) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [fetched_sources],
        resources={"grannskap": Grannskap(data_dir=str(data_dir))},
        run_config={"ops": {"fetched_sources": {"config": config}}},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def test_exports():
    assert live_assets == [fetched_sources] and live_sensors == [scb_updates_sensor]
    spec = fetched_sources.specs_by_key[dg.AssetKey("fetched_sources")]
    assert spec.group_name == "sources" and spec.kinds == {"pxweb"}
    assert scb_updates_sensor.job_name == REFRESH_JOB == "refresh_from_scb"


def test_asset_materialises_against_a_fake_scb(scb, tmp_path):
    data = tmp_path / "data"
    result = materialize(data, NORRKOPING_2022)
    assert result.success
    md = result.asset_materializations_for_node("fetched_sources")[0].metadata
    assert md["landed"].value == ["population_age"] and md["failed"].value == {}
    assert md["tables"].value["population_age"]["rows"] == 79 * 18 * 3
    t = read_raw_table(data / "raw", "population_age")
    assert sorted(t.cells["Region"].unique()) == NORRKOPING_DESO
    assert not (data / "published").exists() and not (data / "build").exists()


def test_asset_fails_naming_the_table(scb, tmp_path):
    scb.relabel[("TAB6571", "ContentsCode")] = {"000007Y5": "Personer"}
    result = materialize(tmp_path / "data", {"municipality": "0581", "tables": ["population_age", "population_background"]})
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data.user_failure_data
    assert "population_background" in failure.description and "TAB6571" in failure.description
    assert "Landed (complete): population_age" in failure.description
    assert (tmp_path / "data" / "raw" / "population_age" / "manifest.json").exists()


def test_is_newer():
    assert is_newer("2025-06-01T06:00:00Z", "2025-05-09T06:00:00Z", "")
    assert not is_newer("2025-05-09T06:00:00Z", "2025-05-09T06:00:00+00:00")
    assert not is_newer("", "2025-05-09T06:00:00Z")
    assert is_newer("2025-05-09T06:00:00Z")  # nothing to compare with: new


def evaluate(data_dir, cursor=None) -> dg.SensorResult:
    with dg.build_sensor_context(cursor=cursor, resources={"grannskap": Grannskap(data_dir=str(data_dir))},
                                 instance=dg.DagsterInstance.ephemeral()) as context:
        return scb_updates_sensor(context)


def test_sensor_requests_a_run_only_when_scb_updated(scb, tmp_path):
    data = tmp_path / "data"
    # nothing live in the raw layer: nothing to watch
    result = evaluate(data)
    assert not result.run_requests and "no live SCB table" in result.skip_reason.skip_message
    assert materialize(data, NORRKOPING_2022).success
    # SCB's stamp equals the landed one: no run
    result = evaluate(data)
    assert not result.run_requests and "nothing newer" in result.skip_reason.skip_message
    assert [r[1] for r in scb.requests("GET", "/tables/TAB6574") if not r[1].endswith("metadata")] == ["/api/v2/tables/TAB6574"]
    # SCB publishes: one run, for the changed table and the scope it was landed with
    scb.updated["TAB6574"] = "2026-03-20T07:00:00Z"
    result = evaluate(data)
    [request] = result.run_requests
    config = request.run_config["ops"]["fetched_sources"]["config"]
    assert config == {"tables": ["population_age"], "municipality": "0581", "county": None, "years": "2022"}
    assert request.run_key == "scb-update:TAB6574@2026-03-20T07:00:00Z"
    cursor = result.cursor
    assert json.loads(cursor) == {"TAB6574": "2026-03-20T07:00:00Z"}
    # the same stamp again (the refresh has not run yet): no second request
    again = evaluate(data, cursor)
    assert not again.run_requests
    # the request is a valid run config for the asset
    assert materialize(data, config).success
    assert read_raw_table(data / "raw", "population_age").provenance.updated == "2026-03-20T07:00:00Z"


def test_sensor_watches_v1_tables_with_a_one_cell_probe(scb, tmp_path):
    data = tmp_path / "data"
    assert materialize(data, {"municipality": "0581", "tables": ["regso_ill_health"], "years": "2023"}).success
    posts = len(scb.requests("POST"))
    requests, cursor, notes = check_scb_updates(data / "raw", None)
    assert not requests
    probe = scb.requests("POST")[posts:]
    assert len(probe) == 1 and all(len(q["selection"]["values"]) == 1 for q in probe[0][3]["query"])  # one cell
    scb.updated["AA/AA0003/AA0003I/IntGr10RegSOKon"] = "2026-03-01T07:00:00Z"
    requests, cursor, notes = check_scb_updates(data / "raw", None)
    [request] = requests
    assert request.run_config["ops"]["fetched_sources"]["config"]["tables"] == ["regso_ill_health"]
    assert notes == ["regso_ill_health: SCB AA/AA0003/AA0003I/IntGr10RegSOKon updated 2025-03-01T07:00:00Z -> 2026-03-01T07:00:00Z"]


def test_sensor_survives_an_unreachable_scb(scb, tmp_path, monkeypatch):
    data = tmp_path / "data"
    assert materialize(data, NORRKOPING_2022).success
    scb.script.clear()
    scb.get_script.extend([("status", 404, {})] * 5)
    requests, cursor, notes = check_scb_updates(data / "raw", None)
    assert not requests and notes and "could not read SCB's stamp" in notes[0]
