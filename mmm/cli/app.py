"""The `mmm` click group: every command, and how one command line is run."""

from __future__ import annotations

import atexit

import click

from mmm.cli.batch import batch
from mmm.cli.common import Group, quiet_libraries
from mmm.cli.experiment_commands import analyze_test, plan_test
from mmm.cli.model_commands import check, fit, review, simulate, validate, validate_model
from mmm.cli.plan_commands import optimize, scenario
from mmm.cli.refit_command import refit
from mmm.cli.store_commands import report, runs, ui
from mmm.cli.unrecorded import record
from mmm.cli.warm_command import warm


@click.group(cls=Group)
@click.version_option(package_name="mmm")
def main() -> None:
    """mmm: Bayesian marketing-mix modelling and budget planning."""
    quiet_libraries()


for command in (
    simulate,
    validate,
    fit,
    batch,
    refit,
    record,
    review,
    optimize,
    scenario,
    runs,
    validate_model,
    check,
    ui,
    report,
    plan_test,
    analyze_test,
    warm,
):
    main.add_command(command)


def invoke() -> int:
    """Run `main` on `sys.argv` and the exit handlers (MLflow, temporary folders); the exit status.

    An error click does not handle propagates as usual.
    """
    try:
        main()
        code = 0
    except SystemExit as stop:
        if stop.code is None or isinstance(stop.code, int):
            code = stop.code or 0
        else:
            click.echo(stop.code, err=True)
            code = 1
    atexit._run_exitfuncs()
    return code
