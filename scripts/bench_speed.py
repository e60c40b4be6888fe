"""Speed benchmark: the whole `mmm fit` command against PyMC-Marketing 1.3 + nutpie, and how cost grows.

On one never-seen simulated dataset (104 weeks x 6 channels, a price control) it times:
- `mmm fit` end to end as a user runs it (start-up, validation, compile, sampling with the
  default `draws: auto`, summary, MLflow logging, report), cold (empty compile cache and a
  fresh store), warm (the same command again, no server), on new data of the same model
  structure (another seed, 117 weeks: the compiled model is reused), on a warm server (`mmm
  warm`: the libraries already imported), and as a user runs it twice (the first command
  leaves a server for the next by itself; the second is timed);
- PyMC-Marketing 1.3's fit of the same data and model shape (geometric adstock, l_max 8,
  logistic saturation, yearly seasonality of order 2, the control), 4 chains x 1000 draws after
  1000 tuning steps with nutpie, in its own Python 3.12 environment under .bench/peer (created
  on first use; PyMC-Marketing is never a dependency of mmm);
and prints both, their ratio, the sampler's seconds and effective draws per second, then a
growth table: compile and sampling seconds for 52/104/208/520 weeks x 6 channels and
3/6/12/24 channels x 208 weeks, with sampling seconds per 100 weeks x channels.

`--baseline REV --pairs N` also times the warm command without a server N times in turns with the
code of git revision REV (a temporary worktree, the same environment, data and store): the
machine's speed can drift by a quarter within minutes, and runs in turns share the drift, so the
median of the pairs' differences is the change's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEER_ENV = ROOT / ".bench" / "peer"
PEER_REQUIREMENTS = ["pymc-marketing==1.3.0", "nutpie"]
WEEKS_GROWTH = (52, 104, 208, 520)
CHANNELS_GROWTH = (3, 6, 12, 24)
CHANNELS_GROWTH_WEEKS = 208  # 24 channels need more than 104 weeks to pass mmm's own data checks


def python312() -> str:
    """A Python 3.12 interpreter for the peer's environment (PATH, then pyenv's versions)."""
    for candidate in [shutil.which("python3.12"), *sorted(Path.home().glob(".pyenv/versions/3.12*/bin/python3.12"))]:
        if candidate and subprocess.run([str(candidate), "--version"], capture_output=True).returncode == 0:
            return str(candidate)
    raise SystemExit("the peer benchmark needs Python 3.12 (python3.12 on PATH or in ~/.pyenv/versions); use --no-peer to skip it")


def peer_python() -> Path:
    """The peer's environment, created with PyMC-Marketing 1.3 and nutpie on first use."""
    exe = PEER_ENV / "bin" / "python"
    if not exe.exists():
        print(f"Creating the peer's environment in {PEER_ENV} (a few minutes, once)...", flush=True)
        subprocess.run([python312(), "-m", "venv", str(PEER_ENV)], check=True)
        subprocess.run([str(exe), "-m", "pip", "install", "-q", *PEER_REQUIREMENTS], check=True)
    return exe


def mmm_fit_command(config: Path, store: Path, out: Path, env: dict[str, str]) -> dict:
    """Wall seconds of `mmm fit` as a user runs it, and what it reported."""
    start = time.perf_counter()
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "mmm"), "fit", str(config), "--output-json", str(out), "--tracking-uri", f"sqlite:///{store}"],
        env=env,
        check=True,
        capture_output=True,
    )
    wall = time.perf_counter() - start
    s = json.loads(out.read_text())
    return {"wall_seconds": wall, **s["sampling"], "converged": s["diagnostics"]["converged"], "max_rhat": s["diagnostics"]["max_rhat"]}


def with_warm_server(env: dict[str, str], measure: Callable[[], dict]) -> dict:
    """`measure()` while a `mmm warm` server (started for this environment) serves the commands."""
    mmm = str(ROOT / ".venv" / "bin" / "mmm")
    subprocess.run([mmm, "warm", "--minutes", "5"], env=env, check=True, capture_output=True)
    try:
        return measure()
    finally:
        subprocess.run([mmm, "warm", "--stop"], env=env, check=True, capture_output=True)


def after_a_first_command(env: dict[str, str], measure: Callable[[], dict]) -> dict:
    """`measure()` as a user's next command: a first one (timed apart) leaves a server behind by itself, which then serves it."""
    mmm = str(ROOT / ".venv" / "bin" / "mmm")
    first = measure()
    deadline = time.monotonic() + 120
    while "A warm server serves" not in subprocess.run([mmm, "warm", "--status"], env=env, capture_output=True, text=True).stdout:
        if time.monotonic() > deadline:
            raise RuntimeError("the first command left no warm server")
        time.sleep(0.5)
    try:
        return {**measure(), "first_wall_seconds": first["wall_seconds"]}
    finally:
        subprocess.run([mmm, "warm", "--stop"], env=env, check=True, capture_output=True)


def default_sampler(config: Path) -> None:
    """Drop the simulator's fixed draws and warm-up so the fit uses mmm's defaults (draws: auto, its default tune)."""
    lines = config.read_text().replace("draws: 1000", "draws: auto").splitlines(keepends=True)
    config.write_text("".join(line for line in lines if not line.strip().startswith("tune:")))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=None, help="simulation seed (default: a new one each run, so the data are never seen)")
    ap.add_argument("--no-peer", action="store_true", help="skip PyMC-Marketing")
    ap.add_argument("--no-growth", action="store_true", help="skip the growth table")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--baseline", metavar="REV", help="also time the warm command in turns with the code of this git revision")
    ap.add_argument("--pairs", type=int, default=5, help="runs of each in turns with --baseline (default 5)")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    sys.path.insert(0, str(ROOT))
    from mmm.simulation.scenarios import scenario_of_size, write_scenario

    seed = args.seed if args.seed is not None else int(time.time()) % 100_000
    results: dict = {"seed": seed}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        paths = write_scenario(scenario_of_size(104, 6), work / "data", seed=seed)
        default_sampler(paths["config"])
        # servers in a private folder; none starts by itself where a figure is without one
        auto = {
            **os.environ,
            "PYTHONWARNINGS": "ignore",
            "PYTENSOR_FLAGS": f"base_compiledir={work / 'cache'}",
            "MMM_WARM_DIR": str(work / "s"),
        }
        auto.pop("MMM_WARM", None)
        env = {**auto, "MMM_WARM": "off"}
        print(f"Data: 104 weeks x 6 channels, seed {seed}", flush=True)
        cold = mmm_fit_command(paths["config"], work / "cold.db", work / "cold.json", env)
        warm = mmm_fit_command(paths["config"], work / "cold.db", work / "warm.json", env)
        other = write_scenario(scenario_of_size(117, 6), work / "other", seed=seed + 1)
        default_sampler(other["config"])
        new_data = mmm_fit_command(other["config"], work / "cold.db", work / "new_data.json", env)
        server = with_warm_server(env, lambda: mmm_fit_command(paths["config"], work / "cold.db", work / "server.json", env))
        again = after_a_first_command(auto, lambda: mmm_fit_command(paths["config"], work / "cold.db", work / "again.json", auto))
        results["mmm"] = {"cold": cold, "warm": warm, "new_data": new_data, "warm_server": server, "second_command": again}
        if args.baseline:
            results["against_baseline"] = against_baseline(args.baseline, args.pairs, paths["config"], work, env)
        runs = (
            ("cold", cold),
            ("warm, no server", warm),
            ("new data, same structure, no server", new_data),
            ("warm, `mmm warm` server", server),
            ("a user's second command", again),
        )
        for label, r in runs:
            print(
                f"mmm fit ({label}): {r['wall_seconds']:5.1f} s whole command; compile {r['compile_seconds']:.1f} s, "
                f"sampling {r['sample_seconds']:.1f} s ({r['chains']} chains x {r['draws_per_chain']} draws kept), "
                f"{r['ess_per_second']:.0f} ESS/s; converged {r['converged']} (max R-hat {r['max_rhat']:.3f})",
                flush=True,
            )
        if not args.no_peer:
            peer = json.loads(
                subprocess.run(
                    [str(peer_python()), str(ROOT / "scripts" / "bench_speed_peer.py"), str(paths["data"])],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            results["peer"] = peer
            ratio = peer["fit_seconds"] / warm["wall_seconds"]
            results["ratio_peer_fit_over_mmm_command_warm"] = ratio
            print(
                f"PyMC-Marketing {peer['version']} + nutpie: fit {peer['fit_seconds']:.1f} s "
                f"(whole script {peer['wall_seconds']:.1f} s), 4 chains x 1000 draws, max R-hat {peer['max_rhat']:.3f}, "
                f"{peer['divergences']} divergences, {peer['ess_per_second']:.0f} ESS/s",
                flush=True,
            )
            on_server = peer["fit_seconds"] / server["wall_seconds"]
            results["ratio_peer_fit_over_mmm_command_warm_server"] = on_server
            second = peer["fit_seconds"] / again["wall_seconds"]
            results["ratio_peer_fit_over_mmm_second_command"] = second
            print(f"Ratio: the peer's fit alone / the whole mmm fit command (warm, no server) = {ratio:.2f}x (target >= 4x)", flush=True)
            print(f"Ratio: the peer's fit alone / the whole mmm fit command on a warm server = {on_server:.2f}x (target >= 4x)", flush=True)
            print(f"Ratio: the peer's fit alone / a user's second mmm fit command = {second:.2f}x (target >= 4x)", flush=True)
        if not args.no_growth:
            results["growth"] = growth(work)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def against_baseline(rev: str, pairs: int, config: Path, work: Path, env: dict[str, str]) -> dict:
    """Seconds of the warm `mmm fit` without a server, in turns: the code at `rev`, then this checkout's, `pairs` times."""
    base = work / "baseline"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(base), rev], check=True)
    try:
        code = {"baseline": base, "this": ROOT}

        def seconds(where: Path) -> float:
            return mmm_fit_command(config, work / "pairs.db", work / "pairs.json", {**env, "PYTHONPATH": str(where)})["wall_seconds"]

        for where in code.values():  # each compiles or loads its model once before the timed runs
            seconds(where)
        rows = []
        for i in range(pairs):
            row = {name: seconds(where) for name, where in code.items()}
            rows.append(row)
            print(f"pair {i + 1}: {rev} {row['baseline']:5.1f} s, this checkout {row['this']:5.1f} s", flush=True)
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], check=False)
    medians = {name: statistics.median(r[name] for r in rows) for name in ("baseline", "this")}
    change = statistics.median(r["this"] - r["baseline"] for r in rows)
    print(
        f"Warm, no server, {pairs} pairs in turns: {rev} median {medians['baseline']:.1f} s, this checkout {medians['this']:.1f} s; "
        f"median change {change:+.1f} s",
        flush=True,
    )
    return {"revision": rev, "pairs": rows, "median_seconds": medians, "median_change_seconds": change}


def growth(work: Path) -> list[dict]:
    """Compile and sampling seconds by size, fitted in this process with the default sampler."""
    from mmm.config import load_config, with_overrides
    from mmm.model.estimator import MarketingMixModel
    from mmm.simulation.scenarios import scenario_of_size, write_scenario

    cases = [(w, 6) for w in WEEKS_GROWTH] + [(CHANNELS_GROWTH_WEEKS, c) for c in CHANNELS_GROWTH if c != 6]
    rows = []
    print("\nGrowth (one fit each, default sampler):", flush=True)
    print(f"{'weeks':>5} {'channels':>8} {'compile s':>9} {'sample s':>8} {'draws':>5} {'ESS/s':>6} {'sample s per 100 wk x ch':>24}")
    for weeks, channels in sorted(cases, key=lambda c: c[0] * c[1]):
        paths = write_scenario(scenario_of_size(weeks, channels), work / f"g{weeks}x{channels}", seed=1)
        cfg = with_overrides(load_config(paths["config"]), {"sampler.draws": "auto"})
        model = MarketingMixModel(cfg).fit()
        t = model.timings
        assert model.diagnostics is not None and model.idata is not None
        draws = int(model.idata.posterior.sizes["draw"])
        row = {
            "weeks": weeks,
            "channels": channels,
            "compile_seconds": t["compile_seconds"],
            "sample_seconds": t["sample_seconds"],
            "draws_per_chain": draws,
            "ess_per_second": model.diagnostics.min_ess_bulk / t["sample_seconds"],
            "converged": model.diagnostics.converged,
            "sample_seconds_per_100_week_channels": t["sample_seconds"] / (weeks * channels / 100),
        }
        rows.append(row)
        print(
            f"{weeks:>5} {channels:>8} {row['compile_seconds']:>9.1f} {row['sample_seconds']:>8.1f} {draws:>5} "
            f"{row['ess_per_second']:>6.0f} {row['sample_seconds_per_100_week_channels']:>24.2f}",
            flush=True,
        )
    return rows


if __name__ == "__main__":
    main()
