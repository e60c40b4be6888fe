"""Typed results of `mmm plan-test`: test designs ranked by value, and what each channel's information is worth.

One source for the terminal table, the JSON and the tests (see README, `mmm plan-test`).
"""

from __future__ import annotations

from mmm.core.results import Interval, Result


class TestDesign(Result):
    """One experiment to run next; its result, once measured, is a row of the lift-test file.

    start, end: the test's first and last period (dates after the data); spend_change: spend added in
    the treated market over the whole test, currency (negative for a holdout); geo_share: share of the
    market the test covers (1 for a national time-based test); treated_geos: the treated regions of a
    geo test (null otherwise); expected_lift_se: standard error of the measured lift, currency;
    min_detectable_lift: the smallest lift (currency, either sign) the test detects 80% of the time at
    the 5% level; roas_interval_width_after: expected width of the channel's 90% ROAS interval once the
    result calibrates the model; value: expected gain of next quarter's plan from what the test teaches
    (sample information, EVSI), currency, by which designs are ranked; cost: the outcome the test is
    expected to give up, currency; net_value: value - cost, what the test pays this quarter;
    net_value_served: value x (information_weeks / weeks) - cost, what it pays over the plans its result
    serves, by which its length and size were chosen.
    """

    __test__ = False  # not a pytest test class

    channel: str
    kind: str  # holdout | scale_up | geo
    start: str
    end: str
    spend_change: float
    geo_share: float
    treated_geos: list[str] | None
    expected_lift_se: float
    min_detectable_lift: float
    roas_interval_width_after: float
    value: float
    cost: float
    net_value: float
    net_value_served: float


class TestEconomics(Result):
    """How a design was valued: schedule, expected lift, information, cost (currency over the horizon)."""

    __test__ = False

    kind: str
    weeks: int  # periods the test runs
    weekly_spend_without_test: float  # the channel's spend per period without the test (today's mix at the budget), in the treated market
    weekly_spend_during_test: float  # its spend per period during the test, in the treated market (a geo test: its treated regions)
    expected_lift: Interval  # the lift the model expects the test to measure, currency
    power: float  # chance the test detects its lift (5% level, either sign), averaged over the posterior draws
    sample_information: float  # EVSI: expected gain of re-planning the quarter with the result, currency
    cost: float  # expected outcome given up: the money the test moves at the plan's marginal ROAS minus its lift
    effective_draws: float  # posterior draws left after reweighting by a typical result (few: a rough estimate)


class ChannelInformation(Result):
    """What learning one channel's ROAS is worth to next quarter's plan."""

    tier: str
    roas: Interval  # today's posterior ROAS
    roas_interval_width: float  # width of today's 90% interval
    weekly_spend_planned: float  # today's plan (re-optimised on the draws used), currency per period
    perfect_information: float  # EVPI: expected gain of the plan if the ROAS were known exactly, currency
    sample_information: float | None  # EVSI of the best feasible test (null: no test designed for it)
    tests: dict[str, TestEconomics]


class TestPlan(Result):
    """`mmm plan-test`: the designs ranked by value (descending) and the information value per channel."""

    __test__ = False

    run_id: str | None = None
    # the KPI (data.kpi) every amount is in: currency for revenue, else counts (conversions) and ROAS per unit spent
    outcome: str = "revenue"
    budget: float
    weeks: int
    period: str = "week"  # the data's period in words (week, day): what `weeks` and every "per period" count
    test_weeks: int  # periods each test runs; under "auto" the best design's
    test_weeks_auto: bool = False  # each design ran as long as paid most (--test-weeks auto)
    within_tiers: bool
    min_power: float = 0.5  # a design's least chance of detecting the lift the model expects (0: every design)
    information_weeks: int = 52  # periods of plans a test's result serves; designs pay over them (net_value_served)
    draws: int  # posterior draws the analysis ran on
    marginal_roas: float  # of the plan chosen now: what a unit of budget moved by a test earns elsewhere
    noise_per_period: float  # the model's residual standard deviation, currency per period
    designs: list[TestDesign]
    channels: dict[str, ChannelInformation]
    notes: list[str]
    seconds: float

    @classmethod
    def optional_keys(cls) -> tuple[str, ...]:
        return ("run_id",)
