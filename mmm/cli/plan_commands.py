"""Commands that plan spend from a fitted model: optimize and scenario."""

from __future__ import annotations

import click

from mmm.cli.common import (
    finish_child,
    with_tracking,
)


@click.command()
@click.option("--run-id", required=True, help="The fitted model's run id (from `mmm fit` or `mmm runs`).")
@click.option("--budget", type=float, required=True, help="Total budget over the horizon, currency.")
@click.option("--weeks", type=int, default=13, show_default=True, help="Horizon in periods (13 weeks = a quarter).")
@click.option("--bounds", "bounds_file", type=click.Path(), help="CSV `channel,min,max` or YAML of weekly spend limits.")
@click.option("--policy", default=None, help="Tier shares proven/test/experimental, e.g. 60/30/10 (default: config, 70/20/10).")
@click.option(
    "--tiers",
    "tiers_mode",
    type=click.Choice(["config", "auto"]),
    default="config",
    show_default=True,
    help="Tiers from the config, or proposed from the evidence.",
)
@click.option("--strict-tiers", is_flag=True, help="Fail when a tier with a budget share has no channel.")
@click.option("--risk", type=float, default=0.0, show_default=True, help="Maximise mean minus RISK standard deviations.")
@click.option("--name", default=None, help="Name of the MLflow run (default: optimize <budget>).")
@click.option("--output-json", type=click.Path(dir_okay=False), help="Also write the results as JSON here.")
@with_tracking
def optimize(
    run_id: str,
    budget: float,
    weeks: int,
    bounds_file: str | None,
    policy: str | None,
    tiers_mode: str,
    strict_tiers: bool,
    risk: float,
    name: str | None,
    output_json: str | None,
    tracking_uri: str | None,
    experiment: str | None,
) -> None:
    """Recommend a budget split under the 70/20/10 rule, from a fitted model (no refit)."""
    from mmm.data.plans import read_bounds
    from mmm.planning.recommend import recommend_budget
    from mmm.report.formatting import format_optimize_table
    from mmm.tracking.runs import load_fit, log_plan_run

    model, fit_result = load_fit(run_id, tracking_uri)
    overrides = read_bounds(bounds_file) if bounds_file else None
    result = recommend_budget(model, fit_result, budget, weeks, policy, tiers_mode == "auto", strict_tiers, overrides, risk)
    result = result.model_copy(update={"run_id": run_id})
    click.echo(format_optimize_table(result, model.config.currency))
    params = {
        "budget": budget,
        "weeks": weeks,
        "policy": policy or model.config.optimizer.policy,
        "tiers": tiers_mode,
        "risk": risk,
        "bounds": bounds_file or "default",
    }
    child = log_plan_run(run_id, "optimize", name or f"optimize {budget:,.0f}", result.forecast, params, result.to_json(), tracking_uri)
    finish_child(result.model_copy(update={"tracking_run_id": child}).to_json(), run_id, output_json)


@click.command()
@click.option("--run-id", required=True, help="The fitted model's run id.")
@click.option("--plan", "plan_file", required=True, type=click.Path(), help="Spend plan: experiments/PLAN.csv or .yaml.")
@click.option("--name", default=None, help="Scenario name (default: the plan file's name).")
@click.option("--output-json", type=click.Path(dir_okay=False), help="Also write the forecast as JSON here.")
@with_tracking
def scenario(
    run_id: str, plan_file: str, name: str | None, output_json: str | None, tracking_uri: str | None, experiment: str | None
) -> None:
    """Forecast the target week by week for a spend plan, and what the plan earns."""
    from mmm.data.plans import read_plan
    from mmm.planning.forecast import forecast_plan
    from mmm.planning.results import ScenarioResult
    from mmm.report.formatting import format_scenario_table
    from mmm.tracking.runs import load_fit, log_plan_run

    model, _ = load_fit(run_id, tracking_uri)
    plan = read_plan(plan_file, model.channels, model.train.control_names, name)
    forecast, _ = forecast_plan(model, plan.spend, plan.controls)
    result = ScenarioResult(**forecast.model_dump(), run_id=run_id, name=plan.name, plan_file=str(plan_file))
    click.echo(format_scenario_table(result, model.config.currency))
    params = {"plan": plan_file, "weeks": plan.spend.shape[0]}
    child = log_plan_run(run_id, "scenario", plan.name, result, params, result.to_json(), tracking_uri)
    finish_child(result.model_copy(update={"tracking_run_id": child}).to_json(), run_id, output_json)
