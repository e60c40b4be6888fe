"""Simulated lift tests in one region of a geo scenario, with their true lift; the data hold them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from mmm.core.errors import MMMError
from mmm.simulation.scenarios import L_MAX, LIFT_RELATIVE_SE, LIFT_WEEKS

if TYPE_CHECKING:
    from mmm.simulation.geo_scenarios import GeoWorld


def lift_tests(lift_channels: list[str], w: GeoWorld) -> tuple[list[dict[str, Any]], np.ndarray, np.ndarray]:
    """(tests, spend (week, geo, channel) and revenue (week, geo) with the tests in them): one test per named
    channel in the median-sized region, its typical weekly spend added for LIFT_WEEKS weeks mid-way through
    the channel's active weeks; the true lift counts the carry-over."""
    names, typical = w.names, w.typical
    unknown = sorted(set(lift_channels) - set(names))
    if unknown:
        raise MMMError(f"--lifts: unknown channel(s) {', '.join(unknown)}; this scenario has {', '.join(names)}")
    bought_nationally = [ch for ch in lift_channels if w.national[names.index(ch)]]
    if bought_nationally:
        raise MMMError(
            f"--lifts: {', '.join(bought_nationally)} is bought nationally in this scenario, so a test in one region "
            "cannot change it; test a channel bought by region"
        )
    g = len(w.geos) // 2
    weeks = w.spend.shape[0]
    spend, revenue, tests = w.spend.copy(), w.revenue.copy(), []
    for ch in lift_channels:
        i = names.index(ch)
        x = w.spend[:, g, :]
        active = np.flatnonzero(x[:, i] > 0)
        start = min(int(active[len(active) // 2]), weeks - LIFT_WEEKS - L_MAX)
        extra = round(float(typical[g, i]), 2)  # in cents, as the data record spend
        treated = x.copy()
        treated[start : start + LIFT_WEEKS, i] += extra
        window = slice(start, min(start + LIFT_WEEKS + L_MAX - 1, weeks))
        gain = (w.region_contribution(g, treated) - w.region_contribution(g, x))[window, i]
        spend[start : start + LIFT_WEEKS, g, i] += extra
        revenue[window, g] = np.round(revenue[window, g] + gain, 2)
        lift = float(gain.sum())
        se = LIFT_RELATIVE_SE * abs(lift)
        tests.append(
            {
                "channel": ch,
                "geo": w.geos[g],
                "start": str(w.dates[start].date()),
                "end": str(w.dates[start + LIFT_WEEKS - 1].date()),
                "spend_change": round(extra * LIFT_WEEKS, 2),
                "lift": round(lift + float(w.rng.normal(0, se)), 2),
                "lift_se": round(se, 2),
                "true_lift": lift,
            }
        )
    return tests, spend, revenue
