"""The last steps of every command that fits a model (`fit`, `refit`): print, log to the run, write the report."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from mmm.cli.common import stage
from mmm.cli.unrecorded import Fitted, Recording, kept_if_unrecorded

if TYPE_CHECKING:
    from mmm.analysis.results import FitSummary
    from mmm.report.side_by_side import Charts


def publish_fit(
    run_id: str, model: Fitted, summary: FitSummary, tracking_uri: str | None, recording: Recording, charts: Charts | None = None
) -> None:
    """Print the fit's tables (and what changed, for a refit), log the model to its run and store the report there.

    The table is printed first, as soon as the numbers are known; `recording` names the data file and any
    registered model name, and files the fit under `unrecorded-fits/` if logging it fails (`mmm record`).
    `charts`: the report's charts if something is drawing them already, else they are started here.
    """
    from mmm.report.build import build_report
    from mmm.report.changes import format_changes
    from mmm.report.formatting import format_fit_table
    from mmm.report.prose import unit_of
    from mmm.report.timing_text import format_media_season
    from mmm.tracking.refits import log_changes
    from mmm.tracking.reports import log_report
    from mmm.tracking.runs import log_fit, resolve_tracking_uri
    from mmm.tracking.store import store_lock

    click.echo(format_fit_table(summary))
    season = format_media_season(summary)
    if season:
        click.echo("\n" + season)
    if summary.changes is not None:
        click.echo("\n" + format_changes(summary.changes, unit_of(summary)))
    uri = resolve_tracking_uri(tracking_uri)
    if charts is None:
        from mmm.report.charts import start_charts  # matplotlib: only where the charts are drawn here

        charts = start_charts(summary)  # a second core draws the report's charts while this one logs the model
    with kept_if_unrecorded(model, summary, recording):
        try:
            with stage("Logging the model to MLflow"), store_lock(uri):  # one writer at a time on an embedded store
                log_fit(model, summary, recording.data_path, recording.register)
                if summary.changes is not None:
                    log_changes(summary.changes)
        except BaseException:
            charts.stop()
            raise
        with stage("Writing the report"):
            built = build_report(summary, charts=charts)
            with store_lock(uri):
                log_report(run_id, built, uri)  # the charts belong to the run
