"""PxWebClient against recorded real responses (replay) and a local fake SCB on 127.0.0.1 (never the internet).

The fake server answers v2 and v1 data queries by slicing the real Norrköping RegSO 2024 cells (from the real
v1 response in fixtures/pxweb/real/) into JSON-stat2, and can be scripted to misbehave: 429 with or without
Retry-After, 500/503, slow answers (client timeouts), connections dropped mid-body, truncated JSON, codes
that vanish, a renamed dimension, a strict rate window. All loops are bounded; backoff and limiter waits use
a fake clock unless a test says otherwise.
"""

from __future__ import annotations

import email.utils
import itertools
import json
import random
import threading
import time
from collections import deque
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import polars as pl
import pytest

from pipelines.raw import validate_shape
from pipelines.sources.pxweb import (
    EmptySelectionError,
    FetchGaveUpError,
    LayoutChangedError,
    Limits,
    PxWebClient,
    PxWebHTTPError,
    Query,
    RecordingTransport,
    ReplayMissError,
    ReplayTransport,
    VanishedCodeError,
    parse_retry_after,
    write_recording,
)

FIX = Path(__file__).parent / "fixtures" / "pxweb"
REAL = FIX / "real"
V1_PATH = "BE/BE0101/BE0101Y/FolkmDesoAldKon"
V2_META = json.loads((FIX / "constructed" / "v2_TAB6574_metadata_norrkoping_regso2025.json").read_text(encoding="utf-8"))
V1_META = json.loads((FIX / "constructed" / "v1_FolkmDesoAldKon_metadata_norrkoping.json").read_text(encoding="utf-8"))
CONFIG = json.loads((REAL / "scb_v2_config.json").read_text(encoding="utf-8"))
_v1 = json.loads((REAL / "scb_v1_FolkmDesoAldKon_norrkoping_regso2025_2024.json").read_text(encoding="utf-8"))
CELLS = {tuple(r["key"][:3]): float(r["values"][0]) for r in _v1["data"]}  # (Region, Alder, Kon) -> value, 2024
DIMS = V2_META["id"]
DIM_CODES = {d: list(V2_META["dimension"][d]["category"]["index"]) for d in DIMS}
ELIMINATED = {"Alder": "totalt", "Kon": "1+2"}


class FakeClock:
    def __init__(self):
        self.now = 1000.0
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, d: float) -> None:
        self.slept.append(d)
        self.now += max(d, 0)


# ---------------------------------------------------------------- the fake SCB


def jsonstat_for(selection: dict[str, list[str]], *, drop=frozenset(), rename=None) -> dict:
    """A JSON-stat2 answer for a selection, from the real Norrköping cells (metadata order, like SCB)."""
    rename = rename or {}
    ids = [d for d in DIMS if d in selection]
    cats = {d: [c for c in DIM_CODES[d] if c in set(selection[d]) and c not in drop] for d in ids}
    values, status = [], {}
    for i, combo in enumerate(itertools.product(*(cats[d] for d in ids))):
        cell = dict(zip(ids, combo))
        key = (cell["Region"], cell.get("Alder", ELIMINATED["Alder"]), cell.get("Kon", ELIMINATED["Kon"]))
        v = CELLS.get(key) if cell.get("Tid", "2024") == "2024" else None
        values.append(None if v is None else int(v))
        if v is None:
            status[str(i)] = ".."
    return {
        "version": "2.0",
        "class": "dataset",
        "label": "Folkmängden per region efter region, ålder, kön och år",
        "source": "SCB",
        "updated": "2025-05-09T06:00:00Z",
        "role": {"time": ["Tid"], "metric": ["ContentsCode"]},
        "id": [rename.get(d, d) for d in ids],
        "size": [len(cats[d]) for d in ids],
        "dimension": {
            rename.get(d, d): {
                "label": V2_META["dimension"][d]["label"],
                "category": {
                    "index": {c: k for k, c in enumerate(cats[d])},
                    "label": {c: V2_META["dimension"][d]["category"]["label"][c] for c in cats[d]},
                },
            }
            for d in ids
        },
        "extension": {"px": {"tableid": "TAB6574"}},
        "value": values,
        "status": status,
    }


class FakeSCB:
    """v2 at /api/v2, v1 at /OV0104/v1/doris/sv/ssd/<path>. `script` holds actions for data calls (POST)."""

    def __init__(self, *, config: dict | None = None, strict_window: tuple[int, float] | None = None):
        self.config = {**CONFIG, **(config or {})}
        self.script: deque = deque()
        self.get_script: deque = deque()
        self.log: list[tuple[str, str, dict, object]] = []
        self.arrivals: list[float] = []
        self.drop: frozenset = frozenset()
        self.rename: dict = {}
        self.fail_after: int | None = None
        self.data_ok = 0
        self.strict_window = strict_window
        self.too_many = 0
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                fake.handle(self, "GET")

            def do_POST(self):
                fake.handle(self, "POST")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()
        self.root = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.v2 = f"{self.root}/api/v2"
        self.v1 = f"{self.root}/OV0104/v1/doris/sv/ssd"

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def data_calls(self) -> int:
        return sum(1 for m, *_ in self.log if m == "POST")

    # -- behaviour
    def handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        try:
            self._handle(h, method)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _send(self, h, status: int, body: bytes, headers: dict | None = None, *, length: int | None = None):
        h.send_response(status)
        h.send_header("Content-Type", "application/json; charset=utf-8")
        h.send_header("Content-Length", str(len(body) if length is None else length))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)
        h.wfile.flush()

    def _handle(self, h, method):
        parts = urlsplit(h.path)
        raw = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        body = json.loads(raw) if raw else None
        with self._lock:
            self.log.append((method, parts.path, parse_qs(parts.query), body))
            now = time.monotonic()
            self.arrivals.append(now)
            if self.strict_window:
                n, window = self.strict_window
                if sum(1 for a in self.arrivals if a > now - window) > n:
                    self.too_many += 1
                    return self._send(h, 429, b'{"title":"Too Many Requests"}')
            script = self.script if method == "POST" else self.get_script
            action = script.popleft() if script else ("ok",)
            if method == "POST" and action == ("ok",) and self.fail_after is not None and self.data_ok >= self.fail_after:
                action = ("status", 503, {})
        kind = action[0]
        if kind == "status":
            status, headers = action[1], action[2] if len(action) > 2 else {}
            msg = action[3] if len(action) > 3 else {"title": f"status {status}"}
            return self._send(h, status, json.dumps(msg).encode(), headers)
        if kind == "slow":
            time.sleep(action[1])
        payload = self.answer(method, parts.path, parse_qs(parts.query), body)
        if payload is None:
            return self._send(h, 404, b'{"title":"Not Found","detail":"No such table"}')
        if kind == "drop":  # promise the whole body, send half, close
            return self._send(h, 200, payload[: len(payload) // 2], length=len(payload))
        if kind == "truncate":  # a complete HTTP response whose JSON is cut off
            return self._send(h, 200, payload[: len(payload) * 2 // 3])
        if method == "POST":
            with self._lock:
                self.data_ok += 1
        return self._send(h, 200, payload)

    def answer(self, method, path, query, body) -> bytes | None:
        if path == "/api/v2/config":
            return json.dumps(self.config).encode()
        if path == "/api/v2/tables/TAB6574/metadata":
            return json.dumps(V2_META, ensure_ascii=False).encode()
        if path == "/api/v2/tables/TAB6574/data" and method == "POST":
            assert query["outputFormat"] == ["json-stat2"] and query["lang"] == ["sv"]
            sel = {s["variableCode"]: s["valueCodes"] for s in body["selection"]}
            return json.dumps(jsonstat_for(sel, drop=self.drop, rename=self.rename), ensure_ascii=False).encode()
        if path == f"/OV0104/v1/doris/sv/ssd/{V1_PATH}":
            if method == "GET":
                return json.dumps(V1_META, ensure_ascii=False).encode()
            assert body["response"] == {"format": "json-stat2"}
            sel = {q["code"]: q["selection"]["values"] for q in body["query"]}
            return json.dumps(jsonstat_for(sel), ensure_ascii=False).encode()
        return None


@pytest.fixture
def fake():
    server = FakeSCB()
    yield server
    server.stop()


def client_for(base: str, tmp_path: Path, **kw) -> tuple[PxWebClient, FakeClock]:
    clock = FakeClock()
    kw.setdefault("timeout", 5.0)
    kw.setdefault("max_attempts", 4)
    c = PxWebClient(base, work_dir=tmp_path / "work", clock=clock.time, sleep=clock.sleep, rng=random.Random(0), **kw)
    return c, clock


ALL_2024 = Query.of(
    "TAB6574",
    {"Region": ["*"], "Alder": ["*"], "Kon": ["*"], "ContentsCode": ["000007Y7"], "Tid": ["2024"]},
    codelists={"Region": "vs_RegSO2025"},
)
ONE = Query.of(
    "TAB6574",
    {"Region": ["0581R037_RegSO2025"], "Alder": ["totalt"], "Kon": ["1+2"], "ContentsCode": ["000007Y7"], "Tid": ["2024"]},
    codelists={"Region": "vs_RegSO2025"},
)


def real_long() -> pl.DataFrame:
    rows = [(r.split("_")[0], a, k, v) for (r, a, k), v in CELLS.items()]
    return pl.DataFrame(rows, schema=["Region", "Alder", "Kon", "value"], orient="row").sort("Region", "Alder", "Kon")


# ---------------------------------------------------------------- replay of real responses


def test_replay_real_tab5974(tmp_path):
    tape = tmp_path / "tape"
    base = "https://statistikdatabasen.scb.se/api/v2"
    write_recording(tape, method="GET", url=f"{base}/config", status=200, content=(REAL / "scb_v2_config.json").read_bytes())
    write_recording(
        tape, method="GET", url=f"{base}/tables/TAB5974/metadata?lang=sv", status=200,
        content=(REAL / "scb_v2_TAB5974_metadata.json").read_bytes(),
    )
    query = Query.of("TAB5974", {"InrikesUtrikes": ["83"], "Alder": ["0"], "Kon": ["1", "2"], "ContentsCode": ["000005NO"], "Tid": ["2026"]})
    write_recording(
        tape, method="POST", url=f"{base}/tables/TAB5974/data?outputFormat=json-stat2&lang=sv", status=200,
        request_body=json.dumps(query.to_v2_body()).encode(), content=(REAL / "scb_v2_TAB5974_data_jsonstat2.json").read_bytes(),
    )
    replay = ReplayTransport(tape)
    with PxWebClient(base, transport=replay, work_dir=tmp_path / "work") as scb:
        assert scb.limits() == Limits(150_000, 30, 10.0)
        table = scb.fetch(query, name="projection")
    validate_shape(table)
    assert table.cells.sort("Kon")["value"].to_list() == [50080.0, 47361.0]
    assert table.provenance.source == "scb-pxweb-v2" and table.provenance.source_table == "TAB5974"
    assert table.provenance.query["url"].endswith("/tables/TAB5974/data?outputFormat=json-stat2&lang=sv")
    assert table.provenance.query["body"] == query.to_v2_body()
    assert table.provenance.dimension_labels["Kon"] == {"1": "män", "2": "kvinnor"}
    assert [m for m, _ in replay.requests] == ["GET", "GET", "POST"]
    assert not (tmp_path / "work").exists() or not any((tmp_path / "work").iterdir())
    # a request that was not recorded is a clear error, not a network call
    other = Query.of("TAB5974", {"InrikesUtrikes": ["13"], "Alder": ["0"], "Kon": ["1"], "ContentsCode": ["000005NO"], "Tid": ["2026"]})
    with PxWebClient(base, transport=ReplayTransport(tape), work_dir=tmp_path / "work") as scb:
        with pytest.raises(ReplayMissError, match="tables/TAB5974/data"):
            scb.fetch(other)


def test_record_against_fake_then_replay_offline(fake, tmp_path):
    tape = tmp_path / "tape"
    recorder = RecordingTransport(httpx.HTTPTransport(), tape)
    c, _ = client_for(fake.v2, tmp_path, transport=recorder)
    live = c.fetch(ALL_2024)
    offline, _ = client_for("http://offline.invalid/api/v2", tmp_path, transport=ReplayTransport(tape))
    again = offline.fetch(ALL_2024)
    assert again.cells.equals(live.cells)
    assert len(list(tape.glob("*.json"))) == 3  # config, metadata, data


# ---------------------------------------------------------------- splitting, pacing, progress


def test_over_limit_query_is_split_and_merged(tmp_path):
    fake = FakeSCB(config={"maxDataCells": 500})
    try:
        seen = []
        c, _ = client_for(fake.v2, tmp_path, progress=seen.append)
        the_plan = c.plan(ALL_2024)
        assert (the_plan.cells, the_plan.lower_bound, the_plan.calls) == (2160, 5, 5)
        table = c.fetch(ALL_2024, name="population_age")
    finally:
        fake.stop()
    assert fake.data_calls() == 5
    validate_shape(table)
    c_ = table.cells
    assert c_.height == 2160 and c_.select(pl.struct("Region", "Alder", "Kon").n_unique()).item() == 2160
    got = c_.select("Region", "Alder", "Kon", "value").sort("Region", "Alder", "Kon")
    assert got.equals(real_long())
    totals = c_.filter((pl.col("Kon") == "1+2") & (pl.col("Alder") == "totalt"))["value"].sum()
    assert totals == 144_980
    assert set(c_["boundary_version"].unique()) == {"RegSO2025"}
    assert any("5 call(s) (lower bound 5" in n for n in table.provenance.notes)
    # progress: monotone, ends complete
    assert [p.chunks_done for p in seen] == sorted(p.chunks_done for p in seen)
    last = seen[-1]
    assert (last.chunks_done, last.chunks_total, last.cells_fetched, last.cells_total) == (5, 5, 2160, 2160)
    assert last.planned_calls == 5 and last.lower_bound == 5 and last.eta_seconds == 0.0
    assert last.calls_made == 8  # config + metadata (for plan() above, and again in fetch) + 5 data


def test_pacing_against_a_strict_server_draws_no_429(tmp_path):
    """Real clock: the server answers 429 to a 5th call within 0.4 s; the client must pace itself."""
    fake = FakeSCB(config={"maxDataCells": 300, "maxCallsPerTimeWindow": 4, "timeWindow": 0.4}, strict_window=(4, 0.4))
    try:
        c = PxWebClient(fake.v2, work_dir=tmp_path / "work", max_attempts=1)
        table = c.fetch(ALL_2024)
    finally:
        fake.stop()
    assert fake.too_many == 0
    assert fake.data_calls() == c.attempts - 2  # config, metadata, then data calls only: no retries
    assert table.cells.height == 2160
    arrivals = fake.arrivals
    assert len(arrivals) >= 10
    for t in arrivals:
        assert sum(1 for a in arrivals if t <= a < t + 0.4) <= 4


# ---------------------------------------------------------------- retries


def _http_date(dt: datetime) -> str:
    return email.utils.format_datetime(dt, usegmt=True)


NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "action,expect_sleep",
    [
        (("status", 429, {"Retry-After": "3"}), 3.0),
        (("status", 429, {"Retry-After": _http_date(NOW + timedelta(seconds=7))}), 7.0),
        (("status", 429, {}), None),
        (("status", 500, {}), None),
        (("status", 502, {}), None),
        (("status", 503, {"Retry-After": "0"}), 0.0),
        (("status", 504, {}), None),
        (("slow", 1.0), None),
        (("drop",), None),
        (("truncate",), None),
    ],
    ids=["429-seconds", "429-http-date", "429-bare", "500", "502", "503", "504", "timeout", "dropped", "truncated"],
)
def test_transient_failures_are_retried(fake, tmp_path, action, expect_sleep):
    fake.script.extend([action])
    c, clock = client_for(fake.v2, tmp_path, timeout=0.3, wallclock=lambda: NOW)
    table = c.fetch(ONE)
    assert table.cells["value"].to_list() == [CELLS[("0581R037_RegSO2025", "totalt", "1+2")]]
    assert fake.data_calls() == 2
    assert len(c.sleeps) == 1
    if expect_sleep is not None:
        assert c.sleeps == [pytest.approx(expect_sleep, abs=0.01)]
    else:
        assert 0 < c.sleeps[0] <= 1.0  # first exponential step (1 s, jittered) ...
        if action[:2] == ("status", 429):
            assert c.sleeps[0] >= 10 / 30  # ... at least one call's share of the window after a bare 429


def test_persistent_failure_gives_up_with_clear_error(fake, tmp_path):
    fake.script.extend([("status", 503, {})] * 10)
    c, _ = client_for(fake.v2, tmp_path, max_attempts=3)
    with pytest.raises(FetchGaveUpError) as err:
        c.fetch(ONE)
    msg = str(err.value)
    assert "table TAB6574" in msg and "chunk 1/1" in msg and "0581R037_RegSO2025" in msg
    assert "3 attempt(s)" in msg and "503" in msg
    assert err.value.attempts == 3 and fake.data_calls() == 3
    # backoff grows exponentially (with jitter between half and full step)
    assert len(c.sleeps) == 2 and 0.5 <= c.sleeps[0] <= 1.0 and 1.0 <= c.sleeps[1] <= 2.0


def test_retry_after_beyond_the_cap_stops_at_once(fake, tmp_path):
    fake.script.extend([("status", 429, {"Retry-After": "3600"})])
    c, _ = client_for(fake.v2, tmp_path, max_retry_after=300)
    with pytest.raises(FetchGaveUpError, match="1 attempt"):
        c.fetch(ONE)
    assert fake.data_calls() == 1


def test_non_retryable_errors_raise_immediately_with_scb_message(fake, tmp_path):
    detail = {"type": "https://tools.ietf.org/html/rfc7231#section-6.5.1", "title": "Bad Request", "status": 400,
              "detail": "Värdet 'x' finns inte för variabeln Alder"}
    fake.script.extend([("status", 400, {}, detail)])
    c, _ = client_for(fake.v2, tmp_path)
    with pytest.raises(PxWebHTTPError) as err:
        c.fetch(ONE)
    assert err.value.status == 400 and "finns inte för variabeln Alder" in str(err.value)
    assert fake.data_calls() == 1 and c.sleeps == []
    with pytest.raises(PxWebHTTPError, match="404.*No such table"):
        c.metadata("TAB9999")


def test_v1_403_explains_the_cell_limit(fake, tmp_path):
    fake.script.extend([("status", 403, {}, {"message": "Forbidden"})])
    c, _ = client_for(fake.v1, tmp_path)
    with pytest.raises(PxWebHTTPError, match="100,000 cells"):
        c.fetch(Query.of(V1_PATH, {"Region": ["0581R001_RegSO2025"], "ContentsCode": ["000007Y7"], "Tid": ["2024"]}))


def test_parse_retry_after():
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(_http_date(NOW + timedelta(seconds=30)), NOW) == 30.0
    assert parse_retry_after(_http_date(NOW - timedelta(seconds=30)), NOW) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


# ---------------------------------------------------------------- resume


def test_interrupted_fetch_resumes_without_refetching(tmp_path):
    first = FakeSCB(config={"maxDataCells": 500})
    first.fail_after = 2  # chunks 1-2 succeed, then SCB is down
    try:
        c, _ = client_for(first.v2, tmp_path, max_attempts=2)
        with pytest.raises(FetchGaveUpError, match="chunk 3/5"):
            c.fetch(ALL_2024)
    finally:
        first.stop()
    work = tmp_path / "work"
    stored = list(work.glob("*/chunk-*.parquet"))
    assert len(stored) == 2
    second = FakeSCB(config={"maxDataCells": 500})
    try:
        c2, _ = client_for(second.v2, tmp_path)
        seen = []
        table = c2.fetch(ALL_2024, progress=seen.append)
    finally:
        second.stop()
    assert second.data_calls() == 3  # only the missing chunks
    asked = [tuple(s["valueCodes"][0] for s in b["selection"]) for m, _, _, b in second.log if m == "POST"]
    assert len(set(asked)) == 3
    assert table.cells.select("Region", "Alder", "Kon", "value").sort("Region", "Alder", "Kon").equals(real_long())
    assert seen[-1].resumed_chunks == 2
    assert any("resumed: 2 of 5" in n for n in table.provenance.notes)
    assert not any(work.glob("*/chunk-*"))  # cleaned up after the merge


# ---------------------------------------------------------------- validation


def test_vanished_code_is_a_clear_error(fake, tmp_path):
    fake.drop = frozenset({"0581R005_RegSO2025"})
    c, _ = client_for(fake.v2, tmp_path)
    with pytest.raises(VanishedCodeError, match=r"TAB6574.*Region.*0581R005_RegSO2025"):
        c.fetch(ALL_2024)
    assert fake.data_calls() == 1  # not retried


def test_changed_layout_is_a_clear_error(fake, tmp_path):
    fake.rename = {"Alder": "AlderNy"}
    c, _ = client_for(fake.v2, tmp_path)
    with pytest.raises(LayoutChangedError, match=r"TAB6574.*AlderNy.*layout changed"):
        c.fetch(ALL_2024)


def test_empty_selection_fails_before_any_data_call(fake, tmp_path):
    c, _ = client_for(fake.v2, tmp_path)
    q = Query.of("TAB6574", {"Region": ["0582*"], "ContentsCode": ["000007Y7"], "Tid": ["2024"]}, codelists={"Region": "vs_RegSO2025"})
    with pytest.raises(EmptySelectionError, match="TAB6574.*Region"):
        c.fetch(q)
    assert fake.data_calls() == 0


def test_metadata_request_carries_codelist(fake, tmp_path):
    c, _ = client_for(fake.v2, tmp_path)
    c.fetch(ONE)
    meta_calls = [q for m, p, q, _ in fake.log if p.endswith("/metadata")]
    assert meta_calls == [{"lang": ["sv"], "codelist[Region]": ["vs_RegSO2025"]}]


# ---------------------------------------------------------------- v1


def test_v1_fetch_with_default_limits(fake, tmp_path):
    body = {
        "query": [
            {"code": "Region", "selection": {"filter": "item", "values": sorted({k[0] for k in CELLS})}},
            {"code": "Alder", "selection": {"filter": "all", "values": ["*"]}},
            {"code": "Kon", "selection": {"filter": "item", "values": ["1", "2", "1+2"]}},
            {"code": "ContentsCode", "selection": {"filter": "item", "values": ["000007Y7"]}},
            {"code": "Tid", "selection": {"filter": "top", "values": ["1"]}},
        ],
        "response": {"format": "json"},
    }
    c, _ = client_for(fake.v1, tmp_path)
    assert c.api == "v1" and c.limits() == Limits(100_000, 10, 10.0)
    table = c.fetch(body, table=V1_PATH, name="population_age")
    assert not any(p.endswith("/config") for _, p, _, _ in fake.log)
    sent = [b for m, _, _, b in fake.log if m == "POST"][0]
    assert sent["response"] == {"format": "json-stat2"}
    assert {q["selection"]["filter"] for q in sent["query"]} == {"item"}
    assert table.provenance.source == "scb-pxweb-v1"
    got = table.cells.select("Region", "Alder", "Kon", "value").sort("Region", "Alder", "Kon")
    assert got.equals(real_long())
    assert set(table.cells["boundary_version"].unique()) == {"RegSO2025"}
