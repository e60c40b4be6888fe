"""Terminal text of a geo plan: its spend per region and channel (`mmm optimize` on data by region)."""

from __future__ import annotations

from mmm.planning.results import OptimizationResult
from mmm.report.formatting import amount, table


def format_regions(optimization: OptimizationResult) -> str:
    """A geo plan's spend per region and channel over the horizon, with its change on the current mix; none for a national plan."""
    if not optimization.geos:
        return ""
    channels = list(optimization.allocation)
    how = (
        "chosen region by region"
        if optimization.geo_allocation == "cells"
        else "each channel split by the regions' shares of its recent spend"
    )
    rows = []
    for geo, plan in sorted(optimization.geos.items(), key=lambda kv: -kv[1].total):
        cells = [plan.channels[ch] for ch in channels]
        rows.append(
            [geo, amount(plan.total)]
            + [
                amount(c.total) + (f" ({c.change_pct:+.0%})" if c.change_pct is not None else "") + (" max" if c.bound == "max" else "")
                for c in cells
            ]
        )
    return "\n".join([f"By region ({how}; change on the current mix):", *table(["region", "total", *channels], rows, left=1)])
