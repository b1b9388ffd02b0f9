"""Maps: shipped DeSO 2025 boundaries for Dalarna, version matching, RegSO dissolving, SVG output, WFS fetch."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import duckdb
import matplotlib.pyplot as plt
import pytest
from test_reports import BOUNDARIES, build_published_db

from pipelines import maps

BORLANGE = "2081"


@pytest.fixture(scope="module")
def statistics(tmp_path_factory) -> dict:
    """Borlänge's DeSO -> RegSO key and share of children 0–4, from the real published database."""
    with duckdb.connect(str(build_published_db(tmp_path_factory)), read_only=True) as con:
        key = dict(con.execute(
            "SELECT area_code, regso_code FROM areas WHERE area_level = 'deso' AND municipality_code = ?", [BORLANGE]
        ).fetchall())
        values = dict(con.execute(
            "SELECT area_code, value FROM profiles WHERE municipality_code = ? AND area_level = 'deso'"
            " AND indicator = 'share_age_0_4'", [BORLANGE]
        ).fetchall())
        version = con.execute(
            "SELECT DISTINCT boundary_version FROM areas WHERE area_level = 'deso' AND municipality_code = ?",
            [BORLANGE],
        ).fetchone()[0]
    return {"key": key, "values": values, "version": version}


def test_shipped_boundaries_are_dalarna_deso_2025_in_sweref99tm():
    borlange = maps.load_boundaries(BORLANGE, BOUNDARIES)
    assert len(borlange) == 27 and borlange.crs.to_epsg() == 3006
    assert set(borlange["version"]) == {"DeSO 2025"}
    assert all(code.startswith(BORLANGE) for code in borlange["desokod"])
    assert maps.load_boundaries("0581", BOUNDARIES) is None  # Norrköping: nothing offline
    assert maps.covered_counties(BOUNDARIES) == ["20"]


def test_deso_codes_shared_by_both_versions_are_drawn(statistics):
    matched = maps.match_boundaries(maps.load_boundaries(BORLANGE, BOUNDARIES),
                                    {d: d for d in statistics["key"]}, statistics_version=statistics["version"])
    assert len(matched.polygons) == len(statistics["key"]) == 27
    assert matched.unmatched == [] and matched.background.empty
    assert matched.note == "Gränser: DeSO 2025; statistik: DeSO 2018 — 0 områden saknar matchande gräns"


def test_regso_is_dissolved_only_where_every_deso_has_a_polygon(statistics):
    boundaries = maps.load_boundaries(BORLANGE, BOUNDARIES)
    key = statistics["key"]
    regso = maps.match_boundaries(boundaries, key, statistics_version=statistics["version"])
    assert len(regso.polygons) == len(set(key.values())) == 17
    # Each RegSO polygon covers exactly its DeSO (area preserved up to the display simplification).
    first = sorted(set(key.values()))[0]
    members = boundaries[boundaries["desokod"].isin([d for d, r in key.items() if r == first])]
    drawn = regso.polygons.set_index("area_code").geometry[first]
    assert drawn.area == pytest.approx(members.geometry.area.sum(), rel=0.01)

    # Remove one DeSO polygon: its RegSO is not drawn at all, and the map says so.
    missing_deso = next(d for d, r in key.items() if r == first)
    partial = maps.match_boundaries(boundaries[boundaries["desokod"] != missing_deso], key,
                                    statistics_version=statistics["version"])
    assert first not in set(partial.polygons["area_code"]) and partial.unmatched == [first]
    assert partial.note.endswith("— 1 område saknar matchande gräns")


def test_statistics_never_land_on_a_polygon_whose_code_is_absent(statistics):
    boundaries = maps.load_boundaries(BORLANGE, BOUNDARIES)
    renamed = boundaries.copy()
    renamed.loc[renamed["desokod"] == "2081C1140", "desokod"] = "2081C9999"  # a code only the boundaries know
    matched = maps.match_boundaries(renamed, {d: d for d in statistics["key"]}, statistics_version="DeSO2018")
    assert "2081C1140" in matched.unmatched and "2081C9999" not in set(matched.polygons["area_code"])
    assert list(matched.background["desokod"]) == ["2081C9999"]
    chart = maps.Choropleth(matched, statistics["values"] | {"2081C9999": 0.5}, legend_title="Andel barn 0–4 år, %")
    try:
        svg = chart.svg()
    finally:
        chart.close()
    assert svg.count('id="area-') == 26 and svg.count('id="nostat-2081c9999"') == 1
    assert "Ingen statistik med samma kod" in chart.ax.get_legend().get_texts()[-1].get_text()


def test_choropleth_svg_draws_one_path_per_matched_deso_and_outlines_the_area(statistics):
    matched = maps.match_boundaries(maps.load_boundaries(BORLANGE, BOUNDARIES),
                                    {d: d for d in statistics["key"]}, statistics_version=statistics["version"])
    chart = maps.Choropleth(matched, statistics["values"], legend_title="Andel barn 0–4 år, %",
                            direction="more_is_more_need", value_format=lambda v: f"{v * 100:.1f} %")
    try:
        whole = chart.svg()
        focused = chart.svg("2081C1140", focus=chart.geometry("2081C1140"))
        again = chart.svg()
    finally:
        chart.close()
    assert whole.count('id="area-') == len(matched.polygons) == 27
    assert len(re.findall(r'<g id="area-[^"]+">\s*<path ', whole)) == 27
    assert focused.count('id="outline-2081c1140"') == 1 and "outline-" not in whole
    assert again == whole  # the outline and the view are undone after each page
    labels = [t.get_text() for t in chart.ax.get_legend().get_texts()]
    assert chart.ax.get_legend().get_title().get_text() == "Andel barn 0–4 år, %" and len(labels) == 5


def test_figure_to_svg_is_inline_fluid_and_deterministic():
    fig, ax = plt.subplots()
    ax.plot([1, 2], [3, 4])
    try:
        first, second = (maps.figure_to_svg(fig, salt="x", title="Test & prov") for _ in range(2))
    finally:
        plt.close(fig)
    assert first == second
    assert first.startswith('<svg class="chart" role="img" aria-label="Test &amp; prov"')
    assert 'width="100%"' in first and "<metadata>" not in first and "<?xml" not in first
    assert "<text" not in first  # text is drawn as paths: no fonts needed


class _FakeWfs(BaseHTTPRequestHandler):
    """Answers GetFeature like SCB's GeoServer, with the shipped features of the requested municipality."""

    features: dict = {}
    requests: list = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        query = parse_qs(urlparse(self.path).query)
        type(self).requests.append((urlparse(self.path).path, query))
        code = re.fullmatch(r"kommunkod='(\d{4})'", query["CQL_FILTER"][0]).group(1)
        body = json.dumps({
            "type": "FeatureCollection",
            "features": [f for f in self.features["features"] if f["properties"]["kommunkod"] == code],
            "crs": self.features["crs"],
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_fetch_wfs_boundaries_against_a_local_server():
    geojson = next(BOUNDARIES.glob("*.geojson"))
    _FakeWfs.features = json.loads(Path(geojson).read_text(encoding="utf-8"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeWfs)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/geoserver/stat/wfs"
        fetched = maps.fetch_wfs_boundaries("stat:DeSO_2025", BORLANGE, url=url, timeout=10)
    finally:
        server.shutdown()
        server.server_close()
    path, query = _FakeWfs.requests[-1]
    assert path == "/geoserver/stat/wfs"
    assert query["typeName"] == ["stat:DeSO_2025"] and query["CQL_FILTER"] == ["kommunkod='2081'"]
    assert query["outputFormat"] == ["application/json"] and query["request"] == ["GetFeature"]
    assert len(fetched) == 27 and fetched.crs.to_epsg() == 3006 and set(fetched["version"]) == {"DeSO 2025"}
    shipped = maps.load_boundaries(BORLANGE, BOUNDARIES)
    assert sorted(fetched["desokod"]) == sorted(shipped["desokod"])
    with pytest.raises(ValueError):
        maps.fetch_wfs_boundaries("stat:DeSO_2025", "20' OR '1'='1", url=url)  # never interpolated into CQL
