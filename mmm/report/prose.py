"""The report's sentences: what the numbers say, for the marketing lead.

Python decides which statement applies (how closely the model fits, which channels clearly
pay back, which way money moves); the words and markup are macros in templates/prose.html.j2,
rendered with autoescaping, so a channel called '<script>' prints as text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from markupsafe import Markup

from mmm.core.outcome import outcome_for
from mmm.data.dataset import period_word
from mmm.report.templating import macro, squeeze

if TYPE_CHECKING:
    from mmm.analysis.results import FitSummary
    from mmm.planning.results import OptimizationResult

PROSE = "prose.html.j2"
MOVE = 0.5  # a channel's spend changes when it moves by more than half a currency unit
SHOWN_MOVES = 3
REVIEW_VERDICTS = {"PASS": ("good", "Good"), "REVIEW": ("warn", "Use with care"), "FAIL": ("bad", "Not fit to advise")}


class Verdict(NamedTuple):
    """Whether the model can be trusted: level (good | warn | bad) for the card colour, headline, and why."""

    level: str
    headline: str
    closeness: str  # how closely the model follows the outcome: closely | reasonably | only loosely
    weak_fit: bool


def unit_of(summary: FitSummary) -> str:
    """The data's period in words: 'week', 'day' or 'period'."""
    return period_word(summary.data.frequency)


def trust_verdict(summary: FitSummary) -> Verdict:
    """The verdict from the estimation checks, the in-sample fit and, when there is one, the holdout."""
    fit, h = summary.fit, summary.holdout
    r2 = fit.r2 if fit.r2 is not None else float("-inf")
    mape = fit.mape if fit.mape is not None else float("inf")
    if fit.r2_attainable:  # counted events: judged against what chance leaves to explain, and their MAPE is mostly chance
        r2, mape = r2 / fit.r2_attainable, 0.0
    closeness = "closely" if r2 >= 0.8 and mape <= 0.1 else ("reasonably" if r2 >= 0.5 and mape <= 0.2 else "only loosely")
    weak_fit = closeness == "only loosely"
    if closeness == "closely" and fit.r2_attainable is not None and fit.r2_attainable < 0.5:  # mostly chance: "closely" misleads
        closeness = "as closely as their chance scatter allows"
    if h is not None and h.mape is not None:
        weak_fit = weak_fit or h.coverage < 0.6 or h.mape > 2 * max(mape, 0.01)
    if summary.review is not None:  # the health review decides; the fit words still describe how closely it follows
        level, headline = REVIEW_VERDICTS[summary.review.status]
        return Verdict(level, headline, closeness, weak_fit)
    if not summary.diagnostics.converged:
        return Verdict("bad", "Not yet", closeness, weak_fit)
    if weak_fit:
        return Verdict("warn", "Use with care", closeness, weak_fit)
    return Verdict("good", "Good", closeness, weak_fit)


def _say(name: str, **context: object) -> Markup:
    return squeeze(macro(PROSE, name)(**context))


def executive_summary(summary: FitSummary, optimization: OptimizationResult | None = None) -> list[str]:
    """Paragraphs (escaped HTML) for the marketing lead, each number read from the fit and optimisation results."""
    words, unit = outcome_for(summary.outcome), unit_of(summary)
    common = {"s": summary, "o": words, "cur": summary.currency, "unit": unit}
    if words.has_cpa:  # conversions: what they cost, not a return in money
        chans = summary.by_cpa()
        ours: list[str] = [_say("cheapest_conversions", top=chans[0], others=chans[1:3], **common), _say("marketing", **common)]
        return (
            ours
            + [_say("trust", verdict=trust_verdict(summary), **common)]
            + (plan_paragraphs(summary, optimization) if optimization else [])
        )
    chans = summary.by_roas()
    paras: list[str] = [
        _say("best_returns", top=chans[0], others=chans[1:3], **common),
        _say(
            "how_sure",
            unit=unit,
            o=words,
            sure=[n for n, c in chans if c.roas.low > 1],
            unsure=[n for n, c in chans if c.roas.low <= 1 <= c.roas.high],
            below=[n for n, c in chans if c.roas.high < 1],
            with_costs=[(n, c) for n, c in chans if abs(c.cost - c.spend) > 0.005],
        ),
        _say("marketing", **common),
        _say("trust", verdict=trust_verdict(summary), **common),
    ]
    if optimization is not None:
        paras += plan_paragraphs(summary, optimization)
    return paras


def plan_paragraphs(summary: FitSummary, optimization: OptimizationResult) -> list[str]:
    """The recommended shift and what it is expected to earn, then the optimiser's warnings."""
    alloc = optimization.allocation
    ups = sorted((ch for ch, a in alloc.items() if a.change > MOVE), key=lambda ch: -alloc[ch].change)
    downs = sorted((ch for ch, a in alloc.items() if a.change < -MOVE), key=lambda ch: alloc[ch].change)
    common = {"opt": optimization, "o": outcome_for(summary.outcome), "cur": summary.currency, "unit": unit_of(summary)}
    paras: list[str] = [
        _say(
            "plan_moves", ups=[(ch, alloc[ch]) for ch in ups[:SHOWN_MOVES]], downs=[(ch, alloc[ch]) for ch in downs[:SHOWN_MOVES]], **common
        ),
        _say("plan_effect", converged=summary.diagnostics.converged, **common),
    ]
    return paras + [_say("note", warning=w) for w in optimization.warnings]
