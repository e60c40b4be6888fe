"""Commands that build and check models: simulate, validate, fit, validate-model, check."""

from __future__ import annotations

from pathlib import Path

import click

from mmm.cli.common import (
    FLAGS,
    draws_text,
    finish_child,
    quiet_libraries,
    sampler_overrides,
    save_json,
    stage,
    terminate_as_interrupt,
    where,
    with_tracking,
    write_json,
)


@click.command()
@click.option("--scenario", required=True, help="clean, small_business or hard.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder to write into.")
@click.option("--seed", type=int, default=None, help="Simulation seed (default: the scenario's own).")
@click.option("--lifts", default=None, help="Also write lifts.csv: one simulated geo lift test per channel named (comma-separated).")
def simulate(scenario: str, out_dir: str, seed: int | None, lifts: str | None) -> None:
    """Write simulated data with known truth: data.csv, truth.json, config.yaml (and lifts.csv)."""
    from mmm.simulation.scenarios import write_scenario

    paths = write_scenario(scenario, out_dir, seed, [c.strip() for c in lifts.split(",")] if lifts else None)
    for kind, p in paths.items():
        click.echo(f"{kind:>7}: {p}")


@click.command()
@click.argument("config", type=click.Path())
def validate(config: str) -> None:
    """Check a config and its data file; exit status 2 names what to fix."""
    from mmm.config import load_config
    from mmm.data.loading import load_data

    cfg = load_config(config)
    data = load_data(cfg)
    click.echo(f"{data.source}: {data.n_periods} {data.frequency} periods, {data.dates[0].date()} to {data.dates[-1].date()}")
    click.echo("How each column is used:")
    for note in data.notes:
        click.echo(f"  - {note}")
    for w in data.warnings:
        click.echo(f"Warning: {w}", err=True)
    click.echo("OK: the data is ready to fit.")


@click.command()
@click.argument("config", type=click.Path())
@click.option("--output-json", type=click.Path(dir_okay=False), help="Also write the results as JSON here.")
@click.option("--holdout", type=int, default=0, show_default=True, help="Keep the last N periods out of fitting and score them.")
@click.option("--draws", type=int, help="Override sampler.draws.")
@click.option("--tune", type=int, help="Override sampler.tune.")
@click.option("--chains", type=int, help="Override sampler.chains.")
@click.option("--seed", type=int, help="Override sampler.seed.")
@click.option(
    "--lifts",
    "lifts_file",
    type=click.Path(),
    default=None,
    help="Lift-test results to calibrate with (overrides `calibration:` in the config).",
)
@click.option("--register", default=None, help="Also register the forecaster in the MLflow model registry under this name.")
@with_tracking
def fit(
    config: str,
    output_json: str | None,
    holdout: int,
    draws: int | None,
    tune: int | None,
    chains: int | None,
    seed: int | None,
    lifts_file: str | None,
    register: str | None,
    tracking_uri: str | None,
    experiment: str | None,
) -> None:
    """Fit the model in CONFIG and print what each channel returned."""
    from mmm.analysis.calibration import fit_calibrated
    from mmm.analysis.summary import fit_summary
    from mmm.data.lifts import read_lifts
    from mmm.data.loading import load_data
    from mmm.model.estimator import MarketingMixModel, check_fit_inputs
    from mmm.report.build import build_report
    from mmm.report.formatting import format_fit_table
    from mmm.tracking.reports import log_report
    from mmm.tracking.runs import fit_run, log_fit

    cfg = sampler_overrides(config, draws=draws, tune=tune, chains=chains, seed=seed)
    data = load_data(cfg)  # bad data stops here, before any run is recorded
    lifts_path = lifts_file or (str(cfg.relative_path(cfg.calibration)) if cfg.calibration else None)
    tests = read_lifts(lifts_path, data) if lifts_path else []
    check_fit_inputs(data, holdout, tests)
    for w in data.warnings:
        click.echo(f"Warning: {w}", err=True)
    terminate_as_interrupt()
    with fit_run(tracking_uri, experiment, run_name=f"fit {Path(config).stem}") as run:
        what = (
            f"{len(cfg.channels)} channels on {data.n_periods} {data.frequency} periods ({cfg.sampler.chains} chains x {draws_text(cfg)})"
        )
        if tests:
            with stage(f"Calibrating with {len(tests)} lift test(s): a fit on the data alone, then one with the tests; {what}"):
                result = fit_calibrated(cfg, data, tests, holdout)
            model, calibration = result.model, result.report
        else:
            with stage(f"Fitting {what}"):
                model, calibration = MarketingMixModel(cfg).fit(data, holdout=holdout), None
        with stage("Summarising"):
            summary = fit_summary(model, run_id=run.info.run_id)
            if calibration is not None:
                summary = summary.model_copy(update={"calibration": calibration})
        click.echo(format_fit_table(summary))
        with stage("Logging the model to MLflow"):
            log_fit(model, summary, str(cfg.data_path()), register)
        with stage("Writing the report"):
            log_report(run.info.run_id, build_report(summary), tracking_uri)  # the charts belong to the run
    click.echo(f"\nRun {run.info.run_id} logged to {where()}")
    save_json(output_json, summary.to_json())


@click.command("validate-model")
@click.option("--run-id", required=True, help="The fitted model's run id.")
@click.option("--folds", type=int, default=4, show_default=True, help="Number of rolling-origin folds.")
@click.option("--horizon", type=int, default=13, show_default=True, help="Periods each fold forecasts.")
@click.option("--draws", type=int, help="Override sampler.draws for the fold fits.")
@click.option("--tune", type=int, help="Override sampler.tune for the fold fits.")
@click.option("--chains", type=int, help="Override sampler.chains for the fold fits.")
@click.option("--output-json", type=click.Path(dir_okay=False), help="Also write the results as JSON here.")
@with_tracking
def validate_model(
    run_id: str,
    folds: int,
    horizon: int,
    draws: int | None,
    tune: int | None,
    chains: int | None,
    output_json: str | None,
    tracking_uri: str | None,
    experiment: str | None,
) -> None:
    """Rolling-origin cross-validation: how well the model forecasts periods it has not seen."""
    from mmm.analysis.cross_validation import rolling_origin
    from mmm.config import with_overrides
    from mmm.report.formatting import format_validation_table
    from mmm.tracking.runs import load_fit, log_child_run

    model, _ = load_fit(run_id, tracking_uri)
    cfg = with_overrides(model.config, {"sampler.draws": draws, "sampler.tune": tune, "sampler.chains": chains}, FLAGS)
    click.echo(f"Fitting {folds} folds of {horizon} periods...", err=True)
    result = {"run_id": run_id, **rolling_origin(cfg, model.observed, folds, horizon, model.lifts)}
    click.echo(format_validation_table(result))
    metrics = {f"cv_{m}_mean": v for m, v in result["mean"].items()}
    metrics.update({f"cv_roas_cv.{ch}": s["cv"] for ch, s in result["roas_stability"].items() if s["cv"] is not None})
    result["tracking_run_id"] = log_child_run(
        run_id, "validate", f"validate {folds} folds", {"folds": folds, "horizon": horizon}, metrics, result, tracking_uri
    )
    finish_child(result, run_id, output_json)


@click.command()
@click.option("--run-id", required=True, help="The fitted model's run id.")
@click.option(
    "--out", "out_png", type=click.Path(dir_okay=False), default="predictive_checks.png", show_default=True, help="Where to write the plot."
)
@click.option("--output-json", type=click.Path(dir_okay=False), help="Also write the check statistics as JSON here.")
@with_tracking
def check(run_id: str, out_png: str, output_json: str | None, tracking_uri: str | None, experiment: str | None) -> None:
    """Prior and posterior predictive checks, with a plot: does the model reproduce the data?"""
    import mlflow

    from mmm.analysis.checks import predictive_checks
    from mmm.report.checks_plot import plot_checks
    from mmm.tracking.runs import load_fit

    model, _ = load_fit(run_id, tracking_uri)
    quiet_libraries()  # PyMC resets its logger when imported; keep its sampling notes out of the output
    checks = predictive_checks(model)
    png = plot_checks(checks, model.config.currency)
    Path(out_png).write_bytes(png)
    for key, label in (("prior", "Prior predictive (priors only)"), ("posterior", "Posterior predictive (fitted)")):
        c = checks[key]
        click.echo(
            f"{label}: {c['coverage']:.0%} of periods inside the 90% band; "
            f"p-value of the mean {c['p_value_mean']:.2f}, of the spread {c['p_value_sd']:.2f}"
        )
    click.echo("p-values near 0 or 1 mean simulated data differ systematically from the actual data.")
    with mlflow.start_run(run_id=run_id):
        mlflow.log_artifact(out_png, artifact_path="checks")
    click.echo(f"Plot written to {out_png} and logged to run {run_id}")
    if output_json:
        write_json(
            output_json, {"run_id": run_id, **{k: {m: v for m, v in checks[k].items() if m != "band"} for k in ("prior", "posterior")}}
        )
