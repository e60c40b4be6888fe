"""Scale benchmark: `mmm fit` on national and geo data of growing size, against Google Meridian on the same data.

Shapes (pick with --shapes): `national` (104 weeks x 6 channels, one market), `20x104x5` (20 regions
x 104 weeks x 5 channels) and `40x156x5` (40 x 156 x 5, the shape of Meridian's published demo data).
For each shape it simulates data with known truth (national: mmm's size scenario, as scripts/bench_speed;
geo: `mmm simulate --scenario geo_GxWxC`, long format with date, geo, population, spend, price and revenue),
runs `mmm fit` as a user does (its own process, JSON output) and reports: wall seconds of the
whole command split into build (data, model, summary, logging: the rest), compile and sample,
max R-hat, divergences, peak resident memory of the process (GiB), ROAS error (mean absolute
percentage error of the posterior mean against the true ROAS, over channels, national totals) and
90% coverage (share of channels whose true ROAS lies inside the 90% interval); for geo shapes
also the same two figures over every region x channel when the fit reports regions.

Then Google Meridian 2.1 (installed on first use in its own environment, `.bench/meridian`, with
the machine's python3; never a dependency of mmm) fits the same file with its defaults (ROI prior,
spend as the media exposure), the same number of chains, `--tune` adaptation steps, `--peer-burnin`
burn-in steps and kept draws: `--draws` when a number, else as many as mmm kept but at least
`--peer-min-draws`. The ratio Meridian wall / mmm wall is printed. `--skip-peer` leaves it out.

Usage: scripts/bench_scale [--shapes national,20x104x5,40x156x5] [--draws auto|N] [--tune N] [--chains N]
       [--backend nutpie|numba|jax|pymc] [--seed N] [--skip-peer] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
MERIDIAN_ENV = ROOT / ".bench" / "meridian"
MERIDIAN_REQUIREMENTS = ["google-meridian==2.1.0"]
DEFAULT_SHAPES = "national,20x104x5,40x156x5"
GIB = 1024**3
_SHAPE = re.compile(r"(\d+)x(\d+)x(\d+)")
COLUMNS = (  # (heading, key, format) of the table
    ("shape", "shape", "{}"),
    ("tool", "tool", "{}"),
    ("wall s", "wall_seconds", "{:.1f}"),
    ("build s", "build_seconds", "{:.1f}"),
    ("compile s", "compile_seconds", "{:.1f}"),
    ("sample s", "sample_seconds", "{:.1f}"),
    ("chains x draws", "draws", "{}"),
    ("max R-hat", "max_rhat", "{:.3f}"),
    ("divergences", "divergences", "{}"),
    ("peak GiB", "peak_gib", "{:.2f}"),
    ("ROAS error", "roas_error", "{:.1%}"),
    ("90% coverage", "coverage", "{:.0%}"),
    ("region ROAS error", "geo_roas_error", "{:.1%}"),
    ("region coverage", "geo_coverage", "{:.0%}"),
)


@dataclass(frozen=True)
class Shape:
    """A benchmark shape: regions (1 = a national model without a geo column), weeks and channels."""

    label: str
    geos: int
    weeks: int
    channels: int


def parse_shape(label: str) -> Shape:
    """`national` (104 weeks x 6 channels) or GxWxC (regions x weeks x channels)."""
    if label == "national":
        return Shape(label, 1, 104, 6)
    match = _SHAPE.fullmatch(label)
    if not match:
        raise SystemExit(f"--shapes: '{label}' is not a shape; use national or GxWxC, e.g. 20x104x5 (regions x weeks x channels)")
    return Shape(label, *(int(v) for v in match.groups()))


def simulate(shape: Shape, seed: int, out: Path) -> dict[str, Path]:
    """Write data.csv, truth.json and config.yaml for `shape` into `out`."""
    if shape.geos == 1:
        from mmm.simulation.scenarios import scenario_of_size, write_scenario

        return write_scenario(scenario_of_size(shape.weeks, shape.channels), out, seed=seed)
    scenario = f"geo_{shape.geos}x{shape.weeks}x{shape.channels}"
    mmm = str(ROOT / ".venv" / "bin" / "mmm")
    subprocess.run([mmm, "simulate", "--scenario", scenario, "--out", str(out), "--seed", str(seed)], check=True, capture_output=True)
    return {"data": out / "data.csv", "truth": out / "truth.json", "config": out / "config.yaml"}


def set_sampler(config: Path, draws: str, tune: int, chains: int, backend: str, target_accept: float | None = None) -> None:
    """Rewrite the simulated config's sampler block with the benchmark's settings (target_accept: mmm's default when None)."""
    raw = yaml.safe_load(config.read_text())
    raw["sampler"] = {**raw.get("sampler", {}), "draws": draws if draws == "auto" else int(draws), "tune": tune, "chains": chains}
    if target_accept is not None:
        raw["sampler"]["target_accept"] = target_accept
    raw["sampler"]["backend"] = backend
    raw["sampler"]["progress"] = False
    config.write_text(yaml.safe_dump(raw, sort_keys=False))


class StoppedError(Exception):
    """A run stopped at its time limit: how long it ran (seconds) and its peak memory so far (GiB)."""

    def __init__(self, wall: float, peak: float):
        super().__init__(f"stopped after {wall:.0f} s")
        self.wall, self.peak = wall, peak


def run_measured(cmd: list[str], log: Path, env: dict[str, str] | None = None, limit: float | None = None) -> tuple[float, float]:
    """Run `cmd` with its output in `log`; its wall seconds and peak resident memory (GiB, the largest process).
    Past `limit` seconds it is stopped and `StoppedError` raised."""
    start = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if limit is not None and time.perf_counter() - start > limit:
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                raise StoppedError(time.perf_counter() - start, usage.ru_maxrss * 1024 / GIB)
            time.sleep(0.5)
        proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
        raise RuntimeError(f"{' '.join(cmd[:3])} ... exited with status {proc.returncode}:\n{tail}")
    return wall, usage.ru_maxrss * 1024 / GIB  # ru_maxrss is in KiB on Linux


def score(estimates: dict[str, dict[str, float]], truth: dict[str, float]) -> tuple[float, float]:
    """ROAS error (mean absolute percentage error of the mean) and 90% coverage over the keys of `truth`."""
    errors = [abs(estimates[k]["mean"] - t) / t for k, t in truth.items()]
    covered = [estimates[k]["low"] <= t <= estimates[k]["high"] for k, t in truth.items()]
    return sum(errors) / len(errors), sum(covered) / len(covered)


def true_roas(truth: dict[str, Any]) -> tuple[dict[str, float], dict[str, float]]:
    """National ROAS per channel, and per 'region/channel' (empty for a national scenario)."""
    national = {ch: float(v["roas"]) for ch, v in truth["channels"].items()}
    regional = {f"{g}/{ch}": float(c["roas"]) for g, v in truth.get("geos", {}).items() for ch, c in v["channels"].items()}
    return national, regional


def scored(row: dict[str, Any], roas: dict[str, dict[str, float]], geo_roas: dict[str, dict[str, float]], truth: dict[str, Any]) -> None:
    """Add ROAS error and coverage (national, and per region when both sides have regions) to `row`."""
    national, regional = true_roas(truth)
    row["roas_error"], row["coverage"] = score(roas, national)
    row["channels"] = {ch: {**roas[ch], "true": t} for ch, t in national.items()}
    if regional and geo_roas:
        row["geo_roas_error"], row["geo_coverage"] = score(geo_roas, regional)


def fit_mmm(shape: Shape, paths: dict[str, Path], work: Path, env: dict[str, str]) -> dict[str, Any]:
    """`mmm fit` as a user runs it; its figures and score against the truth."""
    out = work / "fit.json"
    cmd = [str(ROOT / ".venv" / "bin" / "mmm"), "fit", str(paths["config"]), "--output-json", str(out)]
    wall, peak = run_measured([*cmd, "--tracking-uri", f"sqlite:///{work / 'mlruns.db'}"], work / "mmm.log", env)
    s = json.loads(out.read_text())
    sampling, diag = s.get("sampling") or {}, s["diagnostics"]
    compile_s, sample_s = sampling.get("compile_seconds") or 0.0, sampling.get("sample_seconds") or 0.0
    row: dict[str, Any] = {
        "shape": shape.label,
        "tool": "mmm",
        "wall_seconds": wall,
        "build_seconds": max(s["fit_seconds"] - compile_s - sample_s, 0.0),  # data checks and model building
        "other_seconds": wall - s["fit_seconds"],  # start-up, summary, MLflow logging and report
        "compile_seconds": sampling.get("compile_seconds"),
        "sample_seconds": sampling.get("sample_seconds"),
        "draws": f"{sampling.get('chains')} x {sampling.get('draws_per_chain')}",
        "draws_per_chain": sampling.get("draws_per_chain"),
        "max_rhat": diag["max_rhat"],
        "divergences": diag["divergences"],
        "converged": diag["converged"],
        "peak_gib": peak,
    }
    roas = {ch: v["roas"] for ch, v in s["channels"].items()}
    geo_roas = {f"{g}/{ch}": c["roas"] for g, v in (s.get("geos") or {}).items() for ch, c in v["channels"].items()}
    scored(row, roas, geo_roas, json.loads(paths["truth"].read_text()))
    return row


def meridian_python() -> tuple[Path, float | None]:
    """Meridian's environment, created on first use; its python and the seconds the install took (None if it existed)."""
    exe = MERIDIAN_ENV / "bin" / "python"
    if exe.exists():
        return exe, None
    print(f"Creating Meridian's environment in {MERIDIAN_ENV} (TensorFlow: several minutes, once)...", flush=True)
    start = time.perf_counter()
    subprocess.run(["python3", "-m", "venv", str(MERIDIAN_ENV)], check=True)
    subprocess.run([str(exe), "-m", "pip", "install", "-q", *MERIDIAN_REQUIREMENTS], check=True)
    return exe, time.perf_counter() - start


def fit_meridian(shape: Shape, paths: dict[str, Path], work: Path, args: argparse.Namespace, draws: int) -> dict[str, Any]:
    """Meridian on the same data file; its figures and score against the truth."""
    exe, install = meridian_python()
    cfg = yaml.safe_load(paths["config"].read_text())
    job = {
        "data": str(paths["data"]),
        "date_column": cfg["data"]["date_column"],
        "target_column": cfg["data"]["target_column"],
        "geo_column": cfg["data"].get("geo_column"),
        "population_column": cfg["data"].get("population_column"),
        "channels": {c["name"]: c["spend_column"] for c in cfg["channels"]},
        "national_channels": [c["name"] for c in cfg["channels"] if c.get("national")],
        "controls": cfg.get("controls", []),
        "chains": args.chains,
        "n_adapt": args.tune,
        "n_burnin": args.peer_burnin,
        "n_keep": draws,
        "seed": args.seed,
        "output": str(work / "meridian.json"),
    }
    (work / "meridian_job.json").write_text(json.dumps(job))
    runner = ROOT / "scripts" / "bench_scale_meridian.py"
    base = {"shape": shape.label, "draws": f"{args.chains} x {draws}", "draws_per_chain": draws, "install_seconds": install}
    try:
        wall, peak = run_measured([str(exe), str(runner), str(work / "meridian_job.json")], work / "meridian.log", limit=args.peer_limit)
    except StoppedError as stop:
        return {**base, "tool": "Meridian (stopped)", "wall_seconds": stop.wall, "peak_gib": stop.peak, "stopped": True}
    m = json.loads((work / "meridian.json").read_text())
    row: dict[str, Any] = {
        **base,
        "tool": f"Meridian {m['version']}",
        "wall_seconds": wall,
        "build_seconds": wall - m["sample_seconds"],
        "compile_seconds": None,  # Meridian compiles inside sample_posterior: counted in sample
        "sample_seconds": m["sample_seconds"],
        "max_rhat": m["max_rhat"],
        "divergences": m["divergences"],
        "converged": m["max_rhat"] <= 1.01 and m["divergences"] == 0,
        "peak_gib": peak,
        "settings": {k: job[k] for k in ("chains", "n_adapt", "n_burnin", "n_keep", "seed")},
    }
    scored(row, m["roi"], m.get("geo_roi") or {}, json.loads(paths["truth"].read_text()))
    return row


def table(rows: list[dict[str, Any]]) -> str:
    """The results as a fixed-width text table ('-' where a figure does not apply)."""
    cells = [[h for h, _, _ in COLUMNS]]
    for r in rows:
        cells.append(["-" if r.get(k) is None else fmt.format(r[k]) for _, k, fmt in COLUMNS])
    widths = [max(len(c[i]) for c in cells) for i in range(len(COLUMNS))]
    lines = ["  ".join(c[i].rjust(widths[i]) if i > 1 else c[i].ljust(widths[i]) for i in range(len(COLUMNS))) for c in cells]
    return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:]])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shapes", default=DEFAULT_SHAPES, help=f"comma-separated shapes (default {DEFAULT_SHAPES})")
    ap.add_argument("--draws", default="auto", help="mmm's draws per chain: auto (its default) or a number")
    ap.add_argument("--tune", type=int, default=1000, help="tuning steps per chain (Meridian: adaptation steps)")
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--backend", default="nutpie", choices=["nutpie", "numba", "jax", "pymc"], help="mmm's sampler.backend")
    ap.add_argument("--target-accept", type=float, default=None, help="mmm's sampler.target_accept (default: the config's default)")
    ap.add_argument("--seed", type=int, default=1, help="simulation seed (and Meridian's sampling seed)")
    ap.add_argument("--skip-peer", action="store_true", help="leave Meridian out")
    ap.add_argument("--peer-burnin", type=int, default=500, help="Meridian's burn-in steps after adaptation (its documented example: 500)")
    ap.add_argument("--peer-min-draws", type=int, default=1000, help="Meridian keeps as many draws as mmm kept, at least this many")
    ap.add_argument(
        "--peer-limit", type=float, default=None, help="stop Meridian after this many seconds (its ratio is then a lower bound)"
    )
    ap.add_argument("--json", type=Path, help="also write every figure here")
    args = ap.parse_args(argv)
    if args.draws != "auto" and not args.draws.isdigit():
        ap.error("--draws must be auto or a number")
    args.shape_list = [parse_shape(s.strip()) for s in args.shapes.split(",") if s.strip()]
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    warnings.filterwarnings("ignore")
    sys.path.insert(0, str(ROOT))
    results: dict[str, Any] = {"settings": {k: v for k, v in vars(args).items() if k not in ("json", "shape_list")}, "rows": []}
    results["settings"]["cpus"] = os.cpu_count()
    with tempfile.TemporaryDirectory() as tmp:
        for shape in args.shape_list:
            work = Path(tmp) / shape.label
            paths = simulate(shape, args.seed, work / "data")
            set_sampler(paths["config"], args.draws, args.tune, args.chains, args.backend, args.target_accept)
            env = {**os.environ, "MMM_WARM": "off", "PYTHONWARNINGS": "ignore", "PYTENSOR_FLAGS": f"base_compiledir={work / 'cache'}"}
            print(f"{shape.label}: fitting with mmm ({args.backend}, {args.chains} chains, draws {args.draws})...", flush=True)
            row = fit_mmm(shape, paths, work, env)
            results["rows"].append(row)
            if not args.skip_peer:
                draws = max(row["draws_per_chain"] or 0, args.peer_min_draws) if args.draws == "auto" else int(args.draws)
                print(f"{shape.label}: fitting with Meridian ({args.chains} chains x {draws} kept draws)...", flush=True)
                try:
                    peer = fit_meridian(shape, paths, work, args, draws)
                except RuntimeError as exc:  # its figures are missing, mmm's still count
                    print(f"{shape.label}: Meridian failed: {exc}", flush=True)
                    continue
                peer["ratio_to_mmm"] = peer["wall_seconds"] / row["wall_seconds"]
                results["rows"].append(peer)
                if peer.get("stopped"):  # it had not finished: the ratio is at least this
                    print(
                        f"{shape.label}: Meridian had not finished after {peer['wall_seconds']:.0f} s and was stopped: "
                        f"Meridian wall / mmm wall >= {peer['ratio_to_mmm']:.2f}x (target >= 3x)",
                        flush=True,
                    )
                else:
                    print(f"{shape.label}: Meridian wall / mmm wall = {peer['ratio_to_mmm']:.2f}x (target >= 3x)", flush=True)
    print()
    print(table(results["rows"]))
    print(
        "\nwall: the whole command (mmm fit: start-up, checks, compile, sampling, summary, MLflow, report; Meridian: imports, "
        "data, model, sampling, ROI). mmm: build = data checks and model, the rest of wall is start-up, summary, logging "
        "and report; Meridian: build = wall - sample (its compiling is inside sampling). ROAS error: mean absolute % error of the posterior "
        "mean, national totals per channel; coverage: share of true ROAS inside the 90% interval."
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
