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


def search_scale(gradient: np.ndarray, weekly: np.ndarray, budget: float) -> float:
    """What an optimiser divides its objective by, so that SLSQP sees numbers near 1 in any outcome's unit.

    gradient, weekly: the objective's gradient (outcome per unit of weekly spend) and the weekly spend at the search's
    start; the scale is the first-order effect of that spend (outcome units), or `budget` when it is 0. Divided by
    the budget instead, a conversions objective is about 1e-4 and SLSQP stops on its absolute tolerance short of the optimum.
    """
    effect = float(np.abs(gradient * weekly).sum())
    return effect if effect > 0 else budget
