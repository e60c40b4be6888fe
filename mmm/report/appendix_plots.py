"""The report's appendix charts: whether the sampler can be trusted, and what the data taught about each ROAS.

Drawn from the fit's stored diagnostics (R-hat and ESS per quantity) and ROAS evidence (the
prior's parameters and the posterior's histogram); nothing is recomputed from draws.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from mmm.core.outcome import Outcome
from mmm.report.chart_style import INK, MUTED, PREDICTED, new_figure, panel_grid, style, thousands, tier_color, to_png

if TYPE_CHECKING:
    from mmm.analysis.results import RoasEvidence

BAD = "#b2182b"


class ParameterCheck(Protocol):
    """R-hat and bulk ESS of one estimated quantity, as the fit's diagnostics list them."""

    label: str
    rhat: float
    ess: float


def diagnostics_chart(rows: Sequence[ParameterCheck], rhat_max: float, ess_min: float) -> bytes:
    """R-hat and effective sample size per estimated quantity, with the pass lines."""
    fig = new_figure(10, 1.0 + 0.22 * len(rows))
    left, right = fig.subplots(1, 2, sharey=True)
    y = np.arange(len(rows))[::-1]
    rhat = np.array([r.rhat for r in rows])
    ess = np.array([r.ess for r in rows])
    for ax, vals, limit, title, bad in (
        (left, rhat, rhat_max, f"R-hat (passes at {rhat_max:g} or below)", rhat > rhat_max),
        (right, ess, ess_min, f"effective draws, ESS (passes at {ess_min:g} or above)", ess < ess_min),
    ):
        style(ax, grid_axis="x")
        ax.scatter(vals, y, c=np.where(bad, BAD, PREDICTED), s=16, zorder=3)
        ax.axvline(limit, color=BAD, linewidth=1, linestyle="--")
        ax.set_title(title, fontsize=10, loc="left", color=INK)
        ax.tick_params(labelsize=8)
    left.set_xlim(min(1.0, rhat.min()) - 0.002, max(rhat_max + 0.004, rhat.max() + 0.002))
    right.set_xlim(0, max(ess_min * 1.2, ess.max() * 1.05))
    right.xaxis.set_major_formatter(FuncFormatter(thousands))
    left.set_yticks(y, [r.label for r in rows])
    left.set_ylim(-0.8, len(rows) - 0.2)
    return to_png(fig)


def roas_priors_chart(evidence: dict[str, RoasEvidence], tiers: dict[str, str], colors: dict[str, str], outcome: Outcome) -> bytes:
    """Each channel's ROAS: the starting assumption (LogNormal prior, line) against the estimate (posterior histogram)."""
    nrows, ncols = panel_grid(len(evidence))
    fig = new_figure(10.5, 0.5 + 2.3 * nrows)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for ax, (ch, ev) in zip(axes, evidence.items()):
        style(ax, grid_axis="x")
        mu, sigma = ev.prior_mu, ev.prior_sigma
        top = max(ev.posterior.edges[-1], math.exp(mu + 1.96 * sigma))
        x = np.linspace(top / 400, top, 400)
        pdf = np.exp(-((np.log(x) - mu) ** 2) / (2 * sigma**2)) / (x * sigma * math.sqrt(2 * math.pi))
        ax.stairs(ev.posterior.density, ev.posterior.edges, fill=True, color=colors[ch], alpha=0.55)
        ax.plot(x, pdf, color=INK, linewidth=1.4, linestyle="--")
        ax.axvline(1.0, color=MUTED, linewidth=0.8, linestyle=":")
        ax.set_xlim(0, top)
        ax.set_yticks([])
        ax.spines["left"].set_visible(False)
        ax.set_title(f"{ch} ({tiers[ch]})", fontsize=10, loc="left", color=tier_color(tiers[ch], INK))
        ax.tick_params(labelsize=8)
    for ax in axes[len(evidence) :]:
        ax.set_visible(False)
    fig.supxlabel(f"{outcome.return_label} ({outcome.noun} per 1 spent); dotted line: break-even", fontsize=9, color=INK)
    fig.legend(
        handles=[
            Patch(color=MUTED, alpha=0.55, label="estimate after seeing the data (posterior)"),
            Line2D([], [], color=INK, linestyle="--", label="starting assumption (prior)"),
        ],
        loc="outside upper center",
        ncols=2,
        frameon=False,
        fontsize=8.5,
    )
    return to_png(fig)
