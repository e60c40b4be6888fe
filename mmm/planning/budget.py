"""How much to spend: the total budget that maximises expected profit, or that spends until the
marginal return of the total falls to a target, under the tier shares and the bounds.

Profit over the horizon = margin x expected incremental outcome - media spend (currency), with the
margin the contribution margin: the share of revenue left as profit before marketing. At every total
B the split is the optimiser's (`optimize_budget`: each tier's share exact, every bound held), so
V(B), the expected incremental outcome of the best split of B, is what the model expects that total
to earn. Its slope V'(B), the marginal ROAS of the total, is by the envelope theorem each tier's
marginal ROAS (the common marginal ROAS of its unbound channels, the multiplier of its share)
weighted by the tier's share. Profit peaks where V'(B) = 1 / margin, so both goals are one search:
the largest B at which V'(B) is still at least the target.

The search first draws the budget response curve (the best split at CURVE_POINTS totals from a
quarter of the current budget to twice it, within the range the bounds allow); the curve brackets
where V' crosses the target, and Brent's method on V'(B) - target narrows the bracket to a
millionth of the current budget. A concave response (the Hill curve with slope 1, the logistic
curve) makes V' fall as B grows, so the crossing is unique and is the profit optimum; with S-shaped
curves it is the largest budget at which V' crosses the target from above. The first unit returns
the most, so a target above V' at the smallest total (what the minimum bounds force, else 1% of the
current budget) is out of reach: an error that says the highest marginal ROAS achievable.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
from scipy.optimize import brentq

from mmm.analysis.value import channel_values
from mmm.core.errors import ArgumentError, MMMError
from mmm.core.outcome import cost, outcome_for
from mmm.core.processes import fork_map
from mmm.core.results import Interval, SeriesBand
from mmm.model.estimator import MarketingMixModel
from mmm.planning.bounds import Bounds
from mmm.planning.budget_results import BudgetCurve, BudgetMode, cost_per_extra, profit_of
from mmm.planning.optimizer import optimize_budget
from mmm.planning.results import Allocation, OptimizationResult

CURVE_POINTS = 15
CURVE_SPAN = (0.25, 2.0)  # the curve's totals, as multiples of the current budget
SEARCH_FLOOR = 0.01  # smallest total tried, as a share of the current budget, when the bounds allow spending nothing
REL_TOL = 1e-6  # the search stops when the bracket is this share of the current budget
ROOM = 0.02  # currency kept between a tier's share and its bounds, so rounding to the cent never crosses them


def budget_mode(
    budget: float | str, margin: float | None, target_mroas: float | None, risk: float = 0.0, target_cpa: float | None = None
) -> BudgetMode:
    """What sets the total, after checking the arguments: 'fixed' (`budget` is an amount), 'profit' or 'target_mroas'.

    budget: an amount (currency over the horizon) or 'auto'; margin: contribution margin in (0, 1],
    allowed with a fixed budget too (the plan then reports its expected profit); target_mroas: the
    marginal ROAS to spend down to, with 'auto' only. Raises ArgumentError naming the argument at fault.
    """
    if margin is not None and not 0 < margin <= 1:
        raise ArgumentError(
            "margin",
            f"{{arg}} is the share of revenue left as profit before marketing, above 0 and at most 1 (0.4 for 40%), not {margin:g}",
        )
    if target_mroas is not None and not (0 < target_mroas < math.inf):
        raise ArgumentError(
            "target_mroas", f"must be a positive marginal ROAS (extra revenue per extra unit of spend), not {target_mroas:g}"
        )
    if target_cpa is not None and not (0 < target_cpa < math.inf):
        raise ArgumentError("target_cpa", f"must be a positive cost per extra conversion (currency), not {target_cpa:g}")
    if budget != "auto":
        for name, value in (("target_mroas", target_mroas), ("target_cpa", target_cpa)):
            if value is not None:
                raise ArgumentError(name, "{arg} chooses the total, so it needs --budget auto instead of a fixed amount")
        return "fixed"
    if target_cpa is not None:
        if margin is not None or target_mroas is not None:
            raise ArgumentError("target_cpa", "{arg}, --margin and --target-mroas each choose the total; give one of them")
        return "target_cpa"
    if margin is None and target_mroas is None:
        raise ArgumentError(
            "budget",
            "{arg} auto chooses the total from a margin (--margin 0.4: maximise margin x incremental revenue - spend) "
            "or a target marginal ROAS (--target-mroas 2: spend until the next unit returns 2); give one of them",
        )
    if margin is not None and target_mroas is not None:
        raise ArgumentError("target_mroas", "{arg} and --margin each choose the total; give one of them")
    if risk > 0:
        raise ArgumentError(
            "risk", "{arg} applies to a fixed budget; with --budget auto the total and its split follow the expected revenue"
        )
    return "profit" if margin is not None else "target_mroas"


def unit_value(model: MarketingMixModel, weeks: int, margin: float | None, target_mroas: float | None, target_cpa: float | None) -> float:
    """Currency one unit of the outcome is worth to the profit (1 for revenue; the value per conversion for conversions),
    after checking that the goal suits the KPI: --target-cpa is for conversions, --target-mroas for revenue, and
    a margin on conversions needs one value per conversion. Raises ArgumentError naming the argument at fault."""
    words = model.config.outcome
    if words.is_money:
        if target_cpa is not None:
            raise ArgumentError(
                "target_cpa",
                f"{{arg}} is for a conversions KPI (data.kpi: conversions); this model's KPI is {words.noun}: use --target-mroas",
            )
        return 1.0
    if target_mroas is not None:
        raise ArgumentError(
            "target_mroas", f"{{arg}} is for revenue; this model counts {words.noun}: use --target-cpa (cost per extra conversion)"
        )
    if margin is None:
        return 1.0
    values = channel_values(model.config, model.observed, slice(-weeks, None))
    if values is None or len(set(values.values())) > 1:
        raise ArgumentError(
            "margin",
            "{arg} turns conversions into profit, which needs one value per conversion: "
            + (
                "set data.value_per_conversion in the config (a number, a column or a lifetime value) and fit again"
                if values is None
                else "the config values conversions differently per channel"
            )
            + "; or give --target-cpa instead (spend until an extra conversion costs that much)",
        )
    return next(iter(values.values()))


def with_profit(result: OptimizationResult, margin: float | None, unit: float = 1.0) -> OptimizationResult:
    """The result with its expected profit at `margin` (unchanged without a margin); `unit`: currency per unit of outcome."""
    if margin is None:
        return result
    profit = profit_of(result.forecast.incremental, result.budget, margin * unit)
    extra = {"value_per_conversion": unit} if not model_is_money(result) else {}
    return result.model_copy(update={"margin": margin, "expected_profit": profit, **extra})


def model_is_money(result: OptimizationResult) -> bool:
    """Whether the plan's outcome is money (revenue), so its profit needs no value per unit."""
    return outcome_for(result.forecast.outcome).is_money


def total_mroas(result: OptimizationResult) -> float:
    """V'(B): extra expected outcome per extra unit of the total budget, for the optimal split of `result.budget`.

    Each tier's share of the extra unit goes where it earns most, so the tier returns its
    channels' common marginal ROAS (the unbound ones'); a tier whose channels all sit at bounds is
    at one end of its range, where the unit goes to (or comes from) its best channel that can move.
    """
    tiers: dict[str, list[Allocation]] = {}
    for a in result.allocation.values():
        tiers.setdefault(a.tier, []).append(a)
    return float(sum(share * _tier_mroas(tiers[t]) for t, share in result.tiers.items() if share > 0))


def _tier_mroas(channels: list[Allocation]) -> float:
    free = [a.mroas for a in channels if a.bound is None]
    if free:
        return float(np.mean(free))
    growing = [a.mroas for a in channels if a.bound != "max"]
    return max(growing) if growing else min(a.mroas for a in channels)


def budget_range(
    channels: list[str], shares: dict[str, float], tiers: dict[str, str], bounds: Bounds, weeks: int
) -> tuple[float, float, str]:
    """(smallest, largest total, tier whose maxima cap it): the totals (currency over `weeks` periods, whole
    cents) at which every tier can spend its share within its channels' weekly bounds."""
    lows, highs = {}, {}
    for t, share in shares.items():
        if share > 0:
            idx = [i for i, c in enumerate(channels) if tiers[c] == t]
            lows[t] = math.ceil((bounds.low[idx].sum() * weeks + ROOM) / share * 100) / 100
            highs[t] = math.floor((bounds.high[idx].sum() * weeks - ROOM) / share * 100) / 100
    floor_tier, cap_tier = max(lows, key=lows.__getitem__), min(highs, key=highs.__getitem__)
    if lows[floor_tier] > highs[cap_tier]:
        raise MMMError(
            f"no total budget lets every tier spend its share within its channels' bounds: tier '{floor_tier}' needs a total of at "
            f"least {lows[floor_tier]:,.2f} and tier '{cap_tier}' allows at most {highs[cap_tier]:,.2f}; widen the bounds or change the policy"
        )
    return lows[floor_tier], highs[cap_tier], cap_tier


def choose_budget(
    model: MarketingMixModel,
    weeks: int,
    shares: dict[str, float],
    tiers: dict[str, str],
    bounds: Bounds,
    margin: float | None = None,
    target_mroas: float | None = None,
    seed: int = 0,
    target_cpa: float | None = None,
) -> OptimizationResult:
    """The optimal plan at the chosen total, with the budget response curve it was chosen from.

    margin: choose the total that maximises expected profit (marginal ROAS 1 / margin); else
    target_mroas: the largest total whose marginal ROAS is still at least the target; target_cpa (conversions):
    the largest total at which an extra conversion still costs at most the target. Arguments as
    `optimize_budget`; see the module for the search. Raises ArgumentError when no total reaches the
    target and warns (in the result) when the maximum bounds stop the spend before it.
    """
    start_clock = time.perf_counter()
    mode = budget_mode("auto", margin, target_mroas, target_cpa=target_cpa)
    if weeks < 1:
        raise ArgumentError("weeks", f"must be at least 1, not {weeks}")
    unit = unit_value(model, weeks, margin, target_mroas, target_cpa)
    # every goal is a marginal outcome per unit of spend to spend down to (a CPA is its reciprocal)
    target = 1 / (margin * unit) if margin is not None else 1 / target_cpa if target_cpa is not None else target_mroas
    assert target is not None  # budget_mode: one of them is given
    current = round(float(model.observed.tail(weeks).spend.sum()), 2)
    if current <= 0:
        raise MMMError(f"there was no spend in the last {weeks} periods, so there is no current budget to start the search from")
    lowest, highest, cap_tier = budget_range(model.channels, shares, tiers, bounds, weeks)
    floor = min(max(lowest, round(SEARCH_FLOOR * current, 2)), highest)
    cache: dict[float, tuple[OptimizationResult, float]] = {}

    def at(total: float) -> tuple[OptimizationResult, float]:
        total = round(total, 2)
        if total not in cache:
            result = optimize_budget(model, total, weeks, shares, tiers, bounds, seed=seed)
            cache[total] = (result, total_mroas(result))
        return cache[total]

    def mroas(total: float) -> float:
        return at(total)[1]

    low, high = (max(floor, CURVE_SPAN[0] * current), min(highest, CURVE_SPAN[1] * current))
    low, high = (low, high) if low < high else (floor, highest)
    grid = [float(b) for b in np.unique(np.round(np.linspace(low, high, CURVE_POINTS), 2))]
    if mroas(floor) < target:  # the first unit returns the most: no total reaches the target
        forced = floor == lowest and lowest > SEARCH_FLOOR * current
        where = f"at the smallest total ({'your minimum bounds already force' if forced else 'the smallest considered is'} {floor:,.2f})"
        if not model.config.outcome.is_money:
            goal = (
                f"a {100 * margin:g}% margin on {cost(unit)} per conversion allows {cost(1 / target)}"
                if margin is not None
                else f"the target is {cost(1 / target)}"
            )
            raise ArgumentError(
                "margin" if margin is not None else "target_cpa",
                f"no budget reaches the marginal CPA that {{arg}} asks for: {goal} per extra conversion, but the lowest marginal CPA "
                f"achievable under the tier shares and the bounds is {cost(1 / mroas(floor))}, {where}; "
                + ("no spend pays for itself at this margin" if margin is not None else "raise the target"),
            )
        goal = f"a {100 * margin:g}% margin needs 1 / {margin:g} = {target:.2f}" if margin is not None else f"the target is {target:.2f}"
        raise ArgumentError(
            "margin" if margin is not None else "target_mroas",
            f"no budget reaches the marginal ROAS that {{arg}} asks for: {goal}, but the highest marginal ROAS achievable under the "
            f"tier shares and the bounds is {mroas(floor):.2f}, {where}; "
            + ("no spend pays for itself at this margin" if margin is not None else "lower the target"),
        )
    drawn = [round(b, 2) for b in grid if round(b, 2) not in cache]  # drawn whatever the goal: on every core at once
    for total, result in zip(drawn, fork_map(lambda b: optimize_budget(model, b, weeks, shares, tiers, bounds, seed=seed), drawn)):
        cache[total] = (result, total_mroas(result))
    warnings = []
    bracket = _bracket(grid, floor, highest, target, mroas)
    if bracket is not None:
        chosen = round(float(brentq(lambda b: mroas(b) - target, *bracket, xtol=REL_TOL * current, rtol=1e-12)), 2)
    else:
        chosen = highest
        why = f" (break-even at a {100 * margin:g}% margin)" if margin is not None else ""
        reached = (
            f"the marginal ROAS falls to {target:.2f}{why}"
            if model.config.outcome.is_money
            else f"the marginal CPA rises to {1 / target:,.2f}{why}"
        )
        still = (
            f"the next unit still returns {mroas(highest):.2f}"
            if model.config.outcome.is_money
            else f"an extra conversion still costs {1 / mroas(highest):,.2f}"
        )
        warnings.append(
            f"the maximum bounds stop the spend before {reached}: at {highest:,.2f}, the largest "
            f"total tier '{cap_tier}' can take at its {100 * shares[cap_tier]:.0f}% share, {still}; widen the maximum bounds to spend more"
        )
    totals = sorted({*grid, chosen, *([current] if floor <= current <= highest else [])})
    points = [at(b)[0] for b in totals]
    final, final_mroas = at(chosen)
    incremental = [p.forecast.incremental for p in points]
    marginal = [mroas(b) for b in totals]
    counts = not model.config.outcome.is_money  # conversions: the curve also says what an extra conversion costs
    profit = [profit_of(i, b, margin * unit) for i, b in zip(incremental, totals)] if margin is not None else None
    curve = BudgetCurve(
        budgets=totals,
        incremental=_band(incremental),
        profit=_band(profit) if profit is not None else None,
        marginal_roas=marginal,
        current_budget=current,
        recommended_budget=chosen,
        recommended_mroas=final_mroas,
        marginal_cpa=[cost_per_extra(m) for m in marginal] if counts else None,
        recommended_marginal_cpa=cost_per_extra(final_mroas) if counts else None,
    )
    search = {"method": "budget curve bracket, then Brent on the marginal ROAS of the total", "totals_tried": len(cache)}
    return with_profit(final, margin, unit).model_copy(
        update={
            "budget_mode": mode,
            "chosen_budget": chosen,
            "target_mroas": target_mroas,
            "target_cpa": target_cpa,
            "budget_curve": curve,
            "warnings": final.warnings + warnings,
            "solver": {**final.solver, "budget_search": {**search, "seconds": time.perf_counter() - start_clock}},
        }
    )


def _bracket(grid: list[float], floor: float, highest: float, target: float, mroas: Callable[[float], float]) -> tuple[float, float] | None:
    """(a, b) with V'(a) >= target > V'(b) around the largest total where V' crosses the target (V'(floor) >= target
    is given), or None when even the largest total's marginal ROAS is at least the target."""
    above = [b for b in grid if mroas(b) >= target]
    if not above:
        return floor, grid[0]
    if above[-1] < grid[-1]:
        return above[-1], grid[grid.index(above[-1]) + 1]
    return None if mroas(highest) >= target else (grid[-1], highest)


def _band(values: list[Interval]) -> SeriesBand:
    """Intervals, one per budget, as a band: means, lows and highs."""
    return SeriesBand(mean=[v.mean for v in values], low=[v.low for v in values], high=[v.high for v in values])
