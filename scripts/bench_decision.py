"""Does the optimiser make good decisions? Scored against the TRUE response of simulated data.

Simulates a scenario with known truth, fits the model with the default sampler settings,
optimises a quarter (13 weeks) under the 70/20/10 rule with the budget set to the last 13
weeks' actual spend and the default bounds, then scores three plans with the true response
(geometric adstock + Hill curve of the simulator, carry-in from the last l_max - 1 weeks of
history and carry-over after the quarter):

  - our plan (optimised on the fitted posterior),
  - the true optimum under the same tiers, shares and bounds (solved exactly on the true
    curves by equalising marginal ROAS within each tier, and cross-checked with the same
    optimiser machinery run on a one-draw "posterior" holding the true parameters),
  - the current plan (the last 13 weeks' mix scaled to the budget).

Prints the true revenue of each, the gap to the true optimum (target: within 1%), the share of
the achievable uplift (optimum - current) our plan captures (target: at least 80%) and the
optimiser's wall seconds (target: under 10 s for 6 channels).

With --budget-auto --margin M it chooses the total too, as `mmm optimize --budget auto --margin M`
(the profit-maximising budget on the fitted posterior), and scores it against the true optimum
over both the total and its split (exact KKT split at every total, the total by a grid and then
bounded Brent on the true profit): profit = M x true incremental revenue - spend. It prints the
profit regret, (true profit at the true optimum - true profit of our total and split) / true profit
at the true optimum (target: under 5%).

Usage: scripts/bench_decision [--scenario small_business] [--seed N] [--json PATH]
       [--weeks 13] [--policy 70/20/10] [--risk K] [--draws N --tune N --chains N]
       [--budget-auto --margin M]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from pathlib import Path
from typing import NamedTuple

import arviz as az
import numpy as np
from scipy.optimize import minimize_scalar

from mmm.config import load_config, parse_policy, with_overrides
from mmm.data.loading import load_data
from mmm.model.estimator import MarketingMixModel
from mmm.model.features import Scaling
from mmm.planning.bounds import Bounds, channel_bounds
from mmm.planning.budget import budget_range, choose_budget
from mmm.planning.forecast import current_plan
from mmm.planning.optimizer import optimize_budget
from mmm.planning.policy import tier_shares
from mmm.planning.response import ConstantPlanResponse
from mmm.simulation.scenarios import SCENARIOS, write_scenario

warnings.filterwarnings("ignore")

TARGET_GAP = 0.01
TARGET_CAPTURE = 0.80
TARGET_SECONDS = 10.0
TARGET_REGRET = 0.05


# --- the true response, written from the simulator's definition (independent of mmm.planning) ----


def carried_over(spend: np.ndarray, alpha: np.ndarray, l_max: int, history: np.ndarray | None = None) -> np.ndarray:
    """Geometric adstock with weights alpha**lag / sum over l_max lags; `history` precedes `spend`."""
    weights = alpha[None, :] ** np.arange(l_max)[:, None]
    weights = weights / weights.sum(axis=0)
    pre = np.zeros((l_max - 1, spend.shape[1])) if history is None else history[-(l_max - 1) :]
    full = np.vstack([pre, spend])
    out = np.zeros_like(spend, dtype=float)
    for lag in range(l_max):
        out += weights[lag] * full[l_max - 1 - lag : l_max - 1 - lag + len(spend)]
    return out


class TrueResponse:
    """Incremental revenue of spending `weekly` per period for `periods` periods, under the truth.

    The simulator's weekly contribution is coef * x / (x + K) with x the adstocked spend in
    units of the channel's typical spend, and coef set so that contribution over the data =
    ROAS x spend. A plan's incremental revenue is the contribution with the plan minus the
    contribution without it (the carry-in from history alone), over the plan's periods and
    the l_max - 1 periods after it.
    """

    def __init__(self, truth: dict, channels: list[str], spend: np.ndarray, periods: int):
        tc = [truth["channels"][c] for c in channels]
        self.l_max = int(truth["l_max"])
        self.alpha = np.array([t["adstock_alpha"] for t in tc])
        self.half = np.array([t["half_saturation"] for t in tc])
        self.typical = np.array([t["typical_spend"] for t in tc])
        roas = np.array([t["roas"] for t in tc])
        in_sample = self.saturate(carried_over(spend / self.typical, self.alpha, self.l_max))
        self.coef = roas * spend.sum(axis=0) / in_sample.sum(axis=0)
        self.in_sample = self.coef * in_sample  # (week, channel) true contributions over the data
        tail = self.l_max - 1
        zeros = np.zeros((periods + tail, len(channels)))
        ones = zeros.copy()
        ones[:periods] = 1.0 / self.typical
        self.carry_in = carried_over(zeros, self.alpha, self.l_max, spend[-tail:] / self.typical if tail else None)
        self.exposure = carried_over(ones, self.alpha, self.l_max)
        self.base = self.saturate(self.carry_in)

    def saturate(self, x: np.ndarray) -> np.ndarray:
        return x / (x + self.half)

    def revenue(self, weekly: np.ndarray) -> np.ndarray:
        """(channel,) true incremental revenue, currency."""
        x = self.carry_in + np.asarray(weekly, dtype=float) * self.exposure
        return self.coef * (self.saturate(x) - self.base).sum(axis=0)

    def gradient(self, weekly: np.ndarray) -> np.ndarray:
        """(channel,) d revenue / d weekly spend."""
        x = self.carry_in + np.asarray(weekly, dtype=float) * self.exposure
        return self.coef * (self.half / (x + self.half) ** 2 * self.exposure).sum(axis=0)

    def total(self, weekly: np.ndarray) -> float:
        return float(self.revenue(weekly).sum())


def equalise_marginal_roas(
    resp: TrueResponse, groups: list[np.ndarray], weekly_budgets: list[float], lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """The exact optimum of a concave separable response under per-tier totals and bounds.

    KKT: within a tier every channel not at a bound has the same marginal return lam; for a
    given lam each channel's spend is found by bisection (its marginal return falls with
    spend), and lam by bisection so that the tier spends exactly its budget.
    """
    u = np.zeros(len(lo))

    def spend_at(lam: float, idx: np.ndarray) -> np.ndarray:
        a, b = lo[idx].copy(), hi[idx].copy()
        for _ in range(100):
            mid = (a + b) / 2
            full = np.zeros(len(lo))
            full[idx] = mid
            g = resp.gradient(full)[idx]
            a, b = np.where(g > lam, mid, a), np.where(g > lam, b, mid)
        return (a + b) / 2

    for idx, w in zip(groups, weekly_budgets):
        probe = np.zeros(len(lo))
        probe[idx] = lo[idx]
        lam_hi = float(resp.gradient(probe)[idx].max()) * 2 + 1.0
        lam_lo = 0.0
        for _ in range(100):
            lam = (lam_lo + lam_hi) / 2
            if spend_at(lam, idx).sum() > w:
                lam_lo = lam
            else:
                lam_hi = lam
        s = spend_at((lam_lo + lam_hi) / 2, idx)
        u[idx] = s * (w / s.sum()) if s.sum() > 0 else w / len(idx)  # remove the last bisection crumbs
        u[idx] = np.clip(u[idx], lo[idx], hi[idx])
    return u


def truth_as_model(fitted: MarketingMixModel, resp: TrueResponse) -> MarketingMixModel:
    """A model whose 'posterior' is one draw of the true parameters: the optimiser's machinery on the truth."""
    m = MarketingMixModel(with_overrides(fitted.config, {"model.l_max": resp.l_max}))
    m.data, m.n_train = fitted.observed, fitted.n_train
    m.scaling = Scaling.from_data(fitted.observed)
    if not np.allclose(m.scaling.spend, resp.typical):
        raise SystemExit("the model's spend scale is not the simulator's typical spend; the truth model would be wrong")
    post = {
        "adstock_alpha": resp.alpha[None, None],
        "half_saturation": resp.half[None, None],
        "channel_coef": (resp.coef / m.scaling.target)[None, None],
    }
    # a forecast also predicts the whole target: a zero baseline and no noise leave the incremental revenue exact
    level = {"intercept": np.zeros((1, 1)), "sigma": np.full((1, 1), 1e-9)}
    m.idata = az.from_dict(posterior={**post, **level}, dims={k: ["channel"] for k in post}, coords={"channel": fitted.channels})
    return m


# --- the benchmark ------------------------------------------------------------------------------------


class Fitted(NamedTuple):
    """A simulated scenario fitted with the default settings, with its true response and the planning setup."""

    model: MarketingMixModel
    channels: list[str]
    resp: TrueResponse
    budget: float  # the last `weeks` weeks' actual spend: the current budget
    tiers: dict[str, str]
    shares: dict[str, float]
    notes: list[str]
    bounds: Bounds

    def groups(self) -> list[np.ndarray]:
        """Channel indices of each tier, in the order of `shares`."""
        return [np.array([i for i, c in enumerate(self.channels) if self.tiers[c] == t]) for t in self.shares]


def fit_scenario(scenario: str, seed: int | None, weeks: int, policy: str, sampler: dict, workdir: Path) -> Fitted:
    paths = write_scenario(scenario, workdir / scenario, seed)
    truth = json.loads(paths["truth"].read_text())
    cfg = with_overrides(load_config(paths["config"]), {f"sampler.{k}": v for k, v in sampler.items()})
    data = load_data(cfg)
    channels = data.channels

    resp = TrueResponse(truth, channels, data.spend_matrix(), weeks)
    simulated = np.column_stack([truth["weekly"][c] for c in channels])
    if not np.allclose(resp.in_sample, simulated, rtol=1e-6, atol=1e-6 * np.abs(simulated).max()):
        raise SystemExit("the true-response evaluator does not reproduce the simulator's contributions")

    print(
        f"Fitting '{scenario}' ({len(channels)} channels, {data.n_periods} weeks, "
        f"{cfg.sampler.chains} chains x {cfg.sampler.draws} draws)...",
        flush=True,
    )
    model = MarketingMixModel(cfg).fit(data)
    budget = float(round(float(data.tail(weeks).spend.sum()), 2))
    tiers = {c.name: c.tier for c in cfg.channels}
    shares, notes = tier_shares(parse_policy(policy), tiers)
    return Fitted(model, channels, resp, budget, tiers, shares, notes, channel_bounds(model))


def run(scenario: str, seed: int | None, weeks: int, policy: str, sampler: dict, workdir: Path, risk: float = 0.0) -> dict:
    f = fit_scenario(scenario, seed, weeks, policy, sampler, workdir)
    model, channels, resp, budget, tiers, shares, notes, bounds = f
    d = model.diagnostics

    start = time.perf_counter()
    result = optimize_budget(model, budget, weeks, shares, tiers, bounds, risk=risk).to_json()
    optimise_seconds = time.perf_counter() - start
    ours = np.array([result["allocation"][c]["weekly"] for c in channels])
    current = current_plan(model, budget, weeks).sel(channel=channels).values

    # the true optimum under the same tiers, shares and bounds: exact KKT solution, and the
    # optimiser's own machinery on a model holding the true parameters
    groups = f.groups()
    weekly_budgets = [shares[t] * budget / weeks for t in shares]
    exact = equalise_marginal_roas(resp, groups, weekly_budgets, bounds.low, bounds.high)
    truth_model = truth_as_model(model, resp)
    machinery = optimize_budget(truth_model, budget, weeks, shares, tiers, bounds).to_json()
    machinery_weekly = np.array([machinery["allocation"][c]["weekly"] for c in channels])
    agree = abs(ConstantPlanResponse(truth_model, weeks, n_draws=None).revenue_draws(ours).sum() - resp.total(ours))
    best = max((exact, machinery_weekly), key=resp.total)
    even = np.zeros(len(channels))
    for idx, w in zip(groups, weekly_budgets):
        even[idx] = w / len(idx)

    rev = {
        "ours": resp.total(ours),
        "optimum": resp.total(best),
        "current": resp.total(current),
        "optimum_exact_kkt": resp.total(exact),
        "optimum_machinery": resp.total(machinery_weekly),
        "even_split_in_tiers": resp.total(even),
    }
    gap = (rev["optimum"] - rev["ours"]) / rev["optimum"]
    uplift = rev["optimum"] - rev["current"]
    capture = (rev["ours"] - rev["current"]) / uplift if uplift > 0 else float("nan")
    # the current mix ignores the tier rule; the even split within tiers meets the same constraints
    uplift_even = rev["optimum"] - rev["even_split_in_tiers"]
    capture_even = (rev["ours"] - rev["even_split_in_tiers"]) / uplift_even if uplift_even > 0 else float("nan")
    return {
        "scenario": scenario,
        "seed": seed,
        "weeks": weeks,
        "policy": policy,
        "risk": risk,
        "budget": budget,
        "tier_shares": shares,
        "notes": notes,
        "fit_seconds": model.fit_seconds,
        "converged": d.converged,
        "max_rhat": d.max_rhat,
        "divergences": d.divergences,
        "optimise_seconds": optimise_seconds,
        "true_revenue": rev,
        "model_expected_revenue_ours": result["expected"]["recommended"]["mean"],
        "model_expected_revenue_current": result["expected"]["current"]["mean"],
        "gap_to_optimum": gap,
        "uplift_captured": capture,
        "uplift_captured_vs_even_split_in_tiers": capture_even,
        "true_evaluator_vs_constant_plan_response_abs_diff": float(agree),
        "targets": {"gap_to_optimum": TARGET_GAP, "uplift_captured": TARGET_CAPTURE, "optimise_seconds": TARGET_SECONDS},
        "passed": bool(gap <= TARGET_GAP and capture >= TARGET_CAPTURE and optimise_seconds < TARGET_SECONDS),
        "channels": {
            c: {
                "tier": tiers[c],
                "weekly_ours": float(ours[i]),
                "weekly_optimum": float(best[i]),
                "weekly_current": float(current[i]),
                "min_weekly": float(bounds.low[i]),
                "max_weekly": float(bounds.high[i]),
                "true_mroas_ours": float(resp.gradient(ours)[i] / weeks),
                "true_mroas_optimum": float(resp.gradient(best)[i] / weeks),
                "model_mroas_ours": result["allocation"][c]["mroas"],
            }
            for i, c in enumerate(channels)
        },
    }


def report(r: dict) -> None:
    rev = r["true_revenue"]
    print(
        f"\nScenario {r['scenario']} (seed {r['seed'] if r['seed'] is not None else 'default'}): budget {r['budget']:,.2f} over "
        f"{r['weeks']} weeks, policy {r['policy']}, risk {r['risk']:g}, fit {r['fit_seconds']:.1f} s "
        f"({'converged' if r['converged'] else 'NOT converged'}, max R-hat {r['max_rhat']:.3f}, {r['divergences']} divergences)"
    )
    for note in r["notes"]:
        print(f"  note: {note}")
    print(f"\n{'channel':<11}{'tier':<14}{'current':>10}{'ours':>10}{'optimum':>10}{'max':>10}   true mROAS ours / optimum")
    for c, v in r["channels"].items():
        print(
            f"{c:<11}{v['tier']:<14}{v['weekly_current']:>10,.0f}{v['weekly_ours']:>10,.0f}{v['weekly_optimum']:>10,.0f}"
            f"{v['max_weekly']:>10,.0f}   {v['true_mroas_ours']:.3f} / {v['true_mroas_optimum']:.3f}"
        )
    print("\nTrue incremental revenue over the quarter and its carry-over:")
    print(f"  our plan       {rev['ours']:>14,.0f}   (the model expected {r['model_expected_revenue_ours']:,.0f})")
    print(
        f"  true optimum   {rev['optimum']:>14,.0f}   (exact KKT {rev['optimum_exact_kkt']:,.0f}; optimiser on the truth {rev['optimum_machinery']:,.0f})"
    )
    print(f"  current plan   {rev['current']:>14,.0f}   (the model expected {r['model_expected_revenue_current']:,.0f})")
    print(f"  even in tiers  {rev['even_split_in_tiers']:>14,.0f}")
    ok = lambda good: "ok" if good else "MISSED"  # noqa: E731
    print(
        f"\nGap to the true optimum:       {100 * r['gap_to_optimum']:6.2f}%  (target <= {100 * TARGET_GAP:.0f}%)  {ok(r['gap_to_optimum'] <= TARGET_GAP)}"
    )
    print(
        f"Achievable uplift captured:    {100 * r['uplift_captured']:6.1f}%  (target >= {100 * TARGET_CAPTURE:.0f}%)  {ok(r['uplift_captured'] >= TARGET_CAPTURE)}"
    )
    print(
        f"  (vs the even split within tiers, which meets the same constraints: {100 * r['uplift_captured_vs_even_split_in_tiers']:.1f}%;"
        " the current mix ignores the tier rule)"
    )
    print(
        f"Optimise wall seconds:         {r['optimise_seconds']:6.2f}   (target < {TARGET_SECONDS:.0f} s)  {ok(r['optimise_seconds'] < TARGET_SECONDS)}"
    )


# --- how much to spend: --budget-auto --------------------------------------------------------------------


def true_split(f: Fitted, weeks: int, total: float) -> np.ndarray:
    """The TRUE best weekly plan of a total (currency over the horizon) under the tiers, shares and bounds (exact KKT)."""
    return equalise_marginal_roas(f.resp, f.groups(), [f.shares[t] * total / weeks for t in f.shares], f.bounds.low, f.bounds.high)


def true_profit_optimum(f: Fitted, weeks: int, margin: float, lowest: float, highest: float) -> tuple[float, np.ndarray]:
    """The total (currency over the horizon) and weekly plan that maximise TRUE profit under the same tiers,
    shares and bounds: at every total the exact KKT split, the total by a grid and then bounded Brent."""

    def profit(total: float) -> float:
        return margin * f.resp.total(true_split(f, weeks, total)) - total

    grid = np.linspace(lowest, highest, 41)
    k = int(np.argmax([profit(b) for b in grid]))
    around = (float(grid[max(k - 1, 0)]), float(grid[min(k + 1, len(grid) - 1)]))
    best = minimize_scalar(lambda t: -profit(t), bounds=around, method="bounded", options={"xatol": 1e-4 * (highest - lowest)})
    total = float(best.x) if -best.fun >= profit(float(grid[k])) else float(grid[k])
    return total, true_split(f, weeks, total)


def run_budget_auto(scenario: str, seed: int | None, weeks: int, policy: str, sampler: dict, workdir: Path, margin: float) -> dict:
    f = fit_scenario(scenario, seed, weeks, policy, sampler, workdir)
    d = f.model.diagnostics
    start = time.perf_counter()
    ours = choose_budget(f.model, weeks, f.shares, f.tiers, f.bounds, margin=margin)
    seconds = time.perf_counter() - start
    weekly_ours = np.array([ours.allocation[c].weekly for c in f.channels])
    lowest, highest, _ = budget_range(f.channels, f.shares, f.tiers, f.bounds, weeks)
    optimum_total, optimum_weekly = true_profit_optimum(f, weeks, margin, lowest, highest)
    current_weekly = current_plan(f.model, f.budget, weeks).sel(channel=f.channels).values
    # the same search on a model holding the true parameters: what is left is the search's own error
    machinery = choose_budget(truth_as_model(f.model, f.resp), weeks, f.shares, f.tiers, f.bounds, margin=margin)

    def profit(total: float, weekly: np.ndarray) -> float:
        return margin * f.resp.total(weekly) - total

    true = {
        "ours": profit(ours.budget, weekly_ours),
        "optimum": profit(optimum_total, optimum_weekly),
        "current": profit(f.budget, current_weekly),
        "true_split_of_our_total": profit(ours.budget, true_split(f, weeks, ours.budget)),
        "search_on_the_truth": profit(machinery.budget, np.array([machinery.allocation[c].weekly for c in f.channels])),
    }
    regret = (true["optimum"] - true["ours"]) / true["optimum"] if true["optimum"] > 0 else float("nan")
    assert ours.expected_profit is not None and ours.budget_curve is not None
    return {
        "scenario": scenario,
        "seed": seed,
        "weeks": weeks,
        "policy": policy,
        "margin": margin,
        "fit_seconds": f.model.fit_seconds,
        "converged": d.converged,
        "max_rhat": d.max_rhat,
        "divergences": d.divergences,
        "search_seconds": seconds,
        "feasible_totals": [lowest, highest],
        "current_budget": f.budget,
        "chosen_budget": ours.budget,
        "optimum_budget": optimum_total,
        "search_on_the_truth_budget": machinery.budget,
        "model_mroas_at_chosen": ours.budget_curve.recommended_mroas,
        "model_expected_profit": ours.expected_profit.model_dump(),
        "true_profit": true,
        "regret": regret,
        "regret_from_the_total": (true["optimum"] - true["true_split_of_our_total"]) / true["optimum"]
        if true["optimum"] > 0
        else float("nan"),
        "target_regret": TARGET_REGRET,
        "passed": bool(regret < TARGET_REGRET),
        "warnings": ours.warnings,
        "channels": {
            c: {"tier": f.tiers[c], "weekly_ours": float(weekly_ours[i]), "weekly_optimum": float(optimum_weekly[i])}
            for i, c in enumerate(f.channels)
        },
    }


def report_budget_auto(r: dict) -> None:
    true = r["true_profit"]
    print(
        f"\nScenario {r['scenario']} (seed {r['seed'] if r['seed'] is not None else 'default'}): --budget auto --margin {r['margin']:g} "
        f"over {r['weeks']} weeks, policy {r['policy']}, fit {r['fit_seconds']:.1f} s "
        f"({'converged' if r['converged'] else 'NOT converged'}, max R-hat {r['max_rhat']:.3f}, {r['divergences']} divergences)"
    )
    print(f"\n{'channel':<11}{'tier':<14}{'ours':>10}{'optimum':>10}   weekly spend")
    for c, v in r["channels"].items():
        print(f"{c:<11}{v['tier']:<14}{v['weekly_ours']:>10,.0f}{v['weekly_optimum']:>10,.0f}")
    lo, hi = r["feasible_totals"]
    print(f"\nTotals over the horizon (the bounds allow {lo:,.0f} to {hi:,.0f}):")
    print(f"  chosen         {r['chosen_budget']:>14,.0f}   (model's marginal ROAS there {r['model_mroas_at_chosen']:.3f})")
    print(
        f"  true optimum   {r['optimum_budget']:>14,.0f}   (the same search on the true parameters: {r['search_on_the_truth_budget']:,.0f})"
    )
    print(f"  current        {r['current_budget']:>14,.0f}")
    e = r["model_expected_profit"]
    print(f"\nTrue profit ({r['margin']:g} x true incremental revenue - spend):")
    print(
        f"  ours           {true['ours']:>14,.0f}   (the model expected {e['mean']:,.0f}, 90% interval {e['low']:,.0f} to {e['high']:,.0f})"
    )
    print(f"  true optimum   {true['optimum']:>14,.0f}   (the same search on the true parameters: {true['search_on_the_truth']:,.0f})")
    print(f"  current mix    {true['current']:>14,.0f}   (current budget, current split)")
    print(f"  our total, true best split {true['true_split_of_our_total']:>10,.0f}")
    for w in r["warnings"]:
        print(f"  warning: {w}")
    ok = "ok" if r["passed"] else "MISSED"
    print(f"\nProfit regret against the true optimum: {100 * r['regret']:6.2f}%  (target < {100 * TARGET_REGRET:.0f}%)  {ok}")
    print(f"  of which the total alone (our total, split at its true best): {100 * r['regret_from_the_total']:.2f}%")
    print(f"Budget search wall seconds:             {r['search_seconds']:6.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", default="small_business", choices=list(SCENARIOS))
    ap.add_argument("--seed", type=int, default=None, help="simulation seed (default: the scenario's own)")
    ap.add_argument("--weeks", type=int, default=13)
    ap.add_argument("--policy", default="70/20/10")
    ap.add_argument("--risk", type=float, default=0.0, help="optimise mean minus RISK standard deviations (as mmm optimize --risk)")
    ap.add_argument("--draws", type=int, default=None, help="override the default sampler draws (for a quick look only)")
    ap.add_argument("--tune", type=int, default=None)
    ap.add_argument("--chains", type=int, default=None)
    ap.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    ap.add_argument(
        "--budget-auto", action="store_true", help="choose the total too (profit-maximising at --margin) and score its profit regret"
    )
    ap.add_argument("--margin", type=float, default=0.5, help="contribution margin for --budget-auto (share of revenue left as profit)")
    args = ap.parse_args()
    sampler = {"draws": args.draws, "tune": args.tune, "chains": args.chains}
    with tempfile.TemporaryDirectory() as tmp:
        if args.budget_auto:
            r = run_budget_auto(args.scenario, args.seed, args.weeks, args.policy, sampler, Path(tmp), args.margin)
        else:
            r = run(args.scenario, args.seed, args.weeks, args.policy, sampler, Path(tmp), args.risk)
    (report_budget_auto if args.budget_auto else report)(r)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(r, indent=2, default=float))
        print(f"\nFigures written to {args.json}")


if __name__ == "__main__":
    main()
