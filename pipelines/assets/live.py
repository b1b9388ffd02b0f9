"""Live sources in Dagster: the `fetched_sources` asset and the `scb_updates_sensor`.

`fetched_sources` runs the same fetch as `grannskap fetch` (pipelines/sources/live.py) for the tables and scope
in its run config, and lands them in the raw layer of the `grannskap` resource. It fails, naming the tables,
when any table fails; the tables that did land are complete (atomic writes) and listed in the failure's metadata.

`scb_updates_sensor` reads, for every live table already landed in the raw layer from SCB, the `updated` stamp
of each SCB table it came from (v2: `GET /tables/{id}` -> "updated"; v1, which has no such endpoint: the stamp
of a one-cell data query), and requests a run of the job "refresh_from_scb" when SCB's stamp is newer than the
stamp in the raw table's manifest (and than the stamp the sensor last requested a run for, kept in its cursor).
The run re-fetches only the changed tables, for the scope and years they were landed with ("latest" takes the
newest year SCB now has; pinned years are fetched again, e.g. after a revision).

API base URLs come from $GRANNSKAP_SCB_API / $GRANNSKAP_SCB_API_V1 / $GRANNSKAP_KOLADA_API (see live.py).
Exported for pipelines/definitions.py: `live_assets`, `live_sensors` (the job is defined there).
"""

import json
import time
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import httpx

from pipelines import raw as raw_layer
from pipelines.resources import Grannskap
from pipelines.sources.live import (
    FetchProgress,
    LiveFetcher,
    Scope,
    load_catalogue,
    parse_years,
    scb_v1_base,
    scb_v2_base,
)
from pipelines.sources.pxweb import PxWebClient, PxWebError, Query

REFRESH_JOB = "refresh_from_scb"


class FetchConfig(dg.Config):
    """Which live tables to fetch, for which areas and years (the same choices as `grannskap fetch`)."""

    municipality: str | None = None  # e.g. "0581"; neither municipality nor county: all of Sweden
    county: str | None = None  # e.g. "20"
    tables: list[str] = []  # raw table names from pipelines/sources/live_tables.yaml; empty: all of them
    years: str = "latest"  # "latest", "2022,2023" or "2020-2023"


def _progress_logger(context: dg.AssetExecutionContext, every: float = 10.0):
    state = {"table": "", "at": 0.0}

    def log(p: FetchProgress) -> None:
        now = time.monotonic()
        if p.table != state["table"] or now - state["at"] >= every:
            eta = "?" if p.eta_seconds is None else f"{p.eta_seconds:.0f} s"
            context.log.info(
                f"{p.table} ({p.source}): calls {p.calls_made}/{p.calls_planned}, "
                f"cells {p.cells_fetched:,}/{p.cells_planned:,}, about {eta} left"
            )
            state.update(table=p.table, at=now)

    return log


@dg.asset(
    name="fetched_sources",
    group_name="sources",
    kinds={"pxweb"},
    description="Live tables from SCB's PxWeb API (and Kolada) landed in the raw layer, as `grannskap fetch` does: "
    "planned from SCB's metadata (contents resolved by label), fetched under SCB's limits and written atomically.",
)
def fetched_sources(context: dg.AssetExecutionContext, config: FetchConfig, grannskap: Grannskap) -> dg.MaterializeResult:
    try:
        scope = Scope(municipality=config.municipality or None, county=config.county or None)
        years = parse_years(config.years)
    except ValueError as exc:
        raise dg.Failure(f"fetched_sources: {exc}") from exc
    catalogue = load_catalogue()
    names = list(config.tables) or list(catalogue)
    unknown = [n for n in names if n not in catalogue]
    if unknown:
        raise dg.Failure(f"fetched_sources: unknown live table(s) {unknown}; known: {', '.join(catalogue)}")
    paths = grannskap.paths
    with LiveFetcher(paths.raw_dir, work_dir=paths.data_dir / "work" / "pxweb", catalogue=catalogue,
                     progress=_progress_logger(context)) as fetcher:
        report = fetcher.run(names, scope, years)
    metadata = {
        "scope": scope.describe(),
        "years": config.years,
        "landed": sorted(report.landed),
        "failed": {k: v[:500] for k, v in report.failed.items()},
        "http_calls": report.calls_made,
        "seconds": round(report.seconds, 2),
        "tables": {
            name: {"rows": t.rows, "data_calls": t.calls, "lower_bound": t.lower_bound, "source_table": t.source_table,
                   "boundary_version": t.boundary_version, "reference_year": t.reference_year, "scb_updated": t.updated}
            for name, t in report.landed.items()
        },
        "raw_dir": dg.MetadataValue.path(str(paths.raw_dir)),
    }
    for line in report.summary_lines():
        context.log.info(line)
    if not report.ok:
        raise dg.Failure(
            description=f"{len(report.failed)} live table(s) failed: "
            + "; ".join(f"{k}: {v[:300]}" for k, v in report.failed.items())
            + (f". Landed (complete): {', '.join(report.landed)}" if report.landed else ". Nothing landed."),
            metadata=metadata,
        )
    return dg.MaterializeResult(metadata=metadata)


# ---------------------------------------------------------------------------------------------- the sensor


def _as_time(stamp: str) -> datetime | None:
    if not stamp:
        return None
    try:
        t = datetime.fromisoformat(stamp.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def is_newer(stamp: str, *than: str) -> bool:
    """SCB's stamp is newer than every other stamp given (ISO 8601; unparseable stamps compare as text)."""
    if not stamp:
        return False
    new = _as_time(stamp)
    for old in than:
        if not old:
            continue
        prev = _as_time(old)
        if new is not None and prev is not None:
            if new <= prev:
                return False
        elif stamp <= old:
            return False
    return True


def landed_sources(raw_dir: Path, tables: list[str] | None = None) -> list[dict]:
    """The SCB tables behind each live raw table in the raw layer: [{raw_table, table, api, updated, scope}]."""
    catalogue = load_catalogue()
    out = []
    for name, spec in catalogue.items():
        if spec.kind != "pxweb" or (tables and name not in tables):
            continue
        try:
            manifest = raw_layer.read_manifest(raw_dir, name)
        except FileNotFoundError:
            continue
        prov = manifest.get("provenance") or {}
        query = prov.get("query") if isinstance(prov.get("query"), dict) else {}
        if not str(prov.get("source", "")).startswith("scb-pxweb") or not query.get("sources"):
            continue  # embedded or imported: not refreshed from SCB automatically
        for s in query["sources"]:
            out.append({"raw_table": name, "table": s["table"], "api": s.get("api", "v2"), "updated": s.get("updated") or "",
                        "scope": query.get("scope") or {}, "years": query.get("years") or "latest"})
    return out


def scb_updated(client: PxWebClient, table_id: str) -> str:
    """SCB's current `updated` stamp of a table: v2 `/tables/{id}`; v1 a one-cell data query's stamp."""
    if client.api == "v2":
        doc = client.table(table_id)
        return str(doc.get("updated") or "")
    meta = client.metadata(table_id)
    sels = {}
    for v in meta.variables:
        if v.is_time or v.code == "Tid":
            sels[v.code] = [v.values[-1]]
        elif not v.elimination:
            sels[v.code] = [v.values[0]]
    parsed = client.fetch_chunk(Query.of(table_id, sels), meta, label="update probe")
    return parsed.updated or meta.updated


def check_scb_updates(
    raw_dir: Path,
    cursor: str | None,
    *,
    tables: list[str] | None = None,
    transport: httpx.BaseTransport | None = None,
    log=None,
) -> tuple[list[dg.RunRequest], dict, list[str]]:
    """-> (run requests, new cursor, notes). One request per scope and years, for the raw tables whose SCB stamp
    moved; the run re-fetches them as they were landed (same scope, same years: "latest" stays "latest")."""
    seen: dict = json.loads(cursor) if cursor else {}
    watched = landed_sources(raw_dir, tables)
    notes: list[str] = []
    clients: dict[str, PxWebClient] = {}
    stamps: dict[tuple[str, str], str] = {}
    changed: dict[str, dict] = {}
    try:
        for w in watched:
            key = (w["api"], w["table"])
            if key not in stamps:
                if w["api"] not in clients:
                    base = scb_v2_base() if w["api"] == "v2" else scb_v1_base()
                    clients[w["api"]] = PxWebClient(base, api=w["api"], transport=transport, max_attempts=3, timeout=30.0)
                try:
                    stamps[key] = scb_updated(clients[w["api"]], w["table"])
                except (PxWebError, httpx.HTTPError, ValueError) as exc:
                    stamps[key] = ""
                    notes.append(f"{w['table']}: could not read SCB's stamp ({exc})")
                    if log:
                        log.warning(notes[-1])
            now = stamps[key]
            if is_newer(now, w["updated"], seen.get(w["table"], "")):
                entry = changed.setdefault(w["raw_table"], {"scope": w["scope"], "years": w["years"], "tables": {}})
                entry["tables"][w["table"]] = {"was": w["updated"], "now": now}
    finally:
        for c in clients.values():
            c.close()
    by_scope: dict[str, list[str]] = {}
    for raw_table, entry in changed.items():
        by_scope.setdefault(json.dumps([entry["scope"], entry["years"]], sort_keys=True), []).append(raw_table)
        for table_id, st in entry["tables"].items():
            seen[table_id] = st["now"]
            notes.append(f"{raw_table}: SCB {table_id} updated {st['was'] or '(no stamp)'} -> {st['now']}")
    requests = []
    for scope_json, raw_tables in sorted(by_scope.items()):
        scope, years = json.loads(scope_json)
        stamp_key = ",".join(
            sorted(f"{t}@{s['now']}" for rt in raw_tables for t, s in changed[rt]["tables"].items())
        )
        requests.append(
            dg.RunRequest(
                run_key=f"scb-update:{stamp_key}",
                run_config={"ops": {"fetched_sources": {"config": {
                    "tables": sorted(raw_tables), "municipality": scope.get("municipality"),
                    "county": scope.get("county"), "years": years,
                }}}},
                tags={"grannskap/scb_tables": stamp_key[:200]},
            )
        )
    return requests, seen, notes


def build_scb_updates_sensor(
    *,
    name: str = "scb_updates_sensor",
    job_name: str = REFRESH_JOB,
    tables: list[str] | None = None,
    minimum_interval_seconds: int = 6 * 3600,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
) -> dg.SensorDefinition:
    @dg.sensor(
        name=name,
        job_name=job_name,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=default_status,
        description="Polls SCB's `updated` stamp of every SCB table behind the live raw tables and requests a "
        f"run of {job_name} (re-fetch + rebuild) when SCB has published newer data than the raw layer holds.",
    )
    def _sensor(context: dg.SensorEvaluationContext, grannskap: Grannskap) -> dg.SensorResult:
        requests, cursor, notes = check_scb_updates(grannskap.paths.raw_dir, context.cursor, tables=tables, log=context.log)
        for n in notes:
            context.log.info(n)
        if not requests:
            why = "no live SCB table in the raw layer" if not landed_sources(grannskap.paths.raw_dir, tables) else (
                "SCB has nothing newer than the raw layer")
            return dg.SensorResult(skip_reason=why, cursor=json.dumps(cursor, sort_keys=True))
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(cursor, sort_keys=True))

    return _sensor


scb_updates_sensor = build_scb_updates_sensor()

live_assets = [fetched_sources]
live_sensors = [scb_updates_sensor]

__all__ = [
    "FetchConfig",
    "REFRESH_JOB",
    "build_scb_updates_sensor",
    "check_scb_updates",
    "fetched_sources",
    "is_newer",
    "landed_sources",
    "live_assets",
    "live_sensors",
    "scb_updated",
    "scb_updates_sensor",
]
