"""The report charts' shared look: colours, figure and axes style, number formats on axes, PNG output;
and the series and groups that a chart and the page around it share.

Figures are drawn on their own Agg canvas; pyplot is never imported, so drawing a report
neither needs a display nor changes the backend of a notebook it runs in. matplotlib is imported
only to draw: a report whose charts were drawn elsewhere (`mmm fit`'s engine) is built without it.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from mmm.core.constants import TIER_COLORS, TIERS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from mmm.analysis.results import FitSummary
    from mmm.planning.results import Allocation

DPI = 150
INK = "#1f2933"
MUTED = "#616e7c"
GRID = "#e4e7eb"
ACTUAL = "#1f2933"
PREDICTED = "#1f6fb2"
BASELINE = "#cfd6de"
TREND = "#9aa5b1"
CONTROLS_LINE = "#a67c2e"
CURRENT = "#9aa5b1"
# Colour-blind-friendly qualitative palette (Okabe-Ito without black and yellow, then Tableau).
CHANNEL_PALETTE = [
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#4E79A7",
    "#F28E2B",
    "#59A14F",
    "#B07AA1",
    "#76B7B2",
    "#EDC948",
]


def channel_colors(channels: Sequence[str]) -> dict[str, str]:
    """One fixed colour per channel, the same in every chart of a report."""
    return {ch: CHANNEL_PALETTE[i % len(CHANNEL_PALETTE)] for i, ch in enumerate(channels)}


def tier_color(tier: str, fallback: str = PREDICTED) -> str:
    """The tier's colour (unknown tiers get the fallback)."""
    return TIER_COLORS.get(tier, fallback)


def tier_order(tiers: Sequence[str]) -> list[str]:
    """The distinct tiers in the standard order (proven, test, experimental), unknown ones after, sorted."""
    known = [t for t in TIERS if t in tiers]
    return known + sorted(set(tiers) - set(known))


def tier_groups(allocation: dict[str, Allocation]) -> list[tuple[str, list[str]]]:
    """(tier, its channels by recommended spend, largest first) in the standard tier order: chart and table agree."""
    tiers = tier_order([a.tier for a in allocation.values()])
    return [(t, sorted((ch for ch, a in allocation.items() if a.tier == t), key=lambda ch: -allocation[ch].total)) for t in tiers]


class Layer(NamedTuple):
    """One series of a stacked or line chart: legend label, value per period, colour."""

    label: str
    values: np.ndarray
    color: str


def base_moves(summary: FitSummary) -> list[Layer]:
    """What moves the base up or down around the baseline level: trend and seasonality, other drivers."""
    t = summary.timeline
    if t is None:
        return []
    moves = []
    seasonal = np.add(t.trend, t.seasonality)
    if np.any(np.abs(seasonal) > 0):
        moves.append(Layer("trend + seasonality", seasonal, TREND))
    if summary.control_names:
        moves.append(Layer(f"other drivers ({', '.join(summary.control_names)})", np.asarray(t.controls, dtype=float), CONTROLS_LINE))
    return moves


def thousands(x: float, _pos: Any = None) -> str:
    """Axis label with thousands separators (1,250,000), as in the report's tables."""
    if abs(x) >= 100 or x == 0:
        return f"{x:,.0f}"
    return f"{x:,.2f}".rstrip("0").rstrip(".")


def percent(x: float, _pos: Any = None) -> str:
    """Axis label of a share: 12%, or 1.5% below 10%."""
    return f"{100 * x:.0f}%" if abs(x) >= 0.1 or x == 0 else f"{100 * x:.1f}%"


def new_figure(width: float, height: float) -> Figure:
    """A figure on its own Agg canvas, constrained layout."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def style(ax: Any, grid_axis: str = "y") -> None:
    """The report's axes look: no top/right spines, light grid behind the data."""
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(MUTED)
    ax.tick_params(colors=INK, labelsize=9)
    ax.grid(axis=grid_axis, color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)


def to_png(fig: Figure) -> bytes:
    """The figure as PNG bytes (no timestamp, so equal figures give equal bytes).

    One draw: `savefig` draws a figure with a layout engine twice (once to lay it out, once to paint
    it), where painting it once lays it out as well; the bytes are the same, in 60% of the time.
    Light compression: a sixth larger files, but encoding took a quarter of the report's time.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.image import imsave

    buf = io.BytesIO()
    canvas = fig.canvas
    assert isinstance(canvas, FigureCanvasAgg)  # new_figure's
    fig.set_facecolor("white")
    canvas.draw()
    no_software: Any = {"Software": None}  # None leaves the entry out (matplotlib's stubs allow only text)
    imsave(buf, np.asarray(canvas.buffer_rgba()), format="png", dpi=DPI, metadata=no_software, pil_kwargs={"compress_level": 1})
    return buf.getvalue()


def panel_grid(n: int, ncols: int = 3) -> tuple[int, int]:
    """(rows, columns) of small multiples for n panels."""
    ncols = min(ncols, n)
    return math.ceil(n / ncols), ncols
