"""The notes `plan-test` adds to its designs: why a channel got no test, and what a costly first test comes to."""

from __future__ import annotations

from mmm.core.outcome import Outcome
from mmm.planning.test_results import TestDesign, TestEconomics


def not_worth_testing(skipped: list[str], tiers: dict[str, str], label: str) -> str:
    """Why knowing these channels' returns would not change the plan; a channel alone in its tier has its budget set by the policy."""
    alone = [c for c in skipped if sum(t == tiers[c] for t in tiers.values()) == 1]
    why = (
        f"; {', '.join(alone)} {'is' if len(alone) == 1 else 'are each'} alone in {'its' if len(alone) == 1 else 'their'} tier, "
        "so the tier shares (--policy) set that budget whatever the return"
        if alone
        else ""
    )
    return f"no test designed for {', '.join(skipped)}: knowing the {label} would not change the plan{why}"


def underpowered(strongest: tuple[TestDesign, TestEconomics], min_power: float, longer: bool, words: Outcome) -> str:
    """Why a channel's kind of test got no design: even its strongest would detect the expected lift too rarely."""
    design, econ = strongest
    lift = econ.expected_lift.mean
    return (
        f"{design.channel}: no {design.kind} design detects the lift the model expects with {min_power:.0%} chance; the strongest "
        f"({econ.weeks} periods, spend change {design.spend_change:+,.0f}) would {econ.power:.0%} of the time, as its expected lift "
        f"{words.signed_figure(lift)} is small against the noise (+/- {words.figure(design.expected_lift_se)})"
        + ("; a longer test may reach it (test weeks 'auto' tries up to 13 within the horizon)" if longer else "")
    )


def costs_more_this_quarter(first: TestDesign, information_weeks: int, weeks: int, words: Outcome) -> str:
    """The first design costs more this quarter (`weeks` periods) than its result adds to the plan: what it comes to
    over the `information_weeks` periods of plans its result serves."""
    later = (
        f"over the {information_weeks} periods of plans its result serves it comes to {words.signed_figure(first.net_value_served)} net"
        if information_weeks > weeks
        else "what it teaches may also serve later plans"
    )
    return (
        f"the best test, {first.channel} {first.kind}, is expected to cost more this quarter ({words.figure(first.cost)}) than its result "
        f"adds to the plan ({words.figure(first.value)}); {later}"
    )
