"""Plan spend per channel per week (`mmm optimize --by-week`): move spend into the weeks where media earns more.

Decision: spend x (week, channel) over the horizon. Objective: expected incremental outcome over
the horizon and the carry-over after it (minus `risk` standard deviations), through carry-over,
saturation and the media effectiveness multiplier of each week (`WeeklyPlanResponse`), averaged
over posterior draws, with spend going on at the flat plan's weekly level after the horizon (so the
last week's carry-over is valued like any week's). Constraints: each tier's share of the budget over the horizon (to the
cent); each channel's total over the horizon within its weekly bounds times the weeks; no
single week above the channel's weekly maximum (the response is not measured beyond it).

The flat plan (`optimize_budget`) is the first start and the answer to beat: the weekly plan
is kept only when it earns more. When media effectiveness is constant over the horizon (the
model has no media seasonality, or its multiplier varies by under FLAT_TOL) the flat plan is
the answer, and the result says why.
"""

from __future__ import annotations

import time

import numpy as np
from scipy.optimize import minimize

from mmm.core.errors import ArgumentError
from mmm.core.stats import Interval
from mmm.data.dataset import period_word
from mmm.model.cells import plan_cells
from mmm.model.estimator import MarketingMixModel
from mmm.planning.bounds import Bounds, project, round_to_cents
from mmm.planning.forecast import Horizon
from mmm.planning.geo_plan import RegionPlanning, planned_split
from mmm.planning.objectives import search_scale
from mmm.planning.optimizer import plan_result, tier_budgets
from mmm.planning.results import OptimizationResult
from mmm.planning.timing_results import SpendTiming
from mmm.planning.weekly import spend_in_cents
from mmm.planning.weekly_response import WeeklyPlanResponse

FLAT_TOL = 0.01  # media effectiveness that moves by less than 1% over the horizon counts as constant
MIN_GAIN = 1e-9  # relative gain over the flat plan below which the flat plan is kept


def check_by_week(weeks: int, budget: object) -> None:
    """Raise ArgumentError when a plan by week is asked for where it means nothing (one week) or is not supported (budget auto)."""
    if weeks < 2:
        raise ArgumentError(
            "by_week",
            f"{{arg}} spreads the budget over the weeks of the horizon, which needs at least 2 weeks (--weeks {weeks}); "
            "lengthen the horizon or drop {arg}",
        )
    if budget == "auto":
        raise ArgumentError(
            "by_week",
            "{arg} plans a fixed budget; choose the total first with --budget auto, then plan that amount with --budget AMOUNT {arg}",
        )


def optimize_by_week(
    model: MarketingMixModel,
    flat: OptimizationResult,
    shares: dict[str, float],
    tiers: dict[str, str],
    bounds: Bounds,
    n_draws: int | None = None,
    seed: int = 0,
) -> OptimizationResult:
    """The recommended plan per channel per week (see the module), with `by_week` saying how and why it moves.

    flat: `optimize_budget`'s answer for the same budget, horizon, risk, shares, tiers and bounds
    (the plan to beat). The result has the same shape: the allocation holds channel totals over the
    horizon (`weekly` is their average per week) and `weekly_plan` the spend of every week.
    """
    start_clock = time.perf_counter()
    budget, weeks, risk = flat.budget, flat.weeks, flat.risk
    check_by_week(weeks, budget)
    dates = Horizon.after(model, weeks).dates
    multiplier = model.media_multiplier(dates)
    flat_plan = np.array([[flat.allocation[ch].weekly for ch in model.channels]] * weeks)
    unit = period_word(model.observed.frequency)
    if multiplier is None:
        reason = (
            f"Media earns the same in every {unit} in this model (model.media_seasonality is off), so moving spend between {unit}s "
            f"gains nothing: the plan spends the same every {unit}. Set model.media_seasonality: true and refit to plan by season."
        )
        return _with_timing(flat, SpendTiming.of(False, reason, dates, spend_in_cents(flat_plan), model.channels, None, None))
    effect = [Interval.of(multiplier[:, t]) for t in range(weeks)]
    means = np.array([e.mean for e in effect])
    if means.max() / means.min() - 1 < FLAT_TOL:
        reason = (
            f"The model finds media about equally effective in every {unit} of the plan (from {means.min():.3f} to {means.max():.3f} "
            f"times an average {unit}), so moving spend between {unit}s gains nothing: the plan spends the same every {unit}."
        )
        return _with_timing(flat, SpendTiming.of(False, reason, dates, spend_in_cents(flat_plan), model.channels, effect, None))

    channels = model.channels
    lo, hi, groups, tier_totals, funded = tier_budgets(channels, budget, weeks, shares, tiers, bounds)
    regions, cells = None, None
    if flat.geo_allocation == "cells" and flat.geos is not None:  # each region keeps its part of the flat plan's channels
        regions = RegionPlanning("cells", planned_split(model, flat.geos))
        cells = plan_cells(model, split=regions.split)
    response = WeeklyPlanResponse(model, weeks, n_draws=n_draws, seed=seed, continuation=flat_plan[0], cells=cells)
    plan, starts = _solve(response, flat_plan, means, budget, weeks, funded, lo, hi, risk)
    flat_value = response.value_and_gradient(flat_plan, risk)[0]
    if response.value_and_gradient(plan, risk)[0] <= flat_value + MIN_GAIN * abs(flat_value):
        plan = flat_plan  # the weekly search found nothing better than spending evenly
    totals = round_to_cents(plan.sum(axis=0) / weeks, weeks, groups, tier_totals, lo, hi)
    col = plan.sum(axis=0)
    plan = spend_in_cents(np.where(col > 0, plan * (totals / np.where(col > 0, col, 1.0)), totals / weeks))
    grad = response.value_and_gradient(plan, 0.0)[1]
    # a channel's marginal return: one more unit of its total, spread over the weeks like its plan
    mroas = np.where(totals > 0, (grad * plan).sum(axis=0) / np.where(totals > 0, totals, 1.0), grad.max(axis=0))
    current = np.array([flat.allocation[ch].current_weekly for ch in channels])
    solver = {
        "method": "SLSQP on spend per channel per week, exact gradients; the flat plan is the first start",
        "starts": starts,
        "draws": int(response.coef.shape[0]),
        "flat_plan_objective": flat_value,
    }
    applied = Bounds(lo, hi, bounds.source)
    result = plan_result(model, budget, plan, totals, mroas, current, shares, tiers, applied, risk, seed, solver, start_clock, regions)
    gain = Interval.of(response.plan_draws(plan) - response.plan_draws(flat_plan))
    moved = not np.allclose(plan, plan.mean(axis=0), atol=0.01)
    best, worst = int(np.argmax(means)), int(np.argmin(means))
    reason = (
        f"Media is expected to earn most in the {unit} of {dates[best].date()} ({means[best] - 1:+.0%} against an average {unit} of "
        f"the year) and least in the {unit} of {dates[worst].date()} ({means[worst] - 1:+.0%}); the plan moves spend into the "
        f"stronger {unit}s, as far as diminishing returns allow."
        if moved
        else "Media effectiveness varies over the horizon, but not enough to pay for moving spend against diminishing returns: "
        f"the plan spends the same every {unit}."
    )
    return _with_timing(result, SpendTiming.of(moved, reason, dates, plan, channels, effect, gain))


def _with_timing(result: OptimizationResult, timing: SpendTiming) -> OptimizationResult:
    return result.model_copy(update={"by_week": timing})


def _solve(
    response: WeeklyPlanResponse,
    flat_plan: np.ndarray,
    effectiveness: np.ndarray,
    budget: float,
    weeks: int,
    funded: list[tuple[np.ndarray, float]],
    lo: np.ndarray,
    hi: np.ndarray,
    risk: float,
) -> tuple[np.ndarray, list[dict[str, object]]]:
    """The best feasible plan (week, channel) from two starts: the flat plan, and the flat plan leaning with effectiveness."""
    n = flat_plan.shape[1]
    scale = np.maximum(hi, budget / weeks / n)  # decision variables near 1 for SLSQP

    def unpack(z: np.ndarray) -> np.ndarray:
        return z.reshape(weeks, n) * scale

    norm = search_scale(response.value_and_gradient(flat_plan, risk)[1], flat_plan, budget)  # the objective near 1, in any unit

    def to_minimise(z: np.ndarray) -> tuple[float, np.ndarray]:
        value, g = response.value_and_gradient(unpack(z), risk)
        return -value / norm, -(g * scale).ravel() / norm

    def total_of(columns: np.ndarray | list[int], kind: str, target: float) -> dict[str, object]:
        """A linear constraint on the plan's total over some channels' columns: sum = target (eq) or >= target (ineq)."""
        mask = np.zeros((weeks, n))
        mask[:, columns] = scale[columns]
        a = mask.ravel() / target
        return {"type": kind, "fun": lambda z: a @ z - 1.0, "jac": lambda z: a}

    constraints = [total_of(idx, "eq", w * weeks) for idx, w in funded]
    constraints += [total_of([c], "ineq", lo[c] * weeks) for c in range(n) if lo[c] > 0]
    leaning = flat_plan * (effectiveness / effectiveness.mean())[:, None]
    best, best_val, solutions = flat_plan, -to_minimise((flat_plan / scale).ravel())[0], []
    for name, x0 in (("flat plan", flat_plan), ("flat plan leaning with effectiveness", np.minimum(leaning, hi))):
        res = minimize(
            to_minimise,
            (x0 / scale).ravel(),
            jac=True,
            method="SLSQP",
            bounds=[(0.0, hi[c] / scale[c]) for _ in range(weeks) for c in range(n)],
            constraints=constraints,
            options={"maxiter": 300, "ftol": 1e-12},
        )
        plan = _feasible(unpack(res.x), funded, weeks, lo, hi)
        val = -to_minimise((plan / scale).ravel())[0]
        solutions.append({"start": name, "objective": val * norm, "converged": bool(res.success)})
        if val > best_val:
            best, best_val = plan, val
    return best, solutions


def _feasible(plan: np.ndarray, funded: list[tuple[np.ndarray, float]], weeks: int, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The plan moved onto the constraints exactly: tier totals, channel totals within bounds, weeks within [0, max]."""
    out = np.zeros_like(plan)
    for idx, w in funded:
        totals = project(plan[:, idx].sum(axis=0), w * weeks, lo[idx] * weeks, hi[idx] * weeks)
        for c, total in zip(idx, totals):
            out[:, c] = project(plan[:, c], total, np.zeros(weeks), np.full(weeks, hi[c]))
    return out
