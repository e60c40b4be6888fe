"""The 70/20/10 rule: which tier each channel is in, and what share of the budget each tier gets."""

from __future__ import annotations

import numpy as np

from mmm.analysis.results import FitSummary
from mmm.core.constants import TIERS
from mmm.core.errors import ArgumentError
from mmm.core.outcome import outcome_for
from mmm.planning.results import OptimizationResult

# --tiers auto: evidence a channel needs to count as proven, or to leave the experimental tier
PROVEN_MIN_PERIODS = 52
PROVEN_MAX_REL_WIDTH = 1.25  # width of the ROAS 90% interval relative to its mean
PROVEN_MIN_ROAS = 1.0
EXPERIMENTAL_MAX_PERIODS = 26
EXPERIMENTAL_MIN_REL_WIDTH = 2.5


def tier_shares(policy: dict[str, float], tiers: dict[str, str], strict: bool = False) -> tuple[dict[str, float], list[str]]:
    """Budget share per tier that has channels; an empty tier's share goes to the others in proportion.

    policy: tier -> share (summing to 1); tiers: channel -> tier. Raises ArgumentError under
    `strict` when a tier with a positive share has no channel.
    """
    present = {t for t in tiers.values()}
    empty = [t for t in TIERS if policy.get(t, 0) > 0 and t not in present]
    notes = []
    if empty:
        if strict:
            raise ArgumentError(
                "strict",
                f"tier(s) {', '.join(empty)} have a budget share but no channel; assign a channel to them "
                "(tier: in the config, or automatic tiers) or drop {arg} to spread their share over the other tiers",
            )
        notes.append(f"no channel in tier(s) {', '.join(empty)}: their share is spread over the other tiers in proportion")
    kept = {t: policy.get(t, 0.0) for t in TIERS if t in present}
    total = sum(kept.values())
    if total <= 0:
        raise ArgumentError("policy", "the policy gives no budget to any tier that has channels; change {arg}")
    return {t: s / total for t, s in kept.items()}, notes


def auto_tiers(summary: FitSummary, active_periods: dict[str, int]) -> dict[str, tuple[str, str]]:
    """Propose each channel's tier from the evidence, with the reason in words.

    proven: spend in at least 52 periods, a ROAS interval narrower than 1.25x its mean, and a
    mean ROAS of at least 1; experimental: spend in fewer than 26 periods or a ROAS interval
    wider than 2.5x its mean; test: everything in between. For conversions the interval is that of
    conversions per unit spent, and profitable means a money ROAS of at least 1 on the value per
    conversion; without a value, a well-measured channel counts as proven on its evidence alone.
    """
    words = outcome_for(summary.outcome)
    out = {}
    for name, c in summary.channels.items():
        r = c.roas
        rel = (r.high - r.low) / r.mean if r.mean > 0 else np.inf
        n = active_periods[name]
        value = r if words.is_money else c.value_roas
        label, fmt = ("ROAS", ".2f") if words.is_money else (f"{words.noun} per 1 spent", ".3g")
        facts = f"spend in {n} periods, {label} {r.mean:{fmt}} ({r.low:{fmt}} to {r.high:{fmt}}), interval {rel:.1f}x its mean"
        profitable = value is None or value.mean >= PROVEN_MIN_ROAS
        if n < EXPERIMENTAL_MAX_PERIODS or rel > EXPERIMENTAL_MIN_REL_WIDTH:
            out[name] = ("experimental", f"too little evidence yet: {facts}")
        elif n >= PROVEN_MIN_PERIODS and rel <= PROVEN_MAX_REL_WIDTH and profitable:
            why = "well measured and profitable" if value is not None else "well measured (no value per conversion to judge profit)"
            out[name] = ("proven", f"{why}: {facts}")
        else:
            out[name] = ("test", f"promising but not yet proven: {facts}")
    return out


def rule_cost_warning(result: OptimizationResult, kpi: str) -> str | None:
    """What keeping to the tier shares costs, when the plan is expected to earn less than the current mix at the
    same budget (the rule moves money into a tier where it earns less); None when the plan is expected to do better."""
    if result.uplift.mean >= 0:
        return None
    words = outcome_for(kpi)
    spent = sum(a.current_total for a in result.allocation.values()) or 1.0
    now: dict[str, float] = {t: sum(a.current_total for a in result.allocation.values() if a.tier == t) / spent for t in TIERS}
    policy, current = _percent_split(result.tiers), _percent_split(now)
    return (
        f"keeping to the {policy} tier shares, this plan is expected to bring {words.figure(-result.uplift.mean)} {'fewer' if words.is_count else 'less'} {words.noun} than "
        f"the current mix at the same budget (chance it {words.more}: {result.prob_better:.0%}): today's mix is {current} by tier, "
        f"and moving money between tiers to reach {policy} takes it from where it returns more. Keep the rule if this budget is "
        f"meant to fund tests that way; otherwise compare --policy {current} (today's split) or --tiers auto"
    )


def _percent_split(shares: dict[str, float]) -> str:
    """Tier shares as whole percentages adding up to 100, as --policy takes them ('56/37/7')."""
    percent = {t: round(100 * shares.get(t, 0.0)) for t in TIERS}
    largest = max(TIERS, key=lambda t: shares.get(t, 0.0))
    percent[largest] += 100 - sum(percent.values())
    return "/".join(str(percent[t]) for t in TIERS)
