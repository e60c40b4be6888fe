"""Does the test `mmm plan-test` picks sharpen the model and the plan? (issue: which test to run next)

Per scenario and seed: fit the model on the simulated data, plan a quarter's tests (`plan_tests`,
budget = the last 13 weeks' actual spend), run the best design on the TRUE model after the data
(`realise_design`: the weeks after the data with the test applied and realistic noise), fit again on
the extended data calibrated with the measured lift, and re-optimise the quarter. Prints, before and
after, the ROAS error (absolute percentage) and 90% coverage of the tested channel and of all
channels (after the test still over the original weeks, those the truth's ROAS is stated over), and
the true regret of the quarter plan: (true revenue of the true optimum - true revenue of the plan) /
true revenue of the true optimum, under the same tiers, shares and bounds (the true
optimum from `bench_decision`'s exact KKT solver, starting from the data each plan follows).
Targets: the tested channel's ROAS error and the plan's true regret at least halved, coverage >= 80%.
When `plan-test` proposes no design (none detects the lift the model expects often enough), no test
runs: that run's model and plan stay as they were (its regret and coverage count unchanged).
A geo scenario (`--scenarios geo`, or geo_GxWxC) runs the best geo design (treated regions against the
others, measured by difference-in-differences) and reports errors and coverage; its regret is not
computed (the true optimum solver is national).

Usage: scripts/bench_experiments [--scenarios small_business,hard] [--seeds 3] [--test-weeks auto|N] [--min-power P] [--information-weeks N] [--draws 500 --tune 500 --chains 4] [--json PATH]
"""

from __future__ import annotations

import argparse
import copy
import json
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
from bench_decision import TrueResponse, carried_over, equalise_marginal_roas
from bench_recovery import score

from mmm.config import load_config, parse_policy, with_overrides
from mmm.data.lifts import read_lifts
from mmm.data.loading import load_data
from mmm.model.estimator import MarketingMixModel
from mmm.planning.bounds import channel_bounds
from mmm.planning.optimizer import optimize_budget
from mmm.planning.policy import tier_shares
from mmm.planning.test_design import MIN_POWER, plan_tests
from mmm.simulation.experiments import write_realised
from mmm.simulation.geo_scenarios import is_geo_scenario, write_geo_scenario
from mmm.simulation.scenarios import write_scenario

warnings.filterwarnings("ignore")
WEEKS = 13


def true_regret(model: MarketingMixModel, truth: dict, original_spend: np.ndarray, budget: float) -> float:
    """True regret of the model's optimised quarter, starting after the model's data (carry-in from its last weeks)."""
    channels = model.channels
    resp = TrueResponse(truth, channels, original_spend, WEEKS)  # coefficients from the original data, as simulated
    spend = model.observed.spend_matrix()
    tail = resp.l_max - 1
    resp.carry_in = carried_over(np.zeros((WEEKS + tail, len(channels))), resp.alpha, resp.l_max, spend[-tail:] / resp.typical)
    resp.base = resp.saturate(resp.carry_in)
    tiers = model.config.tiers
    shares, _ = tier_shares(parse_policy("70/20/10"), tiers)
    bounds = channel_bounds(model)
    result = optimize_budget(model, budget, WEEKS, shares, tiers, bounds)
    ours = np.array([result.allocation[c].weekly for c in channels])
    groups = [np.array([i for i, c in enumerate(channels) if tiers[c] == t]) for t in shares]
    best = equalise_marginal_roas(resp, groups, [shares[t] * budget / WEEKS for t in shares], bounds.low, bounds.high)
    return (resp.total(best) - resp.total(ours)) / resp.total(best)


def over_first(model: MarketingMixModel, periods: int) -> MarketingMixModel:
    """The fitted model read over its first `periods` periods, the weeks the truth's ROAS is stated over: after a
    test the data run on, and a scale-up's weeks of high spend (saturated) would lower its ROAS over all of them."""
    view = copy.copy(model)
    view.n_train = periods
    return view


def run(
    scenario: str,
    seed: int,
    sampler: dict,
    workdir: Path,
    test_weeks: int | Literal["auto"] = 6,
    min_power: float = MIN_POWER,
    information_weeks: int | None = None,
) -> dict:
    folder = workdir / f"{scenario}-{seed}"
    geo = is_geo_scenario(scenario)
    paths = (write_geo_scenario if geo else write_scenario)(scenario, folder / "before", seed=seed or None)
    truth = json.loads(paths["truth"].read_text())
    true_roas = {k: v["roas"] for k, v in truth["channels"].items()}
    cfg = with_overrides(load_config(paths["config"]), {f"sampler.{k}": v for k, v in sampler.items()})
    data = load_data(cfg)
    before = MarketingMixModel(cfg).fit(data)
    budget = float(round(float(data.tail(WEEKS).spend.sum()), 2))
    plan = plan_tests(before, budget, WEEKS, test_weeks, min_power=min_power, information_weeks=information_weeks)
    designs = [d for d in plan.designs if d.kind == "geo" or not geo]  # a geo world runs geo tests
    s_before = score(before, true_roas)
    spend = None if geo else data.spend_matrix()
    if not designs:
        regret = None if geo else true_regret(before, truth, spend, budget)
        return {
            "scenario": scenario,
            "seed": seed,
            "design": None,
            "notes": plan.notes,
            "all_error": {"before": s_before["roas_mape"], "after": s_before["roas_mape"]},
            "coverage": {"before": s_before["coverage"], "after": s_before["coverage"]},
            "regret": None if regret is None else {"before": regret, "after": regret},
        }
    design = designs[0]
    design_path = folder / "design.json"
    design_path.write_text(json.dumps(design.to_json()))
    realised = write_realised(scenario, folder / "after", design_path, seed=seed or None)
    cfg_after = with_overrides(load_config(realised["config"]), {f"sampler.{k}": v for k, v in sampler.items()})
    data_after = load_data(cfg_after)
    after = MarketingMixModel(cfg_after).fit(data_after, lifts=read_lifts(realised["lifts"], data_after))
    s_after = score(over_first(after, data.n_periods), true_roas)
    tested = design.channel
    economics = plan.channels[design.channel].tests[design.kind]
    return {
        "scenario": scenario,
        "seed": seed,
        "design": design.to_json(),
        "plan_test_seconds": plan.seconds,
        "test_weeks": economics.weeks,
        "power": economics.power,
        "lift_row": json.loads(realised["truth"].read_text())["test"]["result"],
        "tested": tested,
        "tested_error": {"before": s_before["channels"][tested]["ape"], "after": s_after["channels"][tested]["ape"]},
        "tested_covered": {"before": s_before["channels"][tested]["covered"], "after": s_after["channels"][tested]["covered"]},
        "all_error": {"before": s_before["roas_mape"], "after": s_after["roas_mape"]},
        "coverage": {"before": s_before["coverage"], "after": s_after["coverage"]},
        "regret": None if geo else {"before": true_regret(before, truth, spend, budget), "after": true_regret(after, truth, spend, budget)},
        "converged": {"before": before.diagnostics.converged, "after": after.diagnostics.converged},
        "channels": {"before": s_before["channels"], "after": s_after["channels"]},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenarios", default="small_business,hard")
    ap.add_argument("--seeds", type=int, default=3, help="simulation seeds 1..N (1 with --seeds 1 means the scenario's own seed)")
    ap.add_argument("--draws", type=int, default=None)
    ap.add_argument("--tune", type=int, default=None)
    ap.add_argument("--chains", type=int, default=None)
    ap.add_argument("--test-weeks", default="auto", help="periods each test runs, or auto (default: each design as long as pays most)")
    ap.add_argument("--min-power", type=float, default=MIN_POWER, help=f"as plan-test's --min-power (default {MIN_POWER})")
    ap.add_argument("--information-weeks", type=int, default=None, help="as plan-test's --information-weeks (default: a year)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    sampler = {k: v for k, v in {"draws": args.draws, "tune": args.tune, "chains": args.chains}.items() if v is not None}
    seeds = [0] if args.seeds <= 1 else list(range(1, args.seeds + 1))
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for scenario in args.scenarios.split(","):
            for seed in seeds:
                test_weeks: int | Literal["auto"] = "auto" if args.test_weeks == "auto" else int(args.test_weeks)
                r = run(scenario, seed, sampler, Path(tmp), test_weeks, args.min_power, args.information_weeks)
                results.append(r)
                print(f"\n{scenario}, seed {seed or 'default'}:")
                if r["design"] is None:
                    print("  no design proposed, the plan stays: " + "; ".join(r["notes"]))
                    continue
                d = r["design"]
                print(
                    f"  best design: {d['channel']} {d['kind']} {d['start']} to {d['end']} ({r['test_weeks']} weeks), spend change {d['spend_change']:+,.0f}, "
                    f"value {d['value']:,.0f} (net {d['net_value']:+,.0f}), stated se {d['expected_lift_se']:,.0f}, power {r['power']:.0%}; "
                    f"measured lift {r['lift_row']['lift']:+,.0f} (true {r['lift_row']['true_lift']:+,.0f})"
                )
                pct = lambda x: f"{100 * x:.1f}%"  # noqa: E731
                print(
                    f"  tested channel's ROAS error: {pct(r['tested_error']['before'])} -> {pct(r['tested_error']['after'])}"
                    f" (covered: {r['tested_covered']['before']} -> {r['tested_covered']['after']})"
                )
                print(f"  all channels' ROAS error:    {pct(r['all_error']['before'])} -> {pct(r['all_error']['after'])}")
                print(f"  90% coverage, all channels:  {pct(r['coverage']['before'])} -> {pct(r['coverage']['after'])}")
                if r["regret"] is not None:
                    print(f"  true regret of the quarter:  {pct(r['regret']['before'])} -> {pct(r['regret']['after'])}", flush=True)
    done = [r for r in results if r["design"] is not None]  # the tested channel's figures; regret and coverage count every run
    if done:
        national = [r for r in results if r["regret"] is not None]

        def change(stat: Callable[..., Any], key: str, runs: list[dict], digits: int) -> str:
            """'before% -> after%' of `stat` (np.mean, np.median) of a before/after figure over `runs`."""
            return " -> ".join(f"{100 * float(stat([r[key][when] for r in runs])):.{digits}f}%" for when in ("before", "after"))

        def regret(stat: Callable[..., Any]) -> str:
            return f", regret {change(stat, 'regret', national, 2)}" if national else ""  # geo runs have none

        print(
            f"\nOver {len(results)} runs ({len(done)} ran a test): tested ROAS error {change(np.mean, 'tested_error', done, 1)}"
            f"{regret(np.mean)}, coverage {change(np.mean, 'coverage', results, 0)}"
        )
        print(f"Medians: tested ROAS error {change(np.median, 'tested_error', done, 1)}{regret(np.median)}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=float))


if __name__ == "__main__":
    main()
