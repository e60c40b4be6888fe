"""Simulated lift tests in one region of a geo scenario, with their true lift."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mmm.core.errors import MMMError
from mmm.simulation.scenarios import L_MAX, LIFT_RELATIVE_SE, LIFT_WEEKS, _true_response


def lift_tests(
    lift_channels: list[str],
    names: list[str],
    spend: np.ndarray,
    typical: np.ndarray,
    alpha: np.ndarray,
    half: np.ndarray,
    roas: np.ndarray,
    geos: list[str],
    dates: pd.DatetimeIndex,
    rng: np.random.Generator,
) -> list[dict[str, Any]]:
    """One test per named channel in the median-sized region: its typical weekly spend added for LIFT_WEEKS weeks
    mid-way through the channel's active weeks; the true lift counts the carry-over."""
    unknown = sorted(set(lift_channels) - set(names))
    if unknown:
        raise MMMError(f"--lifts: unknown channel(s) {', '.join(unknown)}; this scenario has {', '.join(names)}")
    g = len(geos) // 2
    weeks = spend.shape[0]
    tests = []
    for ch in lift_channels:
        i = names.index(ch)
        x = spend[:, g, :]
        active = np.flatnonzero(x[:, i] > 0)
        start = min(int(active[len(active) // 2]), weeks - LIFT_WEEKS - L_MAX)
        treated = x.copy()
        treated[start : start + LIFT_WEEKS, i] += typical[g, i]
        window = slice(start, min(start + LIFT_WEEKS + L_MAX - 1, weeks))
        base = _true_response(x / typical[g], alpha, half)
        coef = roas[g, i] * x[:, i].sum() / base[:, i].sum()
        lift = float(coef * (_true_response(treated / typical[g], alpha, half)[window, i] - base[window, i]).sum())
        se = LIFT_RELATIVE_SE * abs(lift)
        tests.append(
            {
                "channel": ch,
                "geo": geos[g],
                "start": str(dates[start].date()),
                "end": str(dates[start + LIFT_WEEKS - 1].date()),
                "spend_change": round(float(typical[g, i] * LIFT_WEEKS), 2),
                "lift": round(lift + float(rng.normal(0, se)), 2),
                "lift_se": round(se, 2),
                "true_lift": lift,
            }
        )
    return tests
