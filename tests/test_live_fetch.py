"""`grannskap fetch` end to end against a local fake SCB on 127.0.0.1 (never the internet).

The fake is `FakeSCB` from test_pxweb_client.py (its HTTP plumbing, request log and failure scripting), taught
the live tables: it serves the CONSTRUCTED metadata in fixtures/pxweb/constructed/live/ (see the README there)
and answers data queries in JSON-stat2. Population by DeSO 2018 and age for 2022 comes from the real embedded
SCB snapshot (data/embedded/scb-deso-2022-nationwide, both sexes; Norrköping's 79 DeSO are the test scope); the
other tables' numbers are constructed. Backoff in failure tests runs on a fake clock.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import itertools
import json
import random
import zlib
from pathlib import Path

import duckdb
import polars as pl
import pytest
from test_pxweb_client import FakeClock, FakeSCB

from pipelines.raw import Provenance, RawTable, read_raw_table, validate_shape, write_raw_table
from pipelines.settings import REPO_ROOT
from pipelines.sources.embedded import land_embedded_table
from pipelines.sources.fetch_cli import StderrProgress, register_cli
from pipelines.sources.live import LabelNotFoundError, LiveFetcher, Scope, parse_years

FIX = Path(__file__).parent / "fixtures" / "pxweb"
LIVE = FIX / "constructed" / "live"
SNAPSHOT = REPO_ROOT / "data" / "embedded" / "scb-deso-2022-nationwide"
_age = land_embedded_table(SNAPSHOT, "population_age", verify_checksum=False)[0].cells
AGE_2022 = {(r, a): v for r, a, v in _age.select("Region", "Alder", "value").iter_rows()}  # real, Kon 1+2
NORRKOPING_DESO = sorted({r for r, _ in AGE_2022 if r.startswith("0581")})
V1_PREFIX = "/OV0104/v1/doris/sv/ssd/"


def _dims(doc: dict) -> list[tuple[str, str, list[str], dict[str, str]]]:
    """(code, label, codes, {code: label}) per variable of v2 (JSON-stat2) or v1 metadata."""
    if "dimension" in doc:
        return [
            (d, doc["dimension"][d]["label"], list(doc["dimension"][d]["category"]["index"]),
             dict(doc["dimension"][d]["category"]["label"]))
            for d in doc["id"]
        ]
    return [(v["code"], v["text"], list(v["values"]), dict(zip(v["values"], v["valueTexts"]))) for v in doc["variables"]]


def constructed_value(cell: dict) -> float:
    return float(zlib.crc32("|".join(f"{k}={v}" for k, v in sorted(cell.items())).encode()) % 1000)


def real_population(cell: dict) -> float | None:
    """The embedded snapshot's real 2022 count (both sexes); SCB's '..' for anything it does not hold."""
    if cell.get("Tid") != "2022" or cell.get("Kon", "1+2") != "1+2":
        return None
    return AGE_2022.get((cell["Region"].split("_")[0], cell.get("Alder", "totalt")))


class LiveFakeSCB(FakeSCB):
    """FakeSCB plus the live tables: metadata from fixtures, `/tables/{id}` stamps, JSON-stat2 data."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.v2_meta: dict[tuple[str, str | None], dict] = {}
        self.v1_meta: dict[str, dict] = {}
        for p in LIVE.glob("v2_*_metadata_*.json"):
            _, table, _, codelist = p.stem.split("_", 3)
            self.v2_meta[(table, codelist)] = json.loads(p.read_text(encoding="utf-8"))
        for p, path in (
            ("v1_IntGr1RegSOBASN_metadata.json", "AA/AA0003/AA0003B/IntGr1RegSOBASN"),
            ("v1_IntGr10RegSOKon_metadata.json", "AA/AA0003/AA0003I/IntGr10RegSOKon"),
            ("v1_IntGr4RegSOKon_metadata.json", "AA/AA0003/AA0003G/IntGr4RegSOKon"),
        ):
            self.v1_meta[path] = json.loads((LIVE / p).read_text(encoding="utf-8"))
        self.updated: dict[str, str] = {t: d["updated"] for (t, _), d in self.v2_meta.items()}
        for path in self.v1_meta:
            self.updated[path] = "2025-03-01T07:00:00Z"
        self.values = {"TAB6574": real_population}
        self.relabel: dict[tuple[str, str], dict[str, str]] = {}  # (table, variable) -> {code: new label}
        self.recode: dict[tuple[str, str], dict[str, str]] = {}  # (table, variable) -> {old code: new code}

    def _edited(self, table: str, doc: dict) -> dict:
        doc = json.loads(json.dumps(doc))
        for (t, var), mapping in self.recode.items():
            if t != table:
                continue
            if "dimension" in doc:
                cat = doc["dimension"][var]["category"]
                cat["index"] = {mapping.get(c, c): i for c, i in cat["index"].items()}
                cat["label"] = {mapping.get(c, c): lab for c, lab in cat["label"].items()}
            else:
                v = next(v for v in doc["variables"] if v["code"] == var)
                v["values"] = [mapping.get(c, c) for c in v["values"]]
        for (t, var), mapping in self.relabel.items():
            if t != table:
                continue
            if "dimension" in doc:
                doc["dimension"][var]["category"]["label"].update(mapping)
            else:
                v = next(v for v in doc["variables"] if v["code"] == var)
                v["valueTexts"] = [mapping.get(c, lab) for c, lab in zip(v["values"], v["valueTexts"])]
        return doc

    def data(self, table: str, doc: dict, selection: dict[str, list[str]]) -> dict:
        value_fn = self.values.get(table, constructed_value)
        dims = [d for d in _dims(doc) if d[0] in selection]
        cats = {code: [c for c in codes if c in set(selection[code])] for code, _, codes, _ in dims}
        values, status = [], {}
        for i, combo in enumerate(itertools.product(*(cats[d[0]] for d in dims))):
            v = value_fn(dict(zip([d[0] for d in dims], combo)))
            values.append(None if v is None else (int(v) if float(v).is_integer() else v))
            if v is None:
                status[str(i)] = ".."
        return {
            "version": "2.0", "class": "dataset", "label": doc.get("label") or doc.get("title"), "source": "SCB",
            "updated": self.updated.get(table, ""), "role": {"time": ["Tid"], "metric": ["ContentsCode"]},
            "id": [d[0] for d in dims], "size": [len(cats[d[0]]) for d in dims],
            "dimension": {
                code: {"label": label, "category": {"index": {c: k for k, c in enumerate(cats[code])},
                                                    "label": {c: labels[c] for c in cats[code]}}}
                for code, label, _, labels in dims
            },
            "extension": {"px": {"tableid": table}}, "value": values, "status": status,
        }

    def answer(self, method, path, query, body):
        if path.startswith("/api/v2/tables/"):
            parts = path[len("/api/v2/tables/"):].split("/")
            table = parts[0]
            codelist = (query.get("codelist[Region]") or [None])[0]
            if len(parts) == 1 and method == "GET" and table in self.updated:
                return json.dumps({"type": "Table", "id": table, "label": table, "updated": self.updated[table]}).encode()
            if parts[1:] == ["metadata"] and (table, codelist) in self.v2_meta:
                return json.dumps(self._edited(table, self.v2_meta[(table, codelist)]), ensure_ascii=False).encode()
            if parts[1:] == ["data"] and method == "POST":
                assert query["outputFormat"] == ["json-stat2"]
                sel = {s["variableCode"]: s["valueCodes"] for s in body["selection"]}
                codelist = next((s.get("codelist") for s in body["selection"] if s["variableCode"] == "Region"), None)
                if (table, codelist) in self.v2_meta:
                    doc = self._edited(table, self.v2_meta[(table, codelist)])
                    return json.dumps(self.data(table, doc, sel), ensure_ascii=False).encode()
        if path.startswith(V1_PREFIX) and path[len(V1_PREFIX):] in self.v1_meta:
            table = path[len(V1_PREFIX):]
            doc = self._edited(table, self.v1_meta[table])
            if method == "GET":
                return json.dumps(doc, ensure_ascii=False).encode()
            assert body["response"] == {"format": "json-stat2"}
            sel = {q["code"]: q["selection"]["values"] for q in body["query"]}
            return json.dumps(self.data(table, doc, sel), ensure_ascii=False).encode()
        return super().answer(method, path, query, body)

    def requests(self, method: str | None = None, contains: str = "") -> list:
        return [r for r in self.log if (method is None or r[0] == method) and contains in r[1]]


@pytest.fixture
def scb(monkeypatch):
    server = LiveFakeSCB()
    monkeypatch.setenv("GRANNSKAP_SCB_API", server.v2)
    monkeypatch.setenv("GRANNSKAP_SCB_API_V1", server.v1)
    yield server
    server.stop()


def cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="grannskap")
    register_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------- the full fetch


def test_fetch_norrkoping_population_age_feeds_the_spine(scb, tmp_path, monkeypatch, capsys):
    published = tmp_path / "published" / "grannskap.duckdb"
    monkeypatch.setenv("GRANNSKAP_PUBLISHED_DB", str(published))
    raw_dir = tmp_path / "data" / "raw"
    rc = cli(["fetch", "--municipality", "0581", "--tables", "population_age", "--years", "2022",
              "--raw-dir", str(raw_dir), "--no-progress"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert "landed  population_age" in out.out and "1 data call(s) (bound 1)" in out.out
    assert "grannskap run --source raw" in out.out

    table = read_raw_table(raw_dir, "population_age")
    validate_shape(table)
    cells = table.cells
    assert table.dimensions == ["Region", "Alder", "Kon", "ContentsCode", "Tid", "boundary_version"]
    assert sorted(cells["Region"].unique().to_list()) == NORRKOPING_DESO  # plain codes, Norrköping only
    assert set(cells["boundary_version"].unique()) == {"DeSO2018"}
    assert set(cells["Alder"].unique()) == {"totalt", "-4", *[f"{a}-{a + 4}" for a in range(5, 80, 5)], "80-"}
    assert set(cells["Kon"].unique()) == {"1", "2", "1+2"} and set(cells["Tid"].unique()) == {"2022"}
    assert cells.height == 79 * 18 * 3
    # both sexes: exactly the embedded snapshot's real numbers for Norrköping
    both = cells.filter(pl.col("Kon") == "1+2").select("Region", "Alder", "value").sort("Region", "Alder")
    embedded = _age.filter(pl.col("Region").str.starts_with("0581")).select("Region", "Alder", "value").sort("Region", "Alder")
    assert both.equals(embedded)
    assert both.filter(pl.col("Alder") == "totalt")["value"].sum() == embedded.filter(pl.col("Alder") == "totalt")["value"].sum()
    assert set(cells.filter(pl.col("Kon") != "1+2")["status"].unique()) == {".."}  # what the fake does not hold

    # the spine's own raw suite (Great Expectations, on its check frame) accepts it
    from pipelines.checks.suites import validate_table

    with duckdb.connect() as con:
        con.execute("CREATE TABLE raw_population_age AS SELECT * FROM cells")
        result = validate_table(con, "raw_population_age")
    assert result.success, result.summary()

    prov = table.provenance
    assert prov.source == "scb-pxweb-v2" and prov.source_table == "TAB6574" and prov.boundary_version == "DeSO2018"
    assert prov.updated == "2025-05-09T06:00:00Z" and prov.reference_year == "2022"
    assert prov.query["scope"] == {"municipality": "0581", "county": None} and prov.query["years"] == "2022"
    [src] = prov.query["sources"]
    assert (src["table"], src["api"], src["boundary"], src["calls"], src["lower_bound"]) == ("TAB6574", "v2", "DeSO2018", 1, 1)
    assert any("ContentsCode 000007Y7 = 'Folkmängd'" in n for n in prov.notes)

    # HTTP: config, the metadata once (shared by plan and fetch), one data call with the Region codelist
    assert len(scb.requests("GET", "/config")) == 1
    assert len(scb.requests("GET", "/tables/TAB6574/metadata")) == 1
    assert scb.requests("GET", "/metadata")[0][2]["codelist[Region]"] == ["vs_DeSO2018"]
    [post] = scb.requests("POST")
    region = next(s for s in post[3]["selection"] if s["variableCode"] == "Region")
    assert region["codelist"] == "vs_DeSO2018" and region["valueCodes"] == NORRKOPING_DESO
    # only the raw layer and its work directory were written; no database anywhere
    assert not published.exists()
    assert all(p.startswith(("data/raw/population_age/", "data/work")) for p in tree(tmp_path)), tree(tmp_path)


def test_raw_asset_loads_the_fetched_table(scb, tmp_path):
    """`grannskap run --source raw` reads it: the raw asset of the spine materialises from the fetched table."""
    import dagster as dg

    from pipelines.assets.raw import raw_assets
    from pipelines.resources import Grannskap

    data = tmp_path / "data"
    assert cli(["fetch", "--municipality", "0581", "--tables", "population_age", "--years", "2022",
                "--raw-dir", str(data / "raw"), "--no-progress"]) == 0
    asset = next(a for a in raw_assets if a.key.to_user_string() == "raw_population_age")
    result = dg.materialize([asset], resources={"grannskap": Grannskap(data_dir=str(data), source="raw")},
                            instance=dg.DagsterInstance.ephemeral())
    assert result.success
    md = result.asset_materializations_for_node("raw_population_age")[0].metadata
    assert md["source"].value == "scb-pxweb-v2" and md["source_table"].value == "TAB6574"


def test_progress_bar_shows_calls_cells_and_time_left(scb, tmp_path):
    stream = io.StringIO()
    bar = StderrProgress(stream, every=0.0)
    with LiveFetcher(tmp_path / "raw", progress=bar) as f:
        report = f.run(["population_age"], Scope(municipality="0581"), parse_years("2022"))
    assert report.ok
    lines = stream.getvalue().splitlines()
    assert lines and all("population_age (TAB6574)" in ln for ln in lines)
    assert lines[-1].startswith("fetch [1/1] population_age (TAB6574): calls 3/3 · cells 4,266/4,266 · ~")
    assert lines[-1].endswith("left")


def test_record_then_replay_offline(scb, tmp_path, monkeypatch):
    tape = tmp_path / "tape"
    args = ["fetch", "--municipality", "0581", "--tables", "population_age,regso_ill_health", "--years", "2022", "--no-progress"]
    assert cli([*args, "--raw-dir", str(tmp_path / "live"), "--record", str(tape)]) == 0
    live_calls = len(scb.log)
    monkeypatch.setenv("GRANNSKAP_SCB_API", "http://offline.invalid/api/v2")
    monkeypatch.setenv("GRANNSKAP_SCB_API_V1", "http://offline.invalid/OV0104/v1/doris/sv/ssd")
    assert cli([*args, "--raw-dir", str(tmp_path / "replayed"), "--replay", str(tape)]) == 0
    assert len(scb.log) == live_calls  # the replay sent nothing
    for name in ("population_age", "regso_ill_health"):
        assert read_raw_table(tmp_path / "replayed", name).cells.equals(read_raw_table(tmp_path / "live", name).cells)


# ---------------------------------------------------------------- versions, levels, v1


def test_latest_takes_the_newest_vintage_and_strips_suffixes(scb, tmp_path):
    with LiveFetcher(tmp_path / "raw") as f:
        report = f.run(["population_age"], Scope(municipality="0581"), parse_years("latest"))
    assert report.ok, report.failed
    cells = read_raw_table(tmp_path / "raw", "population_age").cells
    assert set(cells["Tid"].unique()) == {"2024"} and set(cells["boundary_version"].unique()) == {"DeSO2025"}
    assert sorted(cells["Region"].unique().to_list()) == NORRKOPING_DESO  # "_DeSO2025" stripped
    # only the newest version's metadata was read
    assert [r[2]["codelist[Region]"] for r in scb.requests("GET", "/metadata")] == [["vs_DeSO2025"]]


def test_years_across_two_table_versions_land_side_by_side(scb, tmp_path):
    with LiveFetcher(tmp_path / "raw") as f:
        report = f.run(["education"], Scope(municipality="0581"), parse_years("2023,2024"))
    assert report.ok, report.failed
    t = read_raw_table(tmp_path / "raw", "education")
    assert t.provenance.source_table == "TAB5956+TAB6534"
    assert t.provenance.boundary_version == "DeSO2018,DeSO2025"
    by_year = dict(t.cells.group_by("Tid").agg(pl.col("boundary_version").first()).iter_rows())
    assert by_year == {"2023": "DeSO2018", "2024": "DeSO2025"}
    assert set(t.cells["ContentsCode"].unique()) == {"000005MO", "000007Z6"}
    assert t.cells.height == 79 * 5 * 2
    assert [s["table"] for s in t.provenance.query["sources"]] == ["TAB5956", "TAB6534"]


def test_v1_regso_table(scb, tmp_path):
    with LiveFetcher(tmp_path / "raw") as f:
        report = f.run(["regso_ill_health"], Scope(municipality="0581"), parse_years("2023"))
    assert report.ok, report.failed
    t = read_raw_table(tmp_path / "raw", "regso_ill_health")
    assert sorted(t.cells["Region"].unique()) == [f"0581R{i:03d}" for i in range(1, 41)]
    assert set(t.cells["boundary_version"].unique()) == {"RegSO2020"}
    assert set(t.cells["ContentsCode"].unique()) == {"000004X8", "000004X9"}
    assert t.provenance.source == "scb-pxweb-v1"
    [post] = scb.requests("POST")
    body = post[3]
    assert body["response"] == {"format": "json-stat2"}
    filters = {q["code"]: q["selection"]["filter"] for q in body["query"]}
    assert set(filters.values()) == {"item"}  # codes from the metadata, no value set on v1


# ---------------------------------------------------------------- never trust a ContentsCode


def test_contents_code_is_resolved_by_label(scb, tmp_path):
    scb.recode[("TAB6574", "ContentsCode")] = {"000007Y7": "000009ZZ"}  # same label, new code
    with LiveFetcher(tmp_path / "raw") as f:
        report = f.run(["population_age"], Scope(municipality="0581"), parse_years("2022"))
    assert report.ok, report.failed
    t = read_raw_table(tmp_path / "raw", "population_age")
    assert set(t.cells["ContentsCode"].unique()) == {"000009ZZ"}
    sent = next(s for s in scb.requests("POST")[0][3]["selection"] if s["variableCode"] == "ContentsCode")
    assert sent["valueCodes"] == ["000009ZZ"]
    assert any("changed from 000007Y7 to 000009ZZ" in n for n in t.provenance.notes)


def test_vanished_label_fails_clearly_before_any_data_call(scb, tmp_path):
    scb.relabel[("TAB6574", "ContentsCode")] = {"000007Y7": "Antal invånare"}
    with LiveFetcher(tmp_path / "raw") as f:
        report = f.run(["population_age"], Scope(municipality="0581"), parse_years("2022"))
        with pytest.raises(LabelNotFoundError) as err:
            f.plan_table("population_age", Scope(municipality="0581"), parse_years("2022"))
    msg = report.failed["population_age"]
    for part in ("TAB6574", "ContentsCode", "/(?i)folkmängd/", "000007Y7", "'Antal invånare'", "live_tables.yaml"):
        assert part in msg, (part, msg)
    assert str(err.value) == msg
    assert scb.data_calls() == 0 and not (tmp_path / "raw" / "population_age").exists()


# ---------------------------------------------------------------- failures: nothing half-written


def test_partial_fetch_reports_what_landed_and_leaves_the_rest_as_it_was(scb, tmp_path, capsys):
    raw_dir = tmp_path / "raw"
    old = RawTable("education", Provenance("embedded:x", "UtbSUN", "old", "2022", "DeSO2018"),
                   pl.DataFrame({"Region": ["0581C1010"], "UtbildningsNiva": ["21"], "Tid": ["2022"],
                                 "value": [1.0], "status": [""]}))
    write_raw_table(raw_dir, old)
    before = sha(raw_dir / "education" / "cells.parquet")
    scb.relabel[("TAB5956", "ContentsCode")] = {"000005MO": "Personer 25-64 år"}
    rc = cli(["fetch", "--municipality", "0581", "--tables", "population_age,education", "--years", "2022",
              "--raw-dir", str(raw_dir), "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 1
    assert "landed  population_age" in out
    assert "FAILED  education" in out and "TAB5956" in out and "Personer 25-64 år" in out
    assert sha(raw_dir / "education" / "cells.parquet") == before  # untouched
    assert read_raw_table(raw_dir, "population_age").cells.height == 79 * 18 * 3


def test_a_data_call_that_keeps_failing_leaves_no_raw_table(scb, tmp_path):
    clock = FakeClock()
    scb.fail_after = 0  # every data call: 503
    with LiveFetcher(tmp_path / "raw", clock=clock.time, sleep=clock.sleep, max_attempts=3) as f:
        f.client("v2")._rng = random.Random(0)
        report = f.run(["population_age", "regso_ill_health"], Scope(municipality="0581"), parse_years("2022"))
    assert "population_age" in report.failed and "gave up" in report.failed["population_age"]
    assert "regso_ill_health" in report.failed  # v1 data calls fail the same way
    assert not report.landed
    assert not (tmp_path / "raw").exists() or not any((tmp_path / "raw").iterdir())
    assert scb.data_calls() == 6 and len(clock.slept) >= 4  # retried with backoff, on the fake clock


def test_interrupted_fetch_keeps_landed_tables(scb, tmp_path):
    """A KeyboardInterrupt after the first table: it has landed whole, the second was never written."""
    from pipelines.sources.live import FetchReport

    calls = {"n": 0}

    def interrupt_on_second_table(p):
        if p.table == "education":
            calls["n"] += 1
            raise KeyboardInterrupt

    report = FetchReport(scope=Scope(municipality="0581"), years=("2022",))
    with LiveFetcher(tmp_path / "raw", progress=interrupt_on_second_table) as f:
        with pytest.raises(KeyboardInterrupt):
            f.run(["population_age", "education"], Scope(municipality="0581"), ("2022",), report=report)
    assert list(report.landed) == ["population_age"] and report.not_attempted == ["education"]
    assert sorted(p.name for p in (tmp_path / "raw").iterdir()) == ["population_age"]
    assert calls["n"] == 1
