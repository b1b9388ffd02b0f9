"""Area reports for planners: self-contained HTML profiles, an index and targeting lists per municipality.

    from pipelines.reports import build_reports
    paths = build_reports("data/published/grannskap.duckdb", "data/reports", "0581", level="regso")

Reads only the published database (read-only) and the shipped boundaries in data/boundaries/. Names are
imported lazily, so `pipelines.reports.cli.register_cli` does not load matplotlib and GeoPandas.
"""

from importlib import import_module

_EXPORTS = {
    "build_reports": "pipelines.reports.build",
    "report_dir": "pipelines.reports.build",
    "ReportDataError": "pipelines.reports.data",
    "load_target_groups": "pipelines.reports.targeting",
    "register_cli": "pipelines.reports.cli",
    "run_report": "pipelines.reports.cli",
    "report_asset_metadata": "pipelines.reports.cli",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'pipelines.reports' has no attribute {name!r}")
