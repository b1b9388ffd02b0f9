"""SCB PxWeb source: parse PxWeb output into the raw layer, and fetch tables from the API (v2, v1).

Parsing (one row per cell, see `pipelines.raw`):
    detect_format(data: bytes) -> "json-stat2" | "px-json-v1" | "csv"
    parse_file(path, *, name=None, codelists=None, source_table=None) -> RawTable
    parse_bytes(data, *, codelists=None) -> Parsed          (codes as delivered, before normalisation)
    parse_jsonstat2 / parse_px_json_v1 / parse_csv -> Parsed ; to_raw_table(parsed, ...) -> RawTable
    split_code("0581C1110_DeSO2025") -> ("0581C1110", "DeSO2025")

Fetching:
    PxWebClient(base_url=SCB_V2, *, transport=None, limits=None, clock=..., sleep=..., work_dir=..., progress=None)
        .config() .limits() .table(id) .metadata(id, codelists) .codelist(id) .plan(query) .fetch(query) -> RawTable
    Query.of(table, {var: [codes or expressions]}, codelists={var: codelist})
    plan(query, metadata, max_cells) -> Plan   (pure; .calls, .lower_bound, .chunks, .describe())
    SlidingWindowLimiter(max_calls, window, clock=, sleep=)
    RecordingTransport(inner, dir) / ReplayTransport(dir) / write_recording(dir, ...)

Importing:
    import_file(path) -> RawTable ; register_cli(subparsers) ; run_import(args) -> int
"""

from .client import SCB_V1, SCB_V2, V1_LIMITS, Limits, Progress, PxWebClient, parse_retry_after, validate_response
from .codes import codelist_version, split_code
from .csvfmt import parse_csv
from .errors import (
    EmptySelectionError,
    FetchGaveUpError,
    FormatError,
    LayoutChangedError,
    PxWebError,
    PxWebHTTPError,
    QueryError,
    ReplayMissError,
    ResponseValidationError,
    RetryableHTTPError,
    TruncatedResponseError,
    VanishedCodeError,
)
from .formats import detect_format, parse_bytes, parse_file
from .importer import import_file, register_cli, run_import, write_long_csv
from .jsonstat import parse_jsonstat2
from .limiter import SlidingWindowLimiter
from .metadata import TableMetadata, Variable, parse_metadata
from .parsed import BOUNDARY_VERSION, MISSING_NO_MARKER, Parsed, to_raw_table
from .planning import Plan, best_split, expand, plan
from .pxjson import parse_px_json_v1
from .query import Query, Selection
from .transport import RecordingTransport, ReplayTransport, write_recording

__all__ = [
    "BOUNDARY_VERSION",
    "MISSING_NO_MARKER",
    "SCB_V1",
    "SCB_V2",
    "V1_LIMITS",
    "EmptySelectionError",
    "FetchGaveUpError",
    "FormatError",
    "LayoutChangedError",
    "Limits",
    "Parsed",
    "Plan",
    "Progress",
    "PxWebClient",
    "PxWebError",
    "PxWebHTTPError",
    "Query",
    "QueryError",
    "RecordingTransport",
    "ReplayMissError",
    "ReplayTransport",
    "ResponseValidationError",
    "RetryableHTTPError",
    "Selection",
    "SlidingWindowLimiter",
    "TableMetadata",
    "TruncatedResponseError",
    "Variable",
    "VanishedCodeError",
    "best_split",
    "codelist_version",
    "detect_format",
    "expand",
    "import_file",
    "parse_bytes",
    "parse_csv",
    "parse_file",
    "parse_jsonstat2",
    "parse_metadata",
    "parse_px_json_v1",
    "parse_retry_after",
    "plan",
    "register_cli",
    "run_import",
    "split_code",
    "to_raw_table",
    "validate_response",
    "write_long_csv",
    "write_recording",
]
