"""Which test to run next: value of information, test designs, geo-test analysis and simulated tests.

No MCMC: the value of information runs on synthetic posteriors (`synthetic_model`, known draws), the
commands on an MLflow run whose model is synthetic, and the geo analysis on simulated regions.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import mlflow
import numpy as np
import pandas as pd
import pytest
from helpers import assert_clean_exit_2, invoke, isolated_workdir, store_uri
from scipy.stats import norm
from test_optimizer import fit_with_roas, synthetic_model

from mmm.analysis.geo_test import analyze_geo_test
from mmm.config import load_config
from mmm.core.errors import MMMError
from mmm.core.review import Review
from mmm.data.lifts import read_lifts
from mmm.data.loading import load_data
from mmm.planning.bounds import channel_bounds
from mmm.planning.policy import tier_shares
from mmm.planning.test_design import DETECT, SCALE_UP_STEPS, Context, _scale_up, lift_se, power
from mmm.planning.voi import PlanProblem, perfect_information, predictive_outcomes, sample_information
from mmm.simulation.experiments import realise_design
from mmm.simulation.scenarios import L_MAX, SCENARIOS

BUDGET = 13 * 6000
DESIGN_KEYS = {
    "channel",
    "kind",
    "start",
    "end",
    "spend_change",
    "geo_share",
    "treated_geos",
    "expected_lift_se",
    "min_detectable_lift",
    "roas_interval_width_after",
    "value",
    "cost",
    "net_value",
    "net_value_served",
}


def problem_for(jitter: list[float], n_draws: int = 200) -> PlanProblem:
    """Three proven channels of equal ROAS whose posteriors differ only in width."""
    model = synthetic_model([2.0, 2.0, 2.0], jitter=jitter, n_draws=n_draws, levels=[2000.0, 2000.0, 2000.0], seed=3)
    shares, _ = tier_shares({"proven": 1.0}, model.config.tiers)
    return PlanProblem(model, 13 * 6000.0, 13, shares, model.config.tiers, channel_bounds(model), n_draws=n_draws)


@pytest.fixture(scope="module")
def problem() -> PlanProblem:
    return problem_for([0.0, 0.15, 0.5])


def test_information_about_a_known_roas_is_worth_nothing(problem):
    assert perfect_information(problem, 0) == 0.0
    lift = problem.response.revenue_draws(problem.now)[:, 0]  # the same in every draw: the ROAS is known
    assert sample_information(problem, 0, lift, se=100.0).value == 0.0


def test_a_wider_posterior_makes_information_worth_more(problem):
    narrow, wide = perfect_information(problem, 1), perfect_information(problem, 2)
    assert 0 < narrow < wide
    lift = problem.response.revenue_draws(problem.now)[:, 2]
    precise = sample_information(problem, 2, lift, se=0.05 * float(np.std(lift)))
    vague = sample_information(problem, 2, lift, se=5 * float(np.std(lift)))
    assert vague.value < precise.value <= 1.2 * wide  # a sharper test teaches more, never (much) more than knowing
    assert precise.roas_width_after < vague.roas_width_after


def test_a_scale_up_stays_within_the_spend_the_data_have_seen(problem):
    """Above the highest spend of one period in the data the curve is the prior's guess: a scale-up goes no higher."""
    u, typical = np.asarray(problem.current, float), np.full(len(problem.channels), 1000.0)
    assert problem.hi[0] - u[0] > 2000.0  # the weekly bound leaves room: the data's highest is what stops it
    found, why = _scale_up(Context(problem, 6, None, typical, u + 500.0), 0)
    assert why is None and [cand.weekly_change for cand in found] == [500.0]
    found, why = _scale_up(Context(problem, 6, None, typical, u + 1500.0), 0)
    assert [cand.weekly_change for cand in found] == [1000.0, 1500.0]
    found, why = _scale_up(Context(problem, 6, None, typical, u.copy()), 0)
    assert found == [] and why is not None and "already spends the most the data have seen in a period" in why


def test_a_channel_alone_in_its_tier_is_worth_no_test_and_the_plan_says_why():
    """The 70/20/10 shares fix the budget of a channel alone in its tier: knowing its return changes nothing, however wide."""
    from mmm.planning.test_design import plan_tests

    tiers = ["proven", "test", "experimental"]
    model = synthetic_model([2.0, 1.0, 2.0], tiers=tiers, levels=[3000.0, 1000.0, 500.0], jitter=0.6, n_draws=200, seed=3)
    plan = plan_tests(model, 13 * 4500.0, 13, min_power=0)
    assert not plan.designs and all(c.perfect_information == 0 for c in plan.channels.values())
    note = next(n for n in plan.notes if n.startswith("no test designed for"))
    assert "ch0, ch1, ch2 are each alone in their tier" in note and "--policy" in note


def test_test_outcomes_are_equal_probability_strata_of_what_it_may_measure():
    lift = np.random.default_rng(5).gamma(2.0, 500.0, size=300)  # skewed, as a channel's lift often is
    se = 400.0
    outcomes = predictive_outcomes(lift, se, 24)
    cdf = [float(np.mean(norm.cdf((y - lift) / se))) for y in outcomes]
    assert cdf == pytest.approx((np.arange(24) + 0.5) / 24, abs=1e-6)
    simulated = lift[np.random.default_rng(6).integers(0, 300, 200_000)] + se * np.random.default_rng(7).standard_normal(200_000)
    assert np.mean(outcomes) == pytest.approx(np.mean(simulated), rel=0.02)
    assert np.mean(outcomes > 2000) == pytest.approx(np.mean(simulated > 2000), abs=1 / 24)


def test_power_is_eighty_percent_at_the_minimum_detectable_lift():
    se = 1000.0
    assert power(np.full(50, DETECT * se), se) == pytest.approx(0.80, abs=1e-3)
    assert power(np.zeros(50), se) == pytest.approx(0.05, abs=1e-3)  # no lift: only the test's false alarms
    assert power(np.full(50, -DETECT * se), se) == pytest.approx(0.80, abs=1e-3)  # a fall is detected as well as a rise
    assert power(np.linspace(0, 2 * DETECT * se, 50), se) < power(np.full(50, 2 * DETECT * se), se)


def test_stated_standard_error_matches_the_spread_of_simulated_tests():
    """A holdout realised from the truth under many noise draws: measured minus true lift spreads as stated."""
    sc = SCENARIOS["small_business"]
    design = {"channel": "search", "kind": "holdout", "start": "2024-12-30", "end": "2025-02-03", "spend_change": -60000.0}
    weeks = 6
    errors = []
    for seed in range(1, 161):
        _, row, _ = realise_design("small_business", design, seed=seed)
        errors.append(row["lift"] - row["true_lift"])
        stated = row["lift_se"]
    assert stated == pytest.approx(lift_se(sc.noise * sc.baseline, weeks, L_MAX), rel=1e-6)
    assert np.std(errors, ddof=1) == pytest.approx(stated, rel=0.15)
    assert abs(np.mean(errors)) < 3 * stated / np.sqrt(len(errors))


def test_a_realised_holdout_withholds_the_designs_spend_and_its_row_is_the_design():
    """A design's spend_change drops into the lift-test file as written: the holdout's row withholds what it planned."""
    design = {"channel": "search", "kind": "holdout", "start": "2024-12-30", "end": "2025-02-03", "spend_change": -45000.0}
    data, row, _ = realise_design("small_business", design)
    assert row["spend_change"] == pytest.approx(design["spend_change"], abs=0.1) and row["true_lift"] < 0
    weeks = data["date"].between(design["start"], design["end"])
    assert weeks.sum() == 6 and (data.loc[weeks, "search_spend"] == 0).all()


def test_realised_test_extends_the_data_through_its_carry_over():
    design = {"channel": "social", "kind": "scale_up", "start": "2024-12-30", "end": "2025-01-27", "spend_change": 20000.0}
    data, row, truth = realise_design("small_business", design)
    assert len(data) == 104 + 5 + L_MAX - 1 and data["date"].iloc[104] == "2024-12-30"
    # the row states the test as it ran, like the design: the spend added and the revenue it brought
    assert row["spend_change"] == pytest.approx(20000.0, abs=0.1) and row["true_lift"] > 0 and row["geo_share"] == 1.0
    assert truth["test"]["result"] == row


# --- analysing a finished geo test ------------------------------------------------------------------


def geo_panel(lift_per_week: float, seed: int = 0, weeks: int = 60, start: int = 48, length: int = 6) -> pd.DataFrame:
    """10 regions of different sizes sharing a seasonal pattern; regions r0-r2 get `lift_per_week` more during the test."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=weeks, freq="7D")
    season = 1 + 0.1 * np.sin(2 * np.pi * np.arange(weeks) / 52)
    rows = []
    for g in range(10):
        size = 10_000 * (1 + g % 4)
        for t, d in enumerate(dates):
            test = g < 3 and start <= t < start + length
            kpi = size * season[t] + rng.normal(0, 300) + (lift_per_week if test else 0.0)
            spend = 1000.0 + (500.0 if test else 0.0)
            rows.append({"date": d.strftime("%Y-%m-%d"), "geo": f"r{g}", "revenue": round(kpi, 2), "social_spend": spend})
    return pd.DataFrame(rows)


def test_analysis_recovers_a_known_lift(tmp_path):
    lifts, ses = [], []
    for seed in range(30):
        path = tmp_path / f"geo{seed}.csv"
        geo_panel(2000.0, seed).to_csv(path, index=False)
        r = analyze_geo_test(path, "social", ["r0", "r1", "r2"], "2024-12-02", "2025-01-06", spend_column="social_spend", cooldown=0)
        lifts.append(r.lift)
        ses.append(r.lift_se)
    assert r.spend_change == pytest.approx(3 * 500 * 6) and r.measured_periods == 6 and r.pre_periods == 48
    assert r.geo_share == pytest.approx(1 / 3 + 2 * 0, abs=0.15)
    assert np.mean(lifts) == pytest.approx(3 * 2000 * 6, abs=3 * np.mean(ses) / np.sqrt(30))
    assert np.std(lifts) == pytest.approx(np.mean(ses), rel=0.35)  # the stated error is the spread


def test_analyze_test_writes_a_lift_row(tmp_path):
    path = tmp_path / "geo.csv"
    geo_panel(2000.0).to_csv(path, index=False)
    out = tmp_path / "lift.csv"
    args = ["analyze-test", path, "--channel", "social", "--treated", "r0,r1,r2", "--start", "2024-12-02", "--end", "2025-01-06"]
    result = invoke(*args, "--spend-column", "social_spend", "--output-csv", out, "--output-json", tmp_path / "r.json")
    assert result.exit_code == 0, result.output
    assert "difference-in-differences" in result.output
    row = pd.read_csv(out)
    # a row of a model by region: the treated regions, each whole
    assert list(row.columns) == ["channel", "start", "end", "spend_change", "lift", "lift_se", "geo_share", "geo"]
    assert row["channel"][0] == "social" and row["lift_se"][0] > 0 and (row["geo"][0], row["geo_share"][0]) == ("r0|r1|r2", 1.0)
    # the row states the scale-up as it ran, as the table and the JSON do: the spend added, the lift it brought
    measured = json.loads((tmp_path / "r.json").read_text())
    assert (row["spend_change"][0], row["lift"][0]) == pytest.approx((measured["spend_change"], measured["lift"]), abs=0.01)
    assert row["spend_change"][0] > 0 and row["lift"][0] > 0
    assert json.loads((tmp_path / "r.json").read_text())["method"].startswith("difference-in-differences")


@pytest.mark.parametrize(
    "extra, needle",
    [
        (["--treated", "r0,nowhere"], "no region named nowhere"),
        (["--treated", "r0", "--start", "2024-01-01", "--end", "2024-02-05"], "before the test starts"),
        (["--treated", "r0", "--start", "2025-03-03", "--end", "2025-04-07"], "runs past the data"),
        (["--treated", "r0", "--control", "r0,r1"], "both treated and control"),
    ],
)
def test_analyze_test_bad_input_exits_2(tmp_path, extra, needle):
    path = tmp_path / "geo.csv"
    geo_panel(2000.0).to_csv(path, index=False)
    base = {"--treated": "r0", "--start": "2024-12-02", "--end": "2025-01-06"}
    for flag, value in zip(extra[::2], extra[1::2]):
        base[flag] = value
    args = [x for kv in base.items() for x in kv]
    assert needle in assert_clean_exit_2(invoke("analyze-test", path, "--channel", "social", "--spend-change", "9000", *args))


def test_geo_file_with_missing_column_names_it(tmp_path):
    path = tmp_path / "geo.csv"
    geo_panel(0.0).drop(columns="revenue").to_csv(path, index=False)
    text = assert_clean_exit_2(
        invoke("analyze-test", path, "--channel", "social", "--treated", "r0", "--start", "2024-12-02", "--end", "2025-01-06")
    )
    assert "'revenue'" in text and str(path) in text


# --- the commands on a synthetic model behind a real MLflow run ---------------------------------------


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    from mmm.tracking import runs

    model = synthetic_model([3.0, 2.0, 1.5, 1.2], tiers=["proven", "proven", "test", "test"], jitter=[0.1, 0.3, 0.4, 0.6], n_draws=120)
    summary = fit_with_roas({c: (2.0, 1.0, 3.0) for c in model.channels}).model_copy(update={"review": Review.of([])})
    for root in isolated_workdir(tmp_path_factory, "experiments_cli"):
        uri = store_uri(root / "store")
        with runs.fit_run(uri, None, "synthetic") as run:
            run_id = run.info.run_id
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(runs, "load_fit", lambda *_: (model, summary))
            common = ["plan-test", "--run-id", run_id, "--tracking-uri", uri]
            out = root / "designs.json"
            result = invoke(*common, "--budget", BUDGET, "--weeks", 13, "--output-json", out)
            assert result.exit_code == 0, result.output
            yield SimpleNamespace(root=root, common=common, model=model, output=result.output, raw=json.loads(out.read_text()), design=out)


def test_plan_test_json_contract(cli):
    designs = cli.raw["designs"]
    assert designs, cli.output
    assert all(set(d) == DESIGN_KEYS for d in designs)
    assert [d["value"] for d in designs] == sorted((d["value"] for d in designs), reverse=True)
    last = cli.model.observed.dates[-1]
    assert all(pd.Timestamp(d["start"]) > last and d["kind"] in ("holdout", "scale_up") and d["treated_geos"] is None for d in designs)
    assert all(d["min_detectable_lift"] > d["expected_lift_se"] > 0 and d["geo_share"] == 1.0 for d in designs)
    holdouts = [d for d in designs if d["kind"] == "holdout"]
    assert all(d["spend_change"] < 0 for d in holdouts)
    typical, high = np.asarray(cli.model.scales.spend, float), channel_bounds(cli.model).high
    seen = cli.model.observed.spend_matrix().max(axis=0)  # a scale-up stays within the spend the data have seen
    for d in designs:
        econ = cli.raw["channels"][d["channel"]]["tests"][d["kind"]]
        assert 0.05 <= econ["power"] <= 1
        # ranked by what the plan gains; what the test costs this quarter is beside it
        assert d["value"] >= 0 and d["value"] == pytest.approx(econ["sample_information"]) and d["cost"] == pytest.approx(econ["cost"])
        assert d["net_value"] == pytest.approx(d["value"] - d["cost"])
        # a result serves a year of weekly plans, four quarters like this one
        assert cli.raw["information_weeks"] == 52 and d["net_value_served"] == pytest.approx(4 * d["value"] - d["cost"])
        if d["kind"] == "scale_up":  # one of the sizes tried: 1, 2 or 3 typical weeks' spend, at most to the bound and the data's highest
            c = cli.model.channels.index(d["channel"])
            room = min(high[c], seen[c]) - econ["weekly_spend_without_test"]
            sizes = [min(k * typical[c], room) for k in SCALE_UP_STEPS]
            extra = econ["weekly_spend_during_test"] - econ["weekly_spend_without_test"]
            assert min(abs(extra - s) for s in sizes) < 0.01
            assert econ["weekly_spend_during_test"] <= seen[c] + 0.01
    assert "chance it detects this one" in cli.output
    assert set(cli.raw["channels"]) == set(cli.model.channels)
    assert "national data (one market): time-based designs only" in cli.output
    assert "Test designs, best first" in cli.output


def test_plan_test_is_logged_with_its_best_design(cli):
    run = mlflow.MlflowClient(tracking_uri=cli.common[-1]).get_run(cli.raw["tracking_run_id"])
    best = cli.raw["designs"][0]
    assert run.data.metrics["best_test_value"] == pytest.approx(best["value"])
    assert run.data.metrics["best_test_net_value"] == pytest.approx(best["net_value"])
    assert run.data.metrics["best_test_power"] == pytest.approx(cli.raw["channels"][best["channel"]]["tests"][best["kind"]]["power"])
    assert run.data.params["min_power"] == "0.5" and run.data.params["information_weeks"] == "52"
    assert run.data.metrics["best_test_net_value_served"] == pytest.approx(best["net_value_served"])


def test_within_tiers_keeps_tests_in_the_test_budget(cli):
    out = cli.root / "within.json"
    result = invoke(*cli.common, "--budget", BUDGET, "--within-tiers", "--output-json", out)
    assert result.exit_code == 0, result.output
    cap = 0.2 / 0.9 * BUDGET  # no experimental channel: the test tier's share of the 70/20/10 split
    assert all(abs(d["spend_change"]) <= cap + 0.01 for d in json.loads(out.read_text())["designs"])


def test_auto_test_weeks_runs_each_design_as_long_as_pays_most(cli):
    out = cli.root / "auto.json"
    result = invoke(*cli.common, "--budget", BUDGET, "--weeks", 13, "--test-weeks", "auto", "--output-json", out)
    assert result.exit_code == 0, result.output
    auto = json.loads(out.read_text())
    assert auto["test_weeks_auto"] is True and "each test as long as pays most" in result.output
    fixed = {(d["channel"], d["kind"]): d["net_value_served"] for d in cli.raw["designs"]}
    for d in auto["designs"]:
        weeks = auto["channels"][d["channel"]]["tests"][d["kind"]]["weeks"]
        assert weeks in (4, 6, 8, 10, 13)
        assert (pd.Timestamp(d["end"]) - pd.Timestamp(d["start"])).days == 7 * (weeks - 1)
        assert d["net_value_served"] >= fixed[(d["channel"], d["kind"])] - 1e-6  # 6 weeks was one of the lengths tried
    assert auto["test_weeks"] == auto["channels"][auto["designs"][0]["channel"]]["tests"][auto["designs"][0]["kind"]]["weeks"]


def test_a_result_that_serves_longer_buys_more_information(cli):
    """Valued over one quarter, a design is the length and size that pays most this quarter; valued over
    more plans, the one chosen teaches at least as much, as its cost is paid once."""
    args = (*cli.common, "--budget", BUDGET, "--weeks", 13, "--test-weeks", "auto", "--min-power", 0)
    chosen, said = {}, {}
    for served in ("13", "520"):
        out = cli.root / f"served-{served}.json"
        result = invoke(*args, "--information-weeks", served, "--output-json", out)
        assert result.exit_code == 0, result.output
        designs = json.loads(out.read_text())["designs"]
        chosen[served] = {(d["channel"], d["kind"]): d for d in designs}
        said[served] = result.output
        assert designs[0]["net_value"] < 0  # so a note says what the first test pays over the plans it serves
    first = next(iter(chosen["520"].values()))
    assert f"over the 520 periods of plans its result serves it comes to {first['net_value_served']:+,.0f} net" in said["520"]
    assert "what it teaches may also serve later plans" in said["13"]
    assert chosen["13"].keys() == chosen["520"].keys()
    for key, quarter in chosen["13"].items():
        assert quarter["net_value_served"] == pytest.approx(quarter["net_value"])
        assert chosen["520"][key]["value"] >= quarter["value"] - 1e-6
        assert chosen["520"][key]["net_value"] <= quarter["net_value"] + 1e-6  # the best this quarter was on offer
    assert any(chosen["520"][k]["value"] > q["value"] + 1e-6 for k, q in chosen["13"].items()), "ten years should buy a bigger test"
    assert "over the 520 weeks of plans its result serves" in result.output


def test_designs_that_would_likely_miss_their_lift_are_not_proposed(cli):
    out = cli.root / "all.json"
    assert invoke(*cli.common, "--budget", BUDGET, "--min-power", 0, "--output-json", out).exit_code == 0
    loose = json.loads(out.read_text())
    power = {(d["channel"], d["kind"]): loose["channels"][d["channel"]]["tests"][d["kind"]]["power"] for d in loose["designs"]}
    cut = float(np.median(list(power.values())))
    result = invoke(*cli.common, "--budget", BUDGET, "--min-power", cut, "--output-json", out)
    assert result.exit_code == 0, result.output
    strict = json.loads(out.read_text())
    assert strict["min_power"] == cut and loose["min_power"] == 0
    for d in strict["designs"]:
        assert strict["channels"][d["channel"]]["tests"][d["kind"]]["power"] >= cut
    dropped = [k for k, p in power.items() if p < cut and k not in {(d["channel"], d["kind"]) for d in strict["designs"]}]
    assert dropped, "the cut should leave out a design"
    assert all(f"{c}: no {k} design detects the lift the model expects with {cut:.0%} chance" in result.output for c, k in dropped)


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--budget", "78000", "--test-weeks", "six"], "'six' is neither a whole number of periods"),
        (["--budget", "78000", "--weeks", "1", "--test-weeks", "auto"], "--test-weeks auto does not fit"),
        (["--budget", "78000", "--channels", "ch0,tv"], "--channels names tv, which this model does not have"),
        (["--budget", "78000", "--weeks", "0"], "--weeks must be at least 1"),
        (["--budget", "78000", "--weeks", "4", "--test-weeks", "6"], "--test-weeks 6 does not fit"),
        (["--budget", "-5"], "--budget must be a positive amount"),
        (["--budget", "78000", "--min-power", "1.5"], "--min-power must be a chance from 0 to below 1"),
        (["--budget", "78000", "--information-weeks", "8"], "--information-weeks 8 is shorter than the plan it serves (--weeks 13)"),
    ],
)
def test_plan_test_bad_input_exits_2(cli, args, needle):
    assert needle in assert_clean_exit_2(invoke(*cli.common, *args))


def test_simulate_runs_a_design_after_the_data(cli, tmp_path):
    result = invoke("simulate", "--scenario", "small_business", "--out", tmp_path / "sim", "--test-design", cli.design)
    design = cli.raw["designs"][0]
    # the synthetic model's channels are not the scenario's: the command says so
    text = assert_clean_exit_2(result)
    assert f"'{design['channel']}'" in text
    good = tmp_path / "design.json"
    good.write_text(json.dumps({"designs": [{**design, "channel": "search", "start": "2025-01-06", "end": "2025-02-10"}]}))
    result = invoke("simulate", "--scenario", "small_business", "--out", tmp_path / "sim", "--test-design", good)
    assert result.exit_code == 0, result.output
    lifts = pd.read_csv(tmp_path / "sim" / "lifts.csv")
    assert lifts["channel"].tolist() == ["search"] and lifts["start"][0] == "2025-01-06"
    assert len(pd.read_csv(tmp_path / "sim" / "data.csv")) > 104
    # the design's spend_change drops into the lift-test file as written, and the extended data hold the test
    assert lifts["spend_change"][0] == pytest.approx(design["spend_change"], abs=1.0)
    (row,) = read_lifts(tmp_path / "sim" / "lifts.csv", load_data(load_config(tmp_path / "sim" / "config.yaml")))
    assert np.sign(row.lift) == np.sign(row.spend_change)
    early = tmp_path / "early.json"
    early.write_text(json.dumps({**design, "channel": "search", "start": "2024-06-03", "end": "2024-07-01"}))
    assert "a test runs after the data" in assert_clean_exit_2(
        invoke("simulate", "--scenario", "small_business", "--out", tmp_path / "x", "--test-design", early)
    )


def test_realise_refuses_an_unknown_scenario():
    with pytest.raises(MMMError, match="unknown scenario"):
        realise_design("nowhere", {"channel": "a", "kind": "holdout", "start": "2030-01-01", "end": "2030-02-01", "spend_change": -1})


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"spend_change": 60000.0}, "key 'spend_change': a holdout design's change is negative (the spend it withholds)"),
        ({"kind": "scale_up", "spend_change": -5000.0}, "key 'spend_change': a scale_up design's change is positive"),
        ({"spend_change": 0}, "key 'spend_change'"),
        ({"channel": ["search"]}, "key 'channel': ['search'] is not a channel name"),
        ({"treated_geos": "north"}, "key 'treated_geos': 'north' is not a list of region names"),
        ({"channel": "foo"}, "key 'channel': the design tests 'foo'"),
        ({"start": "2024-12-31"}, "key 'start': 2024-12-31 is not a period of the data, whose weeks start on Mondays"),
    ],
)
def test_simulate_refuses_a_design_it_cannot_run_naming_file_and_key(tmp_path, change, needle):
    design = {"channel": "search", "kind": "holdout", "start": "2024-12-30", "end": "2025-02-03", "spend_change": -60000.0} | change
    path = tmp_path / "design.json"
    path.write_text(json.dumps(design))
    text = assert_clean_exit_2(invoke("simulate", "--scenario", "small_business", "--out", tmp_path / "sim", "--test-design", path))
    assert f"{path}, {needle}" in " ".join(text.split())
    assert not (tmp_path / "sim").exists()


def test_plan_test_speaks_a_conversions_kpi_in_conversions(cli):
    """A count KPI is not currency: the table gives returns per 1,000 spent and amounts as counts, never 'USD' before them."""
    from mmm.planning.test_results import TestPlan
    from mmm.report.experiment_tables import format_test_plan

    assert cli.raw["outcome"] == "revenue" and "ROAS now" in cli.output
    counts = format_test_plan(TestPlan.model_validate({**cli.raw, "outcome": "conversions"}), "USD")
    assert "conversions per USD 1,000 now (90% interval)" in counts and "expected conversions" in counts
    assert "ROAS" not in counts and "the plan gains USD" not in counts and "conversions from what it teaches" in counts


def test_plan_test_speaks_the_datas_period(cli):
    """Daily data plan in days: no 'weeks' in a plan of days."""
    from mmm.planning.test_results import TestPlan
    from mmm.report.experiment_tables import format_test_plan

    assert cli.raw["period"] == "week" and "over 13 weeks" in cli.output
    days = format_test_plan(TestPlan.model_validate({**cli.raw, "period": "day"}), "USD")
    assert "over 13 days" in days and "per day" in days and "day-to-day noise" in days
    assert "week" not in days.replace("weekly", "")
