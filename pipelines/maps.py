"""Maps: DeSO boundaries (shipped offline or fetched from SCB's WFS), version matching, choropleths as inline SVG.

The statistics and the boundaries can be different DeSO versions (statistics DeSO 2018, shipped boundaries
DeSO 2025). A polygon is coloured only when its code is also a statistics code; a statistics area without a
polygon is counted and named on the map, never guessed. Larger areas (RegSO, districts) are dissolved from
their DeSO polygons, and only when every member DeSO has one.

    boundaries = load_boundaries("2081")                      # None when nothing is shipped offline
    matched = match_boundaries(boundaries, members, statistics_version="DeSO2018")
    chart = Choropleth(matched, values, legend_title="Andel barn 0–4 år", value_format=fmt)
    svg = chart.svg(highlight="2081C1180")                    # self-contained <svg> for an HTML page

Everything is drawn in SWEREF 99 TM (EPSG:3006) with matplotlib's SVG backend; text is drawn as paths so
the SVG needs no fonts.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")  # reports are rendered headless

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyogrio  # noqa: E402
from matplotlib.patches import Patch, PathPatch  # noqa: E402
from matplotlib.path import Path as MplPath  # noqa: E402
from shapely.geometry.base import BaseGeometry  # noqa: E402

from pipelines.reports.fmt import is_number  # noqa: E402
from pipelines.settings import default_paths  # noqa: E402

if TYPE_CHECKING:
    import httpx

CRS = "EPSG:3006"  # SWEREF 99 TM: SCB publishes DeSO/RegSO boundaries in it
WFS_URL = "https://geodata.scb.se/geoserver/stat/wfs"
BOUNDARY_SUFFIXES = (".geojson", ".gpkg")
# Class colours by need: darker = more need. Neutral indicators get a colour scale without a need reading.
PALETTES = {"more_is_more_need": "YlOrRd", "more_is_less_need": "YlOrRd_r", "neutral": "Blues"}
NO_VALUE_COLOUR = "#d9d9d9"
NO_STATISTICS_COLOUR = "#f2f2f2"


def default_boundaries_dir() -> Path:
    return default_paths().data_dir / "boundaries"


def version_label(raw: str | None) -> str:
    """'2025_v2', 'DeSO_2025' or 'DeSO2018' -> 'DeSO 2025' / 'DeSO 2018' (the year is the version)."""
    year = re.search(r"(19|20)\d\d", raw or "")
    return f"DeSO {year.group(0)}" if year else (raw or "okänd version")


def slugify(text: str) -> str:
    """A stable ASCII id for file names and SVG ids: '0581:Västra Klockaretorpet' -> '0581-vastra-klockaretorpet'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "omrade"


# ------------------------------------------------------------------------------------------------ loading


def load_boundaries(municipality_code: str, boundaries_dir: Path | None = None) -> gpd.GeoDataFrame | None:
    """Every shipped DeSO polygon of one municipality (columns desokod, version, geometry; EPSG:3006), or None.

    Reads each GeoJSON/GeoPackage in the boundaries directory with a filter on `kommunkod`, so a county file
    costs one filtered read. Several files may cover a municipality (say DeSO 2018 and 2025): all are returned
    with their own `version`, and `match_boundaries` picks one.
    """
    frames = []
    for path in _boundary_files(boundaries_dir):
        gdf = gpd.read_file(path, where=f"kommunkod = '{_code(municipality_code)}'")
        if gdf.empty:
            continue
        frames.append(_normalise(gdf, source=path.name))
    if not frames:
        return None
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=CRS)


def covered_counties(boundaries_dir: Path | None = None) -> list[str]:
    """County codes (the first two digits of kommunkod) that the shipped boundaries cover."""
    codes: set[str] = set()
    for path in _boundary_files(boundaries_dir):
        table = pyogrio.read_dataframe(path, columns=["kommunkod"], read_geometry=False)
        codes |= {str(k)[:2] for k in table["kommunkod"]}
    return sorted(codes)


def _boundary_files(boundaries_dir: Path | None) -> list[Path]:
    directory = boundaries_dir or default_boundaries_dir()
    return sorted(p for p in directory.glob("*") if p.suffix in BOUNDARY_SUFFIXES) if directory.is_dir() else []


def fetch_wfs_boundaries(
    layer: str,
    municipality_code: str,
    *,
    url: str = WFS_URL,
    timeout: float = 60.0,
    transport: httpx.BaseTransport | None = None,
) -> gpd.GeoDataFrame:
    """Fetch one municipality's polygons of a WFS layer (e.g. 'stat:DeSO_2025' or 'stat:DeSO_2018') from SCB.

    Returns the same columns as `load_boundaries`; save with `gdf.to_file(data/boundaries/<name>.geojson)` to use
    them offline. `transport` lets tests answer without the network.
    """
    import httpx

    params = {
        "service": "WFS",
        "version": "1.1.0",
        "request": "GetFeature",
        "typeName": layer,
        "outputFormat": "application/json",
        "CQL_FILTER": f"kommunkod='{_code(municipality_code)}'",
    }
    with httpx.Client(timeout=timeout, transport=transport, follow_redirects=True) as client:
        response = client.get(url, params=params)
        response.raise_for_status()
    gdf = gpd.read_file(io.BytesIO(response.content))
    if gdf.crs is None:
        gdf = gdf.set_crs(CRS)  # the layers' native CRS; GeoServer normally states it
    if "version" not in gdf.columns:
        gdf["version"] = layer
    return _normalise(gdf, source=f"WFS {layer}")


def _code(municipality_code: str) -> str:
    if not re.fullmatch(r"\d{4}", municipality_code):
        raise ValueError(f"a municipality code is four digits, got {municipality_code!r}")
    return municipality_code


def _normalise(gdf: gpd.GeoDataFrame, *, source: str) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        raise ValueError(f"{source}: boundaries without a CRS")
    gdf = gdf.to_crs(CRS)
    out = gpd.GeoDataFrame(
        {
            "desokod": gdf["desokod"].astype(str),
            "version": [version_label(v) for v in gdf["version"].astype(str)],
            "source": source,
        },
        geometry=gdf.geometry.values,
        crs=CRS,
    )
    return out


# ------------------------------------------------------------------------------------------------ matching


@dataclass
class MatchedBoundaries:
    """Polygons for the statistics areas of one municipality at one level, with what could not be matched."""

    polygons: gpd.GeoDataFrame  # area_code, geometry: only areas whose every DeSO has a polygon
    background: gpd.GeoDataFrame  # desokod, geometry: polygons whose code is not a statistics DeSO
    unmatched: list[str] = field(default_factory=list)  # statistics areas left undrawn
    boundary_version: str = ""
    statistics_version: str = ""

    @property
    def missing_text(self) -> str:
        n = len(self.unmatched)
        return f"{n} {'område' if n == 1 else 'områden'} saknar matchande gräns"

    @property
    def note(self) -> str:
        return f"Gränser: {self.boundary_version}; statistik: {self.statistics_version} — {self.missing_text}"


def match_boundaries(
    boundaries: gpd.GeoDataFrame,
    members: Mapping[str, str],
    *,
    statistics_version: str,
    simplify: bool = True,
) -> MatchedBoundaries:
    """Match statistics areas to polygons by DeSO code.

    `members` maps each statistics DeSO code to the area it belongs to at the chosen level (DeSO -> itself,
    DeSO -> RegSO, ...). Of several boundary versions the one sharing most codes with the statistics wins (the
    statistics' own version on a tie).
    """
    stats_label = version_label(statistics_version)
    deso_codes = set(members)
    best = max(
        boundaries["version"].unique(),
        key=lambda v: (len(deso_codes & set(boundaries.loc[boundaries["version"] == v, "desokod"])), v == stats_label),
    )
    chosen = boundaries[boundaries["version"] == best].drop_duplicates("desokod").reset_index(drop=True)
    if simplify and len(chosen) > 1:
        # Shared edges stay shared (coverage simplification); ~1/1000 of the extent is invisible on a page.
        minx, miny, maxx, maxy = chosen.total_bounds
        chosen = chosen.set_geometry(chosen.geometry.simplify_coverage(max(maxx - minx, maxy - miny) / 1000))
    by_code = dict(zip(chosen["desokod"], chosen.geometry))

    areas: dict[str, list[str]] = {}
    for deso, area in members.items():
        areas.setdefault(area, []).append(deso)
    drawn, unmatched = [], []
    for area, desos in sorted(areas.items()):
        if all(d in by_code for d in desos):
            drawn.append((area, gpd.GeoSeries([by_code[d] for d in desos], crs=CRS).union_all()))
        else:
            unmatched.append(area)
    polygons = gpd.GeoDataFrame(
        {"area_code": [a for a, _ in drawn]}, geometry=[g for _, g in drawn], crs=CRS
    )
    background = chosen.loc[~chosen["desokod"].isin(deso_codes), ["desokod", "geometry"]].reset_index(drop=True)
    return MatchedBoundaries(polygons, background, unmatched, best, stats_label)


# ------------------------------------------------------------------------------------------------ drawing


def figure_to_svg(fig: plt.Figure, *, salt: str, title: str = "") -> str:
    """Serialise a figure as inline SVG: no XML prolog, no metadata, fluid width, ids unique to `salt`.

    matplotlib draws text as paths (no font files) and derives ids from a hash; salting it per figure keeps
    ids unique when several SVGs share one page, and keeps the output deterministic.
    """
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": salt}):
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, count=1, flags=re.S)
    # Fixed pt sizes would overflow a phone screen; the viewBox keeps the aspect ratio.
    svg = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1 width="100%"', svg, count=1)
    label = f' role="img" aria-label="{_attr(title)}"' if title else ""
    return svg.replace("<svg", f'<svg class="chart"{label}', 1).strip()


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


def _geometry_path(geometry: BaseGeometry) -> MplPath:
    """A (multi)polygon with holes as one matplotlib path (even-odd filling leaves the holes empty)."""
    vertices, codes = [], []
    polygons = getattr(geometry, "geoms", [geometry])
    for polygon in polygons:
        for ring in [polygon.exterior, *polygon.interiors]:
            xy = np.asarray(ring.coords)[:, :2]
            vertices.append(xy)
            codes.append([MplPath.MOVETO] + [MplPath.LINETO] * (len(xy) - 2) + [MplPath.CLOSEPOLY])
    return MplPath(np.concatenate(vertices), np.concatenate(codes))


def class_breaks(values: list[float], classes: int = 5) -> list[float]:
    """Quantile class limits (k+1 ascending edges) over the distinct values; fewer classes when values are few."""
    distinct = sorted(set(values))
    if len(distinct) <= classes:
        return distinct if len(distinct) > 1 else distinct * 2
    edges = list(np.quantile(values, np.linspace(0, 1, classes + 1)))
    return sorted(set(edges))


class Choropleth:
    """One choropleth figure; `svg(highlight=...)` outlines one area, so a municipality's map is drawn once."""

    def __init__(
        self,
        matched: MatchedBoundaries,
        values: Mapping[str, float | None],
        *,
        legend_title: str,
        value_format: Callable[[float], str] = lambda v: f"{v:.3g}",
        direction: str = "neutral",
        title: str = "",
        width_inches: float = 4.6,
    ) -> None:
        self.matched = matched
        self.title = title or legend_title
        present = [float(values[a]) for a in matched.polygons["area_code"] if is_number(values.get(a))]
        edges = class_breaks(present) if present else []
        cmap = plt.get_cmap(PALETTES.get(direction, "Blues"))
        n_classes = max(len(edges) - 1, 1)
        colours = [cmap(0.15 + 0.8 * i / max(n_classes - 1, 1)) for i in range(n_classes)]

        everything = pd.concat([matched.polygons.geometry, matched.background.geometry], ignore_index=True)
        minx, miny, maxx, maxy = gpd.GeoSeries(everything, crs=CRS).total_bounds if len(everything) else (0, 0, 1, 1)
        aspect = (maxy - miny) / (maxx - minx) if maxx > minx else 1.0
        fig, ax = plt.subplots(figsize=(width_inches, min(max(width_inches * aspect, 3.5), 9)))
        ax.set_aspect("equal")
        ax.set_axis_off()

        for code, geometry in zip(matched.background["desokod"], matched.background.geometry):
            ax.add_patch(PathPatch(_geometry_path(geometry), facecolor=NO_STATISTICS_COLOUR, edgecolor="#bbbbbb",
                                   linewidth=0.3, hatch="///", gid=f"nostat-{slugify(code)}"))
        for code, geometry in zip(matched.polygons["area_code"], matched.polygons.geometry):
            value = values.get(code)
            colour = colours[_class_of(float(value), edges)] if is_number(value) and edges else NO_VALUE_COLOUR
            ax.add_patch(PathPatch(_geometry_path(geometry), facecolor=colour, edgecolor="white", linewidth=0.4,
                                   gid=f"area-{slugify(code)}"))
        pad = 0.02 * max(maxx - minx, maxy - miny)
        ax.set_xlim(minx - pad, maxx + pad)
        ax.set_ylim(miny - pad, maxy + pad)

        handles = [
            Patch(facecolor=colours[i], edgecolor="none",
                  label=f"{value_format(edges[i])}–{value_format(edges[i + 1])}")
            for i in range(len(edges) - 1)
        ]
        if len(edges) == 2 and edges[0] == edges[1]:
            handles = [Patch(facecolor=colours[0], edgecolor="none", label=value_format(edges[0]))]
        if any(not is_number(values.get(a)) for a in matched.polygons["area_code"]):
            handles.append(Patch(facecolor=NO_VALUE_COLOUR, edgecolor="none", label="Värde saknas (..)"))
        if len(matched.background):
            handles.append(Patch(facecolor=NO_STATISTICS_COLOUR, edgecolor="#bbbbbb", hatch="///",
                                 label="Ingen statistik med samma kod"))
        # Legend and note below the map: beside it they would shrink to nothing on a phone.
        ax.legend(handles=handles, title=legend_title, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncols=2,
                  frameon=False, fontsize=11, title_fontsize=11)
        ax.set_title(f"Gränser: {matched.boundary_version}; statistik: {matched.statistics_version}\n"
                     f"{matched.missing_text} · SWEREF 99 TM",
                     fontsize=11, color="#444444", loc="left")
        self.fig, self.ax = fig, ax
        self._full_view = (ax.get_xlim(), ax.get_ylim())
        self._geometry = dict(zip(matched.polygons["area_code"], matched.polygons.geometry))

    def svg(self, highlight: str | None = None, *, focus: BaseGeometry | None = None) -> str:
        """The map as inline SVG, `highlight` (an area code at the map's level) outlined in black.

        `focus` centres the view on a geometry with its surroundings (a town DeSO is a speck on a
        municipality map); every area is still drawn, only the view changes.
        """
        outline = None
        if highlight is not None and highlight in self._geometry:
            outline = PathPatch(_geometry_path(self._geometry[highlight]), facecolor="none", edgecolor="black",
                                linewidth=2.2, gid=f"outline-{slugify(highlight)}", zorder=5)
            self.ax.add_patch(outline)
        if focus is not None:
            self._zoom_to(focus)
        try:
            return figure_to_svg(self.fig, salt=f"map-{highlight or 'all'}-{focus is not None}", title=self.title)
        finally:
            if outline is not None:
                outline.remove()
            self.ax.set_xlim(self._full_view[0])
            self.ax.set_ylim(self._full_view[1])

    def geometry(self, area_code: str) -> BaseGeometry | None:
        return self._geometry.get(area_code)

    def core(self) -> BaseGeometry | None:
        """Where the small (dense, urban) areas are: the union of the smaller half by surface, or None if one area."""
        if len(self._geometry) < 2:
            return None
        by_size = sorted(self._geometry.values(), key=lambda g: g.area)
        return gpd.GeoSeries(by_size[: max(1, len(by_size) // 2)], crs=CRS).union_all()

    def _zoom_to(self, geometry: BaseGeometry) -> None:
        """A window with the full view's aspect ratio, ~3x the geometry's size and at least 3 km across."""
        (x0, x1), (y0, y1) = self._full_view
        aspect = (y1 - y0) / (x1 - x0)
        minx, miny, maxx, maxy = geometry.bounds
        half_width = max((maxx - minx) * 1.5, (maxy - miny) * 1.5 / aspect, 1500.0)
        half_width = min(half_width, (x1 - x0) / 2)
        cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
        self.ax.set_xlim(cx - half_width, cx + half_width)
        self.ax.set_ylim(cy - half_width * aspect, cy + half_width * aspect)

    def close(self) -> None:
        plt.close(self.fig)


def _class_of(value: float, edges: list[float]) -> int:
    """Index of the class holding value; the upper edge of each class is inclusive, the first class closed."""
    for i in range(len(edges) - 1):
        if value <= edges[i + 1]:
            return i
    return len(edges) - 2
