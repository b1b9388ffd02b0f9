"""Municipality partitions: one municipality alone, and the national fan-out over processes."""

from __future__ import annotations

import dagster as dg
import duckdb
import polars as pl

from pipelines.assets.municipalities import municipality_extract
from pipelines.definitions import fanout_job
from pipelines.municipalities import municipality_codes


def test_partitions_are_sweden_s_290_municipalities():
    codes = municipality_codes()
    assert len(codes) == 290 and "0581" in codes and codes == sorted(codes)


def test_one_municipality_refreshes_alone(built, published):
    ws, _ = built
    result = dg.materialize([municipality_extract], partition_key="0581", resources={"grannskap": ws.resource()},
                            instance=dg.DagsterInstance.ephemeral())
    assert result.success
    out = published.parent / "municipalities" / "0581"
    profiles = pl.read_parquet(out / "profiles.parquet")
    with duckdb.connect(str(published), read_only=True) as con:
        expected = con.execute(
            "SELECT count(*) FROM profiles WHERE municipality_code = '0581' OR area_code IN ('05', '00')"
        ).fetchone()[0]
    assert profiles.height == expected
    assert set(profiles["area_level"]) == {"deso", "regso", "district", "municipality", "county", "country"}
    assert pl.read_parquet(out / "needs_index.parquet")["municipality_code"].unique().to_list() == ["0581"]
    assert not (published.parent / "municipalities" / "1880").exists()  # nobody else was touched


def test_national_fanout_runs_in_parallel_processes(built, tmp_path, monkeypatch):
    ws, _ = built
    monkeypatch.setenv("GRANNSKAP_DATA_DIR", str(ws.data_dir))  # the child processes build their resource from it
    chosen = ["0180", "0581", "1280", "1480", "1880", "2080"]
    with dg.DagsterInstance.local_temp(str(tmp_path)) as instance:
        with dg.execute_job(
            dg.reconstructable(fanout_job),
            instance=instance,
            run_config={"ops": {"list_municipalities": {"config": {"municipalities": chosen}}}},
        ) as result:
            assert result.success
            summary = result.output_for_node("summarise_extracts")
    assert summary["municipalities"] == chosen
    assert len(summary["pids"]) >= 2  # the steps ran in separate processes
    for code in chosen:
        assert (ws.paths.published_db.parent / "municipalities" / code / "profiles.parquet").exists()
