"""The last steps of every command that fits a model (`fit`, `refit`): print, log to the run, write the report."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from mmm.cli.common import stage

if TYPE_CHECKING:
    from mmm.analysis.results import FitSummary
    from mmm.model.estimator import MarketingMixModel


def publish_fit(
    run_id: str, model: MarketingMixModel, summary: FitSummary, data_path: str, tracking_uri: str | None, register: str | None = None
) -> None:
    """Print the fit's tables (and what changed, for a refit), log the model to its run and store the report there.

    The table is printed first, as soon as the numbers are known; `register` also registers the forecaster under that name.
    """
    from mmm.report.build import build_report
    from mmm.report.changes import format_changes
    from mmm.report.formatting import format_fit_table
    from mmm.report.prose import unit_of
    from mmm.tracking.refits import log_changes
    from mmm.tracking.reports import log_report
    from mmm.tracking.runs import log_fit

    click.echo(format_fit_table(summary))
    if summary.changes is not None:
        click.echo("\n" + format_changes(summary.changes, unit_of(summary)))
    with stage("Logging the model to MLflow"):
        log_fit(model, summary, data_path, register)
        if summary.changes is not None:
            log_changes(summary.changes)
    with stage("Writing the report"):
        log_report(run_id, build_report(summary), tracking_uri)  # the charts belong to the run
