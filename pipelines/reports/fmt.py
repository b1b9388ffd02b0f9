"""Swedish number formatting and the small-number convention, in one place for HTML, CSV and charts.

Swedish style: decimal comma, a (non-breaking) space between thousands and before "%", "tkr" for SEK
thousands. ".." marks a value that is hidden or missing (SCB's convention), "–" one that does not exist
(a median cannot be summed to the municipality, a change needs two years).
"""

from __future__ import annotations

import math
import numbers

NBSP = "\u00a0"
HIDDEN = ".."  # hidden (fewer than MIN_COUNT) or missing
NONE = "–"  # does not exist for this area or level
MIN_COUNT = 5  # derived counts below this are not published
FEWER_THAN = f"färre än {MIN_COUNT}"


def is_number(x: object) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and not math.isnan(x)


def text(x: object) -> str:
    """A text cell from the database: pandas gives NaN, not None, for a missing string."""
    return x if isinstance(x, str) else ""


def number(x: float | None, decimals: int = 0, *, sign: bool = False) -> str:
    if not is_number(x):
        return HIDDEN
    x = float(x)
    if round(x, decimals) == 0:
        x = 0.0  # no "-0"
    text = f"{x:{'+' if sign else ''},.{decimals}f}"
    return text.replace(",", NBSP).replace(".", ",").replace("-", "−")


def percent(share: float | None, decimals: int = 1) -> str:
    """A share 0–1 as '44,0 %'."""
    return HIDDEN if not is_number(share) else f"{number(share * 100, decimals)}{NBSP}%"


def value(x: float | None, unit: str, *, short: bool = False) -> str:
    """A value in its unit; `short` rounds for running text (44 %, 169 tkr)."""
    if unit == "share":
        return percent(x, 0 if short else 1)
    if unit == "SEK thousands":
        return HIDDEN if not is_number(x) else f"{number(x, 0 if short else 1)}{NBSP}tkr"
    return number(x)


def difference(x: float | None, unit: str) -> str:
    """A difference: procentenheter for shares, the unit otherwise; always signed."""
    if not is_number(x):
        return NONE
    if unit == "share":
        return f"{number(x * 100, 1, sign=True)}{NBSP}p.e."
    if unit == "SEK thousands":
        return f"{number(x, 1, sign=True)}{NBSP}tkr"
    return number(x, sign=True)


def unit_label(unit: str) -> str:
    return {"share": "andel, %", "persons": "antal personer", "SEK thousands": "tusental kronor"}.get(unit, unit)


def derived_count(share: float | None, population: float | None) -> int | None:
    """share × population, rounded: a derived count (SCB publishes the share and the population)."""
    if not (is_number(share) and is_number(population)):
        return None
    return int(math.floor(share * population + 0.5))


def masked_count(count: int | None) -> str:
    """A derived count for publication: '..' below MIN_COUNT (or when unknown)."""
    return HIDDEN if count is None or count < MIN_COUNT else number(count)
