"""What the optimiser maximises over a plan's posterior draws: one small class per objective.

An objective turns the draws of a constant weekly plan's incremental outcome (and their
gradients, from `ConstantPlanResponse`) into one number to maximise and its gradient with
respect to weekly spend per channel. Adding an objective is one class here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from mmm.planning.response import ConstantPlanResponse


class Objective(Protocol):
    """value_and_gradient(weekly) -> (value, d value / d weekly spend per channel), outcome units."""

    def value_and_gradient(self, response: ConstantPlanResponse, weekly: np.ndarray) -> tuple[float, np.ndarray]: ...


@dataclass(frozen=True)
class MeanMinusRisk:
    """Expected incremental outcome minus `risk` posterior standard deviations (risk 0: the mean)."""

    risk: float = 0.0

    def value_and_gradient(self, response: ConstantPlanResponse, weekly: np.ndarray) -> tuple[float, np.ndarray]:
        draws = response.revenue_draws(weekly)  # (sample, channel)
        grad = response.gradient_draws(weekly)
        total = draws.sum(axis=1)
        value, g = float(total.mean()), grad.mean(axis=0)
        if self.risk > 0:
            sd = float(total.std())
            value -= self.risk * sd
            if sd > 0:
                g = g - self.risk * ((total - total.mean())[:, None] * grad).mean(axis=0) / sd
        return value, g
