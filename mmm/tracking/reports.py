"""The report and MLflow: read a fit run's results (and its latest optimisation), store the report with the run.

The builder (`mmm.report.build`) knows nothing of MLflow; this module brings it the typed
results from the store and puts the HTML and charts back as the run's artifacts.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import mlflow

from mmm.planning.results import OptimizationResult
from mmm.report.build import ARTIFACT_DIR, REPORT_FILE, Report, build_report
from mmm.tracking.access import refusals
from mmm.tracking.runs import KIND_TAG, load_fit, resolve_tracking_uri

OPTIMIZE_ARTIFACT = "optimize.json"


def latest_optimization(run_id: str, tracking_uri: str | None = None) -> OptimizationResult | None:
    """The result of the newest finished optimise run nested under a fit run, or None when there is none."""
    uri = resolve_tracking_uri(tracking_uri)
    client = mlflow.MlflowClient(tracking_uri=uri)
    with refusals(f"the optimisations of run '{run_id}'", uri):
        parent = client.get_run(run_id)
        runs = client.search_runs(
            [parent.info.experiment_id],
            filter_string=(f"tags.`{KIND_TAG}` = 'optimize' and tags.`mlflow.parentRunId` = '{run_id}' and attributes.status = 'FINISHED'"),
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
    if not runs:
        return None
    with tempfile.TemporaryDirectory() as tmp, refusals(f"the optimisations of run '{run_id}'", uri):
        path = client.download_artifacts(runs[0].info.run_id, OPTIMIZE_ARTIFACT, tmp)
        return OptimizationResult.from_json(json.loads(Path(path).read_text(encoding="utf-8")))


def report_for_run(run_id: str, tracking_uri: str | None = None) -> tuple[Report, OptimizationResult | None]:
    """The report of a fit run and its latest optimisation (None when there is none)."""
    _, summary = load_fit(run_id, tracking_uri)  # the model itself is not needed: the summary holds every number
    optimization = latest_optimization(run_id, tracking_uri)
    return build_report(summary, optimization), optimization


def log_report(run_id: str, report: Report, tracking_uri: str | None = None) -> list[str]:
    """Store the report with a run: report/report.html and each chart as report/<name>.png; returns the paths."""
    uri = resolve_tracking_uri(tracking_uri)
    client = mlflow.MlflowClient(tracking_uri=uri)
    with tempfile.TemporaryDirectory() as tmp, refusals(f"run '{run_id}' (to store its report)", uri):
        folder = Path(tmp) / ARTIFACT_DIR
        folder.mkdir()
        (folder / REPORT_FILE).write_text(report.html, encoding="utf-8")
        for name, png in report.images.items():
            (folder / name).write_bytes(png)
        client.log_artifacts(run_id, str(folder), artifact_path=ARTIFACT_DIR)
    return [f"{ARTIFACT_DIR}/{REPORT_FILE}"] + [f"{ARTIFACT_DIR}/{name}" for name in report.images]
