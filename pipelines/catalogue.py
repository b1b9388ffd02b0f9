"""The indicator catalogue (pipelines/indicators.yaml), validated and turned into tables.

The SQL models never mention an indicator by name: they join the staged counts with the
`indicator_terms` table built here (indicator, role, measure, category), so adding an
indicator is a catalogue edit, not a SQL edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
import yaml

from pipelines.settings import CATALOGUE_FILE

AREA_LEVELS = ("deso", "regso", "district", "municipality", "county", "country")
KINDS = ("count", "share", "median", "published_rate")
DIRECTIONS = ("more_is_more_need", "more_is_less_need", "neutral")
MEASURES = ("population_age", "population_background", "education", "income")
# A published rate is read, not computed: its numerator names the raw table it is published in and the
# table's content code (SCB's ContentsCode, Kolada's KPI id). The staged model of each table
# (stg_regso_rates, stg_municipality_rates) maps the table's area codes onto Grannskap's areas.
PUBLISHED_MEASURES = ("regso_labour_market", "regso_ill_health", "regso_transfers", "kolada_kpis")
# How the source publishes a published rate's value, and what turns it into the catalogue's unit:
# a percentage becomes a share (fraction 0-1) by dividing by 100; anything else is taken as it is.
PUBLISHED_SCALES = {"percent": 0.01}
# A municipality's own measures (data/local/, staged in stg_local_measures): the categories are the measure
# codes its files use. Counted, not published already computed, and reported per area, never summed up
# the hierarchy: so only counts and shares, at the levels a file can name.
LOCAL_MEASURE = "local"
LOCAL_KINDS = ("count", "share")
LOCAL_LEVELS = ("deso", "regso", "district", "municipality")
REQUIRED = ("id", "title_sv", "title_en", "definition", "unit", "kind", "direction", "source_table", "numerator", "levels")


class CatalogueError(ValueError):
    pass


@dataclass(frozen=True)
class Indicator:
    id: str
    title_sv: str
    title_en: str
    definition: str
    unit: str
    kind: str
    direction: str
    source_table: str
    numerator: dict
    denominator: dict | None
    levels: tuple[str, ...]
    series_breaks: tuple[dict, ...] = ()
    published_unit: str | None = None  # published_rate only: the unit the source publishes (percent, days)

    @property
    def built_from_deso(self) -> bool:
        """Summed from SCB's DeSO counts (not a published rate, not the municipality's own data)."""
        return self.kind != "published_rate" and self.numerator.get("measure") != LOCAL_MEASURE

    @property
    def scale(self) -> float | None:
        """What a published value is multiplied by to be in `unit` (published_rate only)."""
        if self.kind != "published_rate":
            return None
        return PUBLISHED_SCALES.get(self.published_unit or "", 1.0)


def _check(entry: dict) -> Indicator:
    ident = entry.get("id", "?")
    missing = [k for k in REQUIRED if k not in entry]
    if missing:
        raise CatalogueError(f"indicator {ident}: missing {missing}")
    if entry["kind"] not in KINDS:
        raise CatalogueError(f"indicator {ident}: kind {entry['kind']!r} is not one of {KINDS}")
    if entry["direction"] not in DIRECTIONS:
        raise CatalogueError(f"indicator {ident}: direction {entry['direction']!r} is not one of {DIRECTIONS}")
    unknown = set(entry["levels"]) - set(AREA_LEVELS)
    if unknown:
        raise CatalogueError(f"indicator {ident}: unknown area level(s) {sorted(unknown)}")
    if (entry["kind"] == "share") != ("denominator" in entry):
        raise CatalogueError(f"indicator {ident}: a share needs a denominator, and only a share has one")
    if entry["kind"] == "median" and entry["levels"] != ["deso"]:
        # SCB publishes medians per DeSO; anything larger would be an average of medians.
        raise CatalogueError(f"indicator {ident}: a median cannot be aggregated; list only the level SCB publishes")
    if ("published_unit" in entry) != (entry["kind"] == "published_rate"):
        raise CatalogueError(f"indicator {ident}: a published_rate needs a published_unit, and only a published_rate has one")
    if entry["kind"] == "published_rate":
        _check_published(ident, entry)
        return _indicator(entry)
    if LOCAL_MEASURE in (entry["numerator"].get("measure"), (entry.get("denominator") or {}).get("measure")):
        _check_local(ident, entry)
        return _indicator(entry)
    for role in ("numerator", "denominator"):
        term = entry.get(role)
        if term is None:
            continue
        if term.get("measure") not in MEASURES or bool(term.get("categories")) == ("ages" in term):
            raise CatalogueError(f"indicator {ident}: {role} needs a measure in {MEASURES} and either categories or ages")
        if "ages" in term:
            ages = term["ages"]
            if term["measure"] != "population_age" or len(ages) != 2 or (ages[1] is not None and ages[1] < ages[0]):
                raise CatalogueError(f"indicator {ident}: {role} ages must be [from, to] on population_age")
    return _indicator(entry)


def _check_published(ident: str, entry: dict) -> None:
    """A published_rate: one content code of one area-level raw table, never summed or averaged, so it
    exists only at the levels the source publishes; a named district (our own aggregate) is never one."""
    term = entry["numerator"]
    if term.get("measure") not in PUBLISHED_MEASURES or "ages" in term or len(term.get("categories") or []) != 1:
        raise CatalogueError(
            f"indicator {ident}: a published_rate's numerator is one content code of a raw table in {PUBLISHED_MEASURES}"
        )
    if "district" in entry["levels"]:
        raise CatalogueError(f"indicator {ident}: a published rate cannot be aggregated to a named district")
    if entry["unit"] == "share" and entry["published_unit"] not in ("percent", "share"):
        raise CatalogueError(f"indicator {ident}: a share must be published as a percent or a share (fraction 0-1)")


def _check_local(ident: str, entry: dict) -> None:
    """An indicator of local data: numerator and denominator both local measure codes (a local count over an
    SCB population would mix two sources' areas and years), a count or share, at levels a file can name."""
    terms = [entry["numerator"], *([entry["denominator"]] if "denominator" in entry else [])]
    if any(t.get("measure") != LOCAL_MEASURE or "ages" in t or not t.get("categories") for t in terms):
        raise CatalogueError(f"indicator {ident}: a local indicator's numerator and denominator are both "
                             f"{{measure: {LOCAL_MEASURE}, categories: [<measure code>]}}")
    if entry["kind"] not in LOCAL_KINDS:
        raise CatalogueError(f"indicator {ident}: a local indicator is a count or a share, not {entry['kind']!r}")
    if not set(entry["levels"]) <= set(LOCAL_LEVELS):
        raise CatalogueError(f"indicator {ident}: local data is reported for {LOCAL_LEVELS} only")


def _indicator(entry: dict) -> Indicator:
    return Indicator(
        **{k: entry[k] for k in REQUIRED if k != "levels"},
        denominator=entry.get("denominator"),
        levels=tuple(entry["levels"]),
        series_breaks=tuple(entry.get("series_breaks") or ()),
        published_unit=entry.get("published_unit"),
    )


def load_catalogue(path: Path = CATALOGUE_FILE) -> list[Indicator]:
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))["indicators"]
    indicators = [_check(e) for e in entries]
    ids = [i.id for i in indicators]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise CatalogueError(f"duplicate indicator id(s): {sorted(dupes)}")
    return indicators


def _describe(term: dict) -> str:
    if "ages" in term:
        lo, hi = term["ages"]
        return f"{term['measure']}: ages {lo}–{hi if hi is not None else ''}".rstrip("–") + ("+" if hi is None else "")
    return f"{term['measure']}: {' + '.join(map(str, term['categories']))}"


def catalogue_table(indicators: list[Indicator]) -> pl.DataFrame:
    """The `indicators` table analysts read."""
    return pl.DataFrame(
        [
            {
                "indicator": i.id,
                "title_sv": i.title_sv,
                "title_en": i.title_en,
                "definition": i.definition,
                "unit": i.unit,
                "kind": i.kind,
                "direction": i.direction,
                "source_table": i.source_table,
                "numerator": _describe(i.numerator)
                + (f" (published value, in {i.published_unit}; never summed or averaged)" if i.kind == "published_rate" else ""),
                "denominator": _describe(i.denominator) if i.denominator else None,
                "levels": list(i.levels),
            }
            for i in indicators
        ]
    )


def terms_table(indicators: list[Indicator]) -> pl.DataFrame:
    """What the SQL sums: one row per (indicator, role, measure, category), or per age range
    (age_from, age_to; age_to null = and older) with no category. A published rate has one
    numerator row: measure = its raw table, category = its content code, and `scale` = what the
    published value is multiplied by (0.01 for a percentage stored as a share; null for other kinds)."""
    rows = []
    for i in indicators:
        for role, term in (("numerator", i.numerator), ("denominator", i.denominator)):
            if not term:
                continue
            base = {"indicator": i.id, "role": role, "measure": term["measure"], "scale": i.scale}
            if "ages" in term:
                rows.append({**base, "category": None, "age_from": term["ages"][0], "age_to": term["ages"][1]})
            else:
                rows += [{**base, "category": str(c), "age_from": None, "age_to": None} for c in term["categories"]]
    schema = {"indicator": pl.String, "role": pl.String, "measure": pl.String, "scale": pl.Float64,
              "category": pl.String, "age_from": pl.Int32, "age_to": pl.Int32}
    return pl.DataFrame(rows, schema=schema)


def breaks_table(indicators: list[Indicator]) -> pl.DataFrame:
    """Years from which an indicator's definition changed: trends across them are not computed."""
    rows = [{"indicator": i.id, "year": int(b["year"]), "note": str(b["note"])} for i in indicators for b in i.series_breaks]
    return pl.DataFrame(rows, schema={"indicator": pl.String, "year": pl.Int32, "note": pl.String})


def levels_table(indicators: list[Indicator]) -> pl.DataFrame:
    return pl.DataFrame([{"indicator": i.id, "area_level": lvl} for i in indicators for lvl in i.levels])
