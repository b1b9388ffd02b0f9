"""The asset graph a newcomer sees: layers by name, a description and a suite where promised."""

from __future__ import annotations

import pytest

from pipelines.assets.models import load_models
from pipelines.catalogue import CatalogueError, _check, load_catalogue
from pipelines.definitions import defs

LAYERS = {"raw": "raw_", "staged": "stg_", "indicators": "ind_"}


def test_assets_sit_in_layers_named_for_the_data_flow():
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        name = key.to_user_string()
        assert node.description, f"{name} has no description"
        prefix = LAYERS.get(node.group_name)
        if prefix and name not in ("meta_sources",):
            assert name.startswith(prefix), (name, node.group_name)


def test_every_raw_and_staged_table_and_the_profiles_have_a_blocking_suite():
    graph = defs.resolve_asset_graph()
    checked = {k.asset_key.to_user_string() for k in graph.asset_check_keys}
    tables = {k.to_user_string() for k in graph.get_all_asset_keys()}
    expected = {t for t in tables if t.startswith(("raw_", "stg_"))} | {"profiles", "ind_values"}
    assert expected <= checked
    for key in graph.asset_check_keys:
        assert graph.get_check_spec(key).blocking


def test_sql_models_declare_only_known_dependencies():
    known = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    for model in load_models():
        assert set(model.depends_on) <= known, (model.name, set(model.depends_on) - known)


def test_catalogue_has_the_promised_indicators_and_rejects_bad_entries():
    ids = {i.id for i in load_catalogue()}
    assert {"population", "share_age_0_4", "share_age_0_19", "share_age_65_plus", "share_foreign_background",
            "share_low_education", "share_post_secondary", "median_income_tkr"} <= ids
    good = {"id": "x", "title_sv": "x", "title_en": "x", "definition": "x", "unit": "share", "kind": "median",
            "direction": "neutral", "source_table": "T", "numerator": {"measure": "income", "categories": ["m"]}}
    with pytest.raises(CatalogueError, match="median cannot be aggregated"):
        _check({**good, "levels": ["deso", "regso"]})
    with pytest.raises(CatalogueError, match="needs a denominator"):
        _check({**good, "kind": "share", "levels": ["deso"]})


def test_workspace_loads_in_dagster_cli():
    """What `dagster dev -w workspace.yaml` loads: the code location validates."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    dagster = Path(sys.executable).parent / "dagster"
    out = subprocess.run([str(dagster), "definitions", "validate", "-w", "workspace.yaml"], cwd=root,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "All code locations passed validation" in out.stderr + out.stdout


def test_every_suite_file_loads_whole():
    """GX skips an expectation it cannot build; the runner refuses such a suite, and none ships."""
    from pipelines.checks.suites import SuiteError, build_suite, load_suite_dict
    from pipelines.settings import EXPECTATIONS_DIR

    for path in sorted(EXPECTATIONS_DIR.glob("*.json")):
        suite = build_suite(load_suite_dict(path.stem))
        assert len(suite.expectations) == len(load_suite_dict(path.stem)["expectations"]) > 0
    broken = {"name": "x", "expectations": [{"type": "expect_column_values_to_be_sparkly", "kwargs": {"column": "a"}}]}
    with pytest.raises(SuiteError, match="expect_column_values_to_be_sparkly"):
        build_suite(broken)


def test_profiles_suite_names_the_area_with_a_duplicate_or_an_impossible_share():
    import duckdb

    from pipelines.checks.suites import validate_table

    con = duckdb.connect()
    con.execute("""
        CREATE TABLE profiles AS SELECT * FROM (VALUES
          ('regso', '0581:A', 2022, 'share_age_0_4', 'share', 0.05, 0.055, 1, 40, 3, 3363, NULL::VARCHAR, 'T', NULL::VARCHAR, NULL::VARCHAR),
          ('regso', '0581:A', 2022, 'share_age_0_4', 'share', 0.05, 0.055, 1, 40, 3, 3363, NULL::VARCHAR, 'T', NULL::VARCHAR, NULL::VARCHAR),
          ('regso', '0581:B', 2022, 'share_age_0_4', 'share', 1.20, 0.055, 2, 40, 4, 3363, NULL::VARCHAR, 'T', NULL::VARCHAR, NULL::VARCHAR)
        ) AS t(area_level, area_code, year, indicator, unit, value, national_value, rank_in_municipality,
               areas_in_municipality, rank_in_nation, areas_in_nation, missing_reason, source_table,
               value_area_level, value_area_code)""")
    result = validate_table(con, "profiles")
    messages = result.summary()
    assert not result.success
    assert "no duplicate area, year and indicator" in messages and "regso 0581:A 2022" in messages
    assert "shares are within 0-1" in messages and "regso 0581:B 2022" in messages


def test_raw_regso_suite_finds_a_duplicate_cell_whatever_the_dimensions_are_called():
    import duckdb

    from pipelines.checks.suites import validate_table

    con = duckdb.connect()
    con.execute("""
        CREATE TABLE raw_regso_transfers AS SELECT * FROM (VALUES
          ('0581R037', 'RegSO2020', '2022', '1+2', 'TOT', '000004WZ', 4.1, ''),
          ('0581R037', 'RegSO2020', '2022', '1+2', 'TOT', '000004WZ', 4.1, ''),
          ('0581R001', 'RegSO2020', '2022', '1+2', 'TOT', '000004WZ', 1.0, '')
        ) AS t(Region, boundary_version, Tid, Kon, Bakgrund, ContentsCode, value, status)""")
    result = validate_table(con, "raw_regso_transfers")
    assert not result.success
    assert "no duplicate cells" in result.summary() and "0581R037" in result.summary()
    assert "0581R001" not in result.summary()
