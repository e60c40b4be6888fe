"""Terminal text of a conversions KPI: what each channel's conversions cost (CPA on full cost, CAC on ad spend)."""

from __future__ import annotations

from collections.abc import Callable

from mmm.analysis.results import FitSummary
from mmm.core.outcome import count
from mmm.core.stats import Interval
from mmm.report.formatting import amount, cost, pct, ratio, table


def cell(interval: Interval | None, fmt: Callable[[float], str]) -> str:
    """'headline (low to high)': the mean, or a cost per conversion's median; '-' for a figure that does not apply."""
    if interval is None:
        return "-"
    return f"{fmt(interval.point)} ({fmt(interval.low)} to {fmt(interval.high)})"


def conversion_channel_lines(result: FitSummary) -> list[str]:
    """The per-channel table of a conversions fit, and what each cost figure counts."""
    valued = result.value_per_conversion is not None
    header = ["channel", "tier", "spend", "conversions", "share", "CPA median (full cost)", "CAC median (ad spend)", "marginal CPA median"]
    header += ["ROAS", "net ROI"] if valued else []
    rows = []
    for name, c in result.by_cpa():
        row = [
            name,
            c.tier,
            amount(c.spend),
            cell(c.contribution, count),
            cell(c.contribution_share, pct),
            cell(c.cpa, cost),
            cell(c.cac, cost),
            cell(c.marginal_cpa, cost),
        ]
        rows.append(row + ([cell(c.value_roas, ratio), cell(c.roi, ratio)] if valued else []))
    lines = table(header, rows, left=2)
    lines += [
        "",
        "Conversions: incremental conversions the channel caused. CPA: its full cost (media spend and every cost line) per "
        "incremental conversion. CAC: media spend alone per incremental conversion. Marginal CPA: media spend per extra "
        "conversion from spending a little more than today. CPA, CAC and marginal CPA show the median (half the likely values "
        "lie above it, half below) with the 90% interval: a cost per conversion has a long upper tail that pulls its mean up.",
    ]
    costed = [(n, c) for n, c in result.channels.items() if len(c.cost_lines) > 1]
    if costed:
        lines.append("The full cost counts:")
        lines += [
            f"  {n}: " + " + ".join(f"{label} {amount(v)}" for label, v in c.cost_lines.items()) + f" = {amount(c.cost)}" for n, c in costed
        ]
    if result.value_per_conversion is not None:
        lines.append(
            f"ROAS: value of the incremental conversions per 1 of media spend; net ROI: (value - full cost) / full cost. "
            f"Value per conversion used: {result.value_per_conversion.description}."
        )
    else:
        lines.append("No value per conversion is set (data.value_per_conversion), so ROAS and net ROI are not shown.")
    return lines
