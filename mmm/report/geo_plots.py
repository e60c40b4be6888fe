"""Small multiples for a geo model: each geo's return per channel beside the national figure."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator

from mmm.core.outcome import Outcome
from mmm.report.chart_style import INK, MUTED, new_figure, panel_grid, style, thousands, tier_color, to_png

if TYPE_CHECKING:
    from mmm.analysis.geo_results import GeoResult
    from mmm.analysis.results import ChannelResult

COLUMNS = 4
PANEL_HEIGHT = 0.3  # inches per channel row


def geo_returns_chart(geos: dict[str, GeoResult], channels: dict[str, ChannelResult], outcome: Outcome) -> bytes:
    """One panel per geo, the geos in the results' order: each channel's ROAS (conversions: CPA, median) with its
    90% interval, coloured by tier, and a grey tick at the channel's national figure. A channel a geo never
    bought has no bar there."""
    key = "cpa" if outcome.has_cpa else "roas"
    names = list(channels)
    nrows, ncols = panel_grid(len(geos), COLUMNS)
    fig = new_figure(10.5, 0.9 + nrows * (0.55 + PANEL_HEIGHT * len(names)))
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True)).ravel()
    y = np.arange(len(names))[::-1]
    for ax, (geo, result) in zip(axes, geos.items()):
        style(ax, grid_axis="x")
        for yi, name in zip(y, names):
            national = getattr(channels[name], key)
            ax.plot(national.point, yi, "|", color=MUTED, markersize=11, markeredgewidth=1.6, zorder=1)
            stat = getattr(result.channels[name], key)
            if stat is not None:
                color = tier_color(channels[name].tier)
                ax.plot([stat.low, stat.high], [yi, yi], color=color, linewidth=2, solid_capstyle="round", zorder=2)
                ax.plot(stat.point, yi, "o", color=color, markersize=5, markeredgecolor="white", markeredgewidth=0.8, zorder=3)
        fit = "" if result.fit.r2 is None else f"  (R² {result.fit.r2:.2f})"
        ax.set_title(f"{geo}{fit}", fontsize=9, color=INK, loc="left")
        ax.xaxis.set_major_formatter(FuncFormatter(thousands))
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.tick_params(labelsize=8)
    for ax in axes[len(geos) :]:
        ax.set_visible(False)
    axes[0].set_yticks(y, names)
    axes[0].set_ylim(-0.6, len(names) - 0.4)
    label = f"{outcome.cost_per_label} (median)" if outcome.has_cpa else f"{outcome.return_label}: {outcome.noun} per 1 spent"
    fig.supxlabel(label, fontsize=9, color=INK)
    handles = [
        Line2D([], [], color=INK, marker="o", linewidth=2, label="this geo: most likely value and 90% range"),
        Line2D([], [], color=MUTED, marker="|", linestyle="", markersize=11, markeredgewidth=1.6, label="all geos together"),
    ]
    fig.legend(handles=handles, loc="outside upper center", ncols=2, frameon=False, fontsize=8.5)
    return to_png(fig)
