"""Terminal text for the seasons: media effectiveness by month (a fit) and a plan's spend by week (`--by-week`)."""

from __future__ import annotations

from mmm.analysis.results import FitSummary
from mmm.core.outcome import outcome_for
from mmm.planning.results import OptimizationResult
from mmm.report.formatting import amount, ratio, table


def format_media_season(summary: FitSummary) -> str | None:
    """Media effectiveness per calendar month with its 90% interval, and what it means; None without media seasonality."""
    season = summary.media_seasonality
    if season is None:
        return None
    rows = [[m.name, ratio(m.multiplier.mean), f"{ratio(m.multiplier.low)} to {ratio(m.multiplier.high)}"] for m in season.months]
    lines = ["Media effectiveness through the year (1.00 = an average week; every channel's effect is multiplied by it):"]
    lines += ["  " + r for r in table(["month", "effectiveness", "90% interval"], rows)]
    return "\n".join([*lines, "", *season.sentences()])


def format_by_week(optimization: OptimizationResult, currency: str) -> str | None:
    """The plan's spend per week and channel, each week's media effectiveness, and why the plan moves or stays flat."""
    timing = optimization.by_week
    if timing is None:
        return None
    unit = optimization.weekly_plan.period if optimization.weekly_plan is not None else "week"
    lines = [f"Plan by {unit}: " + timing.reason]
    if timing.gain_over_flat is not None:
        g = timing.gain_over_flat
        words = outcome_for(optimization.forecast.outcome)
        fig = words.figure
        lines.append(
            f"Against spending the same channel totals evenly it is expected to bring {fig(g.mean)} more {words.noun} "
            f"(90% interval {fig(g.low)} to {fig(g.high)}), with spend going on at the even level after the plan."
        )
    if timing.moves:
        channels = list(timing.spend)
        effect = timing.effectiveness or []
        rows = [
            [str(t + 1), day, ratio(effect[t].mean) if effect else "", *(amount(timing.spend[ch][t]) for ch in channels)]
            for t, day in enumerate(timing.dates)
        ]
        lines += ["", f"Spend per week ({currency}):"]
        lines += ["  " + r for r in table(["week", "starts", "media effectiveness", *channels], rows, left=2)]
    return "\n".join(lines)
