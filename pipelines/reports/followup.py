"""The follow-up section of a district report: each social investment in (or overlapping) the area,
its comparison districts and outcomes, and an estimate or the reason there is none."""

from __future__ import annotations

from typing import Callable

import pandas as pd

from pipelines.reports import fmt
from pipelines.reports.data import MunicipalityData

# How an investment's area is named in running text ("Uppföljningen mäts för RegSO Västra Klockaretorpet").
AREA_NAMES = {"deso": "DeSO {}", "regso": "RegSO {}", "district": "distriktet {}", "municipality": "hela kommunen ({})"}
UNIVERSE_NAMES = {"municipality": "kommunen", "nation": "riket"}


def investments(data: MunicipalityData, code: str, label: str, page_name: Callable[[str], str]) -> list[dict]:
    """The social investments whose area is this area or shares DeSO with it, with their follow-up.

    Empty when there are none, or when the database has no follow-up tables (the section is left out).
    """
    found = data.investment_areas(code)
    if not found:
        return []
    followup = data.followup
    by_investment: dict[str, list[dict]] = {}
    for row in found:
        by_investment.setdefault(row["investment_id"], []).append(row)
    items = []
    for inv in followup.investments.to_dict("records"):
        areas = by_investment.get(inv["investment_id"])
        if not areas:
            continue
        here = {a["area_code"] for a in areas}
        registered = followup.areas[followup.areas["investment_id"] == inv["investment_id"]]
        ages = [a for a in (inv.get("age_from"), inv.get("age_to")) if fmt.is_number(a)]
        items.append({
            "name": inv["name"],
            "period": _period(inv.get("start_date"), inv.get("end_date")),
            "years": _followup_years(inv),
            "target_group": fmt.text(inv.get("target_group")) or "anges inte",
            "ages": "–".join(fmt.number(a) for a in ages) + " år" if len(ages) == 2 else "",
            "budget": f"{fmt.number(inv['budget_sek'])} kr" if fmt.is_number(inv.get("budget_sek")) else "anges inte",
            "purpose": fmt.text(inv.get("purpose")),
            "partners": fmt.text(inv.get("partners")),
            "source": fmt.text(inv.get("source")),
            "gaps": [fmt.text(g) for g in _items(inv.get("gaps")) if fmt.text(g)],
            "elsewhere": [_area_name(r["area_level"], r["area_name"])
                          for r in registered.to_dict("records") if r["area_code"] not in here],
            "areas": [_investment_area(data, inv, area, code, label, page_name) for area in areas],
        })
    return items


def _investment_area(data: MunicipalityData, inv: dict, area: dict, page_code: str, label: str,
                     page_name: Callable[[str], str]) -> dict:
    """One area of an investment on this page: where it is measured, its comparison districts and outcomes."""
    followup = data.followup
    investment, area_code = inv["investment_id"], area["area_code"]
    where = _area_name(area["area_level"], area["area_name"])
    if (area["area_level"], area_code) == (data.level, page_code):
        measured = f"Uppföljningen mäts för det här området ({where})."
    else:
        shared, page, theirs = (fmt.number(area[k]) for k in ("shared_deso", "page_deso", "area_deso"))
        if area["shared_deso"] == area["page_deso"] == area["area_deso"]:
            relation = f"som består av samma {shared} DeSO som {label}"
        elif area["shared_deso"] == area["page_deso"]:
            relation = f"ett större område ({theirs} DeSO) som {label} ligger inom"
        elif area["shared_deso"] == area["area_deso"]:
            relation = f"som är en del av {label} ({shared} av {page} DeSO)"
        else:
            relation = f"som överlappar {label} ({shared} av {page} DeSO ligger i båda)"
        measured = f"Uppföljningen mäts för {where}, {relation}."

    comparisons = followup.of("comparisons", investment, area_code).to_dict("records")
    ours = set(data.areas["area_code"]) if area["area_level"] == data.level else set()  # linkable pages
    first = comparisons[0] if comparisons else {}
    matching = {
        "rows": [{
            "rank": fmt.number(c["comparison_rank"]),
            "name": c["comparison_name"],
            "href": page_name(c["comparison_code"]) if c["comparison_code"] in ours else None,
            "distance": fmt.number(c["distance"], 2),
            "matched_year": _year(c["matched_year"]),
        } for c in comparisons],
        "notes": list(dict.fromkeys(fmt.text(c["match_note"]) for c in comparisons if fmt.text(c["match_note"]))),
        "matched_on": [data.catalogue[i].title if i in data.catalogue else i for i in _items(first.get("matched_on"))],
        "method": fmt.text(first.get("distance_method")),
        "universe": UNIVERSE_NAMES.get(fmt.text(first.get("universe")), fmt.text(first.get("universe"))),
        "candidates": fmt.number(first.get("candidates")) if fmt.is_number(first.get("candidates")) else "",
    }

    points = followup.of("points", investment, area_code)
    held = points[points["value"].notna()]
    latest_year = int(held["year"].max()) if len(held) else data.year
    rows, caveats, notes = [], [], []
    for est in followup.of("estimates", investment, area_code).to_dict("records"):
        indicator = est["indicator"]
        meta = data.catalogue.get(indicator)
        title, unit = (meta.title, meta.unit) if meta else (indicator, "")
        mine = points[points["indicator"] == indicator]
        with_value = mine[mine["value"].notna()]
        latest = (with_value.iloc[-1] if len(with_value) else
                  mine[mine["year"] == latest_year].iloc[0] if (mine["year"] == latest_year).any() else None)
        latest = latest.to_dict() if latest is not None else {}
        caveat = fmt.text(est.get("caveats"))
        if caveat and caveat not in caveats:
            caveats.append(caveat)
        reason = fmt.text(est.get("no_estimate_reason")) or fmt.NONE
        during_points = mine[mine["period"] == "during"]
        during_reason = fmt.text(during_points.iloc[-1]["no_estimate_reason"]) if len(during_points) else ""
        after, during = _estimate(est, "after", unit, reason), _estimate(est, "during", unit, during_reason or fmt.NONE)
        estimates = [after, during] if after["value"] or during["value"] else []
        if estimates:  # whether the latest estimated year lies outside the comparison districts' changes
            (after if after["value"] else during)["range"] = _range(est.get("outside_comparison_range"))
        year_note = (f" ({_year(latest['year'])})" if fmt.is_number(latest.get("year"))
                     and int(latest["year"]) != latest_year and fmt.is_number(latest.get("value")) else "")
        rows.append({
            "title": title,
            "baseline": fmt.value(est.get("baseline_value"), unit),
            "latest": fmt.value(latest.get("value"), unit) + year_note,
            "comparison": fmt.value(latest.get("comparison_value"), unit),
            "municipality": fmt.value(latest.get("municipality_value"), unit),
            "nation": fmt.value(latest.get("national_value"), unit),
            "estimates": estimates,  # after and during, each a value or the reason there is none; [] when neither
            "reason": reason,
            "mark": caveats.index(caveat) + 1 if caveat and estimates else None,
        })
        value_note = fmt.text(latest.get("value_note"))
        if not fmt.is_number(latest.get("value")) and value_note and value_note != reason:
            notes.append({"title": title, "note": value_note})
    estimated = sum(1 for r in rows if r["estimates"])
    return {
        "where": where,
        "heading": where[:1].upper() + where[1:],
        "measured": measured,
        "comparisons": matching,
        "baseline_year": _year(inv.get("baseline_year")),
        "latest_year": latest_year,
        "rows": rows,
        "estimated": estimated,
        "caveats": caveats,
        "notes": notes,
        "held_years": _year_list(data.years),
    }


def _estimate(est: dict, period: str, unit: str, reason: str) -> dict:
    """A difference-in-differences estimate as shown (`value` '' and the `reason` when there is none)."""
    value = est.get(f"did_{period}")
    return {
        "label": {"after": "Efter", "during": "Under"}[period],
        "value": fmt.difference(value, unit) if fmt.is_number(value) else "",
        "years": _year_list(int(y) for y in _items(est.get(f"years_{period}"))),
        "reason": reason,
        "range": "",
    }


def _range(outside) -> str:
    if outside is None or pd.isna(outside):
        return ""
    return "utanför jämförelseområdenas spridning" if bool(outside) else "inom jämförelseområdenas spridning"


def _area_name(level: str, name: str) -> str:
    return AREA_NAMES.get(level, "{}").format(name)


def _period(start, end) -> str:
    if _day(start) is None and _day(end) is None:
        return "anges inte"
    return f"{_day(start) or 'start anges inte'} – {_day(end) or 'slut anges inte'}"


def _day(x) -> str | None:
    return None if x is None or pd.isna(x) else pd.Timestamp(x).date().isoformat()


def _followup_years(inv: dict) -> str:
    """Which statistics years count as baseline, during and after."""
    base, first, last = (inv.get(k) for k in ("baseline_year", "first_year", "last_year"))
    if not all(fmt.is_number(y) for y in (base, first, last)):
        return "Åren för uppföljningen kan inte bestämmas: start- eller slutdatum saknas i registret."
    during = _year(first) if first == last else f"{_year(first)}–{_year(last)}"
    return f"Basår {_year(base)}; under insatsen {during}; efter insatsen från {_year(last + 1)}."


def _year(y) -> str:
    """A year as written (no thousands space); '..' when missing."""
    return str(int(y)) if fmt.is_number(y) else fmt.HIDDEN


def _year_list(years) -> str:
    """[2020, 2021, 2022] -> '2020–2022'; gaps are listed: '2018, 2020–2022'."""
    years = sorted(set(int(y) for y in years))
    runs: list[list[int]] = []
    for y in years:
        if runs and y == runs[-1][-1] + 1:
            runs[-1].append(y)
        else:
            runs.append([y])
    return ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}–{r[-1]}" for r in runs)


def _items(x) -> list:
    """A list column from the database (a list, an array, or missing) as a list."""
    if x is None or isinstance(x, (str, float)):
        return []
    try:
        return list(x)
    except TypeError:  # pd.NA
        return []
