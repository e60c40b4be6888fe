"""Does the model recover known truth, and how fast? (issue: the engine)

Fits each built-in simulated scenario and the shared PyMC-Marketing example dataset (whose
true parameters are published) with the default sampler settings, and prints per case:
fit wall seconds (build + compile + sample), max R-hat, divergences, ROAS mean absolute
percentage error and the share of channels whose true ROAS lies inside the 90% interval.

With --speed it first times `mmm fit` end to end on a fresh 104-week, 6-channel dataset,
with an empty and with a warm compile cache.

The `conversions` case (simulated sign-ups, counts) scores each channel's CPA (cost per incremental
conversion) instead of ROAS, and its error is that of the posterior median CPA, the headline figure
(a cost per conversion has a long upper tail that pulls the mean up; the mean is printed beside it).

Usage: scripts/bench_recovery [--cases clean,small_business,hard,conversions,peer,peer_hill,peer_logistic,peer_auto] [--seeds 1] [--speed] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from mmm.analysis.decomposition import channel_draws
from mmm.config import load_config, parse_config
from mmm.core.stats import Interval, RatioInterval
from mmm.model.estimator import MarketingMixModel
from mmm.simulation.scenarios import SCENARIOS, write_scenario

warnings.filterwarnings("ignore")
ROOT = Path(__file__).resolve().parent.parent
PEER = ROOT.parent / "shared" / "data" / "pymc-marketing-example"
PEER_CONFIG = """
data: {{path: {path}, date_column: date_week, target_column: y}}
channels:
  - {{name: x1, spend_column: x1, tier: proven}}
  - {{name: x2, spend_column: x2, tier: test}}
controls: [event_1, event_2]
{model}
"""
# peer: the plain config (default model); peer_<form>: that saturation set by hand; peer_auto: chosen by PSIS-LOO
PEER_CASES = ("peer", "peer_hill", "peer_logistic", "peer_auto")
# Published truth (README of the dataset): total contribution / total spend.
PEER_TRUE_ROAS = {"x1": 274_848 / 55.33, "x2": 65_906 / 28.97}


def score(model: MarketingMixModel, true_roas: dict[str, float], metric: str = "roas") -> dict:
    """Error and 90% coverage of each channel's `metric` (roas; cpa for a conversions scenario) against the truth.

    The error is that of the posterior mean for ROAS and of the posterior median for CPA (`point`).
    """
    roas = getattr(channel_draws(model), metric)
    kind, point = (RatioInterval, "median") if metric == "cpa" else (Interval, "mean")
    per = {}
    for name in model.channels:
        r = kind.of(roas.sel(channel=name), "sample").model_dump()
        t = true_roas[name]
        per[name] = {"true": t, **r, "ape": abs(r[point] - t) / t, "covered": r["low"] <= t <= r["high"]}
    d = model.diagnostics
    return {
        "fit_seconds": model.fit_seconds,
        "max_rhat": d.max_rhat,
        "min_ess_bulk": d.min_ess_bulk,
        "divergences": d.divergences,
        "metric": metric,
        "point": point,
        "roas_mape": float(np.mean([p["ape"] for p in per.values()])),
        "coverage": float(np.mean([p["covered"] for p in per.values()])),
        "channels": per,
    }


def run_case(case: str, seed: int, workdir: Path) -> dict:
    if case.startswith("peer"):
        form = case.removeprefix("peer").lstrip("_")
        text = PEER_CONFIG.format(path=PEER / "mmm_example.csv", model=f"model: {{saturation: {form}}}" if form else "")
        cfg = parse_config(text)
        truth = PEER_TRUE_ROAS
    else:
        paths = write_scenario(case, workdir / f"{case}-{seed}", seed=seed if seed else None)
        cfg = load_config(paths["config"])
        known = json.loads(paths["truth"].read_text())
        metric = "cpa" if known.get("kpi") == "conversions" else "roas"  # conversions: cost per incremental conversion
        truth = {k: v[metric] for k, v in known["channels"].items()}
    start = time.perf_counter()
    model = MarketingMixModel(cfg).fit()
    out = score(model, truth, metric if not case.startswith("peer") else "roas")
    out["wall_seconds"] = time.perf_counter() - start
    out["saturation"] = model.config.model.saturation
    if model.choice is not None:
        out["model_choice"] = model.choice.to_dict()
    return out


def speed(workdir: Path, seed: int) -> list[dict]:
    """Wall seconds of `mmm fit` end to end (start-up, compile, 4 x 1000 draws, MLflow, report) on a
    104-week, 6-channel dataset it has never seen: once with an empty compile cache (a fresh
    machine), once with the cache a first fit leaves behind."""
    import os
    import subprocess
    import sys

    paths = write_scenario("small_business", workdir / f"speed-{seed}", seed=seed)
    out = []
    for label, flags in (("cold cache", f"compiledir={workdir / 'cold-cache'}"), ("warm cache", None)):
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        if flags:
            env["PYTENSOR_FLAGS"] = flags
        result = workdir / f"speed-{label[:4]}.json"
        start = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "mmm.cli",
                "fit",
                str(paths["config"]),
                "--output-json",
                str(result),
                "--tracking-uri",
                f"sqlite:///{workdir / 'speed.db'}",
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        wall = time.perf_counter() - start
        summary = json.loads(result.read_text())
        out.append(
            {
                "case": label,
                "wall_seconds": wall,
                "fit_seconds": summary["fit_seconds"],
                "converged": summary["diagnostics"]["converged"],
                "max_rhat": summary["diagnostics"]["max_rhat"],
            }
        )
        print(
            f"speed  {label:<11} mmm fit wall {wall:5.1f} s (of which build+compile+sample {summary['fit_seconds']:.1f} s), "
            f"converged {summary['diagnostics']['converged']}, max R-hat {summary['diagnostics']['max_rhat']:.3f}",
            flush=True,
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default=",".join([*SCENARIOS, *PEER_CASES]))
    ap.add_argument("--seeds", type=int, default=1, help="simulation seeds per scenario (0 = the scenario's own seed)")
    ap.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    ap.add_argument("--speed", action="store_true", help="also time `mmm fit` end to end, cold and warm compile cache")
    args = ap.parse_args()
    results = {}
    if args.speed:
        with tempfile.TemporaryDirectory() as tmp:
            results["speed"] = speed(Path(tmp), seed=int(time.time()) % 100_000)
    print(f"{'case':<16}{'seed':>5}{'fit s':>8}{'max R-hat':>11}{'div':>5}{'ROAS err':>10}{'90% cover':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        for case in args.cases.split(","):
            seeds = [0] if case.startswith("peer") else ([0] if args.seeds <= 1 else list(range(1, args.seeds + 1)))
            for seed in seeds:
                r = run_case(case, seed, Path(tmp))
                results[f"{case}/{seed}"] = r
                print(
                    f"{case:<16}{seed:>5}{r['fit_seconds']:>8.1f}{r['max_rhat']:>11.3f}{r['divergences']:>5}"
                    f"{100 * r['roas_mape']:>9.1f}%{100 * r['coverage']:>10.0f}%"
                    + ("  (CPA: error of the posterior median)" if r["metric"] == "cpa" else ""),
                    flush=True,
                )
                if "model_choice" in r:
                    print(f"    form chosen: {r['saturation']}; {r['model_choice']['reason']}")
                for name, p in r["channels"].items():
                    mean = f" mean {p['mean']:.3g}" if r["point"] == "median" else ""
                    print(
                        f"    {name:<12} true {p['true']:>9.3g}  est {p[r['point']]:>9.3g} ({p['low']:.3g} to {p['high']:.3g}){mean}"
                        f"{'' if p['covered'] else '  MISSED'}"
                    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=float))


if __name__ == "__main__":
    main()
