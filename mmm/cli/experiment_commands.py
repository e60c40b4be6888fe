"""Commands for experiments: which test to run next (plan-test) and what a finished geo test measured (analyze-test)."""

from __future__ import annotations

from typing import Literal

import click

from mmm.cli.common import OUTPUT_FILE, finish_child, save_json, with_tracking
from mmm.cli.plan_commands import force_option, load_for_planning, review_params


def _names(value: str | None) -> list[str] | None:
    """A comma-separated list of names (None when not given)."""
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _test_weeks(ctx: click.Context, param: click.Parameter, value: str) -> int | Literal["auto"]:
    """--test-weeks: a whole number of periods or 'auto'."""
    if value.strip().lower() == "auto":
        return "auto"
    try:
        return int(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is neither a whole number of periods (e.g. 6) nor 'auto'") from None


@click.command("plan-test")
@click.option("--run-id", required=True, help="The fitted model's run id (from `mmm fit` or `mmm runs`).")
@click.option("--budget", type=float, required=True, help="Next quarter's total budget, currency over --weeks.")
@click.option("--weeks", type=int, default=13, show_default=True, help="Horizon of the plan the tests inform, in periods.")
@click.option(
    "--test-weeks",
    default="6",
    show_default=True,
    callback=_test_weeks,
    help="How many periods each test runs (2 to --weeks), or `auto`: each design as long as pays most (4, 6, 8, 10 or 13 periods).",
)
@click.option(
    "--within-tiers", is_flag=True, help="Keep each test's spend change within the test (20%) and experimental (10%) tier budgets."
)
@click.option("--channels", default=None, help="Design tests only for these channels (comma-separated; default: all).")
@click.option(
    "--top", type=int, default=3, show_default=True, help="Design tests for this many channels, those whose information is worth most."
)
@click.option("--policy", default=None, help="Tier shares proven/test/experimental, e.g. 60/30/10 (default: config, 70/20/10).")
@click.option(
    "--min-power",
    type=float,
    default=0.5,
    show_default=True,
    help="Propose only designs this likely (0-1) to detect the lift the model expects; 0 proposes every design.",
)
@click.option(
    "--information-weeks",
    type=int,
    default=None,
    help="Periods of plans a test's result serves, over which each design's length and size are chosen "
    "(default: a year of the data's periods, or --weeks if longer).",
)
@click.option(
    "--output-json",
    type=OUTPUT_FILE,
    help="Also write the designs and the value of information as JSON here.",
)
@force_option
@with_tracking
def plan_test(
    run_id: str,
    budget: float,
    weeks: int,
    test_weeks: int | Literal["auto"],
    within_tiers: bool,
    channels: str | None,
    top: int,
    policy: str | None,
    min_power: float,
    information_weeks: int | None,
    output_json: str | None,
    force: bool,
    tracking_uri: str | None,
    experiment: str | None,
) -> None:
    """Which test to run next: per channel what knowing its ROAS is worth, and test designs ranked by value."""
    from mmm.planning.test_design import plan_tests
    from mmm.report.experiment_tables import format_test_plan
    from mmm.tracking.runs import end_download_threads, log_child_run

    model, _, verdict = load_for_planning(run_id, tracking_uri, force)
    end_download_threads()  # the designs are valued on every core, in forked workers
    result = plan_tests(
        model,
        budget,
        weeks,
        test_weeks,
        within_tiers,
        _names(channels),
        top,
        policy,
        min_power=min_power,
        information_weeks=information_weeks,
    )
    result = result.model_copy(update={"run_id": run_id})
    click.echo(format_test_plan(result, model.config.currency))
    params = {"budget": budget, "weeks": weeks, "test_weeks": test_weeks, "within_tiers": within_tiers, "min_power": min_power}
    params |= {"information_weeks": result.information_weeks, **review_params(verdict)}
    metrics = {f"value_of_information.{c}": i.perfect_information for c, i in result.channels.items()}
    if result.designs:
        best = result.designs[0]
        metrics["best_test_value"] = best.value
        metrics["best_test_net_value"] = best.net_value
        metrics["best_test_net_value_served"] = best.net_value_served
        metrics["best_test_power"] = result.channels[best.channel].tests[best.kind].power
    payload = result.to_json()
    child = log_child_run(run_id, "plan-test", f"plan-test {budget:,.0f}", params, metrics, payload, tracking_uri)
    finish_child({**payload, "tracking_run_id": child}, run_id, output_json)


@click.command("analyze-test")
@click.argument("data", type=click.Path())
@click.option("--channel", required=True, help="The channel the test changed.")
@click.option("--treated", required=True, help="Treated regions, comma-separated (values of the geo column).")
@click.option("--control", default=None, help="Control regions, comma-separated (default: every other region in the file).")
@click.option("--start", required=True, help="The test's first period (date).")
@click.option("--end", required=True, help="The test's last period (date).")
@click.option(
    "--spend-change",
    type=float,
    default=None,
    help="Spend added in the treated regions over the test, currency (negative when switched off).",
)
@click.option("--spend-column", default=None, help="The channel's spend column, to measure the spend change from the data instead.")
@click.option(
    "--cooldown",
    type=click.IntRange(min=0),
    default=None,
    help="Periods after the test whose lift counts (default: every later period in the file).",
)
@click.option("--date-column", default="date", show_default=True)
@click.option("--geo-column", default="geo", show_default=True)
@click.option("--kpi-column", default="revenue", show_default=True, help="The outcome column (revenue, conversions, ...).")
@click.option(
    "--output-csv",
    type=OUTPUT_FILE,
    help="Write the result as a lift-test file (one row) to use with --lifts.",
)
@click.option("--output-json", type=OUTPUT_FILE, help="Also write the result and how it was measured as JSON here.")
def analyze_test(
    data: str,
    channel: str,
    treated: str,
    control: str | None,
    start: str,
    end: str,
    spend_change: float | None,
    spend_column: str | None,
    cooldown: int | None,
    date_column: str,
    geo_column: str,
    kpi_column: str,
    output_csv: str | None,
    output_json: str | None,
) -> None:
    """Measure a finished geo test (per region and period: date, region, KPI, spend) as a row of the lift-test file."""
    from mmm.analysis.geo_test import analyze_geo_test
    from mmm.data.lifts import write_lifts

    result = analyze_geo_test(
        data,
        channel,
        _names(treated) or [],
        start,
        end,
        _names(control),
        spend_change,
        date_column,
        geo_column,
        kpi_column,
        spend_column,
        cooldown,
    )
    r = result
    click.echo(f"Geo test of {r.channel}: {', '.join(r.treated)} treated against {', '.join(r.control)}, {r.start} to {r.end}")
    click.echo(f"  method: {r.method}")
    click.echo(
        f"  {r.pre_periods} periods before the test to learn from (the control regions explain {r.pre_fit_r2:.0%} of the treated ones' movement)"
    )
    click.echo(f"  measured over {r.measured_periods} periods, to {r.measured_until} (the test and its cool-down)")
    click.echo(
        f"  spend change {r.spend_change:+,.2f}; measured lift {r.lift:+,.2f} +/- {r.lift_se:,.2f} (standard error); share of the market {r.geo_share:.1%}"
    )
    for note in r.notes:
        click.echo(f"  Note: {note}")
    if output_csv:
        write_lifts(output_csv, [result.lift_row()])
        click.echo(
            f"Lift-test row written to {output_csv}, naming the treated regions: use it with --lifts on a model by region, or "
            f"append it to your lift-test file. For a national model, blank its geo cell and set geo_share to {r.geo_share:.3f}."
        )
    save_json(output_json, result.to_json())
