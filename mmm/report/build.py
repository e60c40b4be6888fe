"""The model report: one self-contained HTML file a marketing lead can read, share and print.

`build_report(summary, optimization)` renders the Jinja2 templates in mmm/report/templates
(autoescaped; CSS from report.css inlined, charts embedded as base64 PNG, no external files,
fonts or scripts) and returns the page with the charts as PNG bytes. Every number, band,
curve and histogram is read from the typed results, `FitSummary` (what `mmm fit
--output-json` writes) and `OptimizationResult` (`optimize.json`), so the report always says
what the JSON says and recomputes nothing. MLflow (where the results come from and where the
report goes) is in `mmm.tracking.reports`.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from mmm.core.outcome import Outcome, outcome_for
from mmm.report.changes import added_text, change_sentences
from mmm.report.chart_style import base_moves, tier_groups
from mmm.report.prose import executive_summary, plan_paragraphs, trust_verdict, unit_of
from mmm.report.templating import render, stylesheet

if TYPE_CHECKING:
    from mmm.analysis.results import FitSummary
    from mmm.planning.results import OptimizationResult
    from mmm.report.side_by_side import Charts

__all__ = ["ARTIFACT_DIR", "REPORT_FILE", "SECTIONS", "Report", "build_report", "executive_summary", "section_titles"]

ARTIFACT_DIR = "report"
REPORT_FILE = "report.html"
PAGE = "report.html.j2"
# Section key -> heading; {noun} is the outcome's word ("revenue"). Each key's body is templates/section_<key>.html.j2.
SECTION_TITLES = {
    "summary": "Executive summary",
    "fit": "How well the model fits",
    "contributions": "What drove {noun} over time",
    "returns": "Return on spend by channel",
    "response": "Response curves: what more or less spend would do",
    "carryover": "How long each channel's effect lasts",
    "budget": "Recommended budget",
    "diagnostics": "Appendix: model diagnostics",
}


def section_titles(outcome: Outcome) -> dict[str, str]:
    """Section key -> heading, in the outcome's words."""
    return {key: title.format(noun=outcome.noun) for key, title in SECTION_TITLES.items()}


SECTIONS = section_titles(outcome_for("revenue"))
CHANGES = ("changes", "What changed since the last fit")  # a refit's section (templates/section_changes.html.j2), after the summary


def _titles(summary: FitSummary, outcome: Outcome) -> dict[str, str]:
    """The sections of this report: every standard one, and what changed when the fit refreshes an earlier one."""
    titles = section_titles(outcome)
    if summary.changes is None:
        return titles
    key, title = CHANGES
    return {"summary": titles["summary"], key: title, **titles}


class Report(NamedTuple):
    """The report as HTML text and its charts as PNG bytes, by file name (e.g. 'fit.png')."""

    html: str
    images: dict[str, bytes]


def _budget_groups(optimization: OptimizationResult) -> list[tuple[str, float, list[tuple[str, Any]]]]:
    """(tier, its current total, [(channel, allocation)]) in the order of the budget chart."""
    alloc = optimization.allocation
    return [(tier, sum(alloc[ch].current_total for ch in chans), [(ch, alloc[ch]) for ch in chans]) for tier, chans in tier_groups(alloc)]


def build_report(
    summary: FitSummary,
    optimization: OptimizationResult | None = None,
    title: str = "Marketing mix report",
    charts: Charts | None = None,
) -> Report:
    """The report of a fit (and optionally one optimisation made from it) as HTML and PNG charts.

    optimization: the result of `mmm optimize` on the same fit (its `run_id` must be the
    summary's), or None to leave the budget section out. charts: the same results' charts,
    started earlier with `start_charts(summary, optimization)`; by default they are drawn here.
    """
    if optimization is not None and summary.run_id and optimization.run_id not in (None, summary.run_id):
        if charts is not None:
            charts.stop()
        raise ValueError(f"the optimisation was made from run {optimization.run_id}, not from {summary.run_id}")
    words = outcome_for(summary.outcome)
    moves = base_moves(summary)
    if charts is None:
        from mmm.report.charts import start_charts  # matplotlib and the charts' modules, only when they are drawn here

        charts = start_charts(summary, optimization)
    images = charts.finish()
    plan = plan_paragraphs(summary, optimization) if optimization is not None else []
    page = render(
        PAGE,
        title=title,
        titles=_titles(summary, words),
        css=stylesheet(),
        created=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        s=summary,
        opt=optimization,
        o=words,
        cur=summary.currency,
        unit=unit_of(summary),
        verdict=trust_verdict(summary),
        paragraphs=executive_summary(summary) + plan,
        plan_paragraphs=plan,
        changed=change_sentences(summary.changes, unit_of(summary)) if summary.changes else [],
        changed_added=added_text(summary.changes, unit_of(summary)) if summary.changes else "",
        moves=[m.label for m in moves],
        budget_groups=_budget_groups(optimization) if optimization is not None else [],
        figures={name: base64.b64encode(png).decode("ascii") for name, png in images.items()},
    )
    return Report(page, images)
