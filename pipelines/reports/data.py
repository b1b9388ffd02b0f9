"""Everything a municipality's reports read from the published database, read once and read-only."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

LEVEL_LABELS = {"deso": "DeSO", "regso": "RegSO", "district": "distrikt"}
# The published follow-up of social investments (pipelines/publish.py); a database without all of
# them (published before the register existed) gives reports without the follow-up section.
FOLLOWUP_TABLES = ("investments", "investment_areas", "followup_comparisons", "followup_points", "followup_estimates")


class ReportDataError(ValueError):
    """The published database has nothing to report for this municipality and level."""


@dataclass(frozen=True)
class Indicator:
    id: str
    title: str
    definition: str
    unit: str
    kind: str
    direction: str
    source_table: str


@dataclass
class Followup:
    """The municipality's social investments and their follow-up, as published (one query per table)."""

    investments: pd.DataFrame  # the register, in register order
    areas: pd.DataFrame  # each investment's areas resolved to exactly one area (matches = 1)
    comparisons: pd.DataFrame  # comparison districts per investment area, by rank
    points: pd.DataFrame  # one row per investment, area, outcome indicator and year
    estimates: pd.DataFrame  # one row per investment, area and outcome indicator

    def of(self, frame: str, investment_id: str, area_code: str) -> pd.DataFrame:
        """The rows of one table (`comparisons`, `points`, `estimates`) for one investment area."""
        rows = getattr(self, frame)
        return rows[(rows["investment_id"] == investment_id) & (rows["area_code"] == area_code)]


@dataclass
class MunicipalityData:
    code: str
    name: str
    county_name: str
    level: str
    year: int  # the latest year; reports describe it
    years: list[int]
    indicators: dict[str, Indicator]  # catalogue order, only those published at this level
    profiles: pd.DataFrame  # the level's rows in the municipality, every year
    areas: pd.DataFrame  # area_code, area_name, regso_code: the level's areas in the municipality
    members: dict[str, str]  # statistics DeSO code -> the area (at this level) it belongs to
    statistics_version: str  # DeSO version of the statistics, e.g. 'DeSO2018'
    sources: list[dict]
    run: dict
    needs_index: pd.DataFrame | None  # the level's `needs_index` rows, latest year; None when not computed
    counties: dict[str, str]  # county code -> name, for what the shipped boundaries cover
    catalogue: dict[str, Indicator] = field(default_factory=dict)  # every indicator, whatever the level
    coverage: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)  # (level, code) -> its DeSO
    followup: Followup | None = None  # None when the database has no follow-up tables

    def investment_areas(self, area_code: str) -> list[dict]:
        """The investment areas that are this area or share DeSO with it, register order.

        Each row of `investment_areas` plus the number of DeSO in common (`shared_deso`), in this area
        (`page_deso`) and in the investment's area (`area_deso`).
        """
        if self.followup is None:
            return []
        page = self.coverage.get((self.level, area_code), frozenset())
        found = []
        for row in self.followup.areas.to_dict("records"):
            theirs = self.coverage.get((row["area_level"], row["area_code"]), frozenset())
            same = (row["area_level"], row["area_code"]) == (self.level, area_code)
            if same or page & theirs:
                found.append({**row, "shared_deso": len(page & theirs), "page_deso": len(page),
                              "area_deso": len(theirs)})
        return found

    def needs_row(self, area_code: str, universe: str = "municipality") -> dict | None:
        """The area's needs-index row in one universe ('municipality' or 'nation'), or None."""
        if self.needs_index is None:
            return None
        ni = self.needs_index
        rows = ni[(ni["area_code"] == area_code) & (ni["universe"] == universe)]
        return rows.iloc[0].to_dict() if len(rows) else None

    @property
    def level_label(self) -> str:
        return LEVEL_LABELS.get(self.level, self.level)

    def latest(self, area_code: str) -> dict[str, dict]:
        """indicator -> profile row (a dict) of one area in the latest year."""
        rows = self.profiles[(self.profiles["area_code"] == area_code) & (self.profiles["year"] == self.year)]
        return {r["indicator"]: r for r in rows.to_dict("records")}

    def history(self, area_code: str) -> pd.DataFrame:
        return self.profiles[self.profiles["area_code"] == area_code].sort_values(["indicator", "year"])

    def display_name(self, area_code: str) -> str:
        """RegSO and districts have names; a DeSO has only its code, so add the RegSO it lies in."""
        row = self.areas.loc[self.areas["area_code"] == area_code].iloc[0]
        if self.level == "deso" and row["area_name"] == area_code and isinstance(row["regso_code"], str):
            return f"{area_code} ({row['regso_code'].split(':', 1)[-1]})"
        return row["area_name"]


def load(published_db: Path, municipality: str, level: str) -> MunicipalityData:
    with duckdb.connect(str(published_db), read_only=True) as con:
        muni = con.execute(
            "SELECT area_name, county_name FROM areas WHERE area_level = 'municipality' AND area_code = ?",
            [municipality],
        ).fetchone()
        if muni is None:
            raise ReportDataError(f"kommunkoden {municipality} finns inte i {published_db}")
        profiles = con.execute(
            "SELECT * FROM profiles WHERE municipality_code = ? AND area_level = ? ORDER BY area_code, year",
            [municipality, level],
        ).df()
        if profiles.empty:
            raise ReportDataError(f"inga områden på nivån {level!r} i kommun {municipality} ({muni[0]})")
        areas = con.execute(
            "SELECT area_code, area_name, regso_code FROM areas WHERE municipality_code = ? AND area_level = ?"
            " ORDER BY area_code",
            [municipality, level],
        ).df()
        deso = con.execute(
            "SELECT area_code, regso_code, parent_code, boundary_version FROM areas"
            " WHERE municipality_code = ? AND area_level = 'deso'",
            [municipality],
        ).df()
        catalogue = con.execute("SELECT * FROM indicators").df()
        sources = con.execute("SELECT * FROM meta_sources ORDER BY raw_table").df().to_dict("records")
        run_ids = profiles["run_id"].dropna().unique().tolist()
        runs = con.execute(
            "SELECT * FROM meta_runs WHERE run_id IN (SELECT unnest(?::VARCHAR[]))", [run_ids[:1]]
        ).df().to_dict("records")
        counties = dict(con.execute("SELECT area_code, area_name FROM areas WHERE area_level = 'county'").fetchall())
        tables = {t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        needs = _needs_index(con, level, areas["area_code"].tolist()) if "needs_index" in tables else None
        links = (
            con.execute("SELECT child_level, child_code, parent_level, parent_code FROM area_links").fetchall()
            if "area_links" in tables else []
        )
        followup = _followup(con, municipality) if set(FOLLOWUP_TABLES) <= tables else None

    present = set(profiles["indicator"])
    every = {
        r["indicator"]: Indicator(
            id=r["indicator"],
            title=r["title_sv"],
            # A Swedish definition, once the catalogue has one; until then the catalogue's own text.
            definition=r.get("definition_sv") or r["definition"],
            unit=r["unit"],
            kind=r["kind"],
            direction=r["direction"],
            source_table=r["source_table"],
        )
        for r in catalogue.to_dict("records")
    }
    indicators = {key: ind for key, ind in every.items() if key in present}
    ancestors = _ancestors(deso, links)
    members = _members(ancestors, set(areas["area_code"]), level)
    years = sorted(int(y) for y in profiles["year"].unique())
    return MunicipalityData(
        code=municipality,
        name=muni[0],
        county_name=muni[1],
        level=level,
        year=years[-1],
        years=years,
        indicators=indicators,
        profiles=profiles,
        areas=areas,
        members=members,
        statistics_version=(deso["boundary_version"].dropna().iloc[0] if len(deso) else ""),
        sources=sources,
        run=runs[0] if runs else {"run_id": run_ids[0] if run_ids else ""},
        needs_index=needs,
        counties=counties,
        catalogue=every,
        coverage=_coverage(ancestors) if followup is not None else {},
        followup=followup,
    )


def _ancestors(deso: pd.DataFrame, links: list[tuple]) -> dict[str, list[tuple[str, str]]]:
    """Statistics DeSO code -> the DeSO itself and every area above it, (level, code), nearest first.

    Follows `area_links` upwards (DeSO -> RegSO, DeSO -> named district, ... -> country) when the
    database has it, else the `areas` columns: a DeSO's regso_code, and its code's municipality prefix.
    """
    parents: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for child_level, child_code, parent_level, parent_code in links:
        parents.setdefault((child_level, child_code), []).append((parent_level, parent_code))
    found = {}
    for row in deso.to_dict("records"):
        code = row["area_code"]
        above = [("deso", code)]
        if parents:
            frontier = above
            while frontier:
                frontier = [p for node in frontier for p in parents.get(node, []) if p not in above]
                above += frontier
        else:  # a DeSO code starts with its municipality's code
            above += [("regso", row["regso_code"]), ("municipality", code[:4])]
        found[code] = above
    return found


def _members(ancestors: dict[str, list[tuple[str, str]]], level_codes: set[str], level: str) -> dict[str, str]:
    """Statistics DeSO code -> the area of `level` it lies in (itself for DeSO)."""
    members = {}
    for code, above in ancestors.items():
        owner = next((c for lvl, c in above if lvl == level and c in level_codes), None)
        if owner is not None:
            members[code] = owner
    return members


def _coverage(ancestors: dict[str, list[tuple[str, str]]]) -> dict[tuple[str, str], frozenset[str]]:
    """(level, code) -> the municipality's DeSO that lie in that area (a DeSO covers itself)."""
    covered: dict[tuple[str, str], set[str]] = {}
    for code, above in ancestors.items():
        for node in above:
            covered.setdefault(node, set()).add(code)
    return {node: frozenset(codes) for node, codes in covered.items()}


def _followup(con: duckdb.DuckDBPyConnection, municipality: str) -> Followup:
    """The municipality's investments and their follow-up tables, one parameterised query each."""
    ours = " WHERE investment_id IN (SELECT investment_id FROM investments WHERE municipality_code = ?)"

    def read(sql: str) -> pd.DataFrame:
        return con.execute(sql, [municipality]).df()

    return Followup(
        investments=read("SELECT * FROM investments WHERE municipality_code = ? ORDER BY file, position"),
        areas=read("SELECT * FROM investment_areas WHERE municipality_code = ? AND matches = 1"
                   " ORDER BY file, investment_id, area_position"),
        comparisons=read("SELECT * FROM followup_comparisons" + ours
                         + " ORDER BY investment_id, area_code, comparison_rank"),
        points=read("SELECT * FROM followup_points" + ours
                    + " ORDER BY investment_id, area_code, outcome_position, year"),
        estimates=read("SELECT * FROM followup_estimates" + ours
                       + " ORDER BY investment_id, area_code, outcome_position"),
    )


def _needs_index(con: duckdb.DuckDBPyConnection, level: str, area_codes: list[str]) -> pd.DataFrame | None:
    """The level's needs-index rows for these areas in the latest year, both universes; None when empty.

    Columns used: universe ('municipality' | 'nation'), index_rank (percentile rank, higher = more need),
    position (1 = most need) of areas_ranked, and drivers (the flagged indicators' titles).
    """
    rows = con.execute(
        "SELECT * FROM needs_index WHERE area_level = ? AND area_code IN (SELECT unnest(?::VARCHAR[]))",
        [level, area_codes],
    ).df()
    if rows.empty:
        return None
    return rows[rows["year"] == rows["year"].max()].reset_index(drop=True)
