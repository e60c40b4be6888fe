"""The budget response curve of `mmm optimize --budget auto`: what each total budget, split at its best, is expected to earn.

Drawn from the typed `OptimizationResult` alone (its `budget_curve`); the same curve goes to
MLflow with the optimise run as a chart and as JSON (`write_budget_curve`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from matplotlib.ticker import FuncFormatter

from mmm.core.outcome import Outcome, outcome_for
from mmm.report.chart_style import CURRENT, INK, MUTED, PREDICTED, new_figure, style, thousands, to_png
from mmm.report.formatting import marginal
from mmm.report.plan_plots import GAIN

if TYPE_CHECKING:
    from mmm.planning.results import OptimizationResult

CHART_FILE = "budget_curve.png"
DATA_FILE = "budget_curve.json"


def budget_curve_chart(optimization: OptimizationResult, outcome: Outcome, currency: str, unit: str) -> bytes:
    """Total budget against expected incremental outcome and profit (90% bands), current and recommended budgets marked.

    Revenue and profit share one currency axis; conversions are counted on the left axis and profit,
    in currency, on a right-hand one.
    """
    curve = optimization.budget_curve
    assert curve is not None, "the optimisation holds no budget curve"
    fig = new_figure(10, 4.4)
    ax = fig.add_subplot()
    style(ax)
    bands = [(ax, curve.incremental, PREDICTED, f"expected incremental {outcome.noun}")]
    money_ax = ax
    if curve.profit is not None and optimization.margin is not None:
        if not outcome.is_money:
            money_ax = ax.twinx()
            money_ax.spines["top"].set_visible(False)
            money_ax.set_ylabel(f"expected profit ({currency})", fontsize=9, color=GAIN)
            money_ax.yaxis.set_major_formatter(FuncFormatter(thousands))
        bands.append(
            (money_ax, curve.profit, GAIN, f"expected profit ({100 * optimization.margin:g}% margin x {outcome.profit_base()} - spend)")
        )
        money_ax.axhline(0, color=MUTED, linewidth=0.8)
    for axes, band, color, label in bands:
        axes.fill_between(curve.budgets, band.low, band.high, color=color, alpha=0.15, linewidth=0)
        axes.plot(curve.budgets, band.mean, color=color, linewidth=2, label=f"{label}, 90% band")
    ax.axvline(
        curve.current_budget, color=CURRENT, linewidth=1.6, linestyle="--", label=f"current budget {currency} {curve.current_budget:,.0f}"
    )
    there = f"{outcome.marginal_label()} there {marginal(curve.recommended_mroas, outcome.is_money)}"
    ax.axvline(
        curve.recommended_budget, color=INK, linewidth=1.6, label=f"recommended {currency} {curve.recommended_budget:,.0f} ({there})"
    )
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(FuncFormatter(thousands))
    ax.set_xlabel(f"total budget over the {optimization.weeks} {unit}s, split at its best ({currency})", fontsize=9, color=INK)
    measured = f"{currency}" if outcome.is_money else f"extra {outcome.noun}"
    ax.set_ylabel(f"{measured}, with carry-over", fontsize=9, color=INK)
    fig.legend(loc="outside upper center", ncols=2, frameon=False, fontsize=8.5)
    return to_png(fig)


def write_budget_curve(optimization: OptimizationResult, currency: str, unit: str, folder: str | Path) -> list[str]:
    """Write the budget curve's chart (PNG) and numbers (JSON, with the mode that chose the total) into `folder`.

    Returns the paths written: none when the optimisation holds no curve (a fixed budget).
    """
    curve = optimization.budget_curve
    if curve is None:
        return []
    folder = Path(folder)
    chart, data = folder / CHART_FILE, folder / DATA_FILE
    chart.write_bytes(budget_curve_chart(optimization, outcome_for(optimization.forecast.outcome), currency, unit))
    context = {
        "budget_mode": optimization.budget_mode,
        "margin": optimization.margin,
        "target_mroas": optimization.target_mroas,
        "target_cpa": optimization.target_cpa,
    }
    data.write_text(json.dumps({**context, **curve.to_json()}, indent=2), encoding="utf-8")
    return [str(chart), str(data)]
