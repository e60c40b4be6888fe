"""The report's charts of a budget optimisation: spend per channel, and what each plan may earn.

Drawn from the typed `OptimizationResult` alone: the outcome distributions are the histograms
the optimiser stored (`outcomes`), not draws recomputed here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from mmm.core.outcome import Outcome
from mmm.report.chart_style import CURRENT, INK, MUTED, PREDICTED, new_figure, style, thousands, tier_color, tier_groups, to_png

if TYPE_CHECKING:
    from mmm.planning.results import OptimizationResult

GAIN, LOSS = "#1b7837", "#b2182b"


def budget_chart(optimization: OptimizationResult, currency: str, unit: str) -> bytes:
    """Current vs recommended spend over the horizon per channel, grouped by tier with tier totals."""
    allocation = optimization.allocation
    groups = tier_groups(allocation)
    positions, y = [], 0.0
    for tier, chans in groups:
        y -= 0.75
        positions.append(("tier", tier, y))
        for ch in chans:
            y -= 1.0
            positions.append(("channel", ch, y))
        y -= 0.35
    fig = new_figure(10, 0.8 + 0.42 * abs(y))
    ax = fig.add_subplot()
    style(ax, grid_axis="x")
    top = max(max(a.total, a.current_total) for a in allocation.values())
    ticks, labels = [], []
    for kind, key, yi in positions:
        if kind == "tier":
            current = sum(a.current_total for a in allocation.values() if a.tier == key)
            label = f"{key}: recommended {currency} {optimization.tier_totals[key]:,.0f}   (now {currency} {current:,.0f})"
            ax.text(0, yi, label, va="center", ha="left", fontsize=9.5, fontweight="bold", color=tier_color(key, INK))
            continue
        a = allocation[key]
        ticks.append(yi)
        labels.append(key)
        ax.barh(yi + 0.19, a.current_total, height=0.36, color=CURRENT)
        ax.barh(yi - 0.19, a.total, height=0.36, color=tier_color(a.tier))
        ax.text(a.current_total + top * 0.01, yi + 0.19, f"{a.current_total:,.0f}", va="center", fontsize=8, color=MUTED)
        ax.text(a.total + top * 0.01, yi - 0.19, f"{a.total:,.0f}", va="center", fontsize=8, color=INK)
    ax.set_yticks(ticks, labels)
    ax.tick_params(axis="y", length=0)
    ax.set_ylim(y - 0.1, -0.3)
    ax.set_xlim(0, top * 1.15)
    ax.xaxis.set_major_formatter(FuncFormatter(thousands))
    ax.set_xlabel(f"spend over the {optimization.weeks} {unit}s ({currency})", fontsize=9, color=INK)
    fig.legend(
        handles=[
            Patch(color=CURRENT, label="current mix (same budget)"),
            *[Patch(color=tier_color(t), label=f"recommended ({t})") for t, _ in groups],
        ],
        loc="outside upper center",
        ncols=len(groups) + 1,
        frameon=False,
        fontsize=8.5,
    )
    return to_png(fig)


def plan_outcomes_chart(optimization: OptimizationResult, outcome: Outcome, currency: str) -> bytes:
    """The optimiser's distributions of the extra outcome of both plans, and of their difference.

    Needs `optimization.outcomes` (histograms over posterior draws, shared bins for both plans).
    """
    hists = optimization.outcomes
    assert hists is not None, "the optimisation holds no outcome distributions"
    amount = outcome.amount(currency)
    fig = new_figure(10, 3.9)
    left, right = fig.subplots(1, 2)
    style(left)
    for hist, mean, color, label in (
        (hists.current, optimization.current.mean, CURRENT, "current mix"),
        (hists.recommended, optimization.forecast.incremental.mean, PREDICTED, "recommended plan"),
    ):
        left.stairs(hist.density, hist.edges, fill=True, color=color, alpha=0.55, label=label)
        left.axvline(mean, color=color, linewidth=1.8)
    _distribution_axis(left, f"extra {outcome.noun} from the plan ({amount})", f"Extra {outcome.noun} each plan is expected to bring")
    left.legend(frameon=False, fontsize=8.5, loc="upper right")

    style(right)
    edges = np.asarray(hists.difference.edges, dtype=float)
    centers = (edges[:-1] + edges[1:]) / 2
    right.bar(centers, hists.difference.density, width=np.diff(edges), color=np.where(centers > 0, GAIN, LOSS), alpha=0.7)
    right.axvline(0, color=INK, linewidth=1)
    right.axvline(optimization.uplift.mean, color=GAIN, linewidth=1.8)
    right.text(
        0.02,
        0.97,
        f"chance the recommended plan\n{outcome.more}: {100 * optimization.prob_better:.1f}%",
        transform=right.transAxes,
        va="top",
        fontsize=9,
        color=INK,
    )
    _distribution_axis(right, f"recommended minus current ({amount})", f"How much more {outcome.noun} the recommended plan brings")
    return to_png(fig)


def _distribution_axis(ax: Any, xlabel: str, title: str) -> None:
    """A histogram panel of amounts: no density scale, thousands on the x axis."""
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    ax.xaxis.set_major_formatter(FuncFormatter(thousands))
    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.set_xlabel(xlabel, fontsize=9, color=INK)
    ax.set_title(title, fontsize=10, loc="left", color=INK)
