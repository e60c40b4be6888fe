"""Terminal text for experiments: which test to run next (`mmm plan-test`) and a finished test's result (`mmm analyze-test`)."""

from __future__ import annotations

from mmm.core.outcome import outcome_for
from mmm.planning.test_results import TestPlan

KIND_WORDS = {"holdout": "switch off", "scale_up": "raise spend", "geo": "geo test"}


def format_test_plan(plan: TestPlan, currency: str) -> str:
    """Per channel what knowing its ROAS is worth, then the designs best first, in plain words (in the KPI's own
    unit: currency for revenue; for counts such as conversions, the count and its return per 1,000 spent)."""
    words, unit = outcome_for(plan.outcome), plan.period
    per, ratio = (1.0, "ROAS") if words.is_money else (1000.0, f"{words.noun} per {currency} 1,000")

    head = f"{ratio} now (90% interval)"
    wide = len(head) + 2

    fig, sign = words.figure, words.signed_figure

    def amount(x: float) -> str:
        return f"{currency} {x:,.0f}" if words.is_money else f"{fig(x)} {words.noun}"

    lines = [
        f"Which test to run next: budget {currency} {plan.budget:,.0f} over {plan.weeks} {unit}s, "
        + ("each test as long as pays most" if plan.test_weeks_auto else f"tests of {plan.test_weeks} {unit}s")
        + f"{' paid from the test and experimental tiers' if plan.within_tiers else ''} ({plan.draws} posterior draws, {plan.seconds:.1f} s)",
        "",
        f"What knowing each channel's {ratio} would add to next quarter's expected {words.noun}:",
        f"  {'channel':<14}{'tier':<14}{head:<{wide}}{'known exactly':>15}{'best test':>15}",
    ]
    for name, c in plan.channels.items():
        roas = f"{c.roas.mean * per:.2f} ({c.roas.low * per:.2f} to {c.roas.high * per:.2f})"
        test = "-" if c.sample_information is None else fig(c.sample_information)
        lines.append(f"  {name:<14}{c.tier:<14}{roas:<{wide}}{fig(c.perfect_information):>15}{test:>15}")
    lines += [
        "",
        "Test designs, best first (by what the result adds to the quarter's plan; each at the length and size that pays most "
        f"over the {plan.information_weeks} {unit}s of plans its result serves)"
        + (f"; each detects the lift the model expects at least {plan.min_power:.0%} of the time:" if plan.min_power > 0 else ":"),
    ]
    if not plan.designs:
        lines.append("  none: no channel's test is worth designing (see the notes)")
    for rank, d in enumerate(plan.designs, start=1):
        econ = plan.channels[d.channel].tests[d.kind]
        lines.append(
            f"  {rank}. {d.channel}, {KIND_WORDS.get(d.kind, d.kind)} ({d.kind}) from {d.start} to {d.end} ({econ.weeks} {unit}s): "
            f"{econ.weekly_spend_without_test:,.0f} -> {econ.weekly_spend_during_test:,.0f} per {unit}, spend change {d.spend_change:+,.0f}"
        )
        if d.treated_geos:
            lines.append(
                f"     treated regions ({d.geo_share:.0%} of its spend): {', '.join(d.treated_geos)}; the other regions are the control"
            )
        lift = econ.expected_lift
        lines.append(
            f"     expected lift {sign(lift.mean)} ({sign(lift.low)} to {sign(lift.high)}), measured to +/- {fig(d.expected_lift_se)}; "
            f"it detects a lift of {fig(d.min_detectable_lift)} or more (chance it detects this one: {econ.power:.0%})"
        )
        width_now = plan.channels[d.channel].roas_interval_width
        # cost = spend change x the plan's marginal ROAS - the lift: below zero the test brings more than it gives up
        cost = f"the test costs {amount(d.cost)}" if d.cost >= 0 else f"the test itself earns {amount(-d.cost)}"
        lines.append(
            f"     {ratio} interval {width_now * per:.2f} wide now, about {d.roas_interval_width_after * per:.2f} after; "
            f"the plan gains {amount(d.value)} from what it teaches, {cost}: net {sign(d.net_value)} this quarter, "
            f"{sign(d.net_value_served)} over {plan.information_weeks} {unit}s"
        )
    lines.append("")
    lines.append(
        f"The model's {unit}-to-{unit} noise is {amount(plan.noise_per_period)} per {unit}; money a test moves is valued at the plan's "
        f"marginal {ratio}, {plan.marginal_roas * per:.2f}. Once a test has run, add its result as a row of the lift-test file (--lifts)."
    )
    lines += [f"Note: {n}" for n in plan.notes]
    return "\n".join(lines)
