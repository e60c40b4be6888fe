"""Which charts the report draws, and from which parts of the typed results.

A chart whose data the results lack (a run stored before the results carried its series,
curves or histograms) is left out; the page says so where it would be.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from mmm.core.constants import ESS_MIN, RHAT_MAX
from mmm.core.outcome import outcome_for
from mmm.report import appendix_plots, budget_plot, geo_plots, plan_plots, plots
from mmm.report.chart_style import Layer, base_moves, channel_colors
from mmm.report.plots import ResponsePanel
from mmm.report.prose import unit_of
from mmm.report.side_by_side import SideBySide

if TYPE_CHECKING:
    from mmm.analysis.results import FitSummary
    from mmm.planning.results import OptimizationResult


def response_panels(summary: FitSummary, optimization: OptimizationResult | None, colors: dict[str, str]) -> list[ResponsePanel]:
    """One panel per channel with a response curve: average spend per period in the data, and the planned spend."""
    alloc = optimization.allocation if optimization is not None else {}
    return [
        ResponsePanel(
            ch, c.tier, colors[ch], c.response, c.mroas, c.spend / summary.data.periods, alloc[ch].weekly if ch in alloc else None
        )
        for ch, c in summary.channels.items()
        if c.response is not None
    ]


def start_charts(summary: FitSummary, optimization: OptimizationResult | None = None) -> SideBySide:
    """Start drawing every chart the results hold the data for (PNG bytes by file name, from `finish()`).

    They are drawn two at a time where possible, beginning now: a caller with other work to do
    (logging to MLflow) does it first, and a forked child draws meanwhile.
    """
    return SideBySide(chart_jobs(summary, optimization, channel_colors(list(summary.channels)), base_moves(summary)))


def chart_jobs(
    summary: FitSummary, optimization: OptimizationResult | None, colors: dict[str, str], moves: list[Layer]
) -> dict[str, Callable[[], bytes]]:
    """What draws each chart the results hold the data for (its PNG bytes), by file name."""
    words, cur, unit = outcome_for(summary.outcome), summary.currency, unit_of(summary)
    jobs: dict[str, Callable[[], bytes]] = {}
    if summary.timeline is not None:
        jobs["fit.png"] = partial(plots.fit_chart, summary.timeline, words, cur, unit)
        jobs["contributions.png"] = partial(plots.contributions_chart, summary.timeline, moves, colors, words, cur, unit)
    jobs["returns.png"] = partial(plots.returns_chart, summary.by_cpa() if words.has_cpa else summary.by_roas(), words)
    if summary.geos:
        jobs["geo_returns.png"] = partial(geo_plots.geo_returns_chart, summary.geos, summary.channels, words)
    panels = response_panels(summary, optimization, colors)
    if panels:
        jobs["response_curves.png"] = partial(plots.response_curves_chart, panels, words, cur, unit)
    jobs["carryover.png"] = partial(plots.carryover_chart, {ch: c.carryover for ch, c in summary.channels.items()}, colors, unit)
    if optimization is not None:
        jobs["budget.png"] = partial(plan_plots.budget_chart, optimization, cur, unit)
        if optimization.outcomes is not None:
            jobs["plan_outcomes.png"] = partial(plan_plots.plan_outcomes_chart, optimization, words, cur)
        if optimization.budget_curve is not None:
            jobs[budget_plot.CHART_FILE] = partial(budget_plot.budget_curve_chart, optimization, words, cur, unit)
    if summary.diagnostics.parameters:
        jobs["diagnostics.png"] = partial(appendix_plots.diagnostics_chart, summary.diagnostics.parameters, RHAT_MAX, ESS_MIN)
    evidence = {ch: c.roas_evidence for ch, c in summary.channels.items() if c.roas_evidence is not None}
    if evidence:
        tiers = {ch: c.tier for ch, c in summary.channels.items()}
        jobs["roas_priors.png"] = partial(appendix_plots.roas_priors_chart, evidence, tiers, colors, words)
    return jobs
