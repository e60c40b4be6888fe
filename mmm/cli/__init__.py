"""The `mmm` command line: a thin layer over the Python API.

Every problem the user can fix ends with a one-paragraph message and exit status 2.
"""

from __future__ import annotations

import click

from mmm.cli.batch import batch
from mmm.cli.common import Group, quiet_libraries
from mmm.cli.experiment_commands import analyze_test, plan_test
from mmm.cli.model_commands import check, fit, review, simulate, validate, validate_model
from mmm.cli.plan_commands import optimize, scenario
from mmm.cli.refit_command import refit
from mmm.cli.store_commands import report, runs, ui


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
):
    main.add_command(command)
