"""The `mmm` command line: a thin layer over the Python API.

Every problem the user can fix ends with a one-paragraph message and exit status 2.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import click

from mmm.errors import MMMError


def _quiet_libraries() -> None:
    """Keep library chatter (deprecations, BLAS hints) out of an analyst's terminal."""
    warnings.filterwarnings("ignore")
    import logging

    for name in ("pymc", "pytensor", "mlflow", "alembic", "numba"):
        logging.getLogger(name).setLevel(logging.ERROR)


class _Group(click.Group):
    """Turns MMMError into a clear message and exit status 2 instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MMMError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(exc.exit_code)


def _terminate_as_interrupt() -> None:
    """Let `kill` (SIGTERM) unwind like Ctrl-C, so an open MLflow run is closed as FAILED."""
    import signal

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, handler)


def write_json(path: str | Path, payload: dict[str, Any]) -> None:
    """Write JSON atomically: a reader never sees a half-written file."""
    from mmm.summary import json_safe

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(json_safe(payload), indent=2))
    tmp.replace(path)


tracking_options = [
    click.option("--tracking-uri", envvar="MLFLOW_TRACKING_URI", default=None,
                 help="MLflow store; default: MLFLOW_TRACKING_URI or ./mlruns.db (embedded)."),
    click.option("--experiment", default=None, help="MLflow experiment name (default: mmm)."),
]


def with_tracking(f):
    for opt in reversed(tracking_options):
        f = opt(f)
    return f


@click.group(cls=_Group)
@click.version_option(package_name="mmm")
def main() -> None:
    """mmm: Bayesian marketing-mix modelling and budget planning."""
    _quiet_libraries()


@main.command()
@click.option("--scenario", required=True, help="clean, small_business or hard.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder to write into.")
@click.option("--seed", type=int, default=None, help="Simulation seed (default: the scenario's own).")
@click.option("--lifts", default=None, help="Also write lifts.csv: one simulated geo lift test per channel named (comma-separated).")
def simulate(scenario: str, out_dir: str, seed: int | None, lifts: str | None) -> None:
    """Write simulated data with known truth: data.csv, truth.json, config.yaml (and lifts.csv)."""
    from mmm.simulate import write_scenario

    paths = write_scenario(scenario, out_dir, seed, [c.strip() for c in lifts.split(",")] if lifts else None)
    for kind, p in paths.items():
        click.echo(f"{kind:>7}: {p}")


@main.command()
@click.argument("config", type=click.Path())
def validate(config: str) -> None:
    """Check a config and its data file; exit status 2 names what to fix."""
    from mmm.config import load_config
    from mmm.data import load_data

    cfg = load_config(config)
    data = load_data(cfg)
    click.echo(f"{data.source}: {data.n_periods} {data.frequency} periods, {data.dates[0].date()} to {data.dates[-1].date()}")
    click.echo("How each column is used:")
    for note in data.notes:
        click.echo(f"  - {note}")
    for w in data.warnings:
        click.echo(f"Warning: {w}", err=True)
    click.echo("OK: the data is ready to fit.")


@main.command()
@click.argument("config", type=click.Path())
@click.option("--output-json", type=click.Path(dir_okay=False), help="Also write the results as JSON here.")
@click.option("--holdout", type=int, default=0, show_default=True, help="Keep the last N periods out of fitting and score them.")
@click.option("--draws", type=int, help="Override sampler.draws.")
@click.option("--tune", type=int, help="Override sampler.tune.")
@click.option("--chains", type=int, help="Override sampler.chains.")
@click.option("--seed", type=int, help="Override sampler.seed.")
@click.option("--lifts", "lifts_file", type=click.Path(), default=None,
              help="Lift-test results to calibrate with (overrides `calibration:` in the config).")
@click.option("--register", default=None, help="Also register the forecaster in the MLflow model registry under this name.")
@with_tracking
def fit(config: str, output_json: str | None, holdout: int, draws: int | None, tune: int | None,
        chains: int | None, seed: int | None, lifts_file: str | None, register: str | None,
        tracking_uri: str | None, experiment: str | None) -> None:
    """Fit the model in CONFIG and print what each channel returned."""
    from mmm.calibration import fit_calibrated
    from mmm.config import load_config
    from mmm.data import load_data
    from mmm.estimator import MarketingMixModel, check_fit_inputs
    from mmm.formatting import format_fit_table
    from mmm.lifts import read_lifts
    from mmm.report import build_report, log_report
    from mmm.summary import fit_summary
    from mmm.tracking import fit_run, log_fit

    cfg = load_config(config)
    for key, value in {"draws": draws, "tune": tune, "chains": chains, "seed": seed}.items():
        if value is not None:
            setattr(cfg.sampler, key, value)
    data = load_data(cfg)  # bad data stops here, before any run is recorded
    lifts_path = lifts_file or (str(cfg.relative_path(cfg.calibration)) if cfg.calibration else None)
    tests = read_lifts(lifts_path, data) if lifts_path else []
    check_fit_inputs(data, holdout, tests)
    for w in data.warnings:
        click.echo(f"Warning: {w}", err=True)
    click.echo(f"Fitting {len(cfg.channels)} channels on {data.n_periods} {data.frequency} periods "
               f"({cfg.sampler.chains} chains x {cfg.sampler.draws} draws)...", err=True)
    _terminate_as_interrupt()
    with fit_run(tracking_uri, experiment, run_name=f"fit {Path(config).stem}") as run:
        if tests:
            click.echo(f"Calibrating with {len(tests)} lift test(s): a fit on the data alone, then one with the tests...", err=True)
            result = fit_calibrated(cfg, data, tests, holdout)
            model, calibration = result.model, result.report
        else:
            model, calibration = MarketingMixModel(cfg).fit(data, holdout=holdout), None
        summary = fit_summary(model, run_id=run.info.run_id)
        if calibration is not None:
            summary["calibration"] = calibration
        log_fit(model, summary, str(cfg.data_path()), register)
        log_report(run.info.run_id, build_report(model, summary), tracking_uri)  # the charts belong to the run
    click.echo(format_fit_table(summary))
    click.echo(f"\nRun {run.info.run_id} logged to {_where()}")
    _save_json(output_json, summary)


@main.command()
@click.option("--run-id", required=True, help="The fitted model's run id (from `mmm fit` or `mmm runs`).")
@click.option("--budget", type=float, required=True, help="Total budget over the horizon, currency.")
@click.option("--weeks", type=int, default=13, show_default=True, help="Horizon in periods (13 weeks = a quarter).")
@click.option("--bounds", "bounds_file", type=click.Path(), help="CSV `channel,min,max` or YAML of weekly spend limits.")
@click.option("--policy", default=None, help="Tier shares proven/test/experimental, e.g. 60/30/10 (default: config, 70/20/10).")
@click.option("--tiers", "tiers_mode", type=click.Choice(["config", "auto"]), default="config", show_default=True,
              help="Tiers from the config, or proposed from the evidence.")
@click.option("--strict-tiers", is_flag=True, help="Fail when a tier with a budget share has no channel.")
@click.option("--risk", type=float, default=0.0, show_default=True, help="Maximise mean minus RISK standard deviations.")
@click.option("--name", default=None, help="Name of the MLflow run (default: optimize <budget>).")
@click.option("--output-json", type=click.Path(dir_okay=False), help="Also write the results as JSON here.")
@with_tracking
def optimize(run_id: str, budget: float, weeks: int, bounds_file: str | None, policy: str | None, tiers_mode: str,
             strict_tiers: bool, risk: float, name: str | None, output_json: str | None,
             tracking_uri: str | None, experiment: str | None) -> None:
    """Recommend a budget split under the 70/20/10 rule, from a fitted model (no refit)."""
    from mmm.formatting import format_optimize_table
    from mmm.optimizer import recommend_budget
    from mmm.plans import read_bounds
    from mmm.tracking import load_fit, log_plan_run

    model, fit_result = load_fit(run_id, tracking_uri)
    overrides = read_bounds(bounds_file) if bounds_file else None
    result = recommend_budget(model, fit_result, budget, weeks, policy, tiers_mode == "auto", strict_tiers, overrides, risk)
    result["run_id"] = run_id
    click.echo(format_optimize_table(result, model.config.currency))
    params = {"budget": budget, "weeks": weeks, "policy": policy or model.config.optimizer.policy, "tiers": tiers_mode,
              "risk": risk, "bounds": bounds_file or "default"}
    result["tracking_run_id"] = log_plan_run(run_id, "optimize", name or f"optimize {budget:,.0f}", result, params, result, tracking_uri)
    _finish_child(result, run_id, output_json)


@main.command()
@click.option("--run-id", required=True, help="The fitted model's run id.")
@click.option("--plan", "plan_file", required=True, type=click.Path(), help="Spend plan: experiments/PLAN.csv or .yaml.")
@click.option("--name", default=None, help="Scenario name (default: the plan file's name).")
@click.option("--output-json", type=click.Path(dir_okay=False), help="Also write the forecast as JSON here.")
@with_tracking
def scenario(run_id: str, plan_file: str, name: str | None, output_json: str | None,
             tracking_uri: str | None, experiment: str | None) -> None:
    """Forecast the target week by week for a spend plan, and what the plan earns."""
    from mmm.formatting import format_scenario_table
    from mmm.planning import forecast_plan
    from mmm.plans import read_plan
    from mmm.tracking import load_fit, log_plan_run

    model, _ = load_fit(run_id, tracking_uri)
    plan = read_plan(plan_file, model.channels, model.data.control_names, name)
    result = {"run_id": run_id, "name": plan.name, "plan_file": str(plan_file),
              **forecast_plan(model, plan.spend, plan.controls)}
    click.echo(format_scenario_table(result, model.config.currency))
    params = {"plan": plan_file, "weeks": plan.spend.shape[0]}
    result["tracking_run_id"] = log_plan_run(run_id, "scenario", plan.name, result, params, result, tracking_uri)
    _finish_child(result, run_id, output_json)


@main.command()
@click.option("--output-json", type=click.Path(dir_okay=False), help="Also write the list as JSON here.")
@with_tracking
def runs(output_json: str | None, tracking_uri: str | None, experiment: str | None) -> None:
    """List fitted models and the scenarios and optimisations run on them."""
    from mmm.formatting import format_runs_table
    from mmm.tracking import list_runs

    listing = list_runs(tracking_uri, experiment)
    click.echo(format_runs_table(listing) if listing else "No fitted models yet: run `mmm fit CONFIG`.")
    click.echo(f"\nStore: {_where()}")
    if output_json:
        write_json(output_json, {"runs": listing})


@main.command("validate-model")
@click.option("--run-id", required=True, help="The fitted model's run id.")
@click.option("--folds", type=int, default=4, show_default=True, help="Number of rolling-origin folds.")
@click.option("--horizon", type=int, default=13, show_default=True, help="Periods each fold forecasts.")
@click.option("--draws", type=int, help="Override sampler.draws for the fold fits.")
@click.option("--tune", type=int, help="Override sampler.tune for the fold fits.")
@click.option("--chains", type=int, help="Override sampler.chains for the fold fits.")
@click.option("--output-json", type=click.Path(dir_okay=False), help="Also write the results as JSON here.")
@with_tracking
def validate_model(run_id: str, folds: int, horizon: int, draws: int | None, tune: int | None, chains: int | None,
                   output_json: str | None, tracking_uri: str | None, experiment: str | None) -> None:
    """Rolling-origin cross-validation: how well the model forecasts periods it has not seen."""
    from mmm.formatting import format_validation_table
    from mmm.tracking import load_fit, log_child_run
    from mmm.validation import rolling_origin

    model, _ = load_fit(run_id, tracking_uri)
    cfg = model.config
    for key, value in {"draws": draws, "tune": tune, "chains": chains}.items():
        if value is not None:
            setattr(cfg.sampler, key, value)
    click.echo(f"Fitting {folds} folds of {horizon} periods...", err=True)
    result = {"run_id": run_id, **rolling_origin(cfg, model.data, folds, horizon, model.lifts)}
    click.echo(format_validation_table(result))
    metrics = {f"cv_{m}_mean": v for m, v in result["mean"].items()}
    metrics.update({f"cv_roas_cv.{ch}": s["cv"] for ch, s in result["roas_stability"].items() if s["cv"] is not None})
    result["tracking_run_id"] = log_child_run(run_id, "validate", f"validate {folds} folds", {"folds": folds, "horizon": horizon},
                                              metrics, result, tracking_uri)
    _finish_child(result, run_id, output_json)


@main.command()
@click.option("--run-id", required=True, help="The fitted model's run id.")
@click.option("--out", "out_png", type=click.Path(dir_okay=False), default="predictive_checks.png", show_default=True,
              help="Where to write the plot.")
@click.option("--output-json", type=click.Path(dir_okay=False), help="Also write the check statistics as JSON here.")
@with_tracking
def check(run_id: str, out_png: str, output_json: str | None, tracking_uri: str | None, experiment: str | None) -> None:
    """Prior and posterior predictive checks, with a plot: does the model reproduce the data?"""
    import mlflow

    from mmm.checks import plot_checks, predictive_checks
    from mmm.tracking import load_fit

    model, _ = load_fit(run_id, tracking_uri)
    _quiet_libraries()  # PyMC resets its logger when imported; keep its sampling notes out of the output
    checks = predictive_checks(model)
    png = plot_checks(checks, model.config.currency)
    Path(out_png).write_bytes(png)
    for key, label in (("prior", "Prior predictive (priors only)"), ("posterior", "Posterior predictive (fitted)")):
        c = checks[key]
        click.echo(f"{label}: {c['coverage']:.0%} of periods inside the 90% band; "
                   f"p-value of the mean {c['p_value_mean']:.2f}, of the spread {c['p_value_sd']:.2f}")
    click.echo("p-values near 0 or 1 mean simulated data differ systematically from the actual data.")
    with mlflow.start_run(run_id=run_id):
        mlflow.log_artifact(out_png, artifact_path="checks")
    click.echo(f"Plot written to {out_png} and logged to run {run_id}")
    if output_json:
        write_json(output_json, {"run_id": run_id, **{k: {m: v for m, v in checks[k].items() if m != "band"} for k in ("prior", "posterior")}})


LOOPBACK = ("127.0.0.1", "localhost", "::1")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; only this machine by default.")
@click.option("--port", type=int, default=5000, show_default=True)
@click.option("--allow-remote", is_flag=True, help="Needed to bind to an address other machines can reach.")
@with_tracking
def ui(host: str, port: int, allow_remote: bool, tracking_uri: str | None, experiment: str | None) -> None:
    """Open the MLflow UI on the same store the other commands use."""
    import subprocess

    from mmm.tracking import connect

    if host not in LOOPBACK and not allow_remote:
        raise MMMError(f"--host {host} would let other machines see every model and plan; add --allow-remote if that is intended")
    uri, _ = connect(tracking_uri, experiment)
    if uri.startswith(("http://", "https://")):
        click.echo(f"{uri} is a tracking server: it serves the MLflow UI itself. Open {uri} in a browser.")
        return
    if host not in LOOPBACK:
        click.echo(f"WARNING: the MLflow UI is reachable from other machines at http://{host}:{port} (no login).", err=True)
    click.echo(f"MLflow UI for {uri} at http://{'127.0.0.1' if host in LOOPBACK else host}:{port} (Ctrl-C to stop)")
    cmd = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri, "--host", host, "--port", str(port), "--workers", "1"]
    env = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", **os.environ}  # mmm needs none of MLflow's job workers
    try:
        raise SystemExit(subprocess.call(cmd, env=env))
    except KeyboardInterrupt:
        pass


def _finish_child(result: dict[str, Any], run_id: str, output_json: str | None) -> None:
    """Say where a nested run went and write the JSON, for commands that work on a fitted model."""
    click.echo(f"\nLogged as run {result['tracking_run_id']} under model run {run_id} in {_where()}")
    _save_json(output_json, result)


def _save_json(output_json: str | None, payload: dict[str, Any]) -> None:
    """Write --output-json when asked, and say where."""
    if output_json:
        write_json(output_json, payload)
        click.echo(f"Results written to {output_json}")


@main.command()
@click.option("--run-id", required=True, help="The fitted model's run id (from `mmm fit` or `mmm runs`).")
@click.option("--out", "out_html", type=click.Path(dir_okay=False), default="report.html", show_default=True,
              help="Where to write the HTML report.")
@with_tracking
def report(run_id: str, out_html: str, tracking_uri: str | None, experiment: str | None) -> None:
    """Write a one-file HTML report of a fitted model and its latest optimisation, and log it to the run."""
    from mmm.report import log_report, report_for_run

    built, optimization = report_for_run(run_id, tracking_uri)
    path = Path(out_html)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(built.html, encoding="utf-8")
    tmp.replace(path)
    log_report(run_id, built, tracking_uri)
    included = f"with optimisation run {optimization.get('tracking_run_id')}" if optimization else "no optimisation run yet"
    click.echo(f"Report written to {path} ({len(built.images)} charts; {included}).")
    click.echo(f"Logged to run {run_id} as report/report.html in {_where()}")


def _where() -> str:
    import mlflow

    return mlflow.get_tracking_uri()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
