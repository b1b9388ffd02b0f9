"""Live sources: the catalogue in `live_tables.yaml`, planned against SCB's metadata and fetched into the raw layer.

    from pipelines.sources.live import LiveFetcher, Scope, load_catalogue, parse_years
    with LiveFetcher(Path("data/raw")) as fetcher:
        report = fetcher.run(["population_age"], Scope(municipality="0581"), parse_years("latest"))
    print("\\n".join(report.summary_lines()))

For every table of the catalogue (`load_catalogue()`), `plan_live_table` reads the metadata of the table
version(s) that cover the wanted years (newest first for "latest"), takes the Region codes of the table's level
(DeSO or RegSO), boundary version and scope from the metadata, resolves every value given by *label* (always the
ContentsCode: a code is never sent on trust; a vanished or ambiguous label fails before any data call, naming the
table, the variable, the expected label and the labels the table has), and plans the fewest calls under the cell
limit (`pxweb.plan`). `LiveFetcher.run` then fetches each table with `PxWebClient.fetch` (paced, retried,
validated, resumable), merges the table versions (DeSO 2018 years and DeSO 2025 years side by side, told apart by
`boundary_version`) and writes one raw table atomically (`write_raw_table`). Tables are independent: one that
fails is reported and the others still land; nothing here opens a database.

API base URLs: $GRANNSKAP_SCB_API (v2, default https://statistikdatabasen.scb.se/api/v2),
$GRANNSKAP_SCB_API_V1 (v1, default https://api.scb.se/OV0104/v1/doris/sv/ssd) and $GRANNSKAP_KOLADA_API.
With `record_dir` every exchange is saved; with `replay_dir` the same run is served from the saved exchanges
offline, on a virtual clock (pacing and backoff cost no real time).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import httpx
import polars as pl
import yaml

from pipelines.raw import STATUS, VALUE, Provenance, RawTable, now_utc, write_raw_table
from pipelines.sources.kolada import SWEDEN, KoladaClient, kolada_base, region_id
from pipelines.sources.pxweb import (
    SCB_V1,
    SCB_V2,
    LayoutChangedError,
    Plan,
    Progress,
    PxWebClient,
    PxWebError,
    Query,
    QueryError,
    RecordingTransport,
    ReplayTransport,
    TableMetadata,
    Variable,
    plan as make_plan,
    split_code,
)
from pipelines.sources.pxweb.codes import DESO_RE, REGSO_RE
from pipelines.sources.pxweb.parsed import BOUNDARY_VERSION, reference_period

log = logging.getLogger(__name__)

CATALOGUE_FILE = Path(__file__).with_name("live_tables.yaml")
ENV_SCB_API = "GRANNSKAP_SCB_API"
ENV_SCB_API_V1 = "GRANNSKAP_SCB_API_V1"
LATEST = None  # `years` value meaning: the newest year SCB has
BOUNDARIES = ("DeSO2018", "DeSO2025", "RegSO2020", "RegSO2025")
LEVELS = ("deso", "regso", "municipality")
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_YEARS_RE = re.compile(r"^\s*(\d{4})?\s*-\s*(\d{4})?\s*$|^\s*(\d{4})\s*$")


def scb_v2_base() -> str:
    return os.environ.get(ENV_SCB_API) or SCB_V2


def scb_v1_base() -> str:
    return os.environ.get(ENV_SCB_API_V1) or SCB_V1


# ---------------------------------------------------------------------------------------------- errors


class LiveCatalogueError(ValueError):
    """live_tables.yaml is not well-formed (the message names the table and field)."""


class LabelNotFoundError(QueryError):
    """No value of a variable has a label matching the catalogue's regex (e.g. SCB renamed or dropped a content)."""


class AmbiguousLabelError(QueryError):
    """Several values match one label regex: the catalogue's regex is too loose for this table."""


class YearNotAvailableError(QueryError):
    """A wanted year is in no source's range, or not (yet) in SCB's metadata."""


class NoRegionsError(QueryError):
    """The metadata has no area codes of the table's level, boundary version and scope."""


# ---------------------------------------------------------------------------------------------- catalogue


@dataclass(frozen=True)
class ValueSpec:
    """One requested value: a code or PxWeb expression, or the value whose label matches `label` (a regex)."""

    code: str | None = None
    label: str | None = None
    hint: str | None = None  # the code the label had when the catalogue was written; reported, never sent on trust

    def describe(self) -> str:
        if self.label:
            return f"label /{self.label}/" + (f" (last seen as {self.hint})" if self.hint else "")
        return str(self.code)


@dataclass(frozen=True)
class Source:
    """One SCB table version: which table, which Region vintage, which years."""

    table: str | None  # v2 id, e.g. TAB6574
    v1_path: str | None  # e.g. BE/BE0101/BE0101Y/FolkmDesoAldKon
    boundary: str
    years_from: int | None
    years_to: int | None
    codelist: str | None = None  # explicit Region codelist; default vs_<boundary> on v2, none on v1
    variables: tuple[tuple[str, tuple[ValueSpec, ...]], ...] = ()

    @property
    def api(self) -> str:
        return "v2" if self.table else "v1"

    @property
    def id(self) -> str:
        return self.table or self.v1_path or ""

    @property
    def region_codelist(self) -> str | None:
        if self.codelist:
            return self.codelist
        return f"vs_{self.boundary}" if self.api == "v2" else None

    def covers(self, year: int) -> bool:
        return (self.years_from is None or year >= self.years_from) and (self.years_to is None or year <= self.years_to)

    @property
    def years_text(self) -> str:
        return f"{self.years_from or ''}-{self.years_to or ''}"

    def describe(self) -> str:
        return f"{self.id} ({self.api}, {self.boundary}, years {self.years_text})"


@dataclass(frozen=True)
class KoladaKpi:
    id: str
    title: str | None = None  # regex the KPI's title must match
    verify: str = ""


@dataclass(frozen=True)
class LiveTable:
    name: str
    purpose: str
    level: str
    kind: str  # "pxweb" | "kolada"
    spine: bool = False
    variables: tuple[tuple[str, tuple[ValueSpec, ...]], ...] = ()
    sources: tuple[Source, ...] = ()
    kpis: tuple[KoladaKpi, ...] = ()
    verify: str = ""

    def variables_for(self, source: Source) -> dict[str, tuple[ValueSpec, ...]]:
        merged = dict(self.variables)
        merged.update(dict(source.variables))
        return merged


def _years_range(text, where: str) -> tuple[int | None, int | None]:
    if text is None:
        return None, None
    m = _YEARS_RE.match(str(text))
    if not m:
        raise LiveCatalogueError(f"{where}: years {text!r} is not 'YYYY-YYYY', 'YYYY-', '-YYYY' or 'YYYY'")
    if m.group(3):
        y = int(m.group(3))
        return y, y
    lo, hi = m.group(1), m.group(2)
    return (int(lo) if lo else None), (int(hi) if hi else None)


def _value_specs(var: str, raw, where: str) -> tuple[ValueSpec, ...]:
    if raw == "*" or raw is None:
        specs: tuple[ValueSpec, ...] = (ValueSpec(code="*"),)
    elif isinstance(raw, str):
        specs = (ValueSpec(code=raw),)
    elif isinstance(raw, list):
        out = []
        for item in raw:
            if isinstance(item, dict):
                if not item.get("label"):
                    raise LiveCatalogueError(f"{where}: variable {var}: an item must be a code or have a 'label'")
                try:
                    re.compile(item["label"])
                except re.error as exc:
                    raise LiveCatalogueError(f"{where}: variable {var}: bad label regex {item['label']!r}: {exc}") from exc
                out.append(ValueSpec(label=str(item["label"]), hint=None if item.get("hint") is None else str(item["hint"])))
            else:
                out.append(ValueSpec(code=str(item)))
        specs = tuple(out)
    else:
        raise LiveCatalogueError(f"{where}: variable {var}: expected '*' or a list, got {raw!r}")
    if var == "ContentsCode" and any(s.label is None for s in specs):
        raise LiveCatalogueError(
            f"{where}: ContentsCode must be given by label ({{label: <regex>, hint: <code>}}), never by a bare code"
        )
    return specs


def _variables(raw, where: str) -> tuple[tuple[str, tuple[ValueSpec, ...]], ...]:
    if not raw:
        return ()
    if not isinstance(raw, dict):
        raise LiveCatalogueError(f"{where}: 'variables' must be a mapping")
    for reserved in ("Region", "Tid"):
        if reserved in raw:
            raise LiveCatalogueError(f"{where}: {reserved} is not set in the catalogue (it comes from level/scope/--years)")
    return tuple((str(k), _value_specs(str(k), v, where)) for k, v in raw.items())


def load_catalogue(path: str | Path | None = None) -> dict[str, LiveTable]:
    """live_tables.yaml -> {raw table name: LiveTable}, validated."""
    path = Path(path) if path else CATALOGUE_FILE
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    tables = doc.get("tables")
    if not isinstance(tables, dict) or not tables:
        raise LiveCatalogueError(f"{path.name}: no 'tables'")
    out: dict[str, LiveTable] = {}
    for name, spec in tables.items():
        where = f"{path.name}: table {name}"
        if not _NAME_RE.match(str(name)):
            raise LiveCatalogueError(f"{where}: a raw table name is lower case [a-z0-9_]")
        level = spec.get("level")
        if level not in LEVELS:
            raise LiveCatalogueError(f"{where}: level must be one of {LEVELS}, is {level!r}")
        kind = "kolada" if spec.get("source") == "kolada" else "pxweb"
        sources = []
        for i, s in enumerate(spec.get("sources") or []):
            w = f"{where} source {i + 1}"
            if not (s.get("table") or s.get("v1_path")):
                raise LiveCatalogueError(f"{w}: needs a v2 'table' id or a 'v1_path'")
            if s.get("boundary") not in BOUNDARIES:
                raise LiveCatalogueError(f"{w}: boundary must be one of {BOUNDARIES}, is {s.get('boundary')!r}")
            lo, hi = _years_range(s.get("years"), w)
            sources.append(
                Source(
                    table=s.get("table"), v1_path=s.get("v1_path"), boundary=s["boundary"], years_from=lo, years_to=hi,
                    codelist=s.get("codelist"), variables=_variables(s.get("variables"), w),
                )
            )
        kpis = tuple(
            KoladaKpi(id=str(k["id"]), title=k.get("title"), verify=str(k.get("verify", ""))) for k in spec.get("kpis") or []
        )
        if kind == "pxweb" and not sources:
            raise LiveCatalogueError(f"{where}: no sources")
        if kind == "kolada" and not kpis:
            raise LiveCatalogueError(f"{where}: a Kolada table needs kpis")
        table = LiveTable(
            name=str(name), purpose=" ".join(str(spec.get("purpose", "")).split()), level=level, kind=kind,
            spine=bool(spec.get("spine", False)), variables=_variables(spec.get("variables"), where),
            sources=tuple(sources), kpis=kpis, verify=" ".join(str(spec.get("verify", "")).split()),
        )
        for s in table.sources:
            if not any(code == "ContentsCode" for code, _ in table.variables_for(s).items()):
                raise LiveCatalogueError(f"{where}: source {s.id} has no ContentsCode (give it by label)")
        out[table.name] = table
    return out


# ---------------------------------------------------------------------------------------------- scope and years


@dataclass(frozen=True)
class Scope:
    """Which areas: one municipality, one county, or (neither) all of Sweden."""

    municipality: str | None = None
    county: str | None = None

    def __post_init__(self) -> None:
        if self.municipality and self.county:
            raise ValueError("give a municipality or a county, not both")
        if self.municipality is not None and not re.fullmatch(r"\d{4}", self.municipality):
            raise ValueError(f"municipality code must be 4 digits, e.g. 0581 (got {self.municipality!r})")
        if self.county is not None and not re.fullmatch(r"\d{2}", self.county):
            raise ValueError(f"county code must be 2 digits, e.g. 20 (got {self.county!r})")

    @property
    def prefix(self) -> str:
        return self.municipality or self.county or ""

    def matches(self, plain_code: str) -> bool:
        return plain_code.startswith(self.prefix)

    def describe(self) -> str:
        if self.municipality:
            return f"municipality {self.municipality}"
        if self.county:
            return f"county {self.county}"
        return "all of Sweden"

    def to_dict(self) -> dict:
        return {"municipality": self.municipality, "county": self.county}


def parse_years(text: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """"latest" (or empty) -> LATEST (None); "2022,2023" / "2020-2023" / ["2022"] -> ("2020", ...) sorted."""
    if text is None:
        return LATEST
    items = [text] if isinstance(text, str) else list(text)
    parts = [p.strip() for item in items for p in str(item).split(",") if p.strip()]
    if not parts or parts == ["latest"]:
        return LATEST
    years: set[int] = set()
    for p in parts:
        m = re.fullmatch(r"(\d{4})(?:\s*-\s*(\d{4}))?", p)
        if not m:
            raise ValueError(f"years: {p!r} is not a year (YYYY), a range (YYYY-YYYY) or 'latest'")
        lo = int(m.group(1))
        hi = int(m.group(2) or lo)
        if hi < lo or hi - lo > 100:
            raise ValueError(f"years: bad range {p!r}")
        years.update(range(lo, hi + 1))
    return tuple(str(y) for y in sorted(years))


def years_text(years: tuple[str, ...] | None) -> str:
    return "latest" if years is LATEST else ",".join(years)


# ---------------------------------------------------------------------------------------------- planning (pure)


def resolve_values(var: Variable, specs: Sequence[ValueSpec], *, table: str) -> tuple[list[str], list[str]]:
    """Catalogue items -> the codes to send (expressions kept for the planner) and notes on label matches."""
    codes: list[str] = []
    notes: list[str] = []
    labels = var.value_labels or var.values
    for spec in specs:
        if spec.label is None:
            codes.append(str(spec.code))
            continue
        rx = re.compile(spec.label)
        hits = [(c, lab) for c, lab in zip(var.values, labels) if rx.search(lab)]
        available = "; ".join(f"{c} = {lab!r}" for c, lab in zip(var.values, labels))
        if not hits:
            hint = f" (it was {spec.hint} when the catalogue was written)" if spec.hint else ""
            raise LabelNotFoundError(
                f"table {table}: no {var.code} value has a label matching /{spec.label}/{hint}; "
                f"the table's {var.code} values now are: {available[:600]}. "
                f"Check the table on SCB and update pipelines/sources/live_tables.yaml"
            )
        if len(hits) > 1:
            raise AmbiguousLabelError(
                f"table {table}: {len(hits)} {var.code} values match /{spec.label}/: "
                f"{'; '.join(f'{c} = {lab!r}' for c, lab in hits)}; make the label in live_tables.yaml stricter"
            )
        code, label = hits[0]
        notes.append(f"{var.code} {code} = {label!r} (matched /{spec.label}/)")
        if spec.hint and code != spec.hint:
            notes.append(f"{var.code}: the code of /{spec.label}/ changed from {spec.hint} to {code}")
            log.warning("table %s: %s %r now has code %s (catalogue hint %s)", table, var.code, label, code, spec.hint)
        if code not in codes:
            codes.append(code)
    return codes, notes


def region_codes(var: Variable, source: Source, level: str, scope: Scope, *, table: str) -> list[str]:
    """The metadata's Region codes of the level's shape, the source's boundary version and the scope."""
    shape = DESO_RE if level == "deso" else REGSO_RE
    out = []
    for code in var.values:
        plain, version = split_code(code, source.region_codelist)
        if shape.match(plain) and version == source.boundary and scope.matches(plain):
            out.append(code)
    if not out:
        raise NoRegionsError(
            f"table {table}: the metadata has no {level.upper() if level == 'deso' else 'RegSO'} code of boundary "
            f"{source.boundary} for {scope.describe()} (codelist {source.region_codelist or '-'}; "
            f"{len(var.values)} Region codes, e.g. {list(var.values[:3])})"
        )
    return out


def time_variable(metadata: TableMetadata) -> Variable:
    for v in metadata.variables:
        if v.is_time or v.code == "Tid":
            return v
    raise QueryError(f"table {metadata.table_id}: no time variable in the metadata (variables {metadata.codes})")


def available_years(metadata: TableMetadata, source: Source) -> list[str]:
    tid = time_variable(metadata)
    return sorted((y for y in tid.values if y[:4].isdigit() and source.covers(int(y[:4]))), key=lambda y: y)


def source_query(
    table: LiveTable, source: Source, metadata: TableMetadata, scope: Scope, years: Sequence[str]
) -> tuple[Query, list[str]]:
    """The query for one source: Region by level/boundary/scope, Tid = years, the catalogue's variables."""
    where = source.id
    specs = table.variables_for(source)
    unknown = [v for v in specs if metadata.variable(v) is None]
    if unknown:
        raise QueryError(
            f"table {where}: variable(s) {unknown} of live_tables.yaml ({table.name}) are not in the metadata "
            f"(variables {metadata.codes}): the table's layout changed"
        )
    region = metadata.variable("Region")
    if region is None:
        raise QueryError(f"table {where}: no Region variable in the metadata (variables {metadata.codes})")
    tid = time_variable(metadata)
    selections: dict[str, list[str]] = {}
    notes: list[str] = []
    for var in metadata.variables:
        if var.code == "Region":
            selections["Region"] = region_codes(region, source, table.level, scope, table=where)
        elif var.code == tid.code:
            selections[var.code] = list(years)
        elif var.code in specs:
            codes, n = resolve_values(var, specs[var.code], table=where)
            selections[var.code] = codes
            notes.extend(n)
    codelists = {"Region": source.region_codelist} if source.region_codelist else None
    return Query.of(source.id, selections, codelists=codelists), notes


@dataclass
class SourcePlan:
    source: Source
    metadata: TableMetadata
    years: list[str]
    query: Query
    plan: Plan
    notes: list[str] = field(default_factory=list)


@dataclass
class TablePlan:
    table: LiveTable
    scope: Scope
    years: tuple[str, ...] | None
    parts: list[SourcePlan] = field(default_factory=list)
    kolada: dict | None = None  # for Kolada tables: the request (kpis, municipalities, years, keep, latest)

    @property
    def calls(self) -> int:
        if self.kolada is not None:
            return 1  # at least; more when Kolada pages
        return sum(p.plan.calls for p in self.parts)

    @property
    def lower_bound(self) -> int:
        return self.calls if self.kolada is not None else sum(p.plan.lower_bound for p in self.parts)

    @property
    def cells(self) -> int:
        return sum(p.plan.cells for p in self.parts)

    def describe(self) -> str:
        if self.kolada is not None:
            k = self.kolada
            ids = ",".join(k["municipalities"]) if k["municipalities"] else "every municipality and region"
            return (
                f"{self.table.name}: Kolada KPIs {','.join(k['kpis'])} for {ids}, years "
                f"{','.join(k['years'])}{' (newest with values kept)' if k['latest'] else ''}; >= 1 call"
            )
        parts = "; ".join(
            f"{p.source.id} [{p.source.boundary}] {','.join(p.years)}: {p.plan.cells:,} cells in {p.plan.calls} call(s) "
            f"(bound {p.plan.lower_bound})"
            for p in self.parts
        )
        return f"{self.table.name}: {parts}"


def plan_live_table(
    table: LiveTable,
    scope: Scope,
    years: tuple[str, ...] | None,
    metadata_for: Callable[[Source], TableMetadata],
    max_cells_for: Callable[[Source], int],
) -> TablePlan:
    """Which table versions, which years, which codes, and the calls - from metadata only (no data calls).

    `metadata_for(source)` returns the source's metadata (on v2 read with the source's Region codelist);
    `max_cells_for(source)` its API's cell limit per call.
    """
    if table.kind != "pxweb":
        raise ValueError(f"{table.name} is not a PxWeb table")
    newest_first = sorted(table.sources, key=lambda s: (s.years_from or 0), reverse=True)
    wanted: dict[Source, list[str]] = {}
    if years is LATEST:
        tried = []
        for s in newest_first:
            avail = available_years(metadata_for(s), s)
            tried.append(f"{s.describe()}: {avail[0] + '..' + avail[-1] if avail else 'none'}")
            if avail:
                wanted[s] = [avail[-1]]
                break
        if not wanted:
            raise YearNotAvailableError(f"table {table.name}: SCB lists no year in any source's range ({'; '.join(tried)})")
    else:
        outside = []
        for y in years:
            covering = [s for s in newest_first if s.covers(int(y[:4]))]
            if covering:
                wanted.setdefault(covering[0], []).append(y)
            else:
                outside.append(y)
        if outside:
            ranges = ", ".join(s.describe() for s in table.sources)
            raise YearNotAvailableError(f"table {table.name}: year(s) {outside} are in no source's range ({ranges})")
        for s, ys in wanted.items():
            avail = available_years(metadata_for(s), s)
            missing = [y for y in ys if y not in avail]
            if missing:
                shown = f"{avail[0]}..{avail[-1]}" if avail else "none"
                raise YearNotAvailableError(
                    f"table {s.id} ({table.name}): SCB has no year {missing} yet for {s.boundary} (it lists {shown})"
                )
    parts = []
    for s in sorted(wanted, key=lambda s: (s.years_from or 0)):
        meta = metadata_for(s)
        query, notes = source_query(table, s, meta, scope, wanted[s])
        the_plan = make_plan(query, meta, max_cells_for(s), trust_codelists=s.api == "v1")
        parts.append(SourcePlan(source=s, metadata=meta, years=wanted[s], query=query, plan=the_plan, notes=notes))
    return TablePlan(table=table, scope=scope, years=years, parts=parts)


def kolada_request(table: LiveTable, scope: Scope, years: tuple[str, ...] | None, this_year: int) -> dict:
    """The Kolada request for a scope: a municipality with its region and Sweden; a county's municipalities,
    region and Sweden (from the every-id form, filtered); or everything. "latest": the last three years, newest kept."""
    latest = years is LATEST
    ys = [str(y) for y in range(this_year - 3, this_year)] if latest else list(years)
    if scope.municipality:
        munis = [scope.municipality, region_id(scope.municipality[:2]), SWEDEN]
        keep = None
    else:
        munis = None
        keep = scope.county
    return {"kpis": [k.id for k in table.kpis], "municipalities": munis, "years": ys, "county": keep, "latest": latest}


# ---------------------------------------------------------------------------------------------- merging


def merge_sources(table: LiveTable, scope: Scope, years: tuple[str, ...] | None, parts: list[tuple[SourcePlan, RawTable]]) -> RawTable:
    """Cells of the table versions side by side, with one provenance naming every source and its stamp."""
    columns = [raw.cells.columns for _, raw in parts]
    if any(c != columns[0] for c in columns[1:]):
        raise LayoutChangedError(
            f"raw table {table.name}: its sources deliver different dimensions "
            + " vs ".join(f"{sp.source.id} {raw.cells.columns}" for sp, raw in parts)
        )
    cells = pl.concat([raw.cells for _, raw in parts], how="vertical") if len(parts) > 1 else parts[0][1].cells
    dims = [c for c in cells.columns if c not in (VALUE, STATUS, BOUNDARY_VERSION)]
    dup = cells.select(dims).is_duplicated()
    if dup.any():
        raise LayoutChangedError(f"raw table {table.name}: the sources overlap in {int(dup.sum())} cell(s)")
    labels: dict[str, dict[str, str]] = {}
    notes: list[str] = []
    sources = []
    for sp, raw in parts:
        prov = raw.provenance
        for dim, lab in prov.dimension_labels.items():
            labels.setdefault(dim, {}).update(lab)
        notes.extend(f"{sp.source.id}: {n}" for n in [*sp.notes, *prov.notes])
        q = prov.query if isinstance(prov.query, dict) else {}
        sources.append(
            {
                "table": sp.source.id,
                "api": sp.source.api,
                "v1_path": sp.source.v1_path,
                "boundary": sp.source.boundary,
                "years": sp.years,
                "updated": prov.updated or sp.metadata.updated,
                "calls": q.get("calls"),
                "lower_bound": sp.plan.lower_bound,
                "url": q.get("url"),
                "body": q.get("body"),
            }
        )
    versions = sorted({v for v in cells[BOUNDARY_VERSION].unique().to_list() if v})
    stamps = [s["updated"] for s in sources if s["updated"]]
    first = parts[0][1].provenance
    prov = Provenance(
        source=first.source if len({raw.provenance.source for _, raw in parts}) == 1 else "scb-pxweb",
        source_table="+".join(dict.fromkeys(s["table"] for s in sources)),
        title=first.title,
        reference_year=reference_period(cells, ["Tid"]),
        boundary_version=",".join(versions),
        updated=max(stamps) if stamps else "",
        fetched_at=now_utc(),
        query={"scope": scope.to_dict(), "years": years_text(years), "sources": sources},
        dimension_labels=labels,
        notes=notes,
    )
    return RawTable(name=table.name, provenance=prov, cells=cells)


# ---------------------------------------------------------------------------------------------- fetching


class VirtualClock:
    """Time that passes only when slept: replays pace and back off without waiting."""

    def __init__(self, start: float = 0.0):
        self.now = start

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


class _CachingPxWebClient(PxWebClient):
    """A PxWebClient that reads each (table, codelists) metadata once: the plan and the fetch share it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._metadata_cache: dict[tuple, TableMetadata] = {}

    def metadata(self, table_id: str, codelists: dict[str, str] | None = None) -> TableMetadata:
        key = (table_id, tuple(sorted((codelists or {}).items())))
        if key not in self._metadata_cache:
            self._metadata_cache[key] = super().metadata(table_id, codelists)
        return self._metadata_cache[key]


@dataclass(frozen=True)
class FetchProgress:
    """What the progress bar shows, over all tables of one run."""

    table: str  # raw table being fetched
    source: str  # SCB table id / Kolada KPIs
    tables_done: int
    tables_total: int
    calls_made: int  # HTTP attempts so far, all clients (metadata, data, retries)
    calls_planned: int  # calls made while planning + data calls planned
    cells_fetched: int
    cells_planned: int
    eta_seconds: float | None


@dataclass
class LandedTable:
    name: str
    path: Path
    rows: int
    calls: int
    lower_bound: int
    source_table: str
    boundary_version: str
    reference_year: str
    updated: str


@dataclass
class FetchReport:
    scope: Scope
    years: tuple[str, ...] | None
    planned: dict[str, TablePlan] = field(default_factory=dict)
    landed: dict[str, LandedTable] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    calls_made: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def not_attempted(self) -> list[str]:
        return [n for n in self.planned if n not in self.landed and n not in self.failed]

    def summary_lines(self) -> list[str]:
        lines = []
        for name, t in self.landed.items():
            lines.append(
                f"  landed  {name:<24} {t.rows:>10,} cells  {t.calls} data call(s) (bound {t.lower_bound})  "
                f"{t.source_table} {t.boundary_version or '-'} {t.reference_year}  -> {t.path}"
            )
        for name, msg in self.failed.items():
            lines.append(f"  FAILED  {name:<24} {msg}")
        for name in self.not_attempted:
            lines.append(f"  not fetched  {name}")
        return lines


class LiveFetcher:
    """Plans and fetches catalogue tables into the raw layer. Use as a context manager (closes the clients)."""

    def __init__(
        self,
        raw_dir: str | Path,
        *,
        work_dir: str | Path | None = None,
        catalogue: dict[str, LiveTable] | None = None,
        scb_v2: str | None = None,
        scb_v1: str | None = None,
        kolada: str | None = None,
        transport: httpx.BaseTransport | None = None,
        record_dir: str | Path | None = None,
        replay_dir: str | Path | None = None,
        progress: Callable[[FetchProgress], None] | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        wallclock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        timeout: float = 60.0,
        max_attempts: int = 6,
    ):
        if record_dir and replay_dir:
            raise ValueError("record or replay, not both")
        self.raw_dir = Path(raw_dir)
        self.work_dir = Path(work_dir) if work_dir else self.raw_dir.parent / "work" / "pxweb"
        self.catalogue = catalogue or load_catalogue()
        self.bases = {"v2": scb_v2 or scb_v2_base(), "v1": scb_v1 or scb_v1_base(), "kolada": kolada or kolada_base()}
        self.record_dir = Path(record_dir) if record_dir else None
        self.replay_dir = Path(replay_dir) if replay_dir else None
        self._transport = transport
        if self.replay_dir and clock is None:
            virtual = VirtualClock()
            clock, sleep = virtual.time, virtual.sleep
        self._clock = clock or time.monotonic
        self._sleep = sleep or time.sleep
        self._wallclock = wallclock
        self._timeout = timeout
        self._max_attempts = max_attempts
        self.progress = progress
        self._clients: dict[str, PxWebClient | KoladaClient] = {}
        self._planning_calls = 0
        self._state: dict = {}

    # -------------------------------------------------------------- clients
    def _make_transport(self) -> httpx.BaseTransport | None:
        if self.replay_dir:
            return ReplayTransport(self.replay_dir)
        if self.record_dir:
            return RecordingTransport(self._transport or httpx.HTTPTransport(), self.record_dir)
        return self._transport

    def client(self, api: str) -> PxWebClient:
        if api not in self._clients:
            self._clients[api] = _CachingPxWebClient(
                self.bases[api], api=api, transport=self._make_transport(), timeout=self._timeout,
                max_attempts=self._max_attempts, clock=self._clock, sleep=self._sleep, wallclock=self._wallclock,
                work_dir=self.work_dir, progress=self._on_progress,
            )
        return self._clients[api]  # type: ignore[return-value]

    def kolada(self) -> KoladaClient:
        if "kolada" not in self._clients:
            self._clients["kolada"] = KoladaClient(
                self.bases["kolada"], transport=self._make_transport(), timeout=self._timeout,
                max_attempts=self._max_attempts, clock=self._clock, sleep=self._sleep, wallclock=self._wallclock,
                progress=self._on_progress,
            )
        return self._clients["kolada"]  # type: ignore[return-value]

    def calls_made(self) -> int:
        return sum(c.attempts for c in self._clients.values())

    def close(self) -> None:
        for c in self._clients.values():
            c.close()
        self._clients.clear()

    def __enter__(self) -> LiveFetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -------------------------------------------------------------- progress
    def _on_progress(self, p: Progress) -> None:
        st = self._state
        if not st or self.progress is None:
            return
        done_before = st["cells_done_before"]
        chunks_left = st["chunks_total"] - st["chunks_done_before"] - p.chunks_done
        eta = None
        elapsed = self._clock() - st["started"]
        chunks_fetched = st["chunks_done_before"] + p.chunks_done - p.resumed_chunks
        if chunks_fetched > 0:
            per_call = elapsed / chunks_fetched
            client = self._clients.get(st.get("api", ""))
            limiter = client.limiter if client is not None else None
            eta = limiter.estimate(max(chunks_left, 0), per_call) if limiter else chunks_left * per_call
        self.progress(
            FetchProgress(
                table=st["table"], source=st["source"], tables_done=st["tables_done"], tables_total=st["tables_total"],
                calls_made=self.calls_made(),
                calls_planned=self._planning_calls + st["chunks_total"] + max(0, p.chunks_total - 1) * (st["api"] == "kolada"),
                cells_fetched=done_before + p.cells_fetched,
                # Kolada's row count is known only as its pages arrive
                cells_planned=st["cells_total"] + (p.cells_total if st["api"] == "kolada" else 0), eta_seconds=eta,
            )
        )

    # -------------------------------------------------------------- plan
    def _metadata_for(self, source: Source) -> TableMetadata:
        client = self.client(source.api)
        codelists = {"Region": source.region_codelist} if source.region_codelist else None
        return client.metadata(source.id, codelists)

    def _max_cells_for(self, source: Source) -> int:
        return self.client(source.api).limits().max_cells

    def plan_table(self, name: str, scope: Scope, years: tuple[str, ...] | None) -> TablePlan:
        if name not in self.catalogue:
            raise KeyError(f"no live table {name!r}; known: {', '.join(self.catalogue)}")
        table = self.catalogue[name]
        if table.kind == "kolada":
            request = kolada_request(table, scope, years, self._wallclock().year)
            kolada = self.kolada()
            for k in table.kpis:  # read and check every KPI's title before any data call
                kolada.verify_kpi(k.id, k.title)
            return TablePlan(table=table, scope=scope, years=years, kolada=request)
        return plan_live_table(table, scope, years, self._metadata_for, self._max_cells_for)

    # -------------------------------------------------------------- fetch
    def _fetch_pxweb(self, tp: TablePlan) -> RawTable:
        parts = []
        for sp in tp.parts:
            client = self.client(sp.source.api)
            self._state.update(api=sp.source.api, source=sp.source.id)
            raw = client.fetch(sp.query, name=tp.table.name)
            self._state["chunks_done_before"] += sp.plan.calls
            self._state["cells_done_before"] += sp.plan.cells
            parts.append((sp, raw))
        return merge_sources(tp.table, tp.scope, tp.years, parts)

    def _fetch_kolada(self, tp: TablePlan) -> RawTable:
        k = tp.kolada or {}
        county = k.get("county")
        keep = None
        if county:
            keep = lambda i: i.startswith(county) or i in (region_id(county), SWEDEN)  # noqa: E731
        self._state.update(api="kolada", source="Kolada " + ",".join(k["kpis"]))
        titles = {kp.id: kp.title for kp in tp.table.kpis}
        raw = self.kolada().fetch(
            k["kpis"], municipalities=k["municipalities"], years=k["years"], keep=keep, latest=k["latest"],
            titles=titles, name=tp.table.name,
        )
        query = {**(raw.provenance.query or {}), "scope": tp.scope.to_dict(), "years": years_text(tp.years)}
        raw.provenance = dataclasses.replace(raw.provenance, query=query)
        self._state["chunks_done_before"] += 1
        self._state["cells_done_before"] += raw.cells.height
        self._state["cells_total"] += raw.cells.height
        return raw

    def run(
        self, names: Iterable[str], scope: Scope, years: tuple[str, ...] | None, *, dry_run: bool = False,
        report: FetchReport | None = None,
    ) -> FetchReport:
        """Plan every table (metadata only), then fetch and land them one by one. Never raises for one table's
        failure: it is recorded in the report and the other tables still land. Pass `report` to keep what
        landed when interrupted (KeyboardInterrupt propagates)."""
        started = time.perf_counter()
        report = report or FetchReport(scope=scope, years=years)
        names = list(dict.fromkeys(names))
        for name in names:
            try:
                report.planned[name] = self.plan_table(name, scope, years)
            except (PxWebError, httpx.HTTPError, ValueError, KeyError, OSError) as exc:
                report.failed[name] = _message(exc)
        self._planning_calls = self.calls_made()
        if dry_run:
            report.calls_made = self.calls_made()
            report.seconds = time.perf_counter() - started
            return report
        todo = [n for n in names if n in report.planned]
        self._state = {
            "table": "", "source": "", "api": "", "tables_done": 0, "tables_total": len(todo),
            "chunks_total": sum(report.planned[n].calls for n in todo), "chunks_done_before": 0,
            "cells_total": sum(report.planned[n].cells for n in todo), "cells_done_before": 0,
            "started": self._clock(),
        }
        try:
            for name in todo:
                tp = report.planned[name]
                self._state.update(table=name)
                try:
                    raw = self._fetch_kolada(tp) if tp.kolada is not None else self._fetch_pxweb(tp)
                    path = write_raw_table(self.raw_dir, raw)
                except (PxWebError, httpx.HTTPError, ValueError, OSError) as exc:
                    report.failed[name] = _message(exc)
                    log.error("live table %s failed: %s", name, report.failed[name])
                    continue
                finally:
                    self._state["tables_done"] += 1
                prov = raw.provenance
                calls = sum(s.get("calls") or 0 for s in (prov.query or {}).get("sources", [])) or (prov.query or {}).get("calls", 0)
                report.landed[name] = LandedTable(
                    name=name, path=path, rows=raw.cells.height, calls=int(calls or 0), lower_bound=tp.lower_bound,
                    source_table=prov.source_table, boundary_version=prov.boundary_version,
                    reference_year=prov.reference_year, updated=prov.updated,
                )
        finally:
            report.calls_made = self.calls_made()
            report.seconds = time.perf_counter() - started
            self._state = {}
        return report


def _message(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, PxWebError) else f"{type(exc).__name__}: {text}"


def fetch_live(
    raw_dir: str | Path,
    tables: Iterable[str] | None = None,
    *,
    scope: Scope | None = None,
    years: tuple[str, ...] | None = LATEST,
    **fetcher_kwargs,
) -> FetchReport:
    """One call: plan, fetch and land `tables` (default: every table of the catalogue)."""
    with LiveFetcher(raw_dir, **fetcher_kwargs) as fetcher:
        names = list(tables) if tables else list(fetcher.catalogue)
        return fetcher.run(names, scope or Scope(), years)


__all__ = [
    "AmbiguousLabelError",
    "CATALOGUE_FILE",
    "ENV_SCB_API",
    "ENV_SCB_API_V1",
    "FetchProgress",
    "FetchReport",
    "KoladaKpi",
    "LATEST",
    "LabelNotFoundError",
    "LandedTable",
    "LiveCatalogueError",
    "LiveFetcher",
    "LiveTable",
    "NoRegionsError",
    "Scope",
    "Source",
    "SourcePlan",
    "TablePlan",
    "ValueSpec",
    "VirtualClock",
    "YearNotAvailableError",
    "available_years",
    "fetch_live",
    "kolada_request",
    "load_catalogue",
    "merge_sources",
    "parse_years",
    "plan_live_table",
    "region_codes",
    "resolve_values",
    "scb_v1_base",
    "scb_v2_base",
    "source_query",
    "years_text",
]
