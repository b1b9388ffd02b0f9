"""The written summary of an area, generated from its indicator rows, and the indicators that drive its rank.

Wording is direction-aware: "högre/lägre än kommunen" says what the number does, and the catalogue's
direction decides whether that is more or less need. Indicators without a phrase below get a generic one,
so a new catalogue entry still appears.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.reports import fmt
from pipelines.reports.data import Indicator

# indicator -> (phrase after "I <område>" with {v} for the value, noun phrase, what a top rank means)
TEXTS = {
    "share_foreign_background": (
        "har {v} av invånarna utländsk bakgrund", "andelen med utländsk bakgrund", "hög andel utländsk bakgrund"),
    "share_age_0_4": ("är {v} av invånarna barn 0–4 år", "andelen barn 0–4 år", "många barn 0–4 år"),
    "share_age_0_19": (
        "är {v} av invånarna barn och unga 0–19 år", "andelen barn och unga 0–19 år", "många barn och unga 0–19 år"),
    "share_age_65_plus": ("är {v} av invånarna 65 år eller äldre", "andelen 65 år och äldre", "många 65 år och äldre"),
    "share_low_education": (
        "har {v} av invånarna 25–64 år högst förgymnasial utbildning",
        "andelen 25–64 år med högst förgymnasial utbildning",
        "hög andel med förgymnasial utbildning",
    ),
    "share_post_secondary": (
        "har {v} av invånarna 25–64 år eftergymnasial utbildning",
        "andelen 25–64 år med eftergymnasial utbildning",
        "låg andel med eftergymnasial utbildning",
    ),
    "median_income_tkr": ("är medianinkomsten (20 år och äldre) {v}", "medianinkomsten", "låg medianinkomst"),
}
SAME_LEVEL = 0.05  # within ±5 % of the municipality's value counts as "i nivå med kommunen"
NOTABLE = 0.10  # deviations from ±10 % get a sentence of their own
MAX_SENTENCES = 4
TOP_SHARE = 0.20  # "top of the municipality": rank within the top 20 % of its areas


@dataclass(frozen=True)
class Reason:
    indicator: Indicator
    rank: int
    of: int

    def __str__(self) -> str:
        tag = TEXTS[self.indicator.id][2] if self.indicator.id in TEXTS else self.indicator.title
        return f"{tag} ({self.rank}/{self.of})"


def noun(indicator: Indicator) -> str:
    return TEXTS[indicator.id][1] if indicator.id in TEXTS else indicator.title[:1].lower() + indicator.title[1:]


def driving_indicators(rows: dict[str, dict], indicators: dict[str, Indicator], top_share: float = TOP_SHARE,
                       only: list[str] | None = None) -> list[Reason]:
    """Need indicators that put the area in the top `top_share` of its municipality (rank 1 = greatest need)."""
    reasons = []
    for key in only or list(indicators):
        row, indicator = rows.get(key), indicators.get(key)
        if row is None or indicator is None or indicator.direction == "neutral":
            continue
        rank, of = row.get("rank_in_municipality"), row.get("areas_in_municipality")
        if fmt.is_number(rank) and fmt.is_number(of) and rank <= max(1.0, top_share * of):
            reasons.append(Reason(indicator, int(rank), int(of)))
    return sorted(reasons, key=lambda r: r.rank / r.of)


def compare(row: dict) -> str | None:
    """'higher' / 'lower' / 'same' against the municipality, or None when either value is missing."""
    value, muni = row.get("value"), row.get("municipality_value")
    if not (fmt.is_number(value) and fmt.is_number(muni)) or muni == 0:
        return None
    if abs(value / muni - 1) < SAME_LEVEL:
        return "same"
    return "higher" if value > muni else "lower"


def summarise(rows: dict[str, dict], indicators: dict[str, Indicator], *, area: str, level_label: str,
              municipality: str, year: int) -> list[str]:
    """Paragraphs of plain Swedish text: who lives here, what stands out, and which way the need points."""
    paragraphs = []
    population = rows.get("population", {}).get("value")
    # 'Västra Klockaretorpet (RegSO i Norrköping)', but 'DeSO 2081C1140 (Tjärna Ängar) i Borlänge'.
    where = f"{area} i {municipality}" if area.startswith(level_label) else f"{area} ({level_label} i {municipality})"
    has_population = fmt.is_number(population)
    paragraphs.append(
        f"{where} har {fmt.number(population)} invånare ({year})." if has_population else f"{where}, {year}."
    )

    # What stands out most against the municipality, largest relative deviation first.
    notable = []
    for key, indicator in indicators.items():
        row = rows.get(key)
        if key == "population" or row is None or compare(row) in (None, "same"):
            continue
        deviation = abs(row["value"] / row["municipality_value"] - 1)
        if deviation >= NOTABLE:
            notable.append((deviation, indicator, row))
    notable.sort(key=lambda t: -t[0])
    sentences = []
    for i, (_, indicator, row) in enumerate(notable[:MAX_SENTENCES]):
        v, m, n = _short_values(row, indicator.unit)
        against = _against(m, n, municipality)
        if i == 0:
            phrase = TEXTS[indicator.id][0] if indicator.id in TEXTS else f"är {noun(indicator)} {{v}}"
            sentences.append(f"I {area} {phrase.format(v=v)}{against}.")
        else:
            sentences.append(f"{_capital(noun(indicator))} är {v}{against}.")
    if sentences:
        paragraphs.append(" ".join(sentences))

    # Direction-aware verdicts for every need indicator: which way the value goes, and what that means.
    verdicts: dict[tuple[bool, str], list[str]] = {}
    same = []
    for key, indicator in indicators.items():
        row = rows.get(key)
        side = compare(row) if row is not None and indicator.direction != "neutral" else None
        if side == "same":
            same.append(noun(indicator))
        elif side is not None:
            more_need = (side == "higher") == (indicator.direction == "more_is_more_need")
            verdicts.setdefault((more_need, side), []).append(noun(indicator))
    verdict = []
    n_more = sum(len(v) for (more_need, _), v in verdicts.items() if more_need)
    total = sum(len(v) for v in verdicts.values()) + len(same)
    if total:
        verdict.append(f"Jämfört med {municipality} pekar {n_more} av {total} behovsindikatorer på större behov.")
    for more_need, label in ((True, "Större behov"), (False, "Mindre behov")):
        parts = [f"{'högre' if side == 'higher' else 'lägre'} än kommunen: {_join(verdicts[(more_need, side)])}"
                 for side in ("higher", "lower") if (more_need, side) in verdicts]
        if parts:
            verdict.append(f"{label} – {'; '.join(parts)}.")
    if same:
        verdict.append(f"I nivå med kommunen: {_join(same)}.")
    reasons = driving_indicators(rows, indicators)
    if reasons:
        verdict.append(
            f"Bland de {fmt.number(TOP_SHARE * 100)} % av kommunens områden med störst behov (rang/antal områden): "
            + _join([str(r) for r in reasons]) + "."
        )
    if verdict:
        paragraphs.append(" ".join(verdict))
    return paragraphs


def _short_values(row: dict, unit: str) -> tuple[str, str, str]:
    """Whole percent in running text, unless that would make different values look equal or is below 10 %."""
    values = [row.get("value"), row.get("municipality_value"), row.get("national_value")]
    if unit == "share":
        present = [x for x in values if fmt.is_number(x)]
        rounded = [round(x * 100) for x in present]
        decimals = 0 if all(x >= 0.1 for x in present) and len(set(rounded)) == len(rounded) else 1
        return tuple(fmt.percent(x, decimals) for x in values)
    return tuple(fmt.value(x, unit, short=True) for x in values)


def _against(municipality_value: str, national_value: str, municipality: str) -> str:
    parts = [f"{municipality_value} i {municipality}"] if municipality_value != fmt.HIDDEN else []
    parts += [f"{national_value} i riket"] if national_value != fmt.HIDDEN else []
    return f", mot {' och '.join(parts)}" if parts else ""


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " och " + items[-1]
