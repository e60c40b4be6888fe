"""Reallocate a budget across channels under the 70/20/10 rule, from a fitted model.

Decision: spend per channel per period (held for the horizon); on a geo model planned by cells
(`mmm.planning.geo_plan`), spend per region and channel. Constraints: each tier gets
exactly its share of the budget (so the total is the budget), each channel (each region's cell)
stays within its bounds, and a channel's total over the regions within yours. Objective: expected incremental outcome over the horizon (with carry-in and
carry-over), averaged over posterior draws; with risk k, mean minus k standard deviations.
Solved with SLSQP on exact gradients from several starts; the answer is checked for
optimality (equal marginal ROAS across a tier's unbound channels).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np
import xarray as xr
from scipy.optimize import minimize

from mmm.core.constants import CHANNEL, DATE, GEO
from mmm.core.errors import ArgumentError, MMMError
from mmm.core.results import Histogram
from mmm.core.stats import Interval
from mmm.data.dataset import period_word
from mmm.model.cells import plan_cells
from mmm.model.estimator import MarketingMixModel
from mmm.planning.bounds import Bounds, at_bound, check_budget, project, round_to_cents, split_cents
from mmm.planning.forecast import current_plan, forecast_plan
from mmm.planning.geo_plan import CellBounds, RegionPlanning, channel_mroas, region_planning, region_plans, region_warnings, unit_current
from mmm.planning.objectives import MeanMinusRisk, Objective, search_scale
from mmm.planning.response import ConstantPlanResponse
from mmm.planning.results import Allocation, OptimizationResult, PlanOutcomes, TierOptimality
from mmm.planning.weekly import weekly_plan

N_RANDOM_STARTS = 4


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
    limits: list[tuple[np.ndarray, float, float]] | None = None,
) -> tuple[np.ndarray, str, list[dict]]:
    """The weekly spend per decision (channel, or region's cell; currency per period) that maximises `goal`, from each start in turn.

    funded: (decision indices, weekly spend) of each tier that spends; lo, hi: weekly bounds; limits:
    (decision indices, low, high) weekly limits on sums of decisions (a channel's total over its regions).
    Each start (a weekly plan, rescaled to every tier's spend) runs SLSQP on exact gradients; the best
    feasible end point wins. Returns (best plan, the start it came from, per start its objective and convergence).
    """
    n = len(lo)
    scale = np.maximum(hi, budget / weeks / n)  # decision variables near 1 for SLSQP
    x0s = {}
    for name, raw in starts.items():
        x0 = np.zeros(n)
        for idx, w in funded:
            x0[idx] = project(raw[idx] / raw[idx].sum() * w if raw[idx].sum() > 0 else np.full(len(idx), w / len(idx)), w, lo[idx], hi[idx])
        x0s[name] = x0
    first = next(iter(x0s.values()))
    norm = search_scale(goal.value_and_gradient(response, first)[1], first, budget)  # the objective near 1, in any unit

    def to_minimise(x: np.ndarray) -> tuple[float, np.ndarray]:
        value, g = goal.value_and_gradient(response, x * scale)
        return -value / norm, -g * scale / norm

    constraints = []
    for idx, w in funded:
        row = np.where(np.isin(np.arange(n), idx), scale / w, 0.0)  # the tier's constraint's gradient, the same everywhere
        constraints.append(
            {"type": "eq", "fun": (lambda x, idx=idx, w=w: (x[idx] * scale[idx]).sum() / w - 1.0), "jac": (lambda x, row=row: row)}
        )
    for idx, low, high in limits or []:
        mask = np.isin(np.arange(n), idx) * scale / budget
        constraints.append({"type": "ineq", "fun": (lambda x, m=mask, low=low: x @ m - low / budget), "jac": (lambda x, m=mask: m)})
        if np.isfinite(high):
            constraints.append({"type": "ineq", "fun": (lambda x, m=mask, high=high: high / budget - x @ m), "jac": (lambda x, m=mask: -m)})
    best, best_val, best_name, solutions = None, np.inf, "", []
    for name, x0 in x0s.items():
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
        solutions.append({"start": name, "objective": -val * norm, "converged": bool(res.success)})
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
    check_budget(budget)
    if weeks < 1:
        raise ArgumentError("weeks", f"must be at least 1, not {weeks}")
    if risk < 0:
        raise ArgumentError("risk", f"must be 0 or more, not {risk:g}")
    channels = model.channels
    lo, hi, groups, tier_totals, funded = tier_budgets(channels, budget, weeks, shares, tiers, bounds)
    current = current_plan(model, budget, weeks).sel({CHANNEL: channels}).values
    goal = objective if objective is not None else MeanMinusRisk(risk)
    rng = np.random.default_rng(seed)
    starts = {"even split": np.ones(len(channels)), "current plan": current.copy()}
    for k in range(N_RANDOM_STARTS):
        starts[f"random {k + 1}"] = rng.dirichlet(np.ones(len(channels))) * budget / weeks
    response = ConstantPlanResponse(model, weeks, n_draws=n_draws, seed=seed)
    best, best_name, solutions = solve_split(response, goal, budget, weeks, funded, lo, hi, starts)
    if isinstance(bounds, CellBounds):
        # region by region: the decisions are cells (each tier's share was checked on channels above); the best plan
        # by channel, each region at its share, starts the search, so its many decisions need few starts
        cells = bounds.cells
        names = cells.unit_names(channels)
        unit_tiers = {name: tiers[channels[c]] for name, c in zip(names, cells.unit_channel)}
        lo, hi, groups, tier_totals, funded = tier_budgets(names, budget, weeks, shares, unit_tiers, bounds.units)
        starts = {
            "best plan by channel, regions at their shares": unit_current(model, cells, best),
            "current plan": unit_current(model, cells, current),
            "even split": np.ones(len(lo)),
        }
        response = ConstantPlanResponse(model, weeks, n_draws=n_draws, seed=seed, cells=cells)
        best, best_name, solutions = solve_split(response, goal, budget, weeks, funded, lo, hi, starts, bounds.limits)
    totals = round_to_cents(best, weeks, groups, tier_totals, lo, hi)
    # one more unit per period costs `weeks` units in all: mROAS is per unit of total spend
    mroas = response.gradient_draws(totals / weeks).mean(axis=0) / weeks
    solver = {"method": "SLSQP, exact gradients", "starts": solutions, "best_start": best_name, "draws": int(response.coef.shape[0])}
    regions = None
    applied: Bounds = Bounds(lo, hi, bounds.source)
    if isinstance(bounds, CellBounds):
        regions = region_planning(bounds.cells, totals, mroas, bounds.units, plan_cells(model).split)
        regions = replace(regions, optimality=tier_optimality(names, unit_tiers, mroas, lo, hi, totals / weeks, shares, risk))
        totals = np.round(np.bincount(bounds.cells.unit_channel, weights=totals, minlength=len(channels)), 2)
        mroas = channel_mroas(regions)
        applied = bounds
    plan = np.tile(totals / weeks, (weeks, 1))
    return plan_result(model, budget, plan, totals, mroas, current, shares, tiers, applied, risk, seed, solver, start_clock, regions)


def tier_optimality(
    names: list[str],
    tiers: dict[str, str],
    mroas: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    weekly: np.ndarray,
    shares: dict[str, float],
    risk: float,
) -> dict[str, TierOptimality]:
    """Per tier: its decisions off their bounds, and whether their marginal ROAS agree (within 1%, as an optimum's must)."""
    free = [name for name, b in zip(names, at_bound(weekly, lo, hi)) if b is None]
    out = {}
    for t in shares:
        mine = [n for n in free if tiers[n] == t]
        m = [float(mroas[names.index(n)]) for n in mine]
        spread = (max(m) - min(m)) / max(abs(float(np.mean(m))), 1e-12) if len(m) > 1 else 0.0
        out[t] = TierOptimality(unbound_channels=mine, mroas_spread=float(spread), equal_mroas=bool(spread < 0.01 or risk > 0))
    return out


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
    regions: RegionPlanning | None = None,
) -> OptimizationResult:
    """The answer for an optimised plan: allocation against the current mix, bound warnings, optimality check, forecast.

    plan: (period, channel) spend in currency; totals: its channel totals in whole cents, each
    tier's exact; mroas: extra outcome per extra unit of each channel's total; current: the
    current mix per period (channel,); bounds: the weekly limits the optimiser applied (per channel);
    regions: on a geo model, how each channel's spend lands in the regions (default: their recent shares).
    """
    channels, weeks = model.channels, plan.shape[0]
    lo, hi = bounds.low, bounds.high
    groups = [np.array([i for i, c in enumerate(channels) if tiers[c] == t]) for t in shares]
    weekly = totals / weeks
    warnings, allocation = [], {}
    for i, (ch, bound) in enumerate(zip(channels, at_bound(weekly, lo, hi))):
        if not shares.get(tiers[ch], 0.0):
            warnings.append(f"'{ch}' gets nothing: the policy gives its tier ({tiers[ch]}) no share of the budget")
        elif bound == "max":
            warnings.append(f"'{ch}' is held at its maximum of {hi[i]:,.2f} per period ({bounds.source[i]}); it would take more otherwise")
        elif bound == "min" and lo[i] > 0:
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
            bound=bound,
        )
    optimality = tier_optimality(channels, tiers, mroas, lo, hi, weekly, shares, risk)
    geos = None
    spend: np.ndarray | xr.DataArray = plan
    if model.is_geo:
        if regions is None:  # each region keeps its recent share of every channel
            regions = RegionPlanning("shares", plan_cells(model).split)
        elif regions.mode == "cells":
            optimality = regions.optimality or optimality
            spend = xr.DataArray(
                plan[:, None, :] * regions.split[None], dims=(DATE, GEO, CHANNEL), coords={GEO: model.observed.geos, CHANNEL: channels}
            )
        geos = region_plans(model, totals, current, weeks, regions)
        warnings += region_warnings(geos, regions)
    forecast, draws = forecast_plan(model, spend, seed=seed)
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
        weekly_plan=weekly_plan(plan, draws, tiers, model.config.data.kpi, period_word(model.observed.frequency)),
        geo_allocation=regions.mode if regions is not None else None,
        geos=geos,
        solver={**solver, "seconds": time.perf_counter() - start_clock},
    )
