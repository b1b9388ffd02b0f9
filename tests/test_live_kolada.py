"""Kolada v3 client: paging, parsing, KPI title checks and scopes, against a local fake Kolada on 127.0.0.1
(FakeSCB's HTTP plumbing from test_pxweb_client.py with Kolada's paths). The data pages are CONSTRUCTED in
Kolada's documented shape; the KPI ids and titles are the catalogue's (3rd-party, to be verified live)."""

from __future__ import annotations

import json
import random
from urllib.parse import urlencode

import polars as pl
import pytest
from test_pxweb_client import FakeClock, FakeSCB

from pipelines.raw import read_raw_table, validate_shape
from pipelines.sources.kolada import KoladaClient, KoladaError, KpiTitleError, parse_kolada_values
from pipelines.sources.live import LiveFetcher, Scope, parse_years
from pipelines.sources.pxweb import ResponseValidationError

TITLES = {
    "N00957": "Ohälsotal, dagar",
    "N00938": "Sjukpenningtalet 16-64 år, dagar per försäkrad",
    "N31807": "Invånare som någon gång under året erhållit ekonomiskt bistånd, andel (%)",
}
IDS = ["0000", "0005", "0020", "0180", "0580", "0581", "2021", "2080"]
YEARS = ["2021", "2022", "2023"]


def constructed_value(kpi: str, muni: str, year: str, gender: str) -> tuple[float | None, str | None]:
    if kpi == "N00938" and year == "2023":
        return None, None  # not yet published, no status given
    if muni == "0180" and kpi == "N31807":
        return None, "Missing"
    base = {"N00957": 20.0, "N00938": 9.0, "N31807": 4.0}[kpi]
    return round(base + int(muni) % 7 + (int(year) - 2020) * 0.5 + {"T": 0, "K": 1.5, "M": -1.5}[gender], 1), None


class FakeKolada(FakeSCB):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.kolada = f"{self.root}/v3"
        self.titles = dict(TITLES)

    def rows(self, kpis, munis, years) -> list[dict]:
        out = []
        for kpi in kpis:
            for m in munis or IDS:
                for y in years or YEARS:
                    vals = []
                    for g in ("T", "K", "M"):
                        v, st = constructed_value(kpi, m, y, g)
                        vals.append({"count": 1, "gender": g, "status": st, "value": v})
                    out.append({"kpi": kpi, "municipality": m, "period": int(y), "values": vals})
        return out

    def answer(self, method, path, query, body):
        parts = path.strip("/").split("/")
        if parts[:2] == ["v3", "kpi"] and len(parts) == 3:
            kpi = parts[2]
            return json.dumps({"count": 1, "values": [{"id": kpi, "title": self.titles.get(kpi, "?"),
                                                       "municipality_type": "K"}]}, ensure_ascii=False).encode()
        if parts[:3] == ["v3", "data", "kpi"]:
            kpis = parts[3].split(",")
            rest = dict(zip(parts[4::2], parts[5::2]))
            munis = rest["municipality"].split(",") if "municipality" in rest else None
            years = rest["year"].split(",") if "year" in rest else None
            rows = self.rows(kpis, munis, years)
            per_page = int((query.get("per_page") or ["5000"])[0])
            page = int((query.get("page") or ["1"])[0])
            chunk = rows[(page - 1) * per_page: page * per_page]
            doc = {"count": len(chunk), "values": chunk}
            if page * per_page < len(rows):  # Kolada names its own public host, over http
                doc["next_page"] = f"http://api.kolada.se{path}?{urlencode({'page': page + 1, 'per_page': per_page})}"
            return json.dumps(doc, ensure_ascii=False).encode()
        return super().answer(method, path, query, body)


@pytest.fixture
def kolada(monkeypatch):
    server = FakeKolada()
    monkeypatch.setenv("GRANNSKAP_KOLADA_API", server.kolada)
    yield server
    server.stop()


def client(server, **kw) -> KoladaClient:
    clock = FakeClock()
    return KoladaClient(server.kolada, clock=clock.time, sleep=clock.sleep, rng=random.Random(0), max_attempts=3, **kw)


def test_paging_follows_next_page_on_our_host(kolada):
    with client(kolada, per_page=4) as k:
        table = k.fetch(["N00957", "N31807"], municipalities=["0581", "0005", "0000"], years=["2022", "2023"],
                        titles={"N00957": "(?i)ohälsotal", "N31807": "(?i)ekonomiskt bistånd"})
    validate_shape(table)
    data_calls = [r for r in kolada.log if "/data/" in r[1]]
    assert len(data_calls) == 3  # 12 entries, 4 a page
    assert data_calls[0][1] == "/v3/data/kpi/N00957,N31807/municipality/0581,0005,0000/year/2022,2023"
    assert [r[2].get("page") for r in data_calls] == [None, ["2"], ["3"]]
    assert table.cells.height == 2 * 3 * 2 * 3
    assert table.dimensions == ["kpi", "Region", "Tid", "gender", "boundary_version"]
    row = table.cells.filter((pl.col("kpi") == "N00957") & (pl.col("Region") == "0581") & (pl.col("Tid") == "2023")
                             & (pl.col("gender") == "K")).row(0, named=True)
    assert row["value"] == constructed_value("N00957", "0581", "2023", "K")[0] and row["status"] == ""
    assert table.provenance.source == "kolada-v3" and table.provenance.source_table == "N00957+N31807"
    assert table.provenance.query["pages"] == 3
    assert table.provenance.dimension_labels["kpi"]["N00957"] == "Ohälsotal, dagar"


def test_parse_statuses_and_duplicates():
    page = {"values": [
        {"kpi": "N1", "municipality": "0581", "period": 2023, "values": [
            {"count": 1, "gender": "T", "status": None, "value": 3.5},
            {"count": 1, "gender": "K", "status": "Missing", "value": None},
            {"count": 1, "gender": "M", "status": None, "value": None},
        ]},
        {"kpi": "N1", "municipality": "0000", "period": "2023", "values": [
            {"count": 1, "gender": "T", "status": "Prel", "value": 4}]},
    ]}
    cells, notes = parse_kolada_values([page])
    got = {(r["Region"], r["gender"]): (r["value"], r["status"]) for r in cells.iter_rows(named=True)}
    assert got == {("0581", "T"): (3.5, ""), ("0581", "K"): (None, "Missing"), ("0581", "M"): (None, "missing"),
                   ("0000", "T"): (4.0, "")}
    assert notes == ["1 delivered value(s) carried a Kolada status; kept the value, status ''"]
    assert cells["Tid"].to_list() == ["2023"] * 4 and set(cells["boundary_version"]) == {""}
    with pytest.raises(ResponseValidationError, match="duplicated"):
        parse_kolada_values([page, page])
    with pytest.raises(KoladaError, match="no 'values' list"):
        parse_kolada_values([{"count": 0}])


def test_kpi_title_is_checked_before_any_data_call(kolada):
    kolada.titles["N00938"] = "Kostnad för äldreomsorg, kr/inv"
    with client(kolada) as k:
        with pytest.raises(KpiTitleError, match=r"Kolada KPI N00938: its title 'Kostnad för äldreomsorg, kr/inv' does "
                           r"not match the expected /\(\?i\)sjukpenningtal/"):
            k.fetch(["N00957", "N00938"], municipalities=["0581"], years=["2023"],
                    titles={"N00957": "(?i)ohälsotal", "N00938": "(?i)sjukpenningtal"})
    assert not [r for r in kolada.log if "/data/" in r[1]]


def test_next_page_loop_is_an_error(kolada):
    class Looping(FakeKolada):
        def answer(self, method, path, query, body):
            if "/data/" in path:
                return json.dumps({"values": [], "next_page": f"{path}?per_page=5000"}).encode()
            return super().answer(method, path, query, body)

    server = Looping()
    try:
        with client(server) as k, pytest.raises(KoladaError, match="points back to a page already read"):
            k.fetch(["N00957"], municipalities=["0581"], years=["2023"])
    finally:
        server.stop()


def test_live_table_for_a_municipality(kolada, tmp_path):
    with LiveFetcher(tmp_path / "raw") as f:
        report = f.run(["kolada_kpis"], Scope(municipality="0581"), parse_years("2022,2023"))
    assert report.ok, report.failed
    t = read_raw_table(tmp_path / "raw", "kolada_kpis")
    assert sorted(t.cells["Region"].unique()) == ["0000", "0005", "0581"]  # municipality, its county, Sweden
    assert sorted(t.cells["kpi"].unique()) == ["N00938", "N00957", "N31807"]
    n00938_2023 = t.cells.filter((pl.col("kpi") == "N00938") & (pl.col("Tid") == "2023"))
    assert n00938_2023.height == 9 and set(n00938_2023["status"]) == {"missing"}
    assert t.provenance.query["scope"] == {"municipality": "0581", "county": None}
    assert [r[1] for r in kolada.log if "/kpi/" in r[1] and "/data/" not in r[1]] == [
        "/v3/kpi/N00957", "/v3/kpi/N00938", "/v3/kpi/N31807"]


def test_live_table_for_a_county_and_latest(kolada, tmp_path):
    from datetime import datetime, timezone

    with LiveFetcher(tmp_path / "raw", wallclock=lambda: datetime(2024, 6, 1, tzinfo=timezone.utc)) as f:
        report = f.run(["kolada_kpis"], Scope(county="20"), parse_years("latest"))
    assert report.ok, report.failed
    [data] = [r for r in kolada.log if "/data/" in r[1]]
    assert data[1] == "/v3/data/kpi/N00957,N00938,N31807/year/2021,2022,2023"  # every id; filtered here
    t = read_raw_table(tmp_path / "raw", "kolada_kpis")
    assert sorted(t.cells["Region"].unique()) == ["0000", "0020", "2021", "2080"]
    newest = dict(t.cells.group_by("kpi").agg(pl.col("Tid").max()).iter_rows())
    assert newest == {"N00957": "2023", "N00938": "2022", "N31807": "2023"}  # N00938 has no 2023 values yet
    assert t.cells.group_by("kpi").agg(pl.col("Tid").n_unique())["Tid"].to_list() == [1, 1, 1]
