"""Which test to run next: concrete experiment designs for the channels whose information is worth most.

Per channel the value of perfect information (`voi.perfect_information`); for the channels worth
most (`top`), concrete designs, each valued by pre-posterior analysis (`voi.sample_information`):

- `holdout`: the channel switched off nationally for `test_weeks` periods right after the data;
- `scale_up`: the channel raised by one, two or three times its typical weekly spend (its mean
  spend in periods with spend), at most to its weekly bound and to the highest spend of one period in
  the data, for the same periods: a larger rise buys a lift further above the noise (more power) at a
  higher cost, and the value picks the size.

Each is a time-based test on national data (geo_share 1): its measured lift is the outcome over the
test and its carry-over (l_max - 1 periods after it) minus what those periods would have brought
without the test, so its standard error is the model's residual noise over those periods,
sigma * sqrt(test_weeks + l_max - 1).

On data by region (at least three) a `geo` design joins them: the channel switched off in treated
regions, the others the control, chosen and balanced on their history (`geo_design`); its standard
error is what difference-in-differences against the control regions will give, and its geo_share
the treated regions' share of the channel's spend.

A design is proposed only when its power (the chance it detects the lift the model expects, 5% level,
averaged over the posterior) reaches `min_power`: a test that most likely measures noise teaches little
and, read as a result, misleads. Among a kind's lengths and sizes that reach it, the one that pays most
(best net value) wins.

A design's value is its sample information: the expected gain of next quarter's plan once the result
calibrates the model. Designs are ranked by it, so the first is the test that improves the plan most.
Its cost is what the test gives up: the money it moves (spend_change) earning the plan's marginal ROAS
elsewhere, minus the lift it brings; its net value = value - cost, what it pays this quarter. A result
serves more than one quarter's plan: over `information_weeks` (default a year) it serves
information_weeks / weeks plans like this one, so a design's length and size are chosen by what it
pays over them, value x information_weeks / weeks - cost (`net_value_served`): a longer test costs
once and sharpens every one of those plans. With `within_tiers` the money a
test moves, |spend_change|, fits in the test and experimental tiers' budgets of the 70/20/10 plan.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from scipy.stats import norm

from mmm.config import parse_policy
from mmm.core.constants import GEO, SAMPLE
from mmm.core.errors import ArgumentError
from mmm.core.processes import fork_map
from mmm.core.stats import Interval
from mmm.data.dataset import PERIODS_PER_YEAR, period_word
from mmm.model.estimator import MarketingMixModel
from mmm.planning.bounds import channel_bounds, check_budget, highest_spend
from mmm.planning.forecast import Horizon
from mmm.planning.geo_design import MIN_CONTROL_GEOS, geo_split
from mmm.planning.policy import tier_shares
from mmm.planning.response import ConstantPlanResponse
from mmm.planning.test_notes import costs_more_this_quarter, not_worth_testing, underpowered
from mmm.planning.test_results import ChannelInformation, TestDesign, TestEconomics, TestPlan
from mmm.planning.voi import N_DRAWS, PlanProblem, perfect_information, sample_information

MIN_TEST_WEEKS = 2
AUTO_TEST_WEEKS = (4, 6, 8, 10, 13)  # durations tried under test_weeks "auto" (those within the horizon)
SCALE_UP_STEPS = (1.0, 2.0, 3.0)  # scale-up sizes tried, in the channel's typical weekly spend
TEST_TIERS = ("test", "experimental")  # the tiers whose budget pays for testing under --within-tiers
MIN_POWER = 0.5  # default: a design must more likely than not detect the lift the model expects
SIGNIFICANT = float(norm.ppf(0.975))  # standard errors a measured lift must reach: 5% level, either sign
DETECT = SIGNIFICANT + float(norm.ppf(0.80))  # standard errors a true lift must reach to be detected 80% of the time


@dataclass(frozen=True)
class Candidate:
    """A test before valuing: per-period spend change in the treated market over `weeks` periods."""

    kind: str
    channel: int
    weeks: int
    weekly_change: float  # currency per period, in the treated market
    geo_share: float = 1.0
    treated_geos: list[str] | None = None
    lift_se: float | None = None  # currency; None: a national time-based test's (`lift_se`)


@dataclass(frozen=True)
class Context:
    """What every design kind may draw on: the plan problem, today's spend, limits."""

    problem: PlanProblem
    test_weeks: int
    cap: float | None  # largest |spend_change| allowed (currency), None: no cap
    typical: np.ndarray  # mean weekly spend in periods with spend, per channel
    highest: np.ndarray  # the highest spend of one period in the data, per channel (national; `bounds.highest_spend`)


Designs = tuple[list[Candidate], str | None]  # the candidates of one kind, or none and why


def _holdout(ctx: Context, c: int) -> Designs:
    u = float(ctx.problem.current[c])
    name = ctx.problem.channels[c]
    if u <= 0:
        return [], f"{name}: no holdout, it spends nothing in today's mix"
    weeks = ctx.test_weeks if ctx.cap is None else min(ctx.test_weeks, int(ctx.cap // u))
    if weeks < MIN_TEST_WEEKS:
        return [], f"{name}: no holdout, switching it off for {MIN_TEST_WEEKS} periods withholds more than the test tiers' budget"
    return [Candidate("holdout", c, weeks, -u)], None


def _scale_up(ctx: Context, c: int) -> Designs:
    u, name = float(ctx.problem.current[c]), ctx.problem.channels[c]
    # no higher than the data have seen: above it the curve is the prior's guess, and a lift measured there moves
    # the channel's ROAS far (measured: scale-ups to 2-4x the usual spend barely lowered the plan's true regret)
    seen = float(ctx.highest[c]) - u
    if seen <= 0.01:
        return [], f"{name}: no scale-up, it already spends the most the data have seen in a period ({ctx.highest[c]:,.0f})"
    most = min(float(ctx.problem.hi[c]) - u, seen)
    if ctx.cap is not None:
        most = min(most, ctx.cap / ctx.test_weeks)
    sizes = sorted({round(min(step * float(ctx.typical[c]), most), 2) for step in SCALE_UP_STEPS})
    if sizes[-1] <= 0.01:
        return [], f"{name}: no scale-up, it is already at its weekly bound (or the test tiers have no budget)"
    return [Candidate("scale_up", c, ctx.test_weeks, extra) for extra in sizes if extra > 0.01], None


def _geo(ctx: Context, c: int) -> Designs:
    u, name = float(ctx.problem.current[c]), ctx.problem.channels[c]
    if u <= 0:
        return [], f"{name}: no geo test, it spends nothing in today's mix"
    model, weeks = ctx.problem.model, ctx.test_weeks
    if any(ch.name == name and ch.national for ch in model.config.channels):
        return [], f"{name}: no geo test, it is bought nationally (one spend for every region)"
    split = geo_split(model, name, weeks + model.media.l_max - 1)
    if split is None:
        return [], f"{name}: no geo test, it needs spend in regions with at least {MIN_CONTROL_GEOS} others left as control"
    if ctx.cap is not None and u * split.spend_share * weeks > ctx.cap:
        weeks = int(ctx.cap // (u * split.spend_share))
        if weeks < MIN_TEST_WEEKS:
            return [], f"{name}: no geo test, switching it off in its treated regions withholds more than the test tiers' budget"
        split = geo_split(model, name, weeks + model.media.l_max - 1)
        assert split is not None  # the data allowed a split above; fewer weeks change only its error
    return [Candidate("geo", c, weeks, -u, split.spend_share, split.treated, split.lift_se)], None


DESIGN_KINDS: dict[str, Callable[[Context, int], Designs]] = {
    "holdout": _holdout,
    "scale_up": _scale_up,
    "geo": _geo,
}


def design_kinds(model: MarketingMixModel) -> tuple[list[str], list[str]]:
    """The kinds of test the data allow, and a note saying why."""
    geos = len(model.observed.geos)
    if geos > MIN_CONTROL_GEOS:
        note = (
            f"the data hold {geos} regions: geo tests (the channel switched off in treated regions, the others as control, "
            "balanced on their history) besides time-based designs (holdout, scale_up)"
        )
        return list(DESIGN_KINDS), [note]
    if geos > 1:
        note = f"the data hold {geos} regions, too few to keep {MIN_CONTROL_GEOS} as control: time-based designs only (holdout, scale_up)"
    else:
        note = "national data (one market): time-based designs only (holdout, scale_up); geo tests need data per region"
    return ["holdout", "scale_up"], [note]


def plan_tests(
    model: MarketingMixModel,
    budget: float,
    weeks: int,
    test_weeks: int | Literal["auto"] = 6,
    within_tiers: bool = False,
    channels: list[str] | None = None,
    top: int = 3,
    policy: str | None = None,
    n_draws: int = N_DRAWS,
    seed: int = 0,
    min_power: float = MIN_POWER,
    information_weeks: int | None = None,
) -> TestPlan:
    """Value of information per channel and test designs for the `top` channels by it, ranked by value.

    budget: currency over `weeks` periods (the quarter the information improves); test_weeks: periods
    each test runs, right after the data (at least 2, at most `weeks`), or "auto": each design runs as
    long as pays most (`test_durations`); channels: restrict the designs to these; policy: tier shares
    like '70/20/10' (default: the config's); min_power: the chance (0-1) a design must have of detecting
    the lift the model expects, 0 to propose every design; information_weeks: periods of plans a result
    serves, over which a design's length and size are chosen (`net_value_served`); default a year of the
    data's periods (the market drifts and tests are repeated), or the horizon if longer.
    """
    clock = time.perf_counter()
    if weeks < 1:
        raise ArgumentError("weeks", f"must be at least 1, not {weeks}")
    check_budget(budget)
    durations = test_durations(weeks) if test_weeks == "auto" else [test_weeks]
    if not durations or not MIN_TEST_WEEKS <= durations[-1] <= weeks:
        raise ArgumentError(
            "test_weeks",
            f"{{arg}} {test_weeks} does not fit: a test runs at least {MIN_TEST_WEEKS} periods and at most the horizon "
            f"(--weeks {weeks}); shorten the test or lengthen the horizon",
        )
    if top < 1:
        raise ArgumentError("top", f"must be at least 1, not {top}")
    if information_weeks is None:
        information_weeks = max(weeks, round(PERIODS_PER_YEAR[model.train.frequency]))
    elif information_weeks < weeks:
        raise ArgumentError(
            "information_weeks",
            f"{{arg}} {information_weeks} is shorter than the plan it serves (--weeks {weeks}); give at least {weeks}",
        )
    if not 0 <= min_power < 1:
        raise ArgumentError("min_power", f"must be a chance from 0 to below 1 (e.g. 0.5 or 0.8), not {min_power:g}")
    unknown = sorted(set(channels or []) - set(model.channels))
    if unknown:
        raise ArgumentError(
            "channels", f"{{arg}} names {', '.join(unknown)}, which this model does not have; its channels are {', '.join(model.channels)}"
        )
    try:
        wanted = parse_policy(policy or model.config.optimizer.policy)
    except ValueError as exc:
        raise ArgumentError("policy", f"{{arg}}: {exc}") from None
    tiers = model.config.tiers
    shares, notes = tier_shares(wanted, tiers)
    problem = PlanProblem(model, budget, weeks, shares, tiers, channel_bounds(model), n_draws=n_draws, seed=seed)
    kinds, kind_notes = design_kinds(model)
    notes = notes + kind_notes
    if test_weeks == "auto" and durations[-1] < AUTO_TEST_WEEKS[0]:
        notes.append(f"a horizon of {weeks} periods is shorter than the shortest test auto tries ({AUTO_TEST_WEEKS[0]}): tests run {weeks}")
    cap = sum(shares.get(t, 0.0) for t in TEST_TIERS) * budget if within_tiers else None
    if cap == 0:
        notes.append("no channel is in the test or experimental tier, so the 70/20/10 plan sets no money aside for tests")
    ctx = Context(problem, durations[0], cap, np.asarray(model.scales.spend, dtype=float), highest_spend(model))
    sigma = residual_noise(model, problem.response.params)
    mroas = problem.marginal_roas()

    evpi = dict(zip(model.channels, fork_map(lambda i: perfect_information(problem, i), range(len(model.channels)))))
    eligible = [c for c in (channels or model.channels) if evpi[c] > 0]
    skipped = [c for c in (channels or model.channels) if evpi[c] <= 0]
    if skipped:
        notes.append(not_worth_testing(skipped, tiers, model.config.outcome.return_label))
    chosen = sorted(eligible, key=lambda c: -evpi[c])[:top]
    options: dict[tuple[str, str], tuple[list[Candidate], str | None]] = {}  # per channel and kind: its candidates, why none
    for name in chosen:
        for kind in kinds:
            found: list[Candidate] = []
            for length in durations:
                candidates, why = DESIGN_KINDS[kind](replace(ctx, test_weeks=length), model.channels.index(name))
                found += candidates
            options[name, kind] = found, why
    every = [cand for found, _ in options.values() for cand in found]
    responses = {w: ConstantPlanResponse(model, w, n_draws=n_draws, seed=seed) for w in sorted({cand.weeks for cand in every})}
    served = information_weeks / weeks  # plans like this one a result serves
    valued = iter(fork_map(lambda cand: _value(problem, cand, responses[cand.weeks], sigma, mroas, served), every))
    designs: list[TestDesign] = []
    economics: dict[str, dict[str, TestEconomics]] = {c: {} for c in model.channels}
    for (name, kind), (found, why) in options.items():
        best: tuple[TestDesign, TestEconomics] | None = None
        strongest: tuple[TestDesign, TestEconomics] | None = None  # the most powerful, for the note when none is enough
        for one in (next(valued) for _ in found):
            if strongest is None or one[1].power > strongest[1].power:
                strongest = one
            if one[1].power >= min_power and (best is None or one[0].net_value_served > best[0].net_value_served):
                best = one
        if best is None:
            longer = test_weeks != "auto" and durations[-1] < weeks  # a longer test within the horizon was not tried
            notes.append(str(why) if strongest is None else underpowered(strongest, min_power, longer, model.config.outcome))
            continue
        designs.append(best[0])
        economics[name][kind] = best[1]
    designs.sort(key=lambda d: -d.value)
    if designs and designs[0].net_value <= 0:
        notes.append(costs_more_this_quarter(designs[0], information_weeks, weeks, model.config.outcome))
    info = {}
    for i, name in enumerate(model.channels):
        tests = economics[name]
        info[name] = ChannelInformation(
            tier=tiers[name],
            roas=Interval.of(problem.roas[:, i]),
            roas_interval_width=problem.roas_width(i),
            weekly_spend_planned=float(problem.now[i]),
            perfect_information=evpi[name],
            sample_information=max(t.sample_information for t in tests.values()) if tests else None,
            tests=tests,
        )
    return TestPlan(
        outcome=model.config.data.kpi,
        budget=float(budget),
        weeks=weeks,
        period=period_word(model.train.frequency),
        test_weeks=economics[designs[0].channel][designs[0].kind].weeks if designs and test_weeks == "auto" else durations[-1],
        test_weeks_auto=test_weeks == "auto",
        within_tiers=within_tiers,
        min_power=min_power,
        information_weeks=information_weeks,
        draws=problem.size,
        marginal_roas=mroas,
        noise_per_period=sigma,
        designs=designs,
        channels=info,
        notes=notes,
        seconds=time.perf_counter() - clock,
    )


def test_durations(weeks: int) -> list[int]:
    """The test lengths (periods) tried under test_weeks "auto": AUTO_TEST_WEEKS within the horizon, else the horizon itself."""
    return [w for w in AUTO_TEST_WEEKS if w <= weeks] or ([weeks] if weeks >= MIN_TEST_WEEKS else [])


def residual_noise(model: MarketingMixModel, params: dict[str, np.ndarray]) -> float:
    """Standard deviation (currency per period) of the fitted periods' outcome around the model's mean prediction:
    the week-to-week noise a time-based test's counterfactual cannot foresee, whatever the likelihood."""
    mean = model.in_sample_components(params)["mean"].mean(SAMPLE).sum(GEO).values[: model.n_train]
    actual = model.observed.target_series()[: model.n_train]
    return float(np.std(actual - mean, ddof=1))


def lift_draws(problem: PlanProblem, cand: Candidate, response: ConstantPlanResponse) -> np.ndarray:
    """(sample,) the lift the candidate test would measure under each draw, currency (test and carry-over)."""
    base = problem.current.copy()
    treated = base.copy()
    treated[cand.channel] += cand.weekly_change
    gain = response.revenue_draws(treated)[:, cand.channel] - response.revenue_draws(base)[:, cand.channel]
    return cand.geo_share * gain


def lift_se(sigma: float, weeks: int, l_max: int) -> float:
    """Standard error (currency) of a national time-based test's measured lift: residual noise (sigma, currency
    per period) summed over the test's `weeks` and the l_max - 1 carry-over periods after it."""
    return sigma * math.sqrt(weeks + l_max - 1)


def power(lift: np.ndarray, se: float) -> float:
    """Chance (0-1) that a test with standard error `se` (currency) finds its lift significant at the 5% level,
    either sign, averaged over the posterior draws of the lift (currency): the power a design can count on."""
    z = np.abs(lift) / se
    return float(np.mean(norm.cdf(z - SIGNIFICANT) + norm.cdf(-z - SIGNIFICANT)))


def _value(
    problem: PlanProblem, cand: Candidate, response: ConstantPlanResponse, sigma: float, mroas: float, served: float
) -> tuple[TestDesign, TestEconomics]:
    """The design of a candidate and its economics; `served`: plans like the horizon's its result serves."""
    model = problem.model
    lift = lift_draws(problem, cand, response)
    se = cand.lift_se if cand.lift_se is not None else lift_se(sigma, cand.weeks, model.media.l_max)
    pre = sample_information(problem, cand.channel, lift, se)
    spend_change = cand.weekly_change * cand.weeks * cand.geo_share
    cost = spend_change * mroas - float(lift.mean())
    dates = Horizon.after(model, cand.weeks).dates
    name = problem.channels[cand.channel]
    design = TestDesign(
        channel=name,
        kind=cand.kind,
        start=str(dates[0].date()),
        end=str(dates[-1].date()),
        spend_change=round(spend_change, 2),
        geo_share=cand.geo_share,
        treated_geos=cand.treated_geos,
        expected_lift_se=se,
        min_detectable_lift=DETECT * se,
        roas_interval_width_after=pre.roas_width_after,
        value=pre.value,
        cost=cost,
        net_value=pre.value - cost,
        net_value_served=pre.value * served - cost,
    )
    u = float(problem.current[cand.channel]) * cand.geo_share  # in the market the test treats
    econ = TestEconomics(
        kind=cand.kind,
        weeks=cand.weeks,
        weekly_spend_without_test=u,
        weekly_spend_during_test=u + cand.weekly_change * cand.geo_share,
        expected_lift=Interval.of(lift),
        power=power(lift, se),
        sample_information=pre.value,
        cost=cost,
        effective_draws=pre.effective_draws,
    )
    return design, econ
