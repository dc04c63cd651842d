"""The report's charts as PNG bytes (matplotlib, Agg canvas, no display, no pyplot state).

Labels come from event data (agency codes, host names), so every label goes
through :func:`plain` first: matplotlib would otherwise read ``$...$`` in a
label as mathematical markup.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

MAX_SERIES = 8
"""Series drawn individually; the rest are summed as "other"."""
STATUS_COLOURS = {"authorised": "#4c72b0", "unknown": "#dd8452", "prohibited": "#c44e52"}
SEVERITY_COLOURS = {"low": "#8da0cb", "medium": "#fdb462", "high": "#fb8072", "critical": "#b2182b"}


def plain(label: object, limit: int = 40) -> str:
    """A label shown literally: no mathtext, bounded length.

    >>> plain("a$b$c")
    'a\\\\$b\\\\$c'
    """
    text = str(label)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("\\", "\\\\").replace("$", r"\$")


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=96, metadata={"Software": None})
    return buffer.getvalue()


def _figure(height: float = 3.6) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(9.0, height), layout="constrained")
    return fig, fig.add_subplot()


def _top_columns(table: pd.DataFrame) -> pd.DataFrame:
    """Keep the largest series; sum the rest into "other"."""
    if table.shape[1] <= MAX_SERIES:
        return table
    order = table.sum().sort_values(ascending=False).index
    keep, rest = list(order[: MAX_SERIES - 1]), list(order[MAX_SERIES - 1 :])
    out = table[keep].copy()
    out["other"] = table[rest].sum(axis=1)
    return out


def _date_axis(ax: Axes) -> None:
    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))


def daily_lines(table: pd.DataFrame, title: str, ylabel: str) -> bytes:
    """One line per column over a daily index (e.g. searches per agency per day)."""
    fig, ax = _figure()
    table = _top_columns(table)
    index = pd.to_datetime(table.index)
    for column in table.columns:
        ax.plot(index, table[column].to_numpy(), marker="o", markersize=3, label=plain(column))
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if len(table.columns):
        ax.legend(fontsize="small", ncols=2)
    _date_axis(ax)
    return _png(fig)


def daily_stacked(table: pd.DataFrame, title: str, colours: dict[str, str] | None = None) -> bytes:
    """Stacked daily bars, one colour per column (e.g. alerts per detector per day)."""
    fig, ax = _figure()
    table = _top_columns(table)
    index = pd.to_datetime(table.index)
    bottom = np.zeros(len(table))
    for column in table.columns:
        values = table[column].to_numpy(dtype=float)
        colour = (colours or {}).get(str(column))
        ax.bar(index, values, bottom=bottom, width=0.8, label=plain(column), color=colour)
        bottom += values
    ax.set_title(title)
    ax.set_ylabel("alerts")
    ax.grid(axis="y", alpha=0.3)
    if len(table.columns):
        ax.legend(fontsize="small", ncols=2)
    _date_axis(ax)
    return _png(fig)


def horizontal_bars(
    labels: Sequence[str], values: Sequence[int], statuses: Sequence[str], title: str
) -> bytes:
    """Horizontal bars coloured by system status (authorised / unknown / prohibited)."""
    fig, ax = _figure(height=max(2.4, 0.32 * len(labels) + 1.2))
    positions = np.arange(len(labels))
    colours = [STATUS_COLOURS.get(s, "#999999") for s in statuses]
    bars = ax.barh(positions, list(values), color=colours)
    ax.bar_label(bars, labels=[f"{v:,}" for v in values], padding=3, fontsize="small")
    ax.set_yticks(positions, [plain(label, 48) for label in labels])
    ax.invert_yaxis()
    ax.set_xlabel("searches")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    handles = [
        ax.bar(0, 0, color=c, label=s) for s, c in STATUS_COLOURS.items() if s in set(statuses)
    ]
    if handles:
        ax.legend(fontsize="small")
    return _png(fig)


def score_histogram(scores: np.ndarray, threshold: float | None, title: str) -> bytes:
    """Distribution of behaviour-model scores, with the alert threshold marked."""
    fig, ax = _figure()
    ax.hist(scores, bins=60, color="#4c72b0", alpha=0.85)
    if threshold is not None:
        ax.axvline(threshold, color="#c44e52", linestyle="--", label=f"threshold {threshold:.3f}")
        ax.legend(fontsize="small")
    ax.set_yscale("log")
    ax.set_xlabel("anomaly score (higher = more unusual)")
    ax.set_ylabel("scored searches (log)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return _png(fig)
