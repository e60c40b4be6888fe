"""Reallocate a budget across channels under the 70/20/10 rule, from a fitted model.

Decision: spend per channel per period (held for the horizon). Constraints: each tier gets
exactly its share of the budget (so the total is the budget), each channel stays within its
bounds. Objective: expected incremental revenue over the horizon (with carry-in and
carry-over), averaged over posterior draws; with risk k, mean minus k standard deviations.
Solved with SLSQP on exact gradients from several starts; the answer is checked for
optimality (equal marginal ROAS across a tier's unbound channels).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from mmm.decomposition import interval
from mmm.errors import MMMError
from mmm.estimator import MarketingMixModel
from mmm.planning import ConstantPlanResponse, current_plan

DEFAULT_MAX_FACTOR = 1.5  # no channel beyond 1.5x the highest weekly spend it ever had
N_RANDOM_STARTS = 4
BOUND_TOL = 1e-6  # relative distance to a bound that counts as binding


@dataclass
class Bounds:
    """Weekly spend limits per channel (currency per period) and where each came from."""

    low: np.ndarray
    high: np.ndarray
    source: list[str]


def channel_bounds(model: MarketingMixModel, overrides: dict[str, tuple[float | None, float | None]] | None = None) -> Bounds:
    """Bounds from --bounds overrides, else the config, else 0 to 1.5x the highest weekly spend seen."""
    overrides = overrides or {}
    unknown = sorted(set(overrides) - set(model.channels))
    if unknown:
        raise MMMError(f"bounds name unknown channel(s) {', '.join(unknown)}; the model's channels are {', '.join(model.channels)}")
    lo, hi, src = [], [], []
    for i, ch in enumerate(model.config.channels):
        cap = DEFAULT_MAX_FACTOR * float(model.data.spend[:, i].max())
        o_lo, o_hi = overrides.get(ch.name, (None, None))
        low = next(v for v in (o_lo, ch.min_weekly_spend, 0.0) if v is not None)
        high = next(v for v in (o_hi, ch.max_weekly_spend, cap) if v is not None)
        if o_hi is not None or ch.max_weekly_spend is not None:
            src.append("your bound")
        else:
            src.append(f"{DEFAULT_MAX_FACTOR:g}x the highest weekly spend in the data (the curve is not measured beyond it)")
        if low > high:
            why = "" if o_hi is not None or ch.max_weekly_spend is not None else f" (the default cap, {src[-1]})"
            raise MMMError(f"channel '{ch.name}': min weekly spend {low:,.2f} is above its max {high:,.2f}{why}; fix the bounds")
        lo.append(low)
        hi.append(high)
    return Bounds(np.array(lo, float), np.array(hi, float), src)


def project(v: np.ndarray, total: float, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The point clip(v + t, lo, hi) that sums to `total` (bisection on the shift t)."""
    a, b = float(np.min(lo - v)), float(np.max(hi - v))
    for _ in range(200):
        t = (a + b) / 2
        if np.clip(v + t, lo, hi).sum() > total:
            b = t
        else:
            a = t
    return np.clip(v + (a + b) / 2, lo, hi)


def split_cents(budget: float, shares: list[float]) -> list[float]:
    """The budget split by shares into whole cents that add up to the budget exactly
    (largest remainder: leftover cents go to the shares that lost most to rounding down)."""
    cents = round(budget * 100)
    raw = np.array(shares) * cents
    parts = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - parts))[: cents - parts.sum()]:
        parts[i] += 1
    return [p / 100 for p in parts]


def round_to_cents(weekly: np.ndarray, weeks: int, groups: list[np.ndarray], group_totals: list[float], lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Channel totals rounded to the cent with every group (tier) total, given in whole cents, met exactly."""
    totals = np.round(weekly * weeks, 2)
    for idx, target in zip(groups, group_totals):
        residual = round(target - totals[idx].sum(), 2)
        room = np.where(residual > 0, hi[idx] * weeks - totals[idx], totals[idx] - lo[idx] * weeks)
        j = idx[int(np.argmax(room))]  # the channel with most room absorbs the rounding cents
        totals[j] = round(totals[j] + residual, 2)
    return totals


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
) -> dict:
    """The recommended plan, the current plan, and what each is expected to earn.

    shares: tier -> share of the budget (for the tiers that have channels); tiers: channel -> tier.
    Returns a JSON-ready dict (see README, `mmm optimize`).
    """
    start_clock = time.perf_counter()
    if not budget > 0:
        raise MMMError(f"--budget must be a positive amount, not {budget:g}")
    if weeks < 1:
        raise MMMError(f"--weeks must be at least 1, not {weeks}")
    if risk < 0:
        raise MMMError(f"--risk must be 0 or more, not {risk:g}")
    channels = model.channels
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
                "widen their bounds, change --policy, or change the budget"
            )

    for idx, w in zip(groups, weekly_budgets):
        if w == 0:
            hi[idx] = 0.0  # a tier with no share spends nothing; its channels are not decisions
    funded = [(idx, w) for idx, w in zip(groups, weekly_budgets) if w > 0]
    response = ConstantPlanResponse(model, weeks, n_draws=n_draws, seed=seed)
    scale = np.maximum(hi, budget / weeks / len(channels))  # decision variables near 1 for SLSQP

    def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
        u = x * scale
        rev = response.revenue_draws(u)  # (draw, channel)
        grad = response.gradient_draws(u)
        total = rev.sum(axis=1)
        value, g = total.mean(), grad.mean(axis=0)
        if risk > 0:
            sd = total.std()
            value -= risk * sd
            if sd > 0:
                g = g - risk * ((total - total.mean())[:, None] * grad).mean(axis=0) / sd
        return -value / budget, -g * scale / budget

    constraints = [
        {"type": "eq", "fun": (lambda x, idx=idx, w=w: (x[idx] * scale[idx]).sum() / w - 1.0),
         "jac": (lambda x, idx=idx, w=w: np.where(np.isin(np.arange(len(x)), idx), scale / w, 0.0))}
        for idx, w in funded
    ]
    current = current_plan(model, budget, weeks)
    rng = np.random.default_rng(seed)
    starts = {"even split": np.ones(len(channels)), "current plan": current.copy()}
    for k in range(N_RANDOM_STARTS):
        starts[f"random {k + 1}"] = rng.dirichlet(np.ones(len(channels))) * budget / weeks
    best, best_val, best_name, solutions = None, np.inf, "", []
    for name, raw in starts.items():
        x0 = np.zeros(len(channels))
        for idx, w in funded:
            x0[idx] = project(raw[idx] / raw[idx].sum() * w if raw[idx].sum() > 0 else np.full(len(idx), w / len(idx)), w, lo[idx], hi[idx])
        res = minimize(objective, x0 / scale, jac=True, method="SLSQP", bounds=list(zip(lo / scale, hi / scale)),
                       constraints=constraints, options={"maxiter": 500, "ftol": 1e-12})
        u = np.zeros(len(channels))
        for idx, w in funded:
            u[idx] = project(res.x[idx] * scale[idx], w, lo[idx], hi[idx])  # exact feasibility
        val = objective(u / scale)[0]
        solutions.append({"start": name, "objective": -val * budget, "converged": bool(res.success)})
        if val < best_val:
            best, best_val, best_name = u, val, name

    totals = round_to_cents(best, weeks, groups, tier_totals, lo, hi)
    weekly = totals / weeks
    rec_draws = response.revenue_draws(weekly)
    cur_draws = response.revenue_draws(current)
    # one more unit per period costs `weeks` units in all: mROAS is per unit of total spend
    mroas = response.gradient_draws(weekly).mean(axis=0) / weeks

    warnings, allocation, optimality = [], {}, {}
    for i, ch in enumerate(channels):
        at_hi = weekly[i] >= hi[i] * (1 - BOUND_TOL) - 1e-9
        at_lo = weekly[i] <= lo[i] * (1 + BOUND_TOL) + 1e-9
        bound = "max" if at_hi else ("min" if at_lo else None)
        if at_hi:
            warnings.append(f"'{ch}' is held at its maximum of {hi[i]:,.2f} per period ({bounds.source[i]}); it would take more otherwise")
        elif at_lo and lo[i] > 0:
            warnings.append(f"'{ch}' is held at its minimum of {lo[i]:,.2f} per period (your bound); it would take less otherwise")
        allocation[ch] = {
            "total": float(totals[i]),
            "weekly": float(weekly[i]),
            "tier": tiers[ch],
            "mroas": float(mroas[i]),
            "current_total": float(current[i] * weeks),
            "current_weekly": float(current[i]),
            "change": float(totals[i] - current[i] * weeks),
            "change_pct": float(totals[i] / (current[i] * weeks) - 1) if current[i] > 0 else None,
            "min_weekly": float(lo[i]),
            "max_weekly": float(hi[i]),
            "bound": bound,
        }
    for t, idx in zip(shares, groups):
        free = [channels[i] for i in idx if allocation[channels[i]]["bound"] is None]
        m = [allocation[c]["mroas"] for c in free]
        spread = (max(m) - min(m)) / max(abs(np.mean(m)), 1e-12) if len(m) > 1 else 0.0
        optimality[t] = {"unbound_channels": free, "mroas_spread": float(spread), "equal_mroas": bool(spread < 0.01 or risk > 0)}

    rec_total, cur_total = rec_draws.sum(axis=1), cur_draws.sum(axis=1)
    return {
        "run_id": None,
        "budget": float(round(budget, 2)),
        "weeks": weeks,
        "risk": risk,
        "allocation": allocation,
        "tiers": {t: float(totals[idx].sum() / budget) for t, idx in zip(shares, groups)},
        "tier_totals": {t: float(round(totals[idx].sum(), 2)) for t, idx in zip(shares, groups)},
        "expected": {"recommended": interval(rec_total), "current": interval(cur_total)},
        "roas": {"recommended": interval(rec_total / budget), "current": interval(cur_total / budget)},
        "uplift": interval(rec_total - cur_total),
        "prob_better": float(np.mean(rec_total > cur_total)),
        "optimality": optimality,
        "warnings": warnings,
        "solver": {"method": "SLSQP, exact gradients", "starts": solutions, "best_start": best_name,
                   "draws": int(rec_draws.shape[0]), "seconds": time.perf_counter() - start_clock},
    }


def recommend_budget(
    model: MarketingMixModel,
    fit: dict,
    budget: float,
    weeks: int,
    policy: str | None = None,
    auto_tiers: bool = False,
    strict_tiers: bool = False,
    bounds_overrides: dict[str, tuple[float | None, float | None]] | None = None,
    risk: float = 0.0,
    seed: int = 0,
) -> dict:
    """The whole `mmm optimize` answer: tiers, shares, the optimised plan and its forecast.

    fit is the model's fit summary (for --tiers auto); policy like '70/20/10' (default: the
    config's). The forecast keys (expected_revenue, incremental_revenue, roas,
    prob_better_than_current) are those a scenario reports, so both compare side by side.
    """
    from mmm.config import parse_policy
    from mmm.planning import forecast_plan
    from mmm.policy import auto_tiers as propose_tiers, tier_shares

    try:
        shares_wanted = parse_policy(policy or model.config.optimizer.policy)
    except ValueError as exc:
        raise MMMError(f"--policy: {exc}") from None
    reasons = {}
    if auto_tiers:
        active = {ch: int((model.data.spend[:, i] > 0).sum()) for i, ch in enumerate(model.channels)}
        proposed = propose_tiers(fit, active)
        tiers = {ch: t for ch, (t, _) in proposed.items()}
        reasons = {ch: f"{t}, {why}" for ch, (t, why) in proposed.items()}
    else:
        tiers = {c.name: c.tier for c in model.config.channels}
    shares, notes = tier_shares(shares_wanted, tiers, strict_tiers)
    result = optimize_budget(model, budget, weeks, shares, tiers, channel_bounds(model, bounds_overrides), risk, seed=seed)
    weekly = np.array([result["allocation"][ch]["weekly"] for ch in model.channels])
    outcome = forecast_plan(model, np.tile(weekly, (weeks, 1)), seed=seed)
    result.update({k: outcome[k] for k in ("expected_revenue", "incremental_revenue", "spend", "spend_by_channel", "prob_better_than_current", "dates")})
    result["roas_plan"] = outcome["roas"]
    result["policy"] = shares_wanted
    result["notes"] = notes
    if reasons:
        result["tier_reasons"] = reasons
    return result
