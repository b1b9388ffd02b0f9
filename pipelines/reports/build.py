"""Render a municipality's reports: one self-contained HTML page per area, an index and the targeting lists."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2

from pipelines import maps
from pipelines.reports import charts, fmt, followup
from pipelines.reports.data import MunicipalityData, ReportDataError, load
from pipelines.reports.summary import TOP_SHARE, summarise
from pipelines.reports.targeting import NO_CHANGE, load_target_groups, target_rows, write_csv

DIRECTION_LABELS = {
    "more_is_more_need": "Högre värde = större behov",
    "more_is_less_need": "Högre värde = mindre behov",
    "neutral": "Ingen behovsriktning",
}
BOUNDARY_SOURCE = (
    "SCB, geodata-WFS, lager stat:DeSO_2025 (CC0), kopierat från github.com/gislab-se/sistamilen "
    "(commit db63aec9e76ae5e9db00f3d9fe577bc8025703b6); se data/boundaries/PROVENANCE.md."
)

_environment = jinja2.Environment(
    loader=jinja2.PackageLoader("pipelines.reports", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def report_dir(out_dir: Path, municipality: str, level: str) -> Path:
    """Where a municipality's reports at one level go (levels side by side, never overwriting each other)."""
    return Path(out_dir) / f"{municipality}-{level}"


def report_name(area_code: str) -> str:
    return f"{maps.slugify(area_code)}.html"


def build_reports(
    published_db: Path,
    out_dir: Path,
    municipality: str,
    level: str = "regso",
    *,
    indicator: str = "share_age_0_4",
    groups: list[str] | None = None,
    boundaries_dir: Path | None = None,
) -> list[Path]:
    """Write the reports into `out_dir/<municipality>-<level>/`; return the paths, index.html first.

    `indicator` orders the index and colours the maps; `groups` picks target groups from
    target_groups.yaml (all by default). Raises ReportDataError when there is nothing to report.
    """
    data = load(Path(published_db), municipality, level)
    if indicator not in data.indicators:
        raise ReportDataError(
            f"indikatorn {indicator!r} finns inte på nivån {level} (finns: {', '.join(data.indicators)})"
        )
    all_groups = load_target_groups()
    unknown = sorted(set(groups or []) - set(all_groups))
    if unknown:
        raise ReportDataError(f"okänd målgrupp: {', '.join(unknown)} (finns: {', '.join(all_groups)})")
    chosen = [all_groups[k] for k in (groups or list(all_groups))]
    names = [report_name(code) for code in data.areas["area_code"]]
    if len(set(names)) < len(names):  # never let one area's page overwrite another's
        raise ReportDataError(f"två områden får samma filnamn: {sorted(n for n in names if names.count(n) > 1)}")
    target = report_dir(Path(out_dir), municipality, level)
    target.mkdir(parents=True, exist_ok=True)

    common = {
        "municipality": data.name,
        "county": data.county_name,
        "year": data.year,
        "statistics_version": maps.version_label(data.statistics_version),
        "run": {**data.run, "published_at": (data.run.get("published_at") or "")[:16].replace("T", " ")},
        "level_label": data.level_label,
        "n_areas": len(data.areas),
        "target_links": [
            {"title": g.title, "href": f"malgrupp_{g.key}.html", "csv": f"malgrupp_{g.key}.csv"} for g in chosen
        ],
    }
    view = _map_view(data, indicator, boundaries_dir)
    try:
        pages = [_write(target / report_name(code), "report.html.j2", {**common, **_report_context(data, code, view)})
                 for code in data.areas["area_code"]]
        index = _write(target / "index.html", "index.html.j2", {**common, **_index_context(data, indicator, view)})
    finally:
        view.close()

    lists = []
    for group in chosen:
        rows, basis = target_rows(data, group)
        csv_path = target / f"malgrupp_{group.key}.csv"
        write_csv(csv_path, rows, data.year)
        context = {
            **common,
            "group": group,
            "basis": basis,
            "csv_name": csv_path.name,
            "share_title": data.indicators[group.share].title,
            "top_percent": fmt.number(TOP_SHARE * 100),
            "no_change": NO_CHANGE,
            "rows": [
                {"rank": r.rank, "name": r.name, "href": report_name(r.area_code),
                 "population": fmt.number(r.population), "count": r.shown_count, "share": r.shown_share,
                 "hidden": r.hidden, "reasons": r.reasons, "change": r.change, "score": r.score, "note": r.note}
                for r in rows
            ],
        }
        lists += [_write(target / f"malgrupp_{group.key}.html", "targeting.html.j2", context), csv_path]
    return [index, *pages, *lists]


def _write(path: Path, template: str, context: dict) -> Path:
    path.write_text(_environment.get_template(template).render(**context), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------------ map


@dataclass
class MapView:
    chart: maps.Choropleth | None
    note: str  # the version note when drawn, else why there is no map
    drawn: frozenset[str] = frozenset()

    def svg(self, highlight: str | None = None) -> str | None:
        """The map with `highlight` outlined and in focus, or the whole municipality."""
        if self.chart is None:
            return None
        return self.chart.svg(highlight, focus=self.chart.geometry(highlight) if highlight else None)

    def core_svg(self) -> str | None:
        """The dense part of the municipality, where the small areas are."""
        core = self.chart.core() if self.chart is not None else None
        return self.chart.svg(focus=core) if core is not None else None

    def close(self) -> None:
        if self.chart is not None:
            self.chart.close()


def _map_view(data: MunicipalityData, indicator: str, boundaries_dir: Path | None) -> MapView:
    directory = boundaries_dir or maps.default_boundaries_dir()
    boundaries = maps.load_boundaries(data.code, directory)
    if boundaries is None:
        counties = [_county_short(data.counties.get(c, c)) for c in maps.covered_counties(directory)]
        where = f"bara för {' och '.join(counties)}" if counties else "inte"
        return MapView(None, f"Karta saknas offline (gränser för DeSO finns {where} i data/).")
    if not data.members:
        return MapView(None, f"Karta saknas: nivån {data.level_label} har ingen koppling till DeSO-gränserna.")
    matched = maps.match_boundaries(boundaries, data.members, statistics_version=data.statistics_version)
    if matched.polygons.empty:
        return MapView(None, f"Karta saknas: inget område har en matchande gräns ({matched.note}).")
    meta = data.indicators[indicator]
    latest = data.profiles[(data.profiles["indicator"] == indicator) & (data.profiles["year"] == data.year)]
    values = dict(zip(latest["area_code"], latest["value"]))
    unit = {"share": "%", "SEK thousands": "tkr", "persons": "antal personer"}.get(meta.unit, meta.unit)
    legend = meta.title if unit in meta.title else f"{meta.title}, {unit}"
    chart = maps.Choropleth(
        matched, values, legend_title=legend, direction=meta.direction,
        value_format=(lambda v: fmt.percent(v)) if meta.unit == "share" else (lambda v: fmt.number(v)),
        title=f"Karta: {meta.title}, {data.name} {data.year}",
    )
    return MapView(chart, matched.note, frozenset(matched.polygons["area_code"]))


def _county_short(name: str) -> str:
    """'Dalarnas län' -> 'Dalarna', 'Skåne län' -> 'Skåne' (county names in running text)."""
    base = name.removesuffix(" län")
    return base[:-1] if base != name and base.endswith("s") else base


# ------------------------------------------------------------------------------------------------ contexts


def _report_context(data: MunicipalityData, code: str, view: MapView) -> dict:
    rows = data.latest(code)
    name = data.display_name(code)
    label = f"DeSO {name}" if data.level == "deso" else name
    population = rows.get("population", {}).get("value")
    area_bands, muni_bands = charts.age_bands(rows, "value"), charts.age_bands(rows, "municipality_value")
    age_rows = [
        {"label": band, "count": fmt.masked_count(fmt.derived_count(share, population)),
         "share": fmt.percent(share), "municipality": fmt.percent(muni_bands[i] if muni_bands else None)}
        for i, (band, share) in enumerate(zip(charts.AGE_BANDS, area_bands))
    ]
    indicator_rows, missing = [], []
    for key, ind in data.indicators.items():
        row = rows.get(key)
        if row is None:
            continue
        ranked = ind.direction != "neutral" or key == "population"
        indicator_rows.append({
            "title": ind.title,
            "area": fmt.value(row["value"], ind.unit),
            "municipality": _or_none(row["municipality_value"], ind.unit),
            "county": _or_none(row["county_value"], ind.unit),
            "nation": _or_none(row["national_value"], ind.unit),
            "diff": fmt.difference(row["diff_municipality"], ind.unit),
            "rank": _rank(row["rank_in_municipality"], row["areas_in_municipality"]) if ranked else fmt.NONE,
            "rank_nation": _rank(row["rank_in_nation"], row["areas_in_nation"]) if ranked else fmt.NONE,
        })
        notes = [fmt.text(row.get(k)) for k in ("missing_reason", "reliability") if fmt.text(row.get(k))]
        if notes:
            missing.append({"title": ind.title, "reason": "; ".join(notes)})

    highlight_drawn = code in view.drawn
    map_caption = (
        f"{label} är inringat. {view.note}." if highlight_drawn
        else f"{label} saknar matchande gräns och är inte markerat. {view.note}."
    )
    return {
        "name": label,
        "summary": summarise(rows, data.indicators, area=label, level_label=data.level_label,
                             municipality=data.name, year=data.year),
        "population": fmt.number(population),
        "age_rows": age_rows,
        "age_chart": charts.age_chart(rows, area=name, municipality=data.name, salt=f"age-{code}"),
        "indicator_rows": indicator_rows,
        "comparison_chart": charts.comparison_chart(rows, data.indicators, area=name, municipality=data.name,
                                                    salt=f"cmp-{code}"),
        "trend_chart": charts.trend_chart(data.history(code), data.indicators, area=name, municipality=data.name,
                                          salt=f"trend-{code}"),
        "map_svg": view.svg(code),
        "map_caption": map_caption,
        "map_note": view.note,
        "needs": _needs(data, code),
        "investments": followup.investments(data, code, label, report_name),
        "definitions": [
            {"title": i.title, "definition": i.definition, "unit": fmt.unit_label(i.unit),
             "direction": DIRECTION_LABELS.get(i.direction, i.direction), "source_table": i.source_table}
            for i in data.indicators.values()
        ],
        "missing": missing,
        "sources": [{**s, "updated": _date(s.get("updated")), "fetched_at": _date(s.get("fetched_at")),
                     "boundary_version": maps.version_label(s.get("boundary_version"))}
                    for s in data.sources],
        "boundary_source": BOUNDARY_SOURCE if view.chart is not None else "",
    }


def _index_context(data: MunicipalityData, indicator: str, view: MapView) -> dict:
    meta = data.indicators[indicator]
    latest = data.profiles[data.profiles["year"] == data.year]
    by_indicator = latest[latest["indicator"] == indicator].set_index("area_code")
    population = latest[latest["indicator"] == "population"].set_index("area_code")["value"]

    def order(code: str) -> tuple:
        rank = by_indicator["rank_in_municipality"].get(code)
        return (rank if fmt.is_number(rank) else float("inf"), code)

    rows = []
    for code in sorted(data.areas["area_code"], key=order):
        row = by_indicator.loc[code] if code in by_indicator.index else None
        place = data.needs_row(code)
        rows.append({
            "rank": fmt.number(row["rank_in_municipality"]) if row is not None else fmt.HIDDEN,
            "name": data.display_name(code),
            "href": report_name(code),
            "population": fmt.number(population.get(code)),
            "value": fmt.value(row["value"], meta.unit) if row is not None else fmt.HIDDEN,
            "municipality": _or_none(row["municipality_value"], meta.unit) if row is not None else fmt.NONE,
            "diff": fmt.difference(row["diff_municipality"], meta.unit) if row is not None else fmt.NONE,
            "needs": _rank(place.get("position"), place.get("areas_ranked")) if place else fmt.HIDDEN,
        })
    return {
        "indicator": meta,
        "rank_meaning": "störst behov" if meta.direction != "neutral" else "högst värde",
        "rows": rows,
        "map_svg": view.svg(),
        "core_svg": view.core_svg(),
        "map_caption": f"{meta.title} per område. {view.note}.",
        "map_note": view.note,
        "has_needs_index": data.needs_index is not None,
    }


def _needs(data: MunicipalityData, code: str) -> dict | None:
    """The area's place in the needs index (None when the database has no index at all)."""
    if data.needs_index is None:
        return None
    local, national = data.needs_row(code), data.needs_row(code, "nation")
    if local is None:
        return {"year": int(data.needs_index["year"].max()), "ranked": False, "drivers": [], "themes": []}
    ranked = fmt.is_number(local.get("index_rank"))
    return {
        "year": int(local["year"]),
        "ranked": ranked,
        "rank": fmt.number(local["index_rank"], 2) if ranked else fmt.HIDDEN,
        "position": _rank(local.get("position"), local.get("areas_ranked")),
        "national": _rank(national.get("position"), national.get("areas_ranked")) if national else fmt.NONE,
        "drivers": [d for d in fmt.text(local.get("drivers")).split("; ") if d],
        "themes": [
            {"name": column.removeprefix("rank_theme_").capitalize(), "rank": fmt.number(local[column], 2)}
            for column in local if column.startswith("rank_theme_") and fmt.is_number(local[column])
        ],
    }


def _date(stamp: str | None) -> str:
    """An ISO timestamp as its date; empty stays empty (rendered '–')."""
    return (stamp or "")[:10]


def _or_none(x: float | None, unit: str) -> str:
    """A comparison value; '–' when it does not exist for that level (medians are not aggregated)."""
    return fmt.value(x, unit) if fmt.is_number(x) else fmt.NONE


def _rank(rank, of) -> str:
    return f"{fmt.number(rank)} av {fmt.number(of)}" if fmt.is_number(rank) and fmt.is_number(of) else fmt.NONE
