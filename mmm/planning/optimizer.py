"""Reallocate a budget across channels under the 70/20/10 rule, from a fitted model.

Decision: spend per channel per period (held for the horizon). Constraints: each tier gets
exactly its share of the budget (so the total is the budget), each channel stays within its
bounds. Objective: expected incremental outcome over the horizon (with carry-in and
carry-over), averaged over posterior draws; with risk k, mean minus k standard deviations.
Solved with SLSQP on exact gradients from several starts; the answer is checked for
optimality (equal marginal ROAS across a tier's unbound channels).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from scipy.optimize import minimize

from mmm.core.errors import ArgumentError, MMMError
from mmm.core.results import Histogram
from mmm.core.stats import Interval
from mmm.model.estimator import MarketingMixModel
from mmm.planning.bounds import Bounds, project, round_to_cents, split_cents
from mmm.planning.forecast import current_plan, forecast_plan
from mmm.planning.objectives import MeanMinusRisk, Objective
from mmm.planning.response import ConstantPlanResponse
from mmm.planning.results import Allocation, OptimizationResult, PlanOutcomes, TierOptimality
from mmm.planning.weekly import weekly_plan

N_RANDOM_STARTS = 4
BOUND_TOL = 1e-6  # relative distance to a bound that counts as binding


def tier_budgets(
    channels: list[str], budget: float, weeks: int, shares: dict[str, float], tiers: dict[str, str], bounds: Bounds
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], list[float], list[tuple[np.ndarray, float]]]:
    """What the 70/20/10 rule asks of a plan: (weekly low and high bounds, channel indices of each tier in
    `shares` order, each tier's total in whole cents, (indices, weekly spend) of each tier that spends).

    Raises MMMError when a tier's channels cannot take its share within their bounds; a tier without a
    share gets a high bound of 0 (its channels are not decisions).
    """
    lo, hi = bounds.low, bounds.high.copy()
    groups = [np.array([i for i, c in enumerate(channels) if tiers[c] == t]) for t in shares]
    tier_totals = split_cents(budget, [shares[t] for t in shares])
    weekly_budgets = [total / weeks for total in tier_totals]
    for t, idx, w in zip(shares, groups, weekly_budgets):
        if not lo[idx].sum() - 1e-9 <= w <= hi[idx].sum() + 1e-9:
            names = ", ".join(channels[i] for i in idx)
            raise MMMError(
                f"tier '{t}' must spend {w * weeks:,.2f} ({shares[t]:.0%} of the budget) but its channels ({names}) "
                f"can take only {lo[idx].sum() * weeks:,.2f} to {hi[idx].sum() * weeks:,.2f} over {weeks} periods; "
                "widen their bounds, change the policy, or change the budget"
            )

    for idx, w in zip(groups, weekly_budgets):
        if w == 0:
            hi[idx] = 0.0  # a tier with no share spends nothing; its channels are not decisions
    funded = [(idx, w) for idx, w in zip(groups, weekly_budgets) if w > 0]
    return lo, hi, groups, tier_totals, funded


def solve_split(
    response: ConstantPlanResponse,
    goal: Objective,
    budget: float,
    weeks: int,
    funded: list[tuple[np.ndarray, float]],
    lo: np.ndarray,
    hi: np.ndarray,
    starts: dict[str, np.ndarray],
) -> tuple[np.ndarray, str, list[dict]]:
    """The weekly spend per channel (currency per period) that maximises `goal`, from each start in turn.

    funded: (channel indices, weekly spend) of each tier that spends; lo, hi: weekly bounds. Each start
    (a weekly plan, rescaled to every tier's spend) runs SLSQP on exact gradients; the best feasible
    end point wins. Returns (best plan, the start it came from, per start its objective and convergence).
    """
    n = len(lo)
    scale = np.maximum(hi, budget / weeks / n)  # decision variables near 1 for SLSQP

    def to_minimise(x: np.ndarray) -> tuple[float, np.ndarray]:
        value, g = goal.value_and_gradient(response, x * scale)
        return -value / budget, -g * scale / budget

    constraints = [
        {
            "type": "eq",
            "fun": (lambda x, idx=idx, w=w: (x[idx] * scale[idx]).sum() / w - 1.0),
            "jac": (lambda x, idx=idx, w=w: np.where(np.isin(np.arange(len(x)), idx), scale / w, 0.0)),
        }
        for idx, w in funded
    ]
    best, best_val, best_name, solutions = None, np.inf, "", []
    for name, raw in starts.items():
        x0 = np.zeros(n)
        for idx, w in funded:
            x0[idx] = project(raw[idx] / raw[idx].sum() * w if raw[idx].sum() > 0 else np.full(len(idx), w / len(idx)), w, lo[idx], hi[idx])
        res = minimize(
            to_minimise,
            x0 / scale,
            jac=True,
            method="SLSQP",
            bounds=list(zip(lo / scale, hi / scale)),
            constraints=constraints,
            options={"maxiter": 500, "ftol": 1e-12},
        )
        u = np.zeros(n)
        for idx, w in funded:
            u[idx] = project(res.x[idx] * scale[idx], w, lo[idx], hi[idx])  # exact feasibility
        val = to_minimise(u / scale)[0]
        solutions.append({"start": name, "objective": -val * budget, "converged": bool(res.success)})
        if val < best_val:
            best, best_val, best_name = u, val, name
    assert best is not None  # every start yields a feasible point
    return best, best_name, solutions


def optimize_budget(
    model: MarketingMixModel,
    budget: float,
    weeks: int,
    shares: dict[str, float],
    tiers: dict[str, str],
    bounds: Bounds,
    risk: float = 0.0,
    n_draws: int | None = None,
    seed: int = 0,
    objective: Objective | None = None,
) -> OptimizationResult:
    """The recommended plan, the current plan, and what each is expected to earn.

    shares: tier -> share of the budget (for the tiers that have channels); tiers: channel -> tier;
    objective: what to maximise (default: expected incremental outcome minus `risk` standard deviations).
    The plan's forecast (incremental outcome, comparison with the current mix) comes from
    `forecast_plan` on the same draws; see README, `mmm optimize`, for the JSON.
    """
    start_clock = time.perf_counter()
    if not budget > 0:
        raise ArgumentError("budget", f"must be a positive amount, not {budget:g}")
    if weeks < 1:
        raise ArgumentError("weeks", f"must be at least 1, not {weeks}")
    if risk < 0:
        raise ArgumentError("risk", f"must be 0 or more, not {risk:g}")
    channels = model.channels
    lo, hi, groups, tier_totals, funded = tier_budgets(channels, budget, weeks, shares, tiers, bounds)
    response = ConstantPlanResponse(model, weeks, n_draws=n_draws, seed=seed)
    goal = objective if objective is not None else MeanMinusRisk(risk)
    current = response.vector(current_plan(model, budget, weeks))
    rng = np.random.default_rng(seed)
    starts = {"even split": np.ones(len(channels)), "current plan": current.copy()}
    for k in range(N_RANDOM_STARTS):
        starts[f"random {k + 1}"] = rng.dirichlet(np.ones(len(channels))) * budget / weeks
    best, best_name, solutions = solve_split(response, goal, budget, weeks, funded, lo, hi, starts)
    totals = round_to_cents(best, weeks, groups, tier_totals, lo, hi)
    weekly = totals / weeks
    # one more unit per period costs `weeks` units in all: mROAS is per unit of total spend
    mroas = response.gradient_draws(weekly).mean(axis=0) / weeks
    solver = {"method": "SLSQP, exact gradients", "starts": solutions, "best_start": best_name, "draws": int(response.coef.shape[0])}
    plan = np.tile(weekly, (weeks, 1))
    return plan_result(
        model, budget, plan, totals, mroas, current, shares, tiers, Bounds(lo, hi, bounds.source), risk, seed, solver, start_clock
    )


def plan_result(
    model: MarketingMixModel,
    budget: float,
    plan: np.ndarray,
    totals: np.ndarray,
    mroas: np.ndarray,
    current: np.ndarray,
    shares: dict[str, float],
    tiers: dict[str, str],
    bounds: Bounds,
    risk: float,
    seed: int,
    solver: dict[str, Any],
    start_clock: float,
) -> OptimizationResult:
    """The answer for an optimised plan: allocation against the current mix, bound warnings, optimality check, forecast.

    plan: (period, channel) spend in currency; totals: its channel totals in whole cents, each
    tier's exact; mroas: extra outcome per extra unit of each channel's total; current: the
    current mix per period (channel,); bounds: the weekly limits the optimiser applied.
    """
    channels, weeks = model.channels, plan.shape[0]
    lo, hi = bounds.low, bounds.high
    groups = [np.array([i for i, c in enumerate(channels) if tiers[c] == t]) for t in shares]
    weekly = totals / weeks
    warnings, allocation = [], {}
    for i, ch in enumerate(channels):
        at_hi = weekly[i] >= hi[i] * (1 - BOUND_TOL) - 1e-9
        at_lo = weekly[i] <= lo[i] * (1 + BOUND_TOL) + 1e-9
        if at_hi:
            warnings.append(f"'{ch}' is held at its maximum of {hi[i]:,.2f} per period ({bounds.source[i]}); it would take more otherwise")
        elif at_lo and lo[i] > 0:
            warnings.append(f"'{ch}' is held at its minimum of {lo[i]:,.2f} per period (your bound); it would take less otherwise")
        allocation[ch] = Allocation(
            total=float(totals[i]),
            weekly=float(weekly[i]),
            tier=tiers[ch],
            mroas=float(mroas[i]),
            current_total=float(current[i] * weeks),
            current_weekly=float(current[i]),
            change=float(totals[i] - current[i] * weeks),
            change_pct=float(totals[i] / (current[i] * weeks) - 1) if current[i] > 0 else None,
            min_weekly=float(lo[i]),
            max_weekly=float(hi[i]),
            bound="max" if at_hi else ("min" if at_lo else None),
        )
    optimality = {}
    for t, idx in zip(shares, groups):
        free = [channels[i] for i in idx if allocation[channels[i]].bound is None]
        m: list[float] = [allocation[c].mroas for c in free]
        spread = (max(m) - min(m)) / max(abs(float(np.mean(m))), 1e-12) if len(m) > 1 else 0.0
        optimality[t] = TierOptimality(unbound_channels=free, mroas_spread=float(spread), equal_mroas=bool(spread < 0.01 or risk > 0))

    forecast, draws = forecast_plan(model, plan, seed=seed)
    assert draws.current is not None
    edges = np.linspace(float(min(draws.plan.min(), draws.current.min())), float(max(draws.plan.max(), draws.current.max())), 50)
    diff = draws.plan - draws.current
    return OptimizationResult(
        budget=float(round(budget, 2)),
        weeks=weeks,
        risk=risk,
        allocation=allocation,
        tiers={t: float(totals[idx].sum() / budget) for t, idx in zip(shares, groups)},
        tier_totals={t: float(round(totals[idx].sum(), 2)) for t, idx in zip(shares, groups)},
        forecast=forecast,
        uplift=Interval.of(diff),
        optimality=optimality,
        warnings=warnings,
        outcomes=PlanOutcomes(
            recommended=Histogram.of(draws.plan, edges),
            current=Histogram.of(draws.current, edges),
            difference=Histogram.of(diff, np.linspace(float(diff.min()), float(diff.max()), 50)),
        ),
        weekly_plan=weekly_plan(plan, draws, tiers, model.config.data.kpi),
        solver={**solver, "seconds": time.perf_counter() - start_clock},
    )
