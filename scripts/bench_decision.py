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

Usage: scripts/bench_decision [--scenario small_business] [--seed N] [--json PATH]
       [--weeks 13] [--policy 70/20/10] [--risk K] [--draws N --tune N --chains N]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from pathlib import Path

import arviz as az
import numpy as np

from mmm.config import load_config, parse_policy, with_overrides
from mmm.data.loading import load_data
from mmm.model.estimator import MarketingMixModel
from mmm.model.features import Scaling
from mmm.planning.bounds import channel_bounds
from mmm.planning.forecast import current_plan
from mmm.planning.optimizer import optimize_budget
from mmm.planning.policy import tier_shares
from mmm.planning.response import ConstantPlanResponse
from mmm.simulation.scenarios import SCENARIOS, write_scenario

warnings.filterwarnings("ignore")

TARGET_GAP = 0.01
TARGET_CAPTURE = 0.80
TARGET_SECONDS = 10.0


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
    m.idata = az.from_dict(posterior=post, dims={k: ["channel"] for k in post}, coords={"channel": fitted.channels})
    return m


# --- the benchmark ------------------------------------------------------------------------------------


def run(scenario: str, seed: int | None, weeks: int, policy: str, sampler: dict, workdir: Path, risk: float = 0.0) -> dict:
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
    d = model.diagnostics

    budget = float(round(float(data.tail(weeks).spend.sum()), 2))
    tiers = {c.name: c.tier for c in cfg.channels}
    shares, notes = tier_shares(parse_policy(policy), tiers)
    bounds = channel_bounds(model)

    start = time.perf_counter()
    result = optimize_budget(model, budget, weeks, shares, tiers, bounds, risk=risk).to_json()
    optimise_seconds = time.perf_counter() - start
    ours = np.array([result["allocation"][c]["weekly"] for c in channels])
    current = current_plan(model, budget, weeks).sel(channel=channels).values

    # the true optimum under the same tiers, shares and bounds: exact KKT solution, and the
    # optimiser's own machinery on a model holding the true parameters
    groups = [np.array([i for i, c in enumerate(channels) if tiers[c] == t]) for t in shares]
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
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        r = run(
            args.scenario,
            args.seed,
            args.weeks,
            args.policy,
            {"draws": args.draws, "tune": args.tune, "chains": args.chains},
            Path(tmp),
            args.risk,
        )
    report(r)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(r, indent=2, default=float))
        print(f"\nFigures written to {args.json}")


if __name__ == "__main__":
    main()
