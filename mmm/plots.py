"""The report's charts, drawn with matplotlib on an Agg canvas and returned as PNG bytes.

Pure drawing: every function takes arrays and the JSON-ready result dicts, computes nothing
from the posterior and knows nothing of MLflow (mmm.report prepares the inputs). pyplot is
never imported, so drawing a report neither needs a display nor changes the backend of a
notebook it runs in.
"""

from __future__ import annotations

import io
import math
from typing import Any, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

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
TIER_COLORS = {"proven": "#1b7837", "test": "#d9730d", "experimental": "#7b3294"}
TIER_ORDER = ("proven", "test", "experimental")
# Colour-blind-friendly qualitative palette (Okabe-Ito without black and yellow, then Tableau).
CHANNEL_PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00",
                   "#4E79A7", "#F28E2B", "#59A14F", "#B07AA1", "#76B7B2", "#EDC948"]


def channel_colors(channels: Sequence[str]) -> dict[str, str]:
    """One fixed colour per channel, the same in every chart of a report."""
    return {ch: CHANNEL_PALETTE[i % len(CHANNEL_PALETTE)] for i, ch in enumerate(channels)}


def thousands(x: float, _pos: Any = None) -> str:
    """Axis label with thousands separators (1,250,000), as in the report's tables."""
    if abs(x) >= 100 or x == 0:
        return f"{x:,.0f}"
    return f"{x:,.2f}".rstrip("0").rstrip(".")


def _percent(x: float, _pos: Any = None) -> str:
    return f"{100 * x:.0f}%" if abs(x) >= 0.1 or x == 0 else f"{100 * x:.1f}%"


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _style(ax: Any, grid_axis: str = "y") -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(MUTED)
    ax.tick_params(colors=INK, labelsize=9)
    ax.grid(axis=grid_axis, color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)


def to_png(fig: Figure) -> bytes:
    """The figure as PNG bytes (no timestamp, so equal figures give equal bytes)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white", metadata={"Software": None})
    return buf.getvalue()


def _dates_axis(ax: Any) -> None:
    import matplotlib.dates as mdates

    loc = mdates.AutoDateLocator(minticks=5, maxticks=10)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))


def fit_chart(dates: Any, actual: np.ndarray, predicted: np.ndarray, low: np.ndarray, high: np.ndarray,
              n_train: int, currency: str, unit: str) -> bytes:
    """Actual vs predicted per period, the 90% band, and the holdout periods shaded."""
    fig = _figure(10, 4.2)
    ax = fig.add_subplot()
    _style(ax)
    x = np.asarray(dates)
    ax.fill_between(x, low, high, color=PREDICTED, alpha=0.18, linewidth=0, label="90% range of the model")
    ax.plot(x, predicted, color=PREDICTED, linewidth=1.8, label="model")
    ax.plot(x, actual, color=ACTUAL, linewidth=0.9, marker="o", markersize=2.5, label="actual")
    if n_train < len(x):
        step = x[1] - x[0] if len(x) > 1 else np.timedelta64(7, "D")
        ax.axvspan(x[n_train] - step / 2, x[-1] + step / 2, color="#f0b429", alpha=0.15, linewidth=0,
                   label="holdout: not used for fitting")
        ax.axvline(x[n_train] - step / 2, color="#b7791f", linewidth=1, linestyle="--")
    ax.set_ylabel(f"revenue per {unit} ({currency})", color=INK)
    ax.yaxis.set_major_formatter(FuncFormatter(thousands))
    _dates_axis(ax)
    ax.margins(x=0.01)
    ax.legend(loc="upper left", ncols=4, frameon=False, fontsize=9)
    return to_png(fig)


def contributions_chart(dates: Any, baseline: np.ndarray, moves: list[tuple[str, np.ndarray, str]],
                        channels: list[tuple[str, np.ndarray, str]], actual: np.ndarray, currency: str, unit: str) -> bytes:
    """Expected revenue per period by source: the base and each channel stacked, and what moves the base.

    Top: the base (baseline level plus trend, seasonality and other drivers, which can be
    negative) with the channels stacked on it; its top edge is the model's prediction.
    Bottom: the parts that move the base up or down around the baseline level.
    """
    fig = _figure(10, 5.6 if moves else 4.6)
    if moves:
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1.15])
    else:
        top, bottom = fig.add_subplot(), None
    _style(top)
    x = np.asarray(dates)
    base = baseline + sum((v for _, v, _ in moves), np.zeros(len(x)))
    top.fill_between(x, 0, base, color=BASELINE, linewidth=0)
    handles = [Patch(color=BASELINE, label="base: revenue without paid marketing")]
    if moves:
        top.plot(x, baseline, color="white", linewidth=1.2, linestyle="--")
        handles.append(Line2D([], [], color=MUTED, linewidth=1.2, linestyle="--", label="baseline level"))
    level = base.copy()
    for label, values, color in channels:
        top.fill_between(x, level, level + values, color=color, linewidth=0)
        handles.append(Patch(color=color, label=label))
        level = level + values
    top.plot(x, actual, color=ACTUAL, linewidth=1.0)
    handles.append(Line2D([], [], color=ACTUAL, linewidth=1.0, label="actual revenue"))
    top.set_ylabel(f"revenue per {unit} ({currency})", color=INK, fontsize=9)
    top.yaxis.set_major_formatter(FuncFormatter(thousands))
    top.set_ylim(bottom=min(0.0, float(np.min(base))))
    top.margins(x=0)
    top.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 1.2), ncols=min(len(handles), 5),
               frameon=False, fontsize=8.5)

    if bottom is None:
        _dates_axis(top)
        return to_png(fig)
    _style(bottom)
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


def _forest(ax: Any, rows: list[tuple[str, dict[str, float], str]], title: str, fmt: Any, ref: float | None, ref_label: str) -> None:
    _style(ax, grid_axis="x")
    y = np.arange(len(rows))[::-1]
    for yi, (_, stat, color) in zip(y, rows):
        ax.plot([stat["low"], stat["high"]], [yi, yi], color=color, linewidth=2.2, solid_capstyle="round")
        ax.plot(stat["mean"], yi, "o", color=color, markersize=7, markeredgecolor="white", markeredgewidth=1)
    if ref is not None:
        ax.axvline(ref, color=MUTED, linewidth=1, linestyle="--")
        ax.annotate(ref_label, xy=(ref, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -2),
                    textcoords="offset points", fontsize=8, color=MUTED, va="top")
    ax.set_title(title, fontsize=10, color=INK, loc="left")
    ax.xaxis.set_major_formatter(FuncFormatter(fmt))
    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.set_ylim(-0.6, len(rows) - 0.4)


def returns_chart(channels: list[tuple[str, dict[str, Any]]]) -> bytes:
    """Forest plot: share of revenue, ROAS and net ROI per channel, mean and 90% interval.

    `channels` is (name, summary entry) in the order to show, top first; colour is the tier.
    """
    fig = _figure(10, 1.2 + 0.48 * len(channels))
    axes = fig.subplots(1, 3, sharey=True)
    labels = [f"{name}  ({c['tier']})" for name, c in channels]
    for ax, (key, title, fmt, ref, ref_label) in zip(axes, [
        ("contribution_share", "Share of revenue", _percent, None, ""),
        ("roas", "ROAS: revenue per 1 spent", thousands, 1.0, "break-even"),
        ("roi", "Net ROI: (revenue - cost) / cost", thousands, 0.0, "break-even"),
    ]):
        rows = [(name, c[key], TIER_COLORS.get(c["tier"], PREDICTED)) for name, c in channels]
        _forest(ax, rows, title, fmt, ref, ref_label)
    axes[0].set_yticks(np.arange(len(channels))[::-1], labels)
    for tick, (_, c) in zip(axes[0].get_yticklabels(), channels):
        tick.set_color(TIER_COLORS.get(c["tier"], INK))
    tiers = [t for t in TIER_ORDER if any(c["tier"] == t for _, c in channels)]
    fig.legend(handles=[Line2D([], [], color=TIER_COLORS[t], marker="o", linewidth=2.2, label=t) for t in tiers],
               loc="outside lower center", ncols=len(tiers), frameon=False, fontsize=9, title="tier", title_fontsize=9)
    return to_png(fig)


def _grid(n: int, ncols: int = 3) -> tuple[int, int]:
    ncols = min(ncols, n)
    return math.ceil(n / ncols), ncols


def response_curves_chart(curves: list[dict[str, Any]], currency: str, unit: str) -> bytes:
    """Incremental revenue per period against spend per period, one panel per channel.

    Each curve dict: name, tier, color, spend (grid), mean, low, high (arrays over the grid),
    observed_max, current (spend, revenue), mroas (summary entry), and optionally
    planned (spend, revenue).
    """
    nrows, ncols = _grid(len(curves))
    fig = _figure(10.5, 0.6 + 3.0 * nrows)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for ax, c in zip(axes, curves):
        _style(ax, grid_axis="both")
        x, m, lo, hi = c["spend"], c["mean"], c["low"], c["high"]
        seen = x <= c["observed_max"]
        color = c["color"]
        ax.fill_between(x[seen], lo[seen], hi[seen], color=color, alpha=0.22, linewidth=0)
        ax.plot(x[seen], m[seen], color=color, linewidth=2)
        beyond = x >= c["observed_max"]
        if beyond.any():
            ax.fill_between(x[beyond], lo[beyond], hi[beyond], color=color, alpha=0.09, linewidth=0)
            ax.plot(x[beyond], m[beyond], color=color, linewidth=1.6, linestyle=(0, (4, 2.5)))
            ax.axvline(c["observed_max"], color=MUTED, linewidth=0.8, linestyle=":")
        top = float(np.max(hi)) * 1.08
        ax.plot([0, x[-1]], [0, x[-1]], color="#bcc3ca", linewidth=0.9, linestyle="-.", zorder=0)
        cur_x, cur_y = c["current"]
        ax.plot(cur_x, cur_y, "o", color=INK, markersize=6, markeredgecolor="white", zorder=5)
        if c.get("planned") is not None:
            px, py = c["planned"]
            ax.plot(px, py, "D", color=TIER_COLORS.get(c["tier"], PREDICTED), markersize=6,
                    markeredgecolor="white", zorder=6)
        mr = c["mroas"]
        ax.text(0.03, 0.97, f"marginal ROAS now {mr['mean']:.2f}\n({mr['low']:.2f} to {mr['high']:.2f})",
                transform=ax.transAxes, va="top", ha="left", fontsize=8, color=INK,
                bbox={"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": GRID, "alpha": 0.9})
        ax.set_xlim(0, x[-1])
        ax.set_ylim(0, top)
        ax.set_title(f"{c['name']} ({c['tier']})", fontsize=10, color=TIER_COLORS.get(c["tier"], INK), loc="left")
        ax.xaxis.set_major_formatter(FuncFormatter(thousands))
        ax.yaxis.set_major_formatter(FuncFormatter(thousands))
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.tick_params(labelsize=8)
    for ax in axes[len(curves):]:
        ax.set_visible(False)
    fig.supxlabel(f"spend per {unit} ({currency})", fontsize=9, color=INK)
    fig.supylabel(f"extra revenue per {unit} ({currency})", fontsize=9, color=INK)
    handles = [
        Line2D([], [], color=INK, linewidth=2, label="expected (observed spend range)"),
        Line2D([], [], color=INK, linewidth=1.6, linestyle=(0, (4, 2.5)), label="beyond the highest spend seen (extrapolated)"),
        Patch(color=INK, alpha=0.2, label="90% range"),
        Line2D([], [], color=INK, marker="o", linestyle="", label="average spend in the data"),
        Line2D([], [], color="#bcc3ca", linestyle="-.", label="revenue = spend"),
    ]
    if any(c.get("planned") is not None for c in curves):
        handles.insert(4, Line2D([], [], color=MUTED, marker="D", linestyle="", label="recommended plan"))
    fig.legend(handles=handles, loc="outside upper center", ncols=3, frameon=False, fontsize=8.5)
    return to_png(fig)


def carryover_chart(carry: dict[str, dict[str, Any]], colors: dict[str, str], unit: str) -> bytes:
    """Share of a period's spend effect landing in each later period, and periods to reach 90%.

    carry[channel]: weights (mean over draws, per lag), low/high (per lag), and
    periods_to_90 {median, low, high}.
    """
    fig = _figure(10, 4.0)
    left, right = fig.subplots(1, 2, width_ratios=[1.5, 1])
    _style(left)
    for ch, c in carry.items():
        lags = np.arange(1, len(c["weights"]) + 1)
        left.fill_between(lags, c["low"], c["high"], color=colors[ch], alpha=0.10, linewidth=0)
        left.plot(lags, c["weights"], marker="o", markersize=3.5, linewidth=1.6, color=colors[ch], label=ch)
    left.set_xlabel(f"{unit} after spending (1 = the {unit} of the spend)", fontsize=9, color=INK)
    left.set_ylabel(f"share of the total effect in that {unit}", fontsize=9, color=INK)
    left.yaxis.set_major_formatter(FuncFormatter(_percent))
    left.xaxis.set_major_locator(MaxNLocator(integer=True))
    left.set_ylim(bottom=0)
    left.legend(frameon=False, fontsize=8.5, ncols=2)
    left.set_title("How the effect of one period's spend is spread out", fontsize=10, loc="left", color=INK)

    _style(right, grid_axis="x")
    names = list(carry)
    y = np.arange(len(names))[::-1]
    for yi, ch in zip(y, names):
        w = carry[ch]["periods_to_90"]
        right.barh(yi, w["median"], color=colors[ch], alpha=0.85, height=0.6)
        right.plot([w["low"], w["high"]], [yi, yi], color=INK, linewidth=1.2)
        right.plot([w["low"], w["high"]], [yi, yi], "|", color=INK, markersize=7)
    right.set_yticks(y, names)
    right.xaxis.set_major_locator(MaxNLocator(integer=True))
    right.set_xlabel(f"{unit}s", fontsize=9, color=INK)
    right.set_title("Time to 90% of the total effect", fontsize=10, loc="left", color=INK)
    return to_png(fig)


def budget_chart(allocation: dict[str, dict[str, Any]], tier_totals: dict[str, float], currency: str, weeks: int, unit: str) -> bytes:
    """Current vs recommended spend over the horizon per channel, grouped by tier with tier totals."""
    tiers = [t for t in TIER_ORDER if any(a["tier"] == t for a in allocation.values())]
    tiers += sorted({a["tier"] for a in allocation.values()} - set(tiers))
    positions, y = [], 0.0
    for t in tiers:
        y -= 0.75
        positions.append(("tier", t, y))
        chans = sorted((ch for ch, a in allocation.items() if a["tier"] == t), key=lambda ch: -allocation[ch]["total"])
        for ch in chans:
            y -= 1.0
            positions.append(("channel", ch, y))
        y -= 0.35
    fig = _figure(10, 0.8 + 0.42 * abs(y))
    ax = fig.add_subplot()
    _style(ax, grid_axis="x")
    top = max(max(a["total"], a["current_total"]) for a in allocation.values())
    ticks, labels = [], []
    for kind, key, yi in positions:
        if kind == "tier":
            current = sum(a["current_total"] for a in allocation.values() if a["tier"] == key)
            ax.text(0, yi, f"{key}: recommended {currency} {tier_totals[key]:,.0f}   (now {currency} {current:,.0f})",
                    va="center", ha="left", fontsize=9.5, fontweight="bold", color=TIER_COLORS.get(key, INK))
            continue
        a = allocation[key]
        ticks.append(yi)
        labels.append(key)
        color = TIER_COLORS.get(a["tier"], PREDICTED)
        ax.barh(yi + 0.19, a["current_total"], height=0.36, color=CURRENT)
        ax.barh(yi - 0.19, a["total"], height=0.36, color=color)
        ax.text(a["current_total"] + top * 0.01, yi + 0.19, f"{a['current_total']:,.0f}", va="center", fontsize=8, color=MUTED)
        ax.text(a["total"] + top * 0.01, yi - 0.19, f"{a['total']:,.0f}", va="center", fontsize=8, color=INK)
    ax.set_yticks(ticks, labels)
    ax.tick_params(axis="y", length=0)
    ax.set_ylim(y - 0.1, -0.3)
    ax.set_xlim(0, top * 1.15)
    ax.xaxis.set_major_formatter(FuncFormatter(thousands))
    ax.set_xlabel(f"spend over the {weeks} {unit}s ({currency})", fontsize=9, color=INK)
    fig.legend(handles=[Patch(color=CURRENT, label="current mix (same budget)"),
                        *[Patch(color=TIER_COLORS.get(t, PREDICTED), label=f"recommended ({t})") for t in tiers]],
               loc="outside upper center", ncols=len(tiers) + 1, frameon=False, fontsize=8.5)
    return to_png(fig)


def plan_outcomes_chart(recommended: np.ndarray, current: np.ndarray, optimization: dict[str, Any], currency: str) -> bytes:
    """Distribution of incremental revenue of both plans, and of their difference, over posterior draws."""
    fig = _figure(10, 3.9)
    left, right = fig.subplots(1, 2)
    _style(left)
    lo = float(min(recommended.min(), current.min()))
    hi = float(max(recommended.max(), current.max()))
    bins = np.linspace(lo, hi, 50)
    exp = optimization["expected"]
    for draws, key, color, label in ((current, "current", CURRENT, "current mix"),
                                     (recommended, "recommended", PREDICTED, "recommended plan")):
        left.hist(draws, bins=bins, color=color, alpha=0.55, label=label, density=True)
        left.axvline(exp[key]["mean"], color=color, linewidth=1.8)
    _distribution_axis(left, f"extra revenue from the plan ({currency})", "What each plan is expected to earn")
    left.legend(frameon=False, fontsize=8.5, loc="upper right")

    _style(right)
    diff = recommended - current
    bins = np.linspace(float(diff.min()), float(diff.max()), 50)
    counts, edges = np.histogram(diff, bins=bins, density=True)
    centers = (edges[:-1] + edges[1:]) / 2
    right.bar(centers, counts, width=np.diff(edges), color=np.where(centers > 0, "#1b7837", "#b2182b"), alpha=0.7)
    right.axvline(0, color=INK, linewidth=1)
    up = optimization["uplift"]
    right.axvline(up["mean"], color="#1b7837", linewidth=1.8)
    right.text(0.02, 0.97, f"chance the recommended plan\nearns more: {100 * optimization['prob_better']:.1f}%",
               transform=right.transAxes, va="top", fontsize=9, color=INK)
    _distribution_axis(right, f"recommended minus current ({currency})", "How much more the recommended plan earns")
    return to_png(fig)


def _distribution_axis(ax: Any, xlabel: str, title: str) -> None:
    """A histogram panel of currency amounts: no density scale, thousands on the x axis."""
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    ax.xaxis.set_major_formatter(FuncFormatter(thousands))
    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.set_xlabel(xlabel, fontsize=9, color=INK)
    ax.set_title(title, fontsize=10, loc="left", color=INK)


def diagnostics_chart(rows: list[dict[str, Any]], rhat_max: float, ess_min: float) -> bytes:
    """R-hat and effective sample size per estimated quantity, with the pass lines."""
    fig = _figure(10, 1.0 + 0.22 * len(rows))
    left, right = fig.subplots(1, 2, sharey=True)
    y = np.arange(len(rows))[::-1]
    for ax, key, limit, title, bad in ((left, "rhat", rhat_max, f"R-hat (passes at {rhat_max:g} or below)", lambda v: v > rhat_max),
                                        (right, "ess", ess_min, f"effective draws, ESS (passes at {ess_min:g} or above)", lambda v: v < ess_min)):
        _style(ax, grid_axis="x")
        vals = np.array([r[key] for r in rows])
        colors = ["#b2182b" if bad(v) else PREDICTED for v in vals]
        ax.scatter(vals, y, c=colors, s=16, zorder=3)
        ax.axvline(limit, color="#b2182b", linewidth=1, linestyle="--")
        ax.set_title(title, fontsize=10, loc="left", color=INK)
        ax.tick_params(labelsize=8)
    lo = min(1.0, min(r["rhat"] for r in rows))
    left.set_xlim(lo - 0.002, max(rhat_max + 0.004, max(r["rhat"] for r in rows) + 0.002))
    right.set_xlim(0, max(ess_min * 1.2, max(r["ess"] for r in rows) * 1.05))
    right.xaxis.set_major_formatter(FuncFormatter(thousands))
    left.set_yticks(y, [r["label"] for r in rows])
    left.set_ylim(-0.8, len(rows) - 0.2)
    return to_png(fig)


def roas_priors_chart(channels: list[str], tiers: dict[str, str], prior_mu: np.ndarray, prior_sigma: np.ndarray,
                      posterior: np.ndarray, colors: dict[str, str]) -> bytes:
    """Each channel's ROAS: the starting assumption (prior, line) against the estimate (posterior, filled)."""
    nrows, ncols = _grid(len(channels))
    fig = _figure(10.5, 0.5 + 2.3 * nrows)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for i, (ax, ch) in enumerate(zip(axes, channels)):
        _style(ax, grid_axis="x")
        draws = posterior[:, i]
        mu, sigma = float(prior_mu[i]), float(prior_sigma[i])
        top = max(float(np.quantile(draws, 0.995)), math.exp(mu + 1.96 * sigma))
        x = np.linspace(top / 400, top, 400)
        pdf = np.exp(-((np.log(x) - mu) ** 2) / (2 * sigma**2)) / (x * sigma * math.sqrt(2 * math.pi))
        ax.hist(draws, bins=np.linspace(0, top, 60), density=True, color=colors[ch], alpha=0.55, label="estimate (posterior)")
        ax.plot(x, pdf, color=INK, linewidth=1.4, linestyle="--", label="starting assumption (prior)")
        ax.axvline(1.0, color=MUTED, linewidth=0.8, linestyle=":")
        ax.set_xlim(0, top)
        ax.set_yticks([])
        ax.spines["left"].set_visible(False)
        ax.set_title(f"{ch} ({tiers[ch]})", fontsize=10, loc="left", color=TIER_COLORS.get(tiers[ch], INK))
        ax.tick_params(labelsize=8)
    for ax in axes[len(channels):]:
        ax.set_visible(False)
    fig.supxlabel("ROAS (revenue per 1 spent); dotted line: break-even", fontsize=9, color=INK)
    fig.legend(handles=[Patch(color=MUTED, alpha=0.55, label="estimate after seeing the data (posterior)"),
                        Line2D([], [], color=INK, linestyle="--", label="starting assumption (prior)")],
               loc="outside upper center", ncols=2, frameon=False, fontsize=8.5)
    return to_png(fig)
