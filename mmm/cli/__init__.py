"""The `mmm` command line: a thin layer over the Python API.

Every problem the user can fix ends with a one-paragraph message and exit status 2.
"""

from __future__ import annotations

import atexit
import os
import sys

import click

from mmm.cli.batch import batch
from mmm.cli.common import Group, quiet_libraries
from mmm.cli.experiment_commands import analyze_test, plan_test
from mmm.cli.model_commands import check, fit, review, simulate, validate, validate_model
from mmm.cli.plan_commands import optimize, scenario
from mmm.cli.refit_command import refit
from mmm.cli.store_commands import report, runs, ui
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


def run() -> None:
    """The `mmm` console command: on a warm server when one serves it (`mmm warm`), else here."""
    from mmm.cli.warm_server import run_on_server

    args = sys.argv[1:]
    code = None if args[:1] == ["warm"] else run_on_server(args)
    exit_now(invoke() if code is None else code)


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


def exit_now(code: int) -> None:
    """Exit with `code` without tearing down every imported module.

    After a fit that teardown takes seconds (PyTensor and numba hold large object graphs) and
    does nothing a user needs: output is flushed here, and the caller has run the exit handlers.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
