"""A refit in MLflow: a fit run of its own, in the previous fit's experiment, linked to it by a tag.

The refit's run holds everything a fit run holds (`log_fit`), plus how each channel's ROAS
moved against the previous fit: metrics `roas_change.<channel>` (new mean - previous mean)
and `channels_moved_outside` (how many left their previous 90% interval), and the tag
`mmm.refit_of` naming the previous run, set when the run starts (a failed refit is linked too).
"""

from __future__ import annotations

import mlflow

from mmm.analysis.drift import FitChanges
from mmm.tracking.access import refusals
from mmm.tracking.runs import resolve_tracking_uri

REFIT_TAG = "mmm.refit_of"
MOVED_TAG = "mmm.moved_outside"  # channels whose ROAS left the previous interval, comma-separated


def previous_fit(run_id: str, tracking_uri: str | None = None) -> tuple[str, str]:
    """(experiment name, run name) of a fit run: where its refit goes and what the refit is called after."""
    uri = resolve_tracking_uri(tracking_uri)
    client = mlflow.MlflowClient(tracking_uri=uri)
    with refusals(f"run '{run_id}'", uri):
        run = client.get_run(run_id)
        experiment = client.get_experiment(run.info.experiment_id)
    return experiment.name, run.info.run_name or run_id


def refit_name(previous_name: str) -> str:
    """'refit demo' for a previous fit called 'fit demo' or 'refit demo': the config's stem, kept across refreshes."""
    stem = previous_name.removeprefix("refit ").removeprefix("fit ")
    return f"refit {stem}"


def refit_metrics(changes: FitChanges) -> dict[str, float]:
    """`roas_change.<channel>` per channel and `channels_moved_outside`."""
    metrics = {f"roas_change.{name}": c.change for name, c in changes.channels.items()}
    metrics["channels_moved_outside"] = float(len(changes.moved_outside()))
    return metrics


def log_changes(changes: FitChanges) -> None:
    """Log how each channel's ROAS moved to the active run (and name the channels that left their interval)."""
    mlflow.log_metrics(refit_metrics(changes))
    mlflow.set_tag(MOVED_TAG, ",".join(changes.moved_outside()))
