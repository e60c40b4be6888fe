"""The whole `mmm optimize` answer: tiers and shares under the policy, bounds, the optimised plan and its forecast."""

from __future__ import annotations

from typing import Literal

from mmm.analysis.results import FitSummary
from mmm.config import parse_policy
from mmm.core.constants import DATE, GEO
from mmm.core.errors import ArgumentError
from mmm.model.estimator import MarketingMixModel
from mmm.planning.bounds import RegionLimits
from mmm.planning.budget import budget_mode, choose_budget, unit_value, with_profit
from mmm.planning.by_week import check_by_week, optimize_by_week
from mmm.planning.geo_plan import GeoAllocation, plan_bounds
from mmm.planning.optimizer import optimize_budget
from mmm.planning.policy import auto_tiers as propose_tiers
from mmm.planning.policy import rule_cost_warning, tier_shares
from mmm.planning.results import OptimizationResult


def recommend_budget(
    model: MarketingMixModel,
    fit: FitSummary,
    budget: float | Literal["auto"],
    weeks: int,
    policy: str | None = None,
    auto_tiers: bool = False,
    strict_tiers: bool = False,
    bounds_overrides: dict[str, tuple[float | None, float | None]] | None = None,
    risk: float = 0.0,
    seed: int = 0,
    margin: float | None = None,
    target_mroas: float | None = None,
    target_cpa: float | None = None,
    by_week: bool | None = None,
    geo_allocation: GeoAllocation | None = None,
    region_bounds: RegionLimits | None = None,
) -> OptimizationResult:
    """Split `budget` (currency over `weeks` periods) under the policy's tier shares and the bounds.

    fit is the model's fit summary (for `auto_tiers`); policy like '70/20/10' (default: the
    config's). budget 'auto' chooses the total too: the one that maximises expected profit at
    `margin` (the contribution margin, in (0, 1]), or the largest whose marginal ROAS is still
    `target_mroas` (for conversions: at which an extra conversion still costs at most `target_cpa`; see
    `mmm.planning.budget`); a margin with a fixed budget adds the plan's
    expected profit. The forecast of the plan carries the same quantities a scenario reports, so
    both compare side by side. by_week (default: the config's `optimizer.by_week`) plans spend per
    channel per week (`mmm.planning.by_week`) instead of the same spend every week. geo_allocation
    (default: the config's `optimizer.geo_allocation`), on a geo model: plan each region's spend per
    channel (cells) or channel totals that keep the regions' shares (shares); see `mmm.planning.geo_plan`.
    region_bounds: weekly limits per channel and region (channel -> region -> (min, max)), replacing the
    config's `geo_bounds` there.
    """
    budget_mode(budget, margin, target_mroas, risk, target_cpa)  # the arguments are checked before any work
    unit = unit_value(model, weeks, margin, target_mroas, target_cpa)  # currency per unit of outcome, for profit
    by_week = model.config.optimizer.by_week if by_week is None else by_week
    if by_week:
        check_by_week(weeks, budget)
    try:
        shares_wanted = parse_policy(policy or model.config.optimizer.policy)
    except ValueError as exc:
        raise ArgumentError("policy", f"{{arg}}: {exc}") from None
    reasons: dict[str, str] = {}
    if auto_tiers:
        active = (model.observed.spend.sum(GEO) > 0).sum(DATE)
        proposed = propose_tiers(fit, {ch: int(active.sel(channel=ch)) for ch in model.channels})
        tiers = {ch: t for ch, (t, _) in proposed.items()}
        reasons = {ch: f"{t}, {why}" for ch, (t, why) in proposed.items()}
    else:
        tiers = model.config.tiers
    shares, notes = tier_shares(shares_wanted, tiers, strict_tiers)
    bounds = plan_bounds(model, bounds_overrides, geo_allocation or model.config.optimizer.geo_allocation, region_bounds)
    if isinstance(budget, str):
        result = choose_budget(model, weeks, shares, tiers, bounds, margin, target_mroas, seed, target_cpa)
    else:
        result = optimize_budget(model, budget, weeks, shares, tiers, bounds, risk, seed=seed)
        if by_week:
            result = optimize_by_week(model, result, shares, tiers, bounds, seed=seed)
        result = with_profit(result, margin, unit)
    result = result.model_copy(update={"policy": shares_wanted, "notes": notes, "tier_reasons": reasons or None})
    costly = rule_cost_warning(result, model.config.data.kpi)
    long = horizon_warning(model, weeks)
    extra = [w for w in (costly, long) if w]
    return result.model_copy(update={"warnings": [*result.warnings, *extra]}) if extra else result


def horizon_warning(model: MarketingMixModel, weeks: int) -> str | None:
    """A warning when the plan runs longer than the data the model learnt from: its trend is then extrapolated that far."""
    seen = model.n_train
    if weeks <= seen:
        return None
    return (
        f"the plan runs {weeks} periods, longer than the {seen} the model was fitted on: its trend and seasons are carried "
        "past anything the data show, so read its later periods with care (or plan a shorter horizon)"
    )
