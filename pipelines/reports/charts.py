"""Report charts as inline SVG: area vs municipality vs nation, the age structure, and trends."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from pipelines.maps import figure_to_svg
from pipelines.reports import fmt
from pipelines.reports.data import Indicator

COLOURS = {"area": "#1f4e79", "municipality": "#6fa8dc", "nation": "#b7b7b7"}
FONT = 13
WIDTH = 4.6  # inches: narrow enough that the text stays legible when a phone scales the SVG down
# Age bands derivable from the published shares (SCB publishes five-year bands, the profile three shares).
AGE_BANDS = ("0–4 år", "5–19 år", "20–64 år", "65+ år")


def _style(ax: plt.Axes) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=FONT)
    ax.xaxis.grid(True, color="#e5e5e5")
    ax.set_axisbelow(True)


def grouped_bars(labels: list[str], series: dict[str, list[float | None]], names: dict[str, str], *,
                 title: str, salt: str) -> str:
    """Horizontal bars, one group per label, one bar per series (shares 0–1, shown in %)."""
    n, k = len(labels), len(series)
    fig, ax = plt.subplots(figsize=(WIDTH, 0.95 + n * (0.3 * k + 0.35)))
    height = 0.8 / k
    y = np.arange(n)
    for i, (key, values) in enumerate(series.items()):
        positions = y - 0.4 + height * (i + 0.5)
        shown = [v * 100 if fmt.is_number(v) else 0 for v in values]
        bars = ax.barh(positions, shown, height=height * 0.92, color=COLOURS[key], label=names[key])
        ax.bar_label(bars, labels=[fmt.percent(v) for v in values], padding=3, fontsize=FONT - 2)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlabel("Procent", fontsize=FONT)
    ax.set_xlim(0, max((v * 100 for vs in series.values() for v in vs if fmt.is_number(v)), default=1) * 1.22)
    _style(ax)
    # One legend row when it fits; long area names stack. savefig's tight bbox makes room for it.
    ncols = k if sum(len(names[key]) for key in series) <= 28 else 1
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=ncols, frameon=False, fontsize=FONT)
    try:
        return figure_to_svg(fig, salt=salt, title=title)
    finally:
        plt.close(fig)


def comparison_chart(rows: dict[str, dict], indicators: dict[str, Indicator], *, area: str, municipality: str,
                     salt: str) -> str | None:
    """Every share indicator: area, municipality, nation."""
    shares = [i for i in indicators.values() if i.unit == "share" and i.id in rows]
    if not shares:
        return None
    series = {
        "area": [rows[i.id]["value"] for i in shares],
        "municipality": [rows[i.id]["municipality_value"] for i in shares],
        "nation": [rows[i.id]["national_value"] for i in shares],
    }
    names = {"area": area, "municipality": municipality, "nation": "Riket"}
    labels = [_wrap(i.title.removeprefix("Andel "), 20) for i in shares]
    return grouped_bars(labels, series, names, title=f"Andelar: {area}, {municipality} och riket", salt=salt)


def age_bands(rows: dict[str, dict], column: str) -> list[float | None]:
    """Shares of 0–4, 5–19, 20–64 and 65+ from share_age_0_4, share_age_0_19 and share_age_65_plus."""
    try:
        a, b, c = (rows[k][column] for k in ("share_age_0_4", "share_age_0_19", "share_age_65_plus"))
    except KeyError:
        return []
    if not all(fmt.is_number(x) for x in (a, b, c)):
        return []
    return [a, b - a, 1 - b - c, c]


def age_chart(rows: dict[str, dict], *, area: str, municipality: str, salt: str) -> str | None:
    area_bands, muni_bands = age_bands(rows, "value"), age_bands(rows, "municipality_value")
    if not area_bands:
        return None
    return grouped_bars(list(AGE_BANDS), {"area": area_bands, "municipality": muni_bands},
                        {"area": area, "municipality": municipality},
                        title=f"Åldersstruktur: {area} och {municipality}", salt=salt)


def trend_chart(history: pd.DataFrame, indicators: dict[str, Indicator], *, area: str, municipality: str,
                salt: str) -> str | None:
    """Small multiples, one per indicator with more than one year; None when no indicator has two years."""
    keys = [k for k in indicators if history.loc[history["indicator"] == k, "year"].nunique() > 1]
    if not keys:
        return None
    cols = 2
    rows_n = -(-len(keys) // cols)
    fig, axes = plt.subplots(rows_n, cols, figsize=(WIDTH, 2.4 * rows_n), squeeze=False)
    for ax, key in zip(axes.flat, keys):
        indicator = indicators[key]
        h = history[history["indicator"] == key].sort_values("year")
        scale = 100 if indicator.unit == "share" else 1
        for column, colour_key, label in (("value", "area", area), ("municipality_value", "municipality", municipality),
                                          ("national_value", "nation", "Riket")):
            ax.plot(h["year"], h[column] * scale, marker="o", color=COLOURS[colour_key], label=label)
        ax.set_title(_wrap(indicator.title, 30), fontsize=FONT - 1)
        ax.set_xticks(sorted(h["year"].unique()))
        _style(ax)
    for ax in list(axes.flat)[len(keys):]:
        ax.set_axis_off()
    axes.flat[0].legend(fontsize=FONT - 2, frameon=False)
    fig.tight_layout()
    try:
        return figure_to_svg(fig, salt=salt, title=f"Utveckling över tid: {area}")
    finally:
        plt.close(fig)


def _wrap(text: str, width: int) -> str:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join([*lines, line])
