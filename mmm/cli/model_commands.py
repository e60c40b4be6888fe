"""Commands that build and check models: simulate, validate, fit, validate-model, check."""

from __future__ import annotations

from pathlib import Path

import click

from mmm.cli.common import (
    FLAGS,
    OUTPUT_FILE,
    finish_child,
    out_file,
    quiet_libraries,
    save_json,
    terminate_as_interrupt,
    with_fit_options,
    with_tracking,
    write_json,
)


@click.command()
@click.option(
    "--scenario",
    required=True,
    help="clean, small_business, hard, bend, conversions (sign-ups counted, true CPA known), seasonal (media works better in some seasons), "
    "or geo (6 regions, long format; geo_GxWxC for G regions, W weeks, C channels, e.g. geo_20x104x5).",
)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder to write into.")
@click.option("--seed", type=int, default=None, help="Simulation seed (default: the scenario's own).")
@click.option("--lifts", default=None, help="Also write lifts.csv: one simulated geo lift test per channel named (comma-separated).")
@click.option(
    "--test-design",
    type=click.Path(dir_okay=False),
    default=None,
    help="Run this test (`mmm plan-test --output-json`, its best design) after the data: write the extended data and its lift row.",
)
def simulate(scenario: str, out_dir: str, seed: int | None, lifts: str | None, test_design: str | None) -> None:
    """Write simulated data with known truth: data.csv, truth.json, config.yaml (and lifts.csv)."""
    from mmm.simulation.scenarios import write_scenario

    if test_design:
        from mmm.simulation.experiments import write_realised

        if lifts:
            raise click.UsageError("--test-design writes lifts.csv with the test's result; leave out --lifts")
        for kind, p in write_realised(scenario, out_dir, test_design, seed).items():
            click.echo(f"{kind:>7}: {p}")
        return
    from mmm.simulation.geo_scenarios import is_geo_scenario, write_geo_scenario

    write = write_geo_scenario if is_geo_scenario(scenario) else write_scenario
    paths = write(scenario, out_dir, seed, [c.strip() for c in lifts.split(",")] if lifts else None)
    for kind, p in paths.items():
        click.echo(f"{kind:>7}: {p}")


@click.command()
@click.argument("config", type=click.Path())
@click.option(
    "--output-json",
    type=OUTPUT_FILE,
    help="Also write how the data was read and its checks as JSON here.",
)
def validate(config: str, output_json: str | None) -> None:
    """Check a config and its data file, and whether the data can tell the channels apart; exit status 2 names what to fix."""
    from mmm.config import load_config
    from mmm.core.errors import DataError
    from mmm.data.geo_quality import geo_profiles, review_all
    from mmm.data.lifts import read_lifts
    from mmm.data.loading import count_parameters, load_data
    from mmm.data.reading import read_data_file
    from mmm.report.formatting import format_review

    cfg = load_config(config)
    table = read_data_file(cfg.data_path())
    data = load_data(cfg, table)
    lifts = read_lifts(cfg.relative_path(cfg.calibration), data) if cfg.calibration else []
    review = review_all(data, count_parameters(cfg, len(data.control_names), data.n_periods, data.frequency), cfg.outcome.is_money)
    profiles = geo_profiles(data) if cfg.data.geo_column else []
    first, last = str(data.dates[0].date()), str(data.dates[-1].date())
    click.echo(f"{data.source}: {data.n_periods} {data.frequency} periods, {first} to {last}")
    click.echo("How each column is used:")
    for note in data.notes:
        click.echo(f"  - {note}")
    if profiles:
        click.echo(f"Geos ({len(profiles)}): share of the target" + (" and of the population" if data.population is not None else ""))
        for p in profiles:
            people = "" if p.population_share is None else f"  {p.population_share:6.1%}"
            click.echo(f"  {p.geo:<24} {p.target_share:6.1%}{people}")
    if cfg.calibration:
        click.echo(f"Lift tests ({cfg.calibration}): {len(lifts)}, of {', '.join(sorted({t.channel for t in lifts}))}")
    for w in data.warnings:
        click.echo(f"Warning: {w}", err=True)
    click.echo("\n" + format_review(review, "Data checks"))
    read_as = table.read_as.to_dict() if table.read_as else None
    summary = {"source": data.source, "periods": data.n_periods, "first_date": first, "last_date": last, "read_as": read_as}
    if profiles:
        summary["geos"] = {p.geo: p.to_json() for p in profiles}
    save_json(
        output_json,
        {**summary, "lift_tests": len(lifts), "notes": list(data.notes), "warnings": list(data.warnings), "review": review.to_json()},
    )
    failed = review.with_status("FAIL")
    if failed:
        names = ", ".join(c.name for c in failed)
        found = "; ".join(f"{c.name}: {c.message.rstrip('.')}" for c in failed)
        raise DataError(f"{data.source}: the data fails the check(s) {names}, so no fit on it could be trusted. {found}.")
    click.echo("OK: the data is ready to fit" + ("; read the checks marked REVIEW." if review.status == "REVIEW" else "."))


@click.command()
@click.argument("config", type=click.Path())
@click.option("--output-json", type=OUTPUT_FILE, help="Also write the results as JSON here.")
@with_fit_options
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
    from mmm.cli.fitting import FitRequest, fit_config

    terminate_as_interrupt()
    request = FitRequest(config, holdout, draws, tune, chains, seed, lifts_file, register, tracking_uri, experiment)
    summary = fit_config(request, apart=True)
    save_json(output_json, summary.to_json())


@click.command("validate-model")
@click.option("--run-id", required=True, help="The fitted model's run id.")
@click.option("--folds", type=int, default=4, show_default=True, help="Number of rolling-origin folds.")
@click.option("--horizon", type=int, default=13, show_default=True, help="Periods each fold forecasts.")
@click.option("--draws", type=int, help="Override sampler.draws for the fold fits.")
@click.option("--tune", type=int, help="Override sampler.tune for the fold fits.")
@click.option("--chains", type=int, help="Override sampler.chains for the fold fits.")
@click.option("--output-json", type=OUTPUT_FILE, help="Also write the results as JSON here.")
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
    from mmm.analysis.cross_validation import check_folds, rolling_origin
    from mmm.config import with_overrides
    from mmm.report.formatting import format_validation_table
    from mmm.tracking.runs import load_fit, log_child_run

    model, _ = load_fit(run_id, tracking_uri)
    cfg = with_overrides(model.config, {"sampler.draws": draws, "sampler.tune": tune, "sampler.chains": chains}, FLAGS)
    check_folds(model.observed, folds, horizon)
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
@out_file("out_png", "predictive_checks.png", "Where to write the plot.")
@click.option("--output-json", type=OUTPUT_FILE, help="Also write the check statistics as JSON here.")
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
    Path(out_png).parent.mkdir(parents=True, exist_ok=True)
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


@click.command()
@click.option("--run-id", required=True, help="The fitted model's run id.")
@click.option("--output-json", type=OUTPUT_FILE, help="Also write the review as JSON here.")
@with_tracking
def review(run_id: str, output_json: str | None, tracking_uri: str | None, experiment: str | None) -> None:
    """The health review of a fitted model: is it fit to advise a budget, and what to fix if not."""
    from mmm.report.formatting import format_review
    from mmm.tracking.runs import load_fit, load_summary

    summary = load_summary(run_id, tracking_uri)
    found = summary.review
    if found is None:  # fitted before reviews existed: review the stored model now
        from mmm.analysis.summary import fit_summary

        found = fit_summary(load_fit(run_id, tracking_uri)[0]).review
    assert found is not None
    click.echo(format_review(found, f"Health review of run {run_id}"))
    save_json(output_json, {"run_id": run_id, **found.to_json()})
