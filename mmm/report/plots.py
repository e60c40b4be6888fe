"""The report's charts of a fit, drawn with matplotlib on an Agg canvas and returned as PNG bytes.

Pure drawing: every function takes parts of the typed fit result (`FitSummary`) and computes
no statistic of its own; bands, curves and histograms come as the analysis produced them. The
look is `mmm.report.chart_style`; the budget charts are in `plan_plots`, the appendix's in
`appendix_plots`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from mmm.core.constants import TIER_COLORS, TIERS
from mmm.core.outcome import Outcome
from mmm.report.chart_style import (
    ACTUAL,
    BASELINE,
    GRID,
    INK,
    MUTED,
    PREDICTED,
    Layer,
    new_figure,
    panel_grid,
    percent,
    style,
    thousands,
    tier_color,
    to_png,
)

if TYPE_CHECKING:  # annotations only: drawing needs none of the analysis stack at run time
    from mmm.analysis.results import CarryOver, ChannelResult, ResponseCurve, Timeline
    from mmm.core.stats import Interval


class ResponsePanel(NamedTuple):
    """One channel's response-curve panel: its curve and marginal ROAS, average spend per period and planned spend."""

    name: str
    tier: str
    color: str
    curve: ResponseCurve
    mroas: Interval
    average: float
    planned: float | None = None


def dates_of(dates: Sequence[str]) -> np.ndarray:
    """ISO date strings as datetime64 for the x axis."""
    return np.array(dates, dtype="datetime64[ns]")


def _dates_axis(ax: Any) -> None:
    import matplotlib.dates as mdates

    loc = mdates.AutoDateLocator(minticks=5, maxticks=10)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))


def fit_chart(timeline: Timeline, outcome: Outcome, currency: str, unit: str) -> bytes:
    """Actual vs predicted per period, the 90% predictive band, and the holdout periods shaded."""
    fig = new_figure(10, 4.2)
    ax = fig.add_subplot()
    style(ax)
    x = dates_of(timeline.dates)
    band, n_train = timeline.predicted, timeline.fitted_periods
    ax.fill_between(x, band.low, band.high, color=PREDICTED, alpha=0.18, linewidth=0, label="90% range of the model")
    ax.plot(x, band.mean, color=PREDICTED, linewidth=1.8, label="model")
    ax.plot(x, timeline.actual, color=ACTUAL, linewidth=0.9, marker="o", markersize=2.5, label="actual")
    if n_train < len(x):
        step = x[1] - x[0] if len(x) > 1 else np.timedelta64(7, "D")
        ax.axvspan(x[n_train] - step / 2, x[-1] + step / 2, color="#f0b429", alpha=0.15, linewidth=0, label="holdout: not used for fitting")
        ax.axvline(x[n_train] - step / 2, color="#b7791f", linewidth=1, linestyle="--")
    ax.set_ylabel(f"{outcome.noun} per {unit} ({outcome.amount(currency)})", color=INK)
    ax.yaxis.set_major_formatter(FuncFormatter(thousands))
    _dates_axis(ax)
    ax.margins(x=0.01)
    ax.legend(loc="upper left", ncols=4, frameon=False, fontsize=9)
    return to_png(fig)


def contributions_chart(
    timeline: Timeline, moves: list[Layer], colors: dict[str, str], outcome: Outcome, currency: str, unit: str
) -> bytes:
    """Expected outcome per period by source: the base and each channel stacked, and what moves the base.

    Top: the base (baseline level plus `moves`: trend, seasonality and other drivers, which can
    be negative) with the channels stacked on it; its top edge is the model's prediction.
    Bottom: the parts that move the base up or down around the baseline level.
    """
    fig = new_figure(10, 5.6 if moves else 4.6)
    if moves:
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1.15])
    else:
        top, bottom = fig.add_subplot(), None
    style(top)
    x = dates_of(timeline.dates)
    baseline = np.asarray(timeline.baseline, dtype=float)
    base = baseline + sum((m.values for m in moves), np.zeros(len(x)))
    top.fill_between(x, 0, base, color=BASELINE, linewidth=0)
    handles: list[Any] = [Patch(color=BASELINE, label=f"base: {outcome.noun} without paid marketing")]
    if moves:
        top.plot(x, baseline, color="white", linewidth=1.2, linestyle="--")
        handles.append(Line2D([], [], color=MUTED, linewidth=1.2, linestyle="--", label="baseline level"))
    level = base.copy()
    for name, media in timeline.media.items():
        top.fill_between(x, level, level + np.asarray(media), color=colors[name], linewidth=0)
        handles.append(Patch(color=colors[name], label=name))
        level = level + np.asarray(media)
    top.plot(x, timeline.actual, color=ACTUAL, linewidth=1.0)
    handles.append(Line2D([], [], color=ACTUAL, linewidth=1.0, label=f"actual {outcome.noun}"))
    top.set_ylabel(f"{outcome.noun} per {unit} ({outcome.amount(currency)})", color=INK, fontsize=9)
    top.yaxis.set_major_formatter(FuncFormatter(thousands))
    top.set_ylim(bottom=min(0.0, float(np.min(base))))
    top.margins(x=0)
    top.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 1.2), ncols=min(len(handles), 5), frameon=False, fontsize=8.5)

    if bottom is None:
        _dates_axis(top)
        return to_png(fig)
    style(bottom)
    bottom.axhline(0, color=MUTED, linewidth=0.8)
    for label, values, color in moves:
        bottom.fill_between(x, 0, values, color=color, alpha=0.45, linewidth=0)
        bottom.plot(x, values, color=color, linewidth=1.4, label=label)
    bottom.legend(loc="upper left", frameon=False, fontsize=8.5, ncols=len(moves))
    bottom.set_ylabel("moves the base\nup or down", color=INK, fontsize=9)
    bottom.yaxis.set_major_formatter(FuncFormatter(thousands))
    bottom.yaxis.set_major_locator(MaxNLocator(4, symmetric=True))
    _dates_axis(bottom)
    return to_png(fig)


def _forest(ax: Any, rows: list[tuple[Any, str]], title: str, fmt: Any, ref: float | None) -> None:
    """One forest panel: (Interval, colour) per row, top first, the dot at its headline figure (a CPA's median), and a dashed
    break-even line at `ref`."""
    style(ax, grid_axis="x")
    y = np.arange(len(rows))[::-1]
    for yi, (stat, color) in zip(y, rows):
        ax.plot([stat.low, stat.high], [yi, yi], color=color, linewidth=2.2, solid_capstyle="round")
        ax.plot(stat.point, yi, "o", color=color, markersize=7, markeredgecolor="white", markeredgewidth=1)
    if ref is not None:
        ax.axvline(ref, color=MUTED, linewidth=1, linestyle="--")
        ax.annotate(
            "break-even",
            xy=(ref, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(3, -2),
            textcoords="offset points",
            fontsize=8,
            color=MUTED,
            va="top",
        )
    ax.set_title(title, fontsize=10, color=INK, loc="left")
    ax.xaxis.set_major_formatter(FuncFormatter(fmt))
    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.set_ylim(-0.6, len(rows) - 0.4)


def returns_chart(channels: list[tuple[str, ChannelResult]], outcome: Outcome) -> bytes:
    """Forest plot: share of the outcome, ROAS and net ROI per channel (conversions: CPA, and net ROI or CAC), mean (CPA and
    CAC: median) and 90% interval.

    `channels` is (name, result) in the order to show, top first; colour is the tier.
    """
    fig = new_figure(10, 1.2 + 0.48 * len(channels))
    axes = fig.subplots(1, 3, sharey=True)
    noun = outcome.noun
    panels: list[tuple[str, str, Any, float | None]] = [("contribution_share", f"Share of {noun}", percent, None)]
    if not outcome.has_cpa:
        panels += [
            ("roas", f"{outcome.return_label}: {noun} per 1 spent", thousands, 1.0),
            ("roi", f"Net ROI: ({noun} - cost) / cost", thousands, 0.0),
        ]
    else:  # what a conversion costs, and net ROI on the value per conversion where one is set
        panels.append(("cpa", f"{outcome.cost_per_label}: full cost per conversion (median)", thousands, None))
        valued = all(c.roi is not None for _, c in channels)
        panels.append(
            ("roi", "Net ROI: (value - cost) / cost", thousands, 0.0)
            if valued
            else ("cac", "CAC: ad spend per conversion (median)", thousands, None)
        )
    for ax, (key, title, fmt, ref) in zip(axes, panels):
        _forest(ax, [(getattr(c, key), tier_color(c.tier)) for _, c in channels], title, fmt, ref)
    axes[0].set_yticks(np.arange(len(channels))[::-1], [f"{name}  ({c.tier})" for name, c in channels])
    for tick, (_, c) in zip(axes[0].get_yticklabels(), channels):
        tick.set_color(tier_color(c.tier, INK))
    tiers = [t for t in TIERS if any(c.tier == t for _, c in channels)]
    fig.legend(
        handles=[Line2D([], [], color=TIER_COLORS[t], marker="o", linewidth=2.2, label=t) for t in tiers],
        loc="outside lower center",
        ncols=len(tiers),
        frameon=False,
        fontsize=9,
        title="tier",
        title_fontsize=9,
    )
    return to_png(fig)


def response_curves_chart(panels: list[ResponsePanel], outcome: Outcome, currency: str, unit: str) -> bytes:
    """Long-run extra outcome per period against spend per period, one panel per channel.

    The curve and band are the channel's `response`; the average-spend and planned points are
    read off the mean curve by interpolation.
    """
    nrows, ncols = panel_grid(len(panels))
    fig = new_figure(10.5, 0.6 + 3.0 * nrows)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for ax, p in zip(axes, panels):
        style(ax, grid_axis="both")
        curve, tier, color = p.curve, p.tier, p.color
        x, m, lo, hi = (np.asarray(v, dtype=float) for v in (curve.spend, curve.mean, curve.low, curve.high))
        seen = x <= curve.observed_max
        ax.fill_between(x[seen], lo[seen], hi[seen], color=color, alpha=0.22, linewidth=0)
        ax.plot(x[seen], m[seen], color=color, linewidth=2)
        beyond = x >= curve.observed_max
        if beyond.any():
            ax.fill_between(x[beyond], lo[beyond], hi[beyond], color=color, alpha=0.09, linewidth=0)
            ax.plot(x[beyond], m[beyond], color=color, linewidth=1.6, linestyle=(0, (4, 2.5)))
            ax.axvline(curve.observed_max, color=MUTED, linewidth=0.8, linestyle=":")
        if outcome.is_money:  # break-even: the outcome equals the spend (meaningless for counts)
            ax.plot([0, x[-1]], [0, x[-1]], color="#bcc3ca", linewidth=0.9, linestyle="-.", zorder=0)
        ax.plot(p.average, np.interp(p.average, x, m), "o", color=INK, markersize=6, markeredgecolor="white", zorder=5)
        if p.planned is not None:
            ax.plot(p.planned, np.interp(p.planned, x, m), "D", color=tier_color(tier), markersize=6, markeredgecolor="white", zorder=6)
        mr = p.mroas
        ax.text(
            0.03,
            0.97,
            f"marginal {outcome.return_label} now {mr.mean:.2f}\n({mr.low:.2f} to {mr.high:.2f})",
            transform=ax.transAxes,
            va="top",
            ha="left",
            fontsize=8,
            color=INK,
            bbox={"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": GRID, "alpha": 0.9},
        )
        ax.set_xlim(0, x[-1])
        ax.set_ylim(0, float(np.max(hi)) * 1.08)
        ax.set_title(f"{p.name} ({tier})", fontsize=10, color=tier_color(tier, INK), loc="left")
        ax.xaxis.set_major_formatter(FuncFormatter(thousands))
        ax.yaxis.set_major_formatter(FuncFormatter(thousands))
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.tick_params(labelsize=8)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    fig.supxlabel(f"spend per {unit} ({currency})", fontsize=9, color=INK)
    fig.supylabel(f"extra {outcome.noun} per {unit} ({outcome.amount(currency)})", fontsize=9, color=INK)
    handles: list[Any] = [
        Line2D([], [], color=INK, linewidth=2, label="expected (observed spend range)"),
        Line2D([], [], color=INK, linewidth=1.6, linestyle=(0, (4, 2.5)), label="beyond the highest spend seen (extrapolated)"),
        Patch(color=INK, alpha=0.2, label="90% range"),
        Line2D([], [], color=INK, marker="o", linestyle="", label="average spend in the data"),
        Line2D([], [], color="#bcc3ca", linestyle="-.", label=f"{outcome.noun} = spend"),
    ]
    if any(p.planned is not None for p in panels):
        handles.insert(4, Line2D([], [], color=MUTED, marker="D", linestyle="", label="recommended plan"))
    fig.legend(handles=handles, loc="outside upper center", ncols=3, frameon=False, fontsize=8.5)
    return to_png(fig)


def carryover_chart(carry: dict[str, CarryOver], colors: dict[str, str], unit: str) -> bytes:
    """Share of a period's spend effect landing in each later period, and periods to reach 90%."""
    fig = new_figure(10, 4.0)
    left, right = fig.subplots(1, 2, width_ratios=[1.5, 1])
    style(left)
    for ch, c in carry.items():
        lags = np.arange(1, len(c.weights) + 1)
        left.fill_between(lags, c.low, c.high, color=colors[ch], alpha=0.10, linewidth=0)
        left.plot(lags, c.weights, marker="o", markersize=3.5, linewidth=1.6, color=colors[ch], label=ch)
    left.set_xlabel(f"{unit} after spending (1 = the {unit} of the spend)", fontsize=9, color=INK)
    left.set_ylabel(f"share of the total effect in that {unit}", fontsize=9, color=INK)
    left.yaxis.set_major_formatter(FuncFormatter(percent))
    left.xaxis.set_major_locator(MaxNLocator(integer=True))
    left.set_ylim(bottom=0)
    left.legend(frameon=False, fontsize=8.5, ncols=2)
    left.set_title("How the effect of one period's spend is spread out", fontsize=10, loc="left", color=INK)

    style(right, grid_axis="x")
    names = list(carry)
    y = np.arange(len(names))[::-1]
    for yi, ch in zip(y, names):
        w = carry[ch].periods_to_90
        right.barh(yi, w.median, color=colors[ch], alpha=0.85, height=0.6)
        right.plot([w.low, w.high], [yi, yi], color=INK, linewidth=1.2)
        right.plot([w.low, w.high], [yi, yi], "|", color=INK, markersize=7)
    right.set_yticks(y, names)
    right.xaxis.set_major_locator(MaxNLocator(integer=True))
    right.set_xlabel(f"{unit}s", fontsize=9, color=INK)
    right.set_title("Time to 90% of the total effect", fontsize=10, loc="left", color=INK)
    return to_png(fig)
