"""Live-ingest benchmark (called from `make bench`): fetch plans, pacing and JSON-stat2 parsing, each with a ratio.

1. Fetch plans for a national fetch (all of Sweden, newest year) of every live SCB table, planned by the same code
   as `grannskap fetch` (`plan_live_table`) against CONSTRUCTED metadata of realistic size: the 5,984 real DeSO 2018
   codes (from the embedded snapshot), 6,160 DeSO 2025 codes (those plus 176 made-up ones), 3,363 made-up RegSO
   codes, and each table's other variables as we believe SCB has them (see NATIONAL). Calls planned vs the lower
   bound ceil(cells / cell limit), next to what pxwebpy's splitter (`split_value_codes`) would send for the same
   codes.
2. Simulated wall time of those calls through our `SlidingWindowLimiter` on a fake clock (SCB v2: 30 calls / 10 s;
   v1: 10 / 10 s) with a fixed time per call, vs the bound max(n * t, floor((n - 1) / max_calls) * window + t)
   (the limiter stamps a call when its response ends and keeps a 50 ms margin, so it trails the bound by about
   t + 0.05 s per full window: the price of never drawing a 429 from its own pacing).
3. Parse throughput of one large JSON-stat2 response in SCB's exact shape, generated from the real TAB5974
   structure (tests/fixtures/pxweb/real/: every category of its 5 dimensions, 60,420 cells) with a DeSO Region
   dimension of 30 codes in front (1,812,600 cells; ~2 % '..'). Compared: our `parse_jsonstat2` (bytes -> polars,
   json.loads included) vs pxwebpy's `unpack_table_data` after json.loads (its own parse step, to a list of
   dicts), and end to end over a local HTTP server on 127.0.0.1 (both clients, one data call each).
"""

from __future__ import annotations

import copy
import csv
import gc
import json
import math
import random
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from pipelines.settings import REPO_ROOT
from pipelines.sources.live import LATEST, Scope, VirtualClock, load_catalogue, parse_years, plan_live_table
from pipelines.sources.pxweb import PxWebClient, Query, SlidingWindowLimiter, TableMetadata, Variable, parse_jsonstat2

V2 = {"max_cells": 150_000, "max_calls": 30, "window": 10.0}
V1 = {"max_cells": 100_000, "max_calls": 10, "window": 10.0}
SECONDS_PER_CALL = 0.1  # short enough that SCB's rate limit, not latency, sets the pace
TAB5974_DIR = REPO_ROOT / "tests" / "fixtures" / "pxweb" / "real"

ALDER5 = ["totalt", "-4", *[f"{a}-{a + 4}" for a in range(5, 80, 5)], "80-"]
KON = ["1", "2", "1+2"]
BAKGRUND = ["TOT", "tot20-64", "20-24", "25-34", "35-44", "45-54", "55-64", "55-65", "000", "F", "3", "EU", "US", "SE",
            "NEXS", "EUEESXN", "VXEUEES", "SAMUTF", "010", "020", "030", "INTTOT", "INT010", "INT020", "INT030"]  # 25
YEARS = [str(y) for y in range(2010, 2026)]


def _cc(*pairs):
    return ("ContentsCode", list(pairs))


# Other variables of each table as we believe SCB has them (code lists; labels only where the catalogue matches them).
NATIONAL = {
    "TAB6574": [("Alder", ALDER5), ("Kon", KON), _cc(("000007Y7", "Folkmängd"))],
    "TAB6571": [("UtlBakgrund", ["1", "2", "SA"]), ("Kon", KON), _cc(("000007Y5", "Antal personer"))],
    "TAB5956": [("UtbildningsNiva", ["21", "3+4", "5", "6", "US"]), _cc(("000005MO", "Befolkning"))],
    "TAB6534": [("UtbildningsNiva", ["21", "3+4", "5", "6", "US"]), _cc(("000007Z6", "Befolkning"))],
    "TAB6680": [("Alder", ["15-74", "16-64", "16-65", "20-64", "20-65"]), ("Kon", KON), _cc(
        ("0000089X", "antal sysselsatta"), ("0000089W", "antal arbetslösa"),
        ("0000089V", "antal sysselsatta och arbetslösa (arbetskraften)"),
        ("0000089U", "antal personer utanför arbetskraften"), ("0000089Y", "antal totalt"))],
    "TAB6685": [("Alder", ["tot", "0-19", "20-64", "65+"]), _cc(
        ("000008AC", "Låg ekonomisk standard, procent"), ("000008AD", "Hög ekonomisk standard, procent"))],
    "AA/AA0003/AA0003B/IntGr1RegSOBASN": [("Kon", KON), ("BakgrVar", BAKGRUND), _cc(
        ("000008AW", "Proportion employed persons"), ("000008B0", "Proportion of business operators out of employed persons"),
        ("000008B1", "Proportion of persons registered as unemployed"), ("000008B2", "Proportion of persons openly unemployed"),
        ("000008B3", "Proportion of job-seekers in programmes with activity support"),
        ("000008B4", "Proportion of long-term unemployed persons"))],
    "AA/AA0003/AA0003I/IntGr10RegSOKon": [("Bakgrund", BAKGRUND), ("Kon", KON), _cc(
        ("000004X8", "Ohälsotalet, antal dagar"), ("000004X9", "Andel som bidrar till ohälsotalet , procent"))],
    "AA/AA0003/AA0003G/IntGr4RegSOKon": [("Kon", KON), ("Bakgrund", BAKGRUND), _cc(
        ("000004WR", "Proportion of sick pay etc. out of net income, percent"),
        ("000004WT", "Proportion of sick pay out of net income, percent"),
        ("000004WX", "Proportion of sickness and activity allowance out of net income, percent"),
        ("000004WY", "Proportion of unemployment benefit out of net income, percent"),
        ("000004WZ", "Proportion of income support out of net income, percent"),
        ("000004X0", "Proportion of introductory allowance out of net income, percent"))],
}


def national_regions() -> dict[str, list[str]]:
    path = REPO_ROOT / "data" / "embedded" / "scb-deso-2022-nationwide" / "age_demographics_deso.csv"
    with path.open(encoding="utf-8-sig") as fh:
        deso18 = [row["deso"] for row in csv.DictReader(fh)]
    munis = sorted({c[:4] for c in deso18})
    extra = [f"{munis[i % len(munis)]}C{9000 + i:04d}" for i in range(6160 - len(deso18))]  # made up
    regso = [f"{munis[i % len(munis)]}R{i // len(munis) + 1:03d}" for i in range(3363)]  # made up
    return {
        "DeSO2018": deso18,
        "DeSO2025": [c + "_DeSO2025" for c in deso18 + extra],
        "RegSO2020": regso,
        "RegSO2025": [c + "_RegSO2025" for c in regso],
    }


def national_metadata(source, regions: dict[str, list[str]]) -> TableMetadata:
    if source.api == "v2":
        region = regions[source.boundary]
    else:  # v1 lists every vintage (and Sweden, counties, municipalities) under one variable
        region = ["00", "01", "0114", *regions["RegSO2020"], *regions["RegSO2025"]]
    variables = [Variable("Region", "region", tuple(region), tuple(c.split("_")[0] for c in region))]
    for code, values in NATIONAL[source.id]:
        codes = [v[0] if isinstance(v, tuple) else v for v in values]
        labels = [v[1] if isinstance(v, tuple) else v for v in values]
        variables.append(Variable(code, code, tuple(codes), tuple(labels), elimination=code not in ("ContentsCode",)))
    variables.append(Variable("Tid", "år", tuple(YEARS), tuple(YEARS), is_time=True))
    return TableMetadata(source.id, f"{source.id} (CONSTRUCTED national metadata)", tuple(variables))


def simulate(n_calls: int, max_calls: int, window: float, per_call: float) -> float:
    """Seconds for n sequential calls through our limiter on a fake clock."""
    clock = VirtualClock()
    limiter = SlidingWindowLimiter(max_calls, window, clock=clock.time, sleep=clock.sleep)
    for _ in range(n_calls):
        with limiter.slot():
            clock.sleep(per_call)
    return clock.now


def pace_bound(n_calls: int, max_calls: int, window: float, per_call: float) -> float:
    if n_calls <= 0:
        return 0.0
    return max(n_calls * per_call, (n_calls - 1) // max_calls * window + per_call)


def pxwebpy_calls(query: Query, max_cells: int) -> int | None:
    try:
        from pxweb._internal.functions import split_value_codes
    except ImportError:
        return None
    return len(split_value_codes({s.code: list(s.values) for s in query.selections}, max_cells))


# ---------------------------------------------------------------------------------------------- 1 + 2: plans, pacing


def bench_plans() -> list[str]:
    regions = national_regions()
    catalogue = load_catalogue()
    lines = [
        "1. Fetch plans, all of Sweden, planned by plan_live_table on constructed national metadata",
        f"   {'table, Region vintage, years':<42} {'selection sizes':<24} {'cells':>11} {'calls':>5} {'bound':>5} "
        f"{'ratio':>5}  {'pxwebpy':>7} {'ratio':>5}",
    ]
    sim_lines = [
        f"2. Simulated wall time: our limiter on a fake clock, {SECONDS_PER_CALL:g} s per call",
        f"   {'table, Region vintage, years':<42} {'calls':>5} {'simulated':>11} {'bound':>9} {'ratio':>5}",
    ]
    runs = [(name, LATEST) for name, t in catalogue.items() if t.kind == "pxweb"] + [("population_age", parse_years("2010-2025"))]
    whole = {"v2": 1, "v1": 0}  # /config once on v2
    for name, years in runs:
        t = catalogue[name]
        tp = plan_live_table(t, Scope(), years, lambda s: national_metadata(s, regions),
                             lambda s: (V2 if s.api == "v2" else V1)["max_cells"])
        for part in tp.parts:
            lim = V2 if part.source.api == "v2" else V1
            p = part.plan
            sizes = " × ".join(str(len(s.values)) for s in p.expanded.selections)
            ys = ",".join(part.years) if len(part.years) < 3 else f"{part.years[0]}-{part.years[-1]}"
            label = f"{name} {part.source.boundary} {ys} ({part.source.api})"
            peer = pxwebpy_calls(p.expanded, lim["max_cells"])
            peer_txt = f"{peer:>7} {peer / p.calls:5.2f}" if peer else f"{'-':>7} {'-':>5}"
            lines.append(f"   {label:<42} {sizes:<24} {p.cells:>11,} {p.calls:>5} {p.lower_bound:>5} "
                         f"{p.calls / p.lower_bound:5.2f}  {peer_txt}")
            sim = simulate(p.calls, lim["max_calls"], lim["window"], SECONDS_PER_CALL)
            bound = pace_bound(p.calls, lim["max_calls"], lim["window"], SECONDS_PER_CALL)
            sim_lines.append(f"   {label:<42} {p.calls:>5} {sim:>9.2f} s {bound:>7.2f} s {sim / bound:5.2f}")
            if years is LATEST:
                whole[part.source.api] += 1 + p.calls  # metadata + data
    for per_call in (SECONDS_PER_CALL, 1.0):
        clock = VirtualClock()
        limiters = {api: SlidingWindowLimiter(lim["max_calls"], lim["window"], clock=clock.time, sleep=clock.sleep)
                    for api, lim in (("v2", V2), ("v1", V1))}
        for api in ("v2", "v1"):  # sequential, as the fetcher runs the tables
            for _ in range(whole[api]):
                with limiters[api].slot():
                    clock.sleep(per_call)
        n = whole["v2"] + whole["v1"]
        # the fetcher runs the tables one after the other, so the per-API bounds add up
        bound = sum(pace_bound(whole[a], lim["max_calls"], lim["window"], per_call) for a, lim in (("v2", V2), ("v1", V1)))
        label = f"all tables, newest year, {per_call:g} s/call"
        sim_lines.append(f"   {label:<42} {n:>5} {clock.now:>9.2f} s {bound:>7.2f} s {clock.now / bound:5.2f}"
                         f"   ({whole['v2']} v2 + {whole['v1']} v1 calls incl. /config and metadata)")
    return lines + sim_lines


# ---------------------------------------------------------------------------------------------- 3: parsing


def big_response(n_regions: int = 30, seed: int = 1) -> tuple[dict, dict]:
    """(data response, metadata) in SCB's JSON-stat2 shape: TAB5974's real dimensions plus a DeSO Region."""
    meta = json.loads((TAB5974_DIR / "scb_v2_TAB5974_metadata.json").read_text(encoding="utf-8"))
    shape = json.loads((TAB5974_DIR / "scb_v2_TAB5974_data_jsonstat2.json").read_text(encoding="utf-8"))
    regions = national_regions()["DeSO2025"][:n_regions]
    doc = copy.deepcopy(shape)
    dims = {}
    dims["Region"] = {
        "label": "region",
        "category": {"index": {c: i for i, c in enumerate(regions)}, "label": {c: c.split("_")[0] for c in regions}},
        "extension": {"elimination": False, "show": "value"},
        "link": {"describedby": [{"extension": {"Region": "DeSO 2025"}}]},
    }
    for d in shape["id"]:
        dim = copy.deepcopy(shape["dimension"][d])
        cat = meta["dimension"][d]["category"]
        dim["category"]["index"] = dict(cat["index"])
        dim["category"]["label"] = dict(cat["label"])
        dims[d] = dim
    doc["id"] = ["Region", *shape["id"]]
    doc["size"] = [len(dims[d]["category"]["index"]) for d in doc["id"]]
    doc["dimension"] = dims
    doc["extension"]["px"]["stub"] = ["Region", *doc["extension"]["px"]["stub"]]
    n = math.prod(doc["size"])
    rng = random.Random(seed)
    values: list = [rng.randrange(0, 60000) for _ in range(n)]
    status = {}
    for i in rng.sample(range(n), n // 50):
        values[i] = None
        status[str(i)] = ".."
    doc["value"] = values
    doc["status"] = status
    metadata = copy.deepcopy(doc)
    metadata["value"] = []
    metadata.pop("status")
    return doc, metadata


def _median_time(fn, repeat: int) -> float:
    """Median seconds of fn(); the result is freed after the clock stops (deallocation is not timed)."""
    times = []
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
        del result
    return statistics.median(times)


class _Server:
    """Serves fixed bytes on 127.0.0.1: /config, the metadata and the data response."""

    def __init__(self, routes: dict[tuple[str, str], bytes]):
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _reply(self, method):
                path = self.path.split("?", 1)[0]
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                body = routes.get((method, path))
                self.send_response(200 if body is not None else 404)
                body = body if body is not None else b'{"title":"Not Found"}'
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                self._reply("GET")

            def do_POST(self):
                self._reply("POST")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/api/v2"

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def bench_parse() -> list[str]:
    doc, metadata = big_response()
    body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    n = math.prod(doc["size"])
    del doc
    sizes = " × ".join(str(s) for s in metadata["size"][1:])
    lines = [f"3. Parse a {n:,}-cell JSON-stat2 response ({len(body) / 1e6:.1f} MB): {metadata['size'][0]} DeSO × TAB5974's real "
             f"dimensions {sizes}"]
    ours = _median_time(lambda: parse_jsonstat2(body), 3)
    lines.append(f"   grannskap parse_jsonstat2: bytes -> polars frame (json.loads incl.)       {ours:7.2f} s  {n / ours / 1e6:6.2f} M cells/s")
    try:
        from pxweb._internal.functions import unpack_table_data
    except ImportError:
        lines.append("   pxwebpy is not installed (pip install pxwebpy==0.6.0): no comparison")
        return lines
    peer = _median_time(lambda: unpack_table_data(json.loads(body), show="code"), 3)
    lines.append(
        f"   pxwebpy unpack_table_data: json.loads + list of row dicts                {peer:7.2f} s  {n / peer / 1e6:6.2f} M cells/s"
        f"   ratio {peer / ours:5.2f}x (pxwebpy time / ours)"
    )
    import polars as pl

    peer_df = _median_time(lambda: pl.DataFrame(unpack_table_data(json.loads(body), show="code")), 1)
    lines.append(
        f"   pxwebpy + pl.DataFrame(rows): the same as a polars frame                 {peer_df:7.2f} s  {n / peer_df / 1e6:6.2f} M cells/s"
        f"   ratio {peer_df / ours:5.2f}x"
    )
    lines.extend(bench_http(body, metadata, ours))
    return lines


def bench_http(body: bytes, metadata: dict, parse_seconds: float) -> list[str]:
    """Both clients against one local server, each with one data call (maxDataCells above the response)."""
    from pxweb import PxApi

    config = json.loads((TAB5974_DIR / "scb_v2_config.json").read_text(encoding="utf-8"))
    config["maxDataCells"] = 10_000_000
    routes = {
        ("GET", "/api/v2/config"): json.dumps(config).encode(),
        ("GET", "/api/v2/tables/TAB5974/metadata"): json.dumps(metadata, ensure_ascii=False).encode(),
        # pxwebpy reads the table count when it starts (a constructed one-table listing)
        ("GET", "/api/v2/tables"): json.dumps({"language": "sv", "tables": [], "page": {
            "pageNumber": 1, "pageSize": 20, "totalElements": 1, "totalPages": 1}}).encode(),
        ("POST", "/api/v2/tables/TAB5974/data"): body,
    }
    server = _Server(routes)
    codes = {d: list(metadata["dimension"][d]["category"]["index"]) for d in metadata["id"]}
    n = math.prod(metadata["size"])
    try:
        with tempfile.TemporaryDirectory(prefix="grannskap-bench-ingest-") as tmp:
            def ours():
                with PxWebClient(server.base, work_dir=Path(tmp)) as scb:
                    return scb.fetch(Query.of("TAB5974", codes), name="bench")

            def peer():
                api = PxApi(server.base, language="sv", disable_cache=True, max_workers=1)
                return api.get_table_data("TAB5974", value_codes=codes, show="code")

            t_ours = _median_time(ours, 2)
            t_peer = _median_time(peer, 2)
    finally:
        server.stop()
    return [
        f"   end to end over HTTP on 127.0.0.1, one data call each:",
        f"     grannskap PxWebClient.fetch (config, metadata, data, validation, resumable work dir) {t_ours:6.2f} s  {n / t_ours / 1e6:5.2f} M cells/s",
        f"     pxwebpy PxApi.get_table_data (config, /tables, data; rows as dicts)                 {t_peer:6.2f} s  {n / t_peer / 1e6:5.2f} M cells/s"
        f"   ratio {t_peer / t_ours:5.2f}x",
        f"     of which our parse {parse_seconds:.2f} s; the rest is HTTP transfer, validation and the work-dir parquet",
    ]


def main() -> int:
    started = time.perf_counter()
    print("Grannskap live-ingest benchmark (SCB v2: 150,000 cells/call, 30 calls/10 s; v1: 100,000, 10 calls/10 s)")
    for line in bench_plans():
        print(line)
    for line in bench_parse():
        print(line)
    print(f"   (bench took {time.perf_counter() - started:.1f} s; national metadata constructed, sizes as in NATIONAL;"
          f" nothing was sent to SCB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
