"""`PxWebClient`: SCB's PxWeb API v2 (and v1), paced, retried, validated and resumable.

    from pipelines.sources.pxweb import PxWebClient, Query
    with PxWebClient() as scb:                       # https://statistikdatabasen.scb.se/api/v2
        table = scb.fetch(Query.of("TAB6574", {
            "Region": ["0581*"], "Alder": ["totalt", "65-69"], "Kon": ["1+2"],
            "ContentsCode": ["000007Y7"], "Tid": ["2024"]}, codelists={"Region": "vs_DeSO2025"}),
            name="population_age")
    write_raw_table(Path("data/raw"), table)

What `fetch` does: reads the limits (`/config` on v2; SCB's published 10 calls / 10 s and 100,000 cells on
v1), fetches the metadata (with the query's codelists), expands and plans the query into the fewest calls
under the cell limit (`planning.plan`), and sends the chunks through a sliding-window limiter. Each
attempt is retried on 429/500/502/503/504, timeouts, connection errors and truncated bodies with
exponential backoff (honouring `Retry-After`, seconds or an HTTP date) up to `max_attempts`; 400/403/404
raise at once with SCB's message. Every response is validated against the request (requested codes
present, dimensions as in the metadata) and stored in a per-fetch work directory, so a rerun after an
interruption fetches only the missing chunks. When all chunks are in, they are merged into one RawTable.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal, TypeVar

import httpx
import tenacity

from pipelines.raw import RawTable, now_utc

from .errors import (
    FetchGaveUpError,
    FormatError,
    LayoutChangedError,
    PxWebHTTPError,
    ResponseValidationError,
    RetryableHTTPError,
    TruncatedResponseError,
    VanishedCodeError,
)
from .jsonstat import loads, parse_jsonstat2
from .limiter import SlidingWindowLimiter
from .metadata import TableMetadata, parse_metadata
from .parsed import Parsed, default_name, to_raw_table
from .planning import Plan, plan
from .query import Query
from .workdir import ChunkStore, merge_parsed

log = logging.getLogger(__name__)

SCB_V2 = "https://statistikdatabasen.scb.se/api/v2"
SCB_V1 = "https://api.scb.se/OV0104/v1/doris/sv/ssd"
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
DEFAULT_WORK_DIR = Path("data/work/pxweb")
T = TypeVar("T")


@dataclass(frozen=True)
class Limits:
    max_cells: int
    max_calls: int
    window: float  # seconds


# SCB's open-data page: "maximalt tio anrop per tio sekunder ... som mest hämta 100 000 värden per tabell".
V1_LIMITS = Limits(max_cells=100_000, max_calls=10, window=10.0)


@dataclass(frozen=True)
class Progress:
    table: str
    calls_made: int  # HTTP attempts so far (metadata, retries included)
    chunks_done: int
    chunks_total: int
    cells_fetched: int
    cells_total: int
    planned_calls: int
    lower_bound: int
    eta_seconds: float | None  # None until there is something to estimate from
    resumed_chunks: int = 0


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: an integer of seconds or an HTTP date (relative to `now`)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())


def scb_message(response: httpx.Response) -> str:
    """SCB's own error text: problem+json title/detail on v2, plain text/HTML on v1."""
    try:
        doc = response.json()
    except (ValueError, UnicodeDecodeError):
        doc = None
    if isinstance(doc, dict):
        parts = [str(doc[k]) for k in ("title", "detail", "message", "error", "errors") if doc.get(k)]
        if parts:
            return " - ".join(parts)[:500]
    text = response.text.strip() if response.content else ""
    return " ".join(text.split())[:500] or response.reason_phrase


class PxWebClient:
    def __init__(
        self,
        base_url: str = SCB_V2,
        *,
        api: Literal["v1", "v2"] | None = None,
        lang: str = "sv",
        transport: httpx.BaseTransport | None = None,
        timeout: float = 60.0,
        max_attempts: int = 6,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        max_retry_after: float = 300.0,
        limits: Limits | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        wallclock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        work_dir: str | Path = DEFAULT_WORK_DIR,
        progress: Callable[[Progress], None] | None = None,
        rng: random.Random | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.api = api or ("v1" if "/v1/" in self.base_url + "/" else "v2")
        self.lang = lang
        self.max_attempts = max_attempts
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.max_retry_after = max_retry_after
        self.work_dir = Path(work_dir)
        self.progress = progress
        self._clock = clock
        self._sleep = sleep
        self._wallclock = wallclock
        self._rng = rng or random.Random()
        self._limits = limits or (V1_LIMITS if self.api == "v1" else None)
        boot = self._limits or V1_LIMITS  # conservative until /config has been read
        self.limiter = SlidingWindowLimiter(boot.max_calls, boot.window, clock=clock, sleep=sleep)
        self._http = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(timeout),
            headers={"User-Agent": "grannskap-pxweb/0.1", "Accept": "application/json, text/csv;q=0.5"},
            follow_redirects=True,
        )
        self.attempts = 0  # HTTP attempts made (all endpoints)
        self.sleeps: list[float] = []  # backoff sleeps taken (not limiter waits)

    # ------------------------------------------------------------------ plumbing
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PxWebClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def _send(self, method: str, url: str, params: dict | None, body: dict | None) -> httpx.Response:
        with self.limiter.slot():
            self.attempts += 1
            response = self._http.request(method, url, params=params, json=body)
            response.read()
        status = response.status_code
        if status in RETRYABLE_STATUS:
            retry_after = parse_retry_after(response.headers.get("Retry-After"), self._wallclock())
            raise RetryableHTTPError(
                f"HTTP {status} from {method} {url}: {scb_message(response)}", status=status, retry_after=retry_after
            )
        if status >= 400:
            msg = scb_message(response)
            hint = ""
            if status == 403 and self.api == "v1":
                hint = " (SCB v1 answers 403 when a query asks for more than 100,000 cells or calls come too fast)"
            raise PxWebHTTPError(
                f"HTTP {status} from {method} {url}: {msg}{hint}", status=status, url=url, scb_message=msg
            )
        return response

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetryableHTTPError) and exc.retry_after is not None:
            delay = exc.retry_after
        else:
            base = min(self.backoff_max, self.backoff_initial * 2 ** (state.attempt_number - 1))
            delay = base * (0.5 + 0.5 * self._rng.random())  # jitter: spread retries of parallel clients
            if isinstance(exc, RetryableHTTPError) and exc.status == 429:
                delay = max(delay, self.limiter.window / max(self.limiter.max_calls, 1))
        return delay

    def _backoff_sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self._sleep(seconds)

    def _stop(self, state: tenacity.RetryCallState) -> bool:
        if state.attempt_number >= self.max_attempts:
            return True
        exc = state.outcome.exception() if state.outcome else None
        return isinstance(exc, RetryableHTTPError) and (exc.retry_after or 0) > self.max_retry_after

    @staticmethod
    def _retryable(exc: BaseException) -> bool:
        retryable = (RetryableHTTPError, TruncatedResponseError, httpx.TimeoutException, httpx.TransportError)
        return isinstance(exc, retryable)

    def _call(
        self,
        method: str,
        url: str,
        *,
        parse: Callable[[bytes], T],
        params: dict | None = None,
        body: dict | None = None,
        table: str = "",
        what: str = "",
    ) -> T:
        """One logical call: send + parse, retried as a unit; gives up with a message naming table and chunk."""
        attempts = 0

        def attempt() -> T:
            nonlocal attempts
            attempts += 1
            response = self._send(method, url, params, body)
            return parse(response.content)

        retrying = tenacity.Retrying(
            stop=self._stop,
            wait=self._wait,
            retry=tenacity.retry_if_exception(self._retryable),
            sleep=self._backoff_sleep,
            reraise=True,
            before_sleep=lambda s: log.warning(
                "table %s %s: attempt %d failed (%s); retrying", table, what, s.attempt_number, s.outcome.exception()
            ),
        )
        try:
            return retrying(attempt)
        except Exception as exc:
            if not self._retryable(exc):
                raise
            raise FetchGaveUpError(
                f"table {table}: gave up on {what or url} after {attempts} attempt(s): "
                f"{type(exc).__name__}: {exc}",
                table=table,
                chunk=what,
                attempts=attempts,
                last_error=exc,
            ) from exc

    def _get_json(self, path: str, params: dict | None, table: str, what: str) -> dict:
        url = self._url(path)
        return self._call("GET", url, params=params, parse=lambda b: loads(b, what=what), table=table, what=what)

    # ------------------------------------------------------------------ endpoints
    def config(self) -> dict:
        if self.api == "v1":
            return {}
        return self._get_json("config", None, "", "/config")

    def limits(self) -> Limits:
        if self._limits is None:
            cfg = self.config()
            try:
                self._limits = Limits(
                    max_cells=int(cfg["maxDataCells"]),
                    max_calls=int(cfg["maxCallsPerTimeWindow"]),
                    window=float(cfg["timeWindow"]),
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise FormatError(f"/config lacks maxDataCells/maxCallsPerTimeWindow/timeWindow: {exc}") from exc
        self.limiter.max_calls = self._limits.max_calls
        self.limiter.window = self._limits.window
        return self._limits

    def table(self, table_id: str) -> dict:
        if self.api == "v1":
            raise NotImplementedError("v1 has no table description endpoint; use metadata()")
        return self._get_json(f"tables/{table_id}", {"lang": self.lang}, table_id, f"/tables/{table_id}")

    def codelist(self, codelist_id: str) -> dict:
        if self.api == "v1":
            raise NotImplementedError("v1 has no codelist endpoint")
        return self._get_json(f"codelists/{codelist_id}", {"lang": self.lang}, "", f"/codelists/{codelist_id}")

    def metadata(self, table_id: str, codelists: dict[str, str] | None = None) -> TableMetadata:
        what = f"metadata of {table_id}"
        if self.api == "v1":
            doc = self._get_json(table_id, None, table_id, what)
        else:
            params = {"lang": self.lang, **{f"codelist[{k}]": v for k, v in (codelists or {}).items()}}
            doc = self._get_json(f"tables/{table_id}/metadata", params, table_id, what)
        return parse_metadata(doc, table_id)

    def data_request(self, chunk: Query) -> tuple[str, dict | None, dict]:
        """(url, query-string params, body) of one data call."""
        if self.api == "v1":
            return self._url(chunk.table), None, chunk.to_v1_body("json-stat2")
        return (
            self._url(f"tables/{chunk.table}/data"),
            {"outputFormat": "json-stat2", "lang": self.lang},
            chunk.to_v2_body(),
        )

    # ------------------------------------------------------------------ planning and fetching
    def plan(self, query: Query, metadata: TableMetadata | None = None) -> Plan:
        metadata = metadata or self.metadata(query.table, query.codelists())
        return plan(query, metadata, self.limits().max_cells, trust_codelists=self.api == "v1")

    def fetch_chunk(self, chunk: Query, metadata: TableMetadata, *, label: str = "") -> Parsed:
        what = f"chunk {label} ({chunk.describe()})".replace("chunk  (", "chunk (")
        url, params, body = self.data_request(chunk)
        parsed = self._call(
            "POST",
            url,
            params=params,
            body=body,
            parse=lambda b: parse_jsonstat2(b, codelists=chunk.codelists(), what=f"table {chunk.table} {what}"),
            table=chunk.table,
            what=what,
        )
        validate_response(parsed, chunk, metadata, what=what)
        return parsed

    def fetch_key(self, query: Query) -> str:
        """The work directory's key: sha256 of api, language, table and query."""
        blob = json.dumps({"api": self.api, "lang": self.lang, **query.canonical()}, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def fetch(
        self,
        query: Query | dict,
        *,
        table: str | None = None,
        name: str | None = None,
        resume: bool = True,
        keep_work: bool = False,
        progress: Callable[[Progress], None] | None = None,
    ) -> RawTable:
        """Fetch a whole query (any size) into one RawTable. See the module docstring."""
        if isinstance(query, dict):
            if not table:
                raise ValueError("fetch(dict) needs table=")
            query = Query.from_body(table, query)
        progress = progress or self.progress
        meta = self.metadata(query.table, query.codelists())
        the_plan = self.plan(query, meta)
        log.info(the_plan.describe())
        store = ChunkStore(self.work_dir, query.table, self.fetch_key(query))
        fingerprint = {"dimensions": meta.codes, "updated": meta.updated}
        previous = store.read_json("table.json")
        if not resume:
            store.clear_chunks()
        elif previous is not None and previous != fingerprint:
            log.warning(
                "table %s changed since the interrupted fetch (%s -> %s): discarding its chunks",
                query.table, previous, fingerprint,
            )
            store.clear_chunks()
        store.write_json("table.json", fingerprint)
        store.write_json(
            "plan.json",
            {
                "table": query.table,
                "api": self.api,
                "query": query.canonical(),
                "cells": the_plan.cells,
                "max_cells": the_plan.max_cells,
                "calls": the_plan.calls,
                "lower_bound": the_plan.lower_bound,
                "pieces": the_plan.pieces,
                "chunks": [c.describe() for c in the_plan.chunks],
            },
        )

        total = the_plan.calls
        done = resumed = fetched_cells = 0
        started = self._clock()
        fetched_now = 0

        def report() -> None:
            if not progress:
                return
            eta = None
            remaining = total - done
            if fetched_now:
                per_call = (self._clock() - started) / fetched_now
                eta = self.limiter.estimate(remaining, per_call)
            elif remaining == 0:
                eta = 0.0
            progress(
                Progress(
                    table=query.table,
                    calls_made=self.attempts,
                    chunks_done=done,
                    chunks_total=total,
                    cells_fetched=fetched_cells,
                    cells_total=the_plan.cells,
                    planned_calls=total,
                    lower_bound=the_plan.lower_bound,
                    eta_seconds=eta,
                    resumed_chunks=resumed,
                )
            )

        for i, chunk in enumerate(the_plan.chunks):
            key = chunk.key()
            if resume and store.has(key):
                done += 1
                resumed += 1
                fetched_cells += chunk.cells()
                continue
            report()
            parsed = self.fetch_chunk(chunk, meta, label=f"{i + 1}/{total}")
            store.save(key, parsed)
            done += 1
            fetched_now += 1
            fetched_cells += chunk.cells()
        report()

        parts = [store.load(c.key()) for c in the_plan.chunks]
        stamps = sorted({p.updated for p in parts if p.updated})
        if len(stamps) > 1:
            raise ResponseValidationError(
                f"table {query.table}: SCB updated the table during the fetch (stamps {stamps}); "
                f"fetch again with resume=False (work dir {store.dir})"
            )
        merged = merge_parsed(parts)
        if not merged.table_id:
            merged.table_id = query.table
        url, params, _ = self.data_request(the_plan.chunks[0])
        notes = [the_plan.describe()]
        if resumed:
            notes.append(f"resumed: {resumed} of {total} chunk(s) came from an interrupted earlier run")
        raw = to_raw_table(
            merged,
            name=name or default_name(query.table),
            source=f"scb-pxweb-{self.api}",
            query={
                "api": self.api,
                "url": str(httpx.URL(url, params=params)) if params else url,
                "body": query.to_v1_body() if self.api == "v1" else query.to_v2_body(),
                "calls": total,
            },
            codelists=query.codelists(),
            source_table=query.table,
            fetched_at=now_utc(),
            extra_notes=notes,
        )
        if not keep_work:
            store.remove()
        return raw


def validate_response(parsed: Parsed, chunk: Query, metadata: TableMetadata, *, what: str = "") -> None:
    """The response must have the metadata's dimensions and every requested code. Raises naming table and chunk."""
    table = chunk.table
    where = f"table {table} {what}".strip()
    meta_dims = metadata.codes
    extra = [d for d in parsed.dims if d not in meta_dims]
    if extra:
        raise LayoutChangedError(
            f"{where}: the response has dimension(s) {extra} that the metadata does not "
            f"(metadata {meta_dims}, response {parsed.dims}): the table's layout changed"
        )
    missing_dims = [s.code for s in chunk.selections if s.code not in parsed.dims]
    if missing_dims:
        raise LayoutChangedError(
            f"{where}: requested dimension(s) {missing_dims} are not in the response "
            f"(response {parsed.dims}, metadata {meta_dims}): the table's layout changed"
        )
    for sel in chunk.selections:
        got = parsed.categories.get(sel.code, [])
        got_set = set(got)
        vanished = [c for c in sel.values if c not in got_set]
        if vanished:
            raise VanishedCodeError(
                f"{where}: {len(vanished)} requested code(s) of {sel.code} are missing from the response: "
                f"{vanished[:10]}{' ...' if len(vanished) > 10 else ''}"
            )
        unexpected = [c for c in got if c not in set(sel.values)]
        if unexpected:
            raise ResponseValidationError(
                f"{where}: the response has code(s) of {sel.code} that were not requested: {unexpected[:10]}"
            )
    unselected = [d for d in parsed.dims if chunk.selection(d) is None]
    expected = math.prod(len(s.values) for s in chunk.selections)
    if parsed.cells.height != expected * math.prod(len(parsed.categories.get(d, [1])) for d in unselected):
        raise ResponseValidationError(f"{where}: {parsed.cells.height} cells, expected {expected}")


__all__ = [
    "Limits",
    "Progress",
    "PxWebClient",
    "SCB_V1",
    "SCB_V2",
    "V1_LIMITS",
    "parse_retry_after",
    "validate_response",
]
