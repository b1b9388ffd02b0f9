"""Targeting lists: a municipality's areas ordered by need, with the estimated size of a target group.

The order comes from the needs index when one is published (its `position` within the municipality,
1 = most need); without one, from the mean of the group's need indicators' ranks in the municipality
(1 = greatest need), a transparent stand-in that the list names.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import yaml

from pipelines.reports import fmt
from pipelines.reports.data import MunicipalityData
from pipelines.reports.summary import driving_indicators

TARGET_GROUPS_FILE = Path(__file__).with_name("target_groups.yaml")
NO_CHANGE = "–, ett år"


@dataclass(frozen=True)
class TargetGroup:
    key: str
    title: str
    share: str
    need: tuple[str, ...]
    note: str = ""


def load_target_groups(path: Path = TARGET_GROUPS_FILE) -> dict[str, TargetGroup]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
    return {
        key: TargetGroup(key=key, title=g["title"], share=g["share"], need=tuple(g["need"]), note=g.get("note", ""))
        for key, g in raw.items()
    }


@dataclass
class TargetRow:
    rank: int
    area_code: str
    name: str
    population: float | None
    count: int | None  # derived: share × population; publish only through fmt.masked_count
    share: float | None
    score: str  # what the order rests on, for this area
    reasons: list[str]
    change: str
    note: str = ""  # why the count is hidden, if it is

    @property
    def hidden(self) -> bool:
        return self.count is None or self.count < fmt.MIN_COUNT

    @property
    def shown_count(self) -> str:
        return fmt.masked_count(self.count)

    @property
    def shown_share(self) -> str:
        # Hidden with the count: share × population would give the count back.
        return fmt.HIDDEN if self.hidden else fmt.percent(self.share)


def target_rows(data: MunicipalityData, group: TargetGroup) -> tuple[list[TargetRow], str]:
    """The areas in order of need, and a sentence saying what the order rests on."""
    need = [k for k in group.need if k in data.indicators]
    entries = []
    for code in data.areas["area_code"]:
        rows = data.latest(code)
        share_row = rows.get(group.share, {})
        share = share_row.get("value")
        population = rows.get("population", {}).get("value")
        count = fmt.derived_count(share, population)
        ranks = [rows[k]["rank_in_municipality"] for k in need if k in rows]
        ranks = [r for r in ranks if fmt.is_number(r)]
        entries.append({
            "code": code,
            "share": share if fmt.is_number(share) else None,
            "population": population if fmt.is_number(population) else None,
            "count": count,
            # Why a cell is hidden: the published value's own reason (disclosure control), else the count rule.
            "note": fmt.text(share_row.get("missing_reason")) or (fmt.FEWER_THAN if _few(count) else ""),
            "mean_rank": sum(ranks) / len(ranks) if ranks else math.inf,
            "reasons": [str(r) for r in driving_indicators(rows, data.indicators, only=need)],
            "change": _change(data, code, group.share, population),
        })

    for e in entries:
        place = data.needs_row(e["code"])
        if data.needs_index is not None:
            position = place.get("position") if place else None
            e["order"] = float(position) if fmt.is_number(position) else math.inf
            e["score"] = (f"behovsindex plats {int(position)} ({fmt.number(place['index_rank'], 2)})"
                          if fmt.is_number(position) else f"behovsindex {fmt.HIDDEN}")
        else:
            e["order"] = e["mean_rank"]
            e["score"] = f"medelrang {fmt.number(e['mean_rank'], 1)}" if math.isfinite(e["mean_rank"]) else fmt.HIDDEN
    if data.needs_index is not None:
        basis = (f"Ordningen följer behovsindexet för barn och familjer {int(data.needs_index['year'].max())} "
                 "(plats 1 = störst behov i kommunen); områden utan indexvärde står sist.")
    else:
        titles = ", ".join(data.indicators[k].title.lower() for k in need)
        basis = (
            "Behovsindex: ännu inte beräknat. Ordningen följer i stället medelvärdet av områdets rang i kommunen "
            f"(1 = störst behov) för: {titles}."
        )
    ordered = sorted(entries, key=lambda e: (e["order"], -(e["count"] or 0), e["code"]))
    return [
        TargetRow(rank=i, area_code=e["code"], name=data.display_name(e["code"]), population=e["population"],
                  count=e["count"], share=e["share"], score=e["score"], reasons=e["reasons"], change=e["change"],
                  note=e["note"])
        for i, e in enumerate(ordered, start=1)
    ], basis


def _few(count: int | None) -> bool:
    return count is not None and count < fmt.MIN_COUNT


def _change(data: MunicipalityData, code: str, share_indicator: str, population: float | None) -> str:
    """The change in the group's share since the year before (procentenheter), or NO_CHANGE with one year."""
    history = data.profiles[(data.profiles["area_code"] == code) & (data.profiles["indicator"] == share_indicator)]
    history = history.dropna(subset=["value"]).sort_values("year")
    if len(history) < 2:
        return NO_CHANGE
    now, before = history.iloc[-1], history.iloc[-2]
    pop_before = data.profiles[(data.profiles["area_code"] == code) & (data.profiles["indicator"] == "population")
                               & (data.profiles["year"] == before["year"])]["value"]
    counts = [fmt.derived_count(now["value"], population),
              fmt.derived_count(before["value"], pop_before.iloc[0] if len(pop_before) else None)]
    if any(c is None or _few(c) for c in counts):
        return fmt.HIDDEN
    return f"{fmt.difference(now['value'] - before['value'], 'share')} sedan {int(before['year'])}"


CSV_COLUMNS = [
    "rang", "omradeskod", "omrade", "folkmangd", "antal_i_malgruppen", "andel_i_malgruppen",
    "ordnat_efter", "skal", "forandring", "anmarkning", "ar",
]


def write_csv(path: Path, rows: list[TargetRow], year: int) -> None:
    """Machine-readable (dot decimals, shares as fractions); hidden cells hold '..' as in the HTML list."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for r in rows:
            writer.writerow([
                r.rank, r.area_code, r.name,
                "" if r.population is None else int(r.population),
                fmt.HIDDEN if r.hidden else r.count,
                fmt.HIDDEN if r.hidden else round(r.share, 4),
                r.score, "; ".join(r.reasons), r.change, r.note, year,
            ])
