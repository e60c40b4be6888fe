"""The expected value of information: how much better next quarter's plan would be if a channel's ROAS were known.

Pre-posterior analysis on a subset of posterior draws, with the optimiser's own response
(`ConstantPlanResponse`) and solver (`solve_split`) under the same tier shares and bounds:

- the plan chosen now maximises the mean over the draws of the incremental outcome;
- perfect information (EVPI) about channel c: the draws are grouped by c's ROAS (BINS groups of
  equal size, draws with the same ROAS always together); within each group the plan is
  re-optimised for that group's draws, all parameters of all channels as drawn, so what c's ROAS
  says about the other channels counts too, and valued against the plan chosen now on the same
  draws. EVPI is the average gain. A channel whose ROAS is already known has one group: zero;
- sample information (EVSI) of a test that measures lift L with standard error se: for each of
  OUTER measured lifts y, one per equal-probability stratum of what the test may measure (L of
  some draw plus se * noise; `predictive_outcomes`), the draws are reweighted by the likelihood
  of y (importance sampling: the posterior after the test), the plan is re-optimised for the
  reweighted draws and valued against the plan chosen now under the same weights. EVSI is the
  average gain; it is at most the EVPI of the channel (up to the error of averaging over OUTER
  strata and a finite set of draws) and approaches it as se falls.

Values are in the outcome's unit (currency of revenue) over the plan's horizon and its carry-over.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from mmm.core.stats import QUANTILES
from mmm.model.estimator import MarketingMixModel
from mmm.planning.bounds import Bounds
from mmm.planning.forecast import current_plan
from mmm.planning.optimizer import solve_split, tier_budgets
from mmm.planning.response import ConstantPlanResponse

N_DRAWS = 1000  # posterior draws the analysis runs on (a seeded subset)
BINS = 8  # groups of draws by a channel's ROAS, for perfect information
OUTER = 24  # test outcomes per design (strata of what it may measure), for sample information
GAIN_FLOOR = 1e-9  # relative gain below which a re-plan counts as no change (solver tolerance)


@dataclass(frozen=True)
class WeightedMean:
    """Objective: the weighted mean over draws of the total incremental outcome (weights sum to 1)."""

    weights: np.ndarray

    def value_and_gradient(self, response: ConstantPlanResponse, weekly: np.ndarray) -> tuple[float, np.ndarray]:
        total = response.revenue_draws(weekly).sum(axis=1)
        return float(self.weights @ total), self.weights @ response.gradient_draws(weekly)


class PlanProblem:
    """Next quarter's plan under the tier shares and bounds, on a seeded subset of posterior draws.

    budget: currency over `weeks` periods; shares: tier -> share; tiers: channel -> tier.
    `now` is the weekly plan (currency per period, channel order) chosen on today's posterior.
    """

    def __init__(
        self,
        model: MarketingMixModel,
        budget: float,
        weeks: int,
        shares: dict[str, float],
        tiers: dict[str, str],
        bounds: Bounds,
        n_draws: int = N_DRAWS,
        seed: int = 0,
    ):
        self.model, self.budget, self.weeks, self.seed, self.n_draws = model, budget, weeks, seed, n_draws
        self.channels = model.channels
        self.lo, self.hi, _, _, self.funded = tier_budgets(self.channels, budget, weeks, shares, tiers, bounds)
        self.response = ConstantPlanResponse(model, weeks, n_draws=n_draws, seed=seed)
        self.size = int(self.response.coef.shape[0])
        self.roas = np.asarray(self.response.params["roas"], dtype=float)  # (sample, channel)
        self.current = self.response.vector(current_plan(model, budget, weeks))
        uniform = np.full(self.size, 1.0 / self.size)
        self.now = self.best_plan(uniform, {"even split": np.ones(len(self.channels)), "current plan": self.current})
        self.now_draws = self.totals(self.now)

    def roas_width(self, channel: int) -> float:
        """Width of the channel's 90% ROAS interval now, before any test."""
        return weighted_width(self.roas[:, channel], np.full(self.size, 1.0 / self.size))

    def totals(self, weekly: np.ndarray) -> np.ndarray:
        """(sample,) total incremental outcome of a weekly plan, currency."""
        return self.response.revenue_draws(weekly).sum(axis=1)

    def best_plan(self, weights: np.ndarray, starts: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """The weekly plan that maximises the weighted mean outcome (started from the plan chosen now)."""
        plan, _, _ = solve_split(
            self.response, WeightedMean(weights), self.budget, self.weeks, self.funded, self.lo, self.hi, starts or {"plan now": self.now}
        )
        return plan

    def gain(self, weights: np.ndarray) -> float:
        """Expected gain (currency) of re-planning for the weighted draws over keeping the plan chosen now."""
        if np.allclose(weights, 1.0 / self.size, rtol=0, atol=1e-12):
            return 0.0  # nothing learned: the plan chosen now stays the best
        plan = self.best_plan(weights)
        gain = float(weights @ (self.totals(plan) - self.now_draws))
        return gain if gain > GAIN_FLOOR * abs(float(weights @ self.now_draws)) else 0.0

    def marginal_roas(self) -> float:
        """Extra outcome per extra unit of total budget at the plan chosen now (spend-weighted over channels)."""
        per_unit = self.response.gradient_draws(self.now).mean(axis=0) / self.weeks
        return float(per_unit @ self.now / self.now.sum())


def perfect_information(problem: PlanProblem, channel: int, bins: int = BINS) -> float:
    """EVPI of one channel's ROAS (currency over the horizon): the mean gain of planning with it known."""
    roas = problem.roas[:, channel]
    edges = np.unique(np.quantile(roas, np.linspace(0, 1, bins + 1))[1:-1])
    group = np.searchsorted(edges, roas, side="right")
    total = 0.0
    for g in np.unique(group):
        members = group == g
        if members.all():
            return 0.0  # one group: the ROAS is known already
        weights = members / members.sum()
        total += members.mean() * problem.gain(weights)
    return total


@dataclass(frozen=True)
class Preposterior:
    """What a test is expected to teach: EVSI (currency) and the ROAS interval after it."""

    value: float  # EVSI: expected gain of the re-planned quarter, currency
    roas_width_after: float  # expected width of the channel's 90% ROAS interval after the test
    effective_draws: float  # mean effective sample size of the reweighted draws (small: the estimate is rough)


def weighted_width(values: np.ndarray, weights: np.ndarray) -> float:
    """Width of the central 90% interval of weighted draws."""
    order = np.argsort(values)
    cdf = np.cumsum(weights[order])
    cdf /= cdf[-1]
    at = np.minimum(np.searchsorted(cdf, np.asarray(QUANTILES)), len(values) - 1)
    lo, hi = values[order][at]
    return float(hi - lo)


def predictive_outcomes(lift: np.ndarray, se: float, n: int) -> np.ndarray:
    """n measured lifts (currency), one per stratum of n equal-probability strata of what the test may measure.

    The test measures a draw's lift plus noise of standard error `se`, so its outcome follows the
    mixture over the draws of normals around `lift`. The strata's midpoints (quantiles (k + 0.5) / n
    of that mixture) stand in for n random outcomes: the average over them of anything that depends
    on the outcome is the same expectation with far less simulation noise, so designs compare fairly.
    """
    targets = (np.arange(n) + 0.5) / n
    lo = np.full(n, float(lift.min()) - 8 * se)
    hi = np.full(n, float(lift.max()) + 8 * se)
    for _ in range(60):  # bisection on the mixture's CDF, to well below a thousandth of se
        mid = 0.5 * (lo + hi)
        below = norm.cdf((mid[:, None] - lift[None, :]) / se).mean(axis=1) < targets
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return 0.5 * (lo + hi)


def sample_information(problem: PlanProblem, channel: int, lift: np.ndarray, se: float, outer: int = OUTER) -> Preposterior:
    """EVSI of a test whose measured lift is `lift` (per draw, currency) plus noise of standard error `se`."""
    gains, widths, ess = [], [], []
    for measured in predictive_outcomes(lift, se, outer):
        log_w = -0.5 * ((measured - lift) / se) ** 2
        w = np.exp(log_w - log_w.max())
        w /= w.sum()
        gains.append(problem.gain(w))
        widths.append(weighted_width(problem.roas[:, channel], w))
        ess.append(1.0 / float(w @ w))
    # a result never widens what is known: on average the reweighted interval is at most today's (a few outer draws can say otherwise)
    return Preposterior(float(np.mean(gains)), min(float(np.mean(widths)), problem.roas_width(channel)), float(np.mean(ess)))
