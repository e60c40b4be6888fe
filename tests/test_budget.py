"""Choosing the total budget (`mmm optimize --budget auto`): the profit-optimal and the target-mROAS total
against brute force on synthetic models whose response is known, the 70/20/10 rule and the bounds at the
chosen total, the budget curve, JSON, table, chart, report and MLflow artifacts, and bad input (exit 2).

Every model is a synthetic 'fitted' model (tests/test_optimizer.py): no sampling.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from types import SimpleNamespace

import mlflow
import numpy as np
import pytest
from helpers import all_runs, assert_clean_exit_2, invoke, isolated_workdir, store_uri
from test_optimizer import WEEKS, check_cents, config_tiers, fit_with_roas, plan_value, synthetic_model, wide_bounds
from test_report import make_summary

from mmm.core.errors import ArgumentError
from mmm.core.outcome import outcome_for
from mmm.core.review import Review
from mmm.planning.bounds import Bounds, channel_bounds
from mmm.planning.budget import budget_mode, budget_range, choose_budget, total_mroas
from mmm.planning.optimizer import optimize_budget
from mmm.planning.recommend import recommend_budget
from mmm.planning.response import ConstantPlanResponse
from mmm.planning.results import OptimizationResult
from mmm.report.budget_plot import budget_curve_chart
from mmm.report.build import build_report
from mmm.report.formatting import format_optimize_table

POLICY = {"proven": 0.7, "test": 0.2, "experimental": 0.1}
NEW_KEYS = {"chosen_budget", "margin", "target_mroas", "expected_profit", "budget_curve"}


def true_profit(model, result: OptimizationResult, margin: float) -> float:
    """Profit of a plan under the model's known response: margin x expected incremental revenue - spend."""
    weekly = np.array([result.allocation[ch].weekly for ch in model.channels])
    return margin * plan_value(ConstantPlanResponse(model, WEEKS, n_draws=None), weekly) - result.budget


# --- the profit-optimal total against brute force ---------------------------------------------------


@pytest.fixture(scope="module")
def two_channels():
    """One tier, two channels: the best split of each total is a brute-force search over a lattice."""
    return synthetic_model([3.0, 2.0], alpha=[0.3, 0.6], half=[0.8, 1.3], jitter=0.15, n_draws=12)


@pytest.fixture(scope="module")
def by_profit(two_channels):
    m = two_channels
    return choose_budget(m, WEEKS, {"proven": 1.0}, config_tiers(m), wide_bounds(m, 12_000.0), margin=0.5)


def test_profit_optimal_total_matches_a_brute_force_grid(two_channels, by_profit):
    m, margin, step = two_channels, 0.5, 5.0
    response = ConstantPlanResponse(m, WEEKS, n_draws=None)
    spend = np.arange(0.0, 12_000.0 + step, step)  # weekly spend of one channel
    curves = np.array([response.revenue_draws(np.full(2, u)).mean(axis=0) for u in spend]).T  # each channel's own curve
    best_split = np.array([np.max(curves[0, : k + 1] + curves[1, k::-1]) for k in range(len(spend))])  # weekly total k * step
    profit = margin * best_split - spend * WEEKS
    k = int(np.argmax(profit))
    assert 0 < k < len(spend) - 1, "the test case should have an interior optimum"
    ours = by_profit
    assert ours.budget_mode == "profit" and ours.chosen_budget == ours.budget
    assert ours.budget / WEEKS == pytest.approx(spend[k], abs=2 * step)
    assert true_profit(m, ours, margin) >= profit[k] - 1e-6 * abs(profit[k])  # at least as good as the lattice
    assert ours.budget_curve is not None and ours.budget_curve.recommended_mroas == pytest.approx(1 / margin, rel=1e-4)


def test_profit_optimal_total_with_one_channel_per_tier():
    """Each tier's spend is its share of the total, so the profit of a total is known in closed form."""
    m = synthetic_model([3.0, 2.5, 4.0], tiers=["proven", "test", "experimental"], alpha=[0.3, 0.5, 0.2], half=[1.0, 0.8, 1.2], jitter=0.1)
    margin, shares = 0.4, np.array([0.7, 0.2, 0.1])
    response = ConstantPlanResponse(m, WEEKS, n_draws=None)

    def profit(weekly_total: float) -> float:
        return margin * plan_value(response, shares * weekly_total) - weekly_total * WEEKS

    coarse = np.linspace(10.0, 20_000.0, 400)
    k = int(np.argmax([profit(w) for w in coarse]))
    assert 0 < k < len(coarse) - 1
    fine = np.linspace(coarse[k - 1], coarse[k + 1], 401)
    best = fine[int(np.argmax([profit(w) for w in fine]))]
    ours = choose_budget(m, WEEKS, POLICY, config_tiers(m), wide_bounds(m, 50_000.0), margin=margin)
    assert ours.budget / WEEKS == pytest.approx(best, rel=2e-3)
    assert true_profit(m, ours, margin) >= profit(best) - 0.05  # tier totals in whole cents move a few cents between tiers
    # the marginal ROAS of the total, by finite differences of the known curve, is 1 / margin there
    w, h = ours.budget / WEEKS, 1e-3 * ours.budget / WEEKS
    slope = (plan_value(response, shares * (w + h)) - plan_value(response, shares * (w - h))) / (2 * h * WEEKS)
    assert slope == pytest.approx(1 / margin, rel=1e-3)
    check_cents(ours, ours.budget, POLICY)


# --- a target marginal ROAS, tiers and bounds at the chosen total -------------------------------------


@pytest.fixture(scope="module")
def four_channels():
    return synthetic_model(
        [3.0, 1.5, 1.0, 2.0],
        tiers=["proven", "proven", "test", "experimental"],
        alpha=[0.3, 0.5, 0.2, 0.4],
        half=[1.0, 0.8, 1.2, 1.0],
        jitter=0.1,
    )


@pytest.fixture(scope="module")
def by_target(four_channels):
    m = four_channels
    return choose_budget(m, WEEKS, POLICY, config_tiers(m), channel_bounds(m, {c: (100.0, 20_000.0) for c in m.channels}), target_mroas=1.2)


def test_target_mroas_total_has_that_marginal_return(four_channels, by_target):
    m, target = four_channels, 1.2
    r = by_target
    assert r.budget_mode == "target_mroas" and r.target_mroas == target and r.margin is None and r.expected_profit is None
    assert total_mroas(r) == pytest.approx(target, rel=1e-3)
    # the envelope-theorem slope agrees with finite differences of the optimiser's best split
    bounds = channel_bounds(m, {c: (100.0, 20_000.0) for c in m.channels})
    h = 0.01 * r.budget
    up, down = (optimize_budget(m, r.budget + s, WEEKS, POLICY, config_tiers(m), bounds) for s in (h, -h))
    assert (up.forecast.incremental.mean - down.forecast.incremental.mean) / (2 * h) == pytest.approx(target, rel=0.01)
    assert not any("maximum bounds stop" in w for w in r.warnings)


def test_tier_shares_bounds_and_cents_hold_at_the_chosen_total(four_channels, by_target):
    r = by_target
    check_cents(r, r.chosen_budget, POLICY)
    assert r.budget == r.chosen_budget == round(r.chosen_budget, 2)
    cent = 0.005 / WEEKS + 1e-9
    for a in r.allocation.values():
        assert a.min_weekly == 100.0 and a.max_weekly == 20_000.0
        assert a.min_weekly - cent <= a.weekly <= a.max_weekly + cent
    assert all(o.equal_mroas for o in r.optimality.values())


def test_the_budget_curve(four_channels, by_target):
    c = by_target.budget_curve
    assert c is not None and c.profit is None
    assert c.budgets == sorted(c.budgets) and len(c.budgets) >= 15
    assert by_target.budget in c.budgets and round(c.current_budget, 2) in c.budgets
    assert c.current_budget == pytest.approx(float(four_channels.observed.tail(WEEKS).spend.sum()))
    assert c.budgets[0] == pytest.approx(0.25 * c.current_budget, abs=0.01)
    assert c.budgets[-1] == pytest.approx(2 * c.current_budget, abs=0.01)
    mean, low, high = (np.array(v) for v in (c.incremental.mean, c.incremental.low, c.incremental.high))
    assert np.all(np.diff(mean) > 0) and np.all(low <= mean) and np.all(mean <= high)
    assert np.all(np.diff(c.marginal_roas) < 0), "a concave response has a falling marginal return"
    i = c.budgets.index(by_target.budget)
    assert c.marginal_roas[i] == c.recommended_mroas == pytest.approx(1.2, rel=1e-3)
    assert mean[i] == pytest.approx(by_target.forecast.incremental.mean)


def test_profit_band_and_the_recommended_point_on_the_curve(by_profit):
    r = by_profit
    c, p = r.budget_curve, r.expected_profit
    assert c is not None and c.profit is not None and p is not None and r.margin == 0.5
    inc = r.forecast.incremental
    assert (p.mean, p.low, p.high) == pytest.approx((0.5 * inc.mean - r.budget, 0.5 * inc.low - r.budget, 0.5 * inc.high - r.budget))
    for b, m_, lo, hi, pm, pl, ph in zip(
        c.budgets, c.incremental.mean, c.incremental.low, c.incremental.high, *c.profit.model_dump().values()
    ):
        assert (pm, pl, ph) == pytest.approx((0.5 * m_ - b, 0.5 * lo - b, 0.5 * hi - b))
    i = c.budgets.index(r.budget)
    assert c.profit.mean[i] == pytest.approx(max(c.profit.mean), rel=1e-9), "the recommended total has the highest expected profit"


def test_maximum_bounds_that_stop_the_spend_are_said(four_channels):
    m = four_channels
    caps = {c: (None, 1.2 * float(m.data.spend.sel(channel=c).mean())) for c in m.channels}
    bounds = channel_bounds(m, caps)
    r = choose_budget(m, WEEKS, POLICY, config_tiers(m), bounds, target_mroas=0.05)
    lowest, highest, tier = budget_range(m.channels, POLICY, config_tiers(m), bounds, WEEKS)
    assert r.budget == highest and 0 < lowest < highest
    assert r.budget_curve is not None and r.budget_curve.recommended_mroas > 0.05
    text = " ".join(r.warnings)
    assert "the maximum bounds stop the spend before the marginal ROAS falls to 0.05" in text and f"tier '{tier}'" in text
    check_cents(r, r.budget, POLICY)


# --- bad input ------------------------------------------------------------------------------------


def test_a_target_nobody_can_reach(four_channels):
    m, bounds = four_channels, wide_bounds(four_channels, 20_000.0)
    with pytest.raises(ArgumentError, match=r"highest marginal ROAS achievable under the tier shares and the bounds is \d+\.\d\d") as err:
        choose_budget(m, WEEKS, POLICY, config_tiers(m), bounds, target_mroas=50.0)
    assert err.value.argument == "target_mroas" and "lower the target" in str(err.value)
    with pytest.raises(ArgumentError, match=re.escape("a 1% margin needs 1 / 0.01 = 100.00")) as err:
        choose_budget(m, WEEKS, POLICY, config_tiers(m), bounds, margin=0.01)
    assert err.value.argument == "margin" and "no spend pays for itself" in str(err.value)


@pytest.mark.parametrize(
    "budget, margin, target, risk, argument, needle",
    [
        ("auto", -0.2, None, 0.0, "margin", "above 0 and at most 1"),
        ("auto", 0.0, None, 0.0, "margin", "above 0 and at most 1"),
        (1000.0, 1.5, None, 0.0, "margin", "not 1.5"),
        ("auto", math.nan, None, 0.0, "margin", "above 0"),
        ("auto", None, 0.0, 0.0, "target_mroas", "positive marginal ROAS"),
        ("auto", None, math.inf, 0.0, "target_mroas", "positive marginal ROAS"),
        ("auto", None, None, 0.0, "budget", "give one of them"),
        ("auto", 0.4, 2.0, 0.0, "target_mroas", "give one of them"),
        (1000.0, None, 2.0, 0.0, "target_mroas", "needs --budget auto"),
        ("auto", 0.4, None, 1.0, "risk", "fixed budget"),
    ],
)
def test_bad_arguments_name_what_to_fix(budget, margin, target, risk, argument, needle):
    with pytest.raises(ArgumentError, match=needle) as err:
        budget_mode(budget, margin, target, risk)
    assert err.value.argument == argument


def test_no_total_meets_the_tiers_within_the_bounds(four_channels):
    m = four_channels
    bounds = Bounds(np.array([0.0, 0.0, 5000.0, 0.0]), np.array([100.0, 100.0, 6000.0, 9000.0]), ["your bound"] * 4)
    with pytest.raises(Exception, match="no total budget lets every tier spend its share"):
        budget_range(m.channels, POLICY, config_tiers(m), bounds, WEEKS)


# --- JSON, table, chart and report -------------------------------------------------------------------


def test_fixed_budget_keeps_its_json_and_a_margin_adds_the_profit(four_channels):
    m = four_channels
    fit = fit_with_roas({c: (2.0, 1.0, 3.0) for c in m.channels})
    fixed = recommend_budget(m, fit, 60_000.0, WEEKS, bounds_overrides={c: (None, 1e6) for c in m.channels})
    raw = fixed.to_json()
    assert raw["budget_mode"] == "fixed" and not NEW_KEYS & set(raw)
    with_margin = recommend_budget(m, fit, 60_000.0, WEEKS, bounds_overrides={c: (None, 1e6) for c in m.channels}, margin=0.4)
    raw = with_margin.to_json()
    assert raw["budget_mode"] == "fixed" and raw["margin"] == 0.4 and "budget_curve" not in raw and "chosen_budget" not in raw
    assert raw["expected_profit"]["mean"] == pytest.approx(0.4 * raw["incremental_revenue"]["mean"] - 60_000.0)
    assert raw["allocation"] == fixed.to_json()["allocation"]
    assert "Expected profit (40% of the incremental revenue minus the spend): USD " in format_optimize_table(with_margin, "USD")


def test_auto_json_round_trips_and_the_table_says_why(by_profit, by_target):
    raw = by_profit.to_json()
    assert {"budget_mode", "chosen_budget", "margin", "expected_profit", "budget_curve", "allocation", "expected", "tiers"} <= set(raw)
    assert set(raw["budget_curve"]) >= {"budgets", "incremental", "profit", "marginal_roas", "current_budget", "recommended_budget"}
    assert sum(a["total"] for a in raw["allocation"].values()) == pytest.approx(raw["chosen_budget"], abs=0.005)
    back = OptimizationResult.from_json(json.loads(json.dumps(raw)))
    assert back.budget_curve == by_profit.budget_curve and back.expected_profit == by_profit.expected_profit
    assert back.to_json() == raw
    text = format_optimize_table(by_profit, "EUR")
    assert f"Total chosen: EUR {by_profit.budget:,.0f}, the profit-maximising budget at a 50% margin (marginal ROAS there 2.00" in text
    assert "Expected profit (50% of the incremental revenue minus the spend): EUR " in text
    assert "spend until the marginal ROAS falls to 1.20" in format_optimize_table(by_target, "EUR")


def test_chart_and_report_show_the_budget_curve(by_profit):
    png = budget_curve_chart(by_profit, outcome_for("revenue"), "EUR", "week")
    assert png.startswith(b"\x89PNG")
    summary = make_summary()
    report = build_report(summary, by_profit)
    assert "budget_curve.png" in report.images and 'data-name="budget_curve.png"' in report.html
    assert "the budget that maximises expected profit at a 50% margin" in report.html


# --- the command end to end: a synthetic model behind a real MLflow run --------------------------------


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    """An MLflow fit run whose model (loaded by `load_fit`) is a synthetic one, and `optimize --budget auto` on it."""
    from mmm.tracking import runs

    model = synthetic_model([3.0, 2.0, 1.5], tiers=["proven", "test", "experimental"], jitter=0.1)
    summary = fit_with_roas({c: (2.0, 1.0, 3.0) for c in model.channels}).model_copy(update={"review": Review.of([])})
    for root in isolated_workdir(tmp_path_factory, "budget_cli"):
        uri = store_uri(root / "store")
        with runs.fit_run(uri, None, "synthetic") as run:
            run_id = run.info.run_id
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(runs, "load_fit", lambda *_: (model, summary))
            common = ["optimize", "--run-id", run_id, "--tracking-uri", uri, "--weeks", WEEKS]
            result = invoke(*common, "--budget", "auto", "--margin", "0.5", "--output-json", root / "auto.json")
            assert result.exit_code == 0, result.output
            yield SimpleNamespace(uri=uri, common=common, output=result.output, raw=json.loads((root / "auto.json").read_text()))


def test_cli_budget_auto_writes_the_choice_and_logs_the_curve(cli):
    raw = cli.raw
    assert raw["budget_mode"] == "profit" and raw["margin"] == 0.5 and raw["budget"] == raw["chosen_budget"]
    assert set(raw["expected_profit"]) == {"mean", "low", "high"}
    assert "Total chosen: USD" in cli.output and "the profit-maximising budget at a 50% margin" in cli.output
    client = mlflow.MlflowClient(tracking_uri=cli.uri)
    run = client.get_run(raw["tracking_run_id"])
    assert run.data.params["margin"] == "0.5" and run.data.params["budget"] == "auto"
    assert run.info.run_name == f"optimize auto {raw['budget']:,.0f}"
    names = {a.path for a in client.list_artifacts(raw["tracking_run_id"])}
    assert {"budget_curve.png", "budget_curve.json", "optimize.json"} <= names
    logged = json.loads(Path(client.download_artifacts(raw["tracking_run_id"], "budget_curve.json")).read_text())
    assert logged["budgets"] == raw["budget_curve"]["budgets"] and logged["margin"] == 0.5


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--budget", "auto", "--margin=-0.2"], "--margin is the share of revenue left as profit before marketing"),
        (["--budget", "130000", "--margin", "1.5"], "above 0 and at most 1"),
        (["--budget", "auto"], "--budget auto chooses the total from a margin"),
        (["--budget", "auto", "--target-mroas", "50"], "highest marginal ROAS achievable"),
        (["--budget", "130000", "--target-mroas", "2"], "--target-mroas chooses the total, so it needs --budget auto"),
        (["--budget", "lots"], "neither an amount"),
    ],
)
def test_cli_bad_input_exits_2(cli, args, needle):
    before = len(all_runs(cli.uri))
    text = assert_clean_exit_2(invoke(*cli.common, *args))
    assert needle in text
    assert len(all_runs(cli.uri)) == before, "a failed command recorded a run"
