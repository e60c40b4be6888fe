"""Commands that plan spend from a fitted model: optimize and scenario."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import click

from mmm.cli.common import (
    OUTPUT_FILE,
    finish_child,
    with_tracking,
)

if TYPE_CHECKING:
    from mmm.analysis.results import FitSummary
    from mmm.core.review import ReviewVerdict
    from mmm.model.estimator import MarketingMixModel
    from mmm.planning.results import PlanForecast, RegionPlan
    from mmm.planning.weekly_results import WeeklyPlan


def _budget_value(ctx: click.Context, param: click.Parameter, value: str) -> float | Literal["auto"]:
    """--budget: an amount (currency over the horizon) or 'auto'."""
    if value.strip().lower() == "auto":
        return "auto"
    try:
        return float(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is neither an amount (e.g. 130000) nor 'auto'") from None


FORCE_HELP = "Plan even with a model whose health review FAILed (the override is recorded in the run)."


def force_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--force", is_flag=True, help=FORCE_HELP)(command)


def load_for_planning(run_id: str, tracking_uri: str | None, force: bool) -> tuple[MarketingMixModel, FitSummary, ReviewVerdict]:
    """The fitted model, its summary and its review's verdict; refuses a FAIL review unless forced."""
    from mmm.analysis.summary import fit_summary
    from mmm.planning.gate import admit
    from mmm.tracking.runs import load_fit

    model, summary = load_fit(run_id, tracking_uri)
    review = summary.review or fit_summary(model).review  # runs fitted before the review existed
    assert review is not None
    verdict = admit(review, run_id, force)
    if verdict.forced:
        click.echo(
            f"Warning: planning with a model that FAILed its health review ({', '.join(verdict.failed_checks)}); --force recorded.",
            err=True,
        )
    return model, summary, verdict


def review_params(verdict: ReviewVerdict) -> dict[str, Any]:
    """What a plan run records of its model's review (MLflow params)."""
    return {"model_review": verdict.status, "review_forced": verdict.forced}


PLAN_FILE_OPTIONS = [
    click.option("--output-csv", type=OUTPUT_FILE, help="Also write the plan by week and channel as CSV here."),
    click.option(
        "--output-xlsx",
        type=OUTPUT_FILE,
        help="Also write the plan by week and month, with a summary, as XLSX.",
    ),
]


def plan_file_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add --output-csv and --output-xlsx (the plan per week and channel, for a spreadsheet) to a planning command."""
    for option in reversed(PLAN_FILE_OPTIONS):
        command = option(command)
    return command


@contextmanager
def plan_files(
    plan: WeeklyPlan,
    forecast: PlanForecast,
    currency: str,
    title: str,
    output_csv: str | None,
    output_xlsx: str | None,
    geos: dict[str, RegionPlan] | None = None,
) -> Iterator[list[str]]:
    """Write --output-csv and --output-xlsx when asked: first into a temporary folder, yielding those paths to log
    with the plan's run, then, once the run is recorded, where asked (saying where), so a store that refuses the
    run leaves no file behind. geos: a geo plan per region and channel (the workbook's sheet "By region")."""
    from mmm.report.spreadsheet import write_plan_csv, write_plan_xlsx

    with tempfile.TemporaryDirectory() as tmp:
        staged: dict[str, Path] = {}
        for kind, wanted in (("csv", output_csv), ("xlsx", output_xlsx)):
            if wanted:
                staged[wanted] = Path(tmp, kind, Path(wanted).name)
                staged[wanted].parent.mkdir()
        if output_csv:
            write_plan_csv(staged[output_csv], plan)
        if output_xlsx:
            write_plan_xlsx(staged[output_xlsx], plan, forecast, currency, title, geos)
        yield [str(path) for path in staged.values()]
        for wanted, path in staged.items():
            Path(wanted).parent.mkdir(parents=True, exist_ok=True)
            shutil.move(path, wanted)
            click.echo(f"Plan by week written to {wanted}")


@click.command()
@click.option("--run-id", required=True, help="The fitted model's run id (from `mmm fit` or `mmm runs`).")
@click.option(
    "--budget",
    required=True,
    callback=_budget_value,
    help="Total budget over the horizon, currency; or `auto` to choose it (with --margin, --target-mroas or --target-cpa).",
)
@click.option(
    "--margin",
    type=float,
    default=None,
    help="Contribution margin, the share of revenue (for conversions: of their value) left as profit before marketing (above 0, at most 1). "
    "With --budget auto: the total that maximises margin x incremental revenue - spend; else the plan's expected profit.",
)
@click.option(
    "--target-mroas", type=float, default=None, help="With --budget auto: spend until the marginal ROAS of the total falls to this."
)
@click.option(
    "--target-cpa",
    type=float,
    default=None,
    help="Conversions KPI, with --budget auto: spend until an extra conversion costs this much (marginal CPA, currency).",
)
@click.option("--weeks", type=int, default=13, show_default=True, help="Horizon in periods (13 weeks = a quarter).")
@click.option(
    "--bounds", "bounds_file", type=click.Path(), help="CSV `channel,min,max` (or `channel,geo,min,max`) or YAML of weekly spend limits."
)
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
@click.option(
    "--by-week/--flat",
    "by_week",
    default=None,
    help="Plan spend per channel per week, moving it into the weeks where media earns more (needs model.media_seasonality); "
    "--flat: the same spend every week. Default: the config's optimizer.by_week (flat).",
)
@click.option(
    "--geo-allocation",
    type=click.Choice(["cells", "shares"]),
    default=None,
    help="Data by geo: cells chooses each region's spend on each channel; shares plans channel totals and keeps each region's "
    "recent share of them. Default: the config's optimizer.geo_allocation (cells).",
)
@click.option("--name", default=None, help="Name of the MLflow run (default: optimize <budget>).")
@click.option("--output-json", type=OUTPUT_FILE, help="Also write the results as JSON here.")
@plan_file_options
@force_option
@with_tracking
def optimize(
    run_id: str,
    budget: float | Literal["auto"],
    margin: float | None,
    target_mroas: float | None,
    target_cpa: float | None,
    weeks: int,
    bounds_file: str | None,
    policy: str | None,
    tiers_mode: str,
    strict_tiers: bool,
    risk: float,
    by_week: bool | None,
    geo_allocation: Literal["cells", "shares"] | None,
    name: str | None,
    output_json: str | None,
    output_csv: str | None,
    output_xlsx: str | None,
    force: bool,
    tracking_uri: str | None,
    experiment: str | None,
) -> None:
    """Recommend a budget split under the 70/20/10 rule, from a fitted model (no refit)."""
    from mmm.data.plans import read_bounds, read_region_bounds
    from mmm.planning.recommend import recommend_budget
    from mmm.report.budget_plot import write_budget_curve
    from mmm.report.formatting import format_optimize_table
    from mmm.report.prose import unit_of
    from mmm.report.region_text import format_regions
    from mmm.report.timing_text import format_by_week
    from mmm.tracking.runs import end_download_threads, log_plan_run

    model, fit_result, verdict = load_for_planning(run_id, tracking_uri, force)
    if budget == "auto":
        end_download_threads()  # the budget curve's totals are split on every core, in forked workers
    overrides = read_bounds(bounds_file) if bounds_file else None
    regions = read_region_bounds(bounds_file, model.channels, model.observed.geos) if bounds_file else None
    auto_tiers = tiers_mode == "auto"
    result = recommend_budget(
        model,
        fit_result,
        budget,
        weeks,
        policy,
        auto_tiers,
        strict_tiers,
        overrides,
        risk,
        margin=margin,
        target_mroas=target_mroas,
        target_cpa=target_cpa,
        by_week=by_week,
        geo_allocation=geo_allocation,
        region_bounds=regions,
    )
    result = result.model_copy(update={"run_id": run_id, "review": verdict})
    click.echo(format_optimize_table(result, model.config.currency))
    for extra in (format_regions(result), format_by_week(result, model.config.currency)):
        if extra:
            click.echo("\n" + extra)
    chosen_by = {"margin": margin, "target_mroas": target_mroas, "target_cpa": target_cpa, "chosen_budget": result.chosen_budget}
    params = {
        "budget": budget,
        "weeks": weeks,
        "policy": policy or model.config.optimizer.policy,
        "tiers": tiers_mode,
        "risk": risk,
        "bounds": bounds_file or "default",
        "by_week": result.by_week is not None,
        **({"geo_allocation": result.geo_allocation} if result.geo_allocation else {}),
        **review_params(verdict),
        **{k: v for k, v in chosen_by.items() if v is not None},
    }
    run_name = name or (f"optimize auto {result.budget:,.0f}" if budget == "auto" else f"optimize {budget:,.0f}")
    assert result.weekly_plan is not None  # the optimiser lays its plan out by week
    currency = model.config.currency
    with (
        plan_files(result.weekly_plan, result.forecast, currency, run_name, output_csv, output_xlsx, result.geos) as files,
        tempfile.TemporaryDirectory() as tmp,  # the budget curve's chart and numbers go with the run
    ):
        files += write_budget_curve(result, currency, unit_of(fit_result), tmp)
        child = log_plan_run(run_id, "optimize", run_name, result.forecast, params, result.to_json(), tracking_uri, files, result.geos)
    finish_child(result.model_copy(update={"tracking_run_id": child}).to_json(), run_id, output_json)


@click.command()
@click.option("--run-id", required=True, help="The fitted model's run id.")
@click.option("--plan", "plan_file", required=True, type=click.Path(), help="Spend plan: experiments/PLAN.csv or .yaml.")
@click.option("--name", default=None, help="Scenario name (default: the plan file's name).")
@click.option("--output-json", type=OUTPUT_FILE, help="Also write the forecast as JSON here.")
@plan_file_options
@force_option
@with_tracking
def scenario(
    run_id: str,
    plan_file: str,
    name: str | None,
    output_json: str | None,
    output_csv: str | None,
    output_xlsx: str | None,
    force: bool,
    tracking_uri: str | None,
    experiment: str | None,
) -> None:
    """Forecast the target week by week for a spend plan, and what the plan earns."""
    from mmm.data.dataset import period_word
    from mmm.data.plans import read_plan
    from mmm.planning.forecast import forecast_plan
    from mmm.planning.results import ScenarioResult
    from mmm.planning.weekly import weekly_plan
    from mmm.report.formatting import format_scenario_table
    from mmm.tracking.runs import log_plan_run

    model, _, verdict = load_for_planning(run_id, tracking_uri, force)
    plan = read_plan(plan_file, model.channels, model.train.control_names, name, model.observed.geos)
    forecast, draws = forecast_plan(model, plan.spend, plan.controls)
    result = ScenarioResult(**forecast.model_dump(), run_id=run_id, name=plan.name, plan_file=str(plan_file), review=verdict)
    click.echo(format_scenario_table(result, model.config.currency))
    params = {"plan": plan_file, "weeks": plan.spend.shape[0], **review_params(verdict)}
    by_week = weekly_plan(plan.channel_spend, draws, model.config.tiers, forecast.outcome, period_word(model.observed.frequency))
    with plan_files(by_week, result, model.config.currency, plan.name, output_csv, output_xlsx) as files:
        child = log_plan_run(run_id, "scenario", plan.name, result, params, result.to_json(), tracking_uri, files)
    finish_child(result.model_copy(update={"tracking_run_id": child}).to_json(), run_id, output_json)
