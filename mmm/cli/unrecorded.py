"""A fit that finished but could not be recorded is kept on disk, so `mmm record FOLDER` records it later.

A tracking server that goes away (or starts refusing) while a fit is being logged used to lose the
fit: the run ended FAILED and the analyst had to fit again, minutes or hours on a large geo model.
Now the fitted model (netCDF), its summary (JSON) and how its run was to be named are written to
`unrecorded-fits/<name>-<time>/` in the working folder, all at once (a folder is never half-written),
and `mmm record` logs them as a new finished run when the store answers again.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import click

from mmm.cli.common import OUTPUT_FILE, save_json, where, with_tracking
from mmm.core.errors import MMMError
from mmm.tracking.access import refusal_status, unreachable

if TYPE_CHECKING:
    from mmm.analysis.results import FitSummary
    from mmm.config import Config
    from mmm.model.estimator import MarketingMixModel

KEPT_IN = "unrecorded-fits"
MODEL_FILE = "model.nc"
SUMMARY_FILE = "summary.json"
RECORDING_FILE = "recording.json"


class Fitted(Protocol):
    """What logging a fit and keeping it need of its model: the config fitted, the channels, and saving it as netCDF."""

    @property
    def config(self) -> Config: ...

    @property
    def channels(self) -> list[str]: ...

    def save(self, path: str | Path) -> Path: ...


@dataclass
class Recording:
    """How a fit's run is named and filed: what `mmm record` needs to log it as the command would have.

    experiment: the experiment's name (None: the default); tags: the run's own tags (not MLflow's);
    data_path / data_sha256: the data file fitted and its hash then (the hash is logged only if the file is unchanged);
    kept_in: the folder the fit is kept in already (when `mmm record` logs it), so a failure does not keep it twice.
    """

    run_name: str
    experiment: str | None
    tags: dict[str, str] = field(default_factory=dict)
    register: str | None = None
    data_path: str | None = None
    data_sha256: str | None = None
    kept_in: str | None = None


@contextmanager
def kept_if_unrecorded(model: Fitted, summary: FitSummary, recording: Recording) -> Iterator[None]:
    """Run the block that logs a finished fit; if it fails, keep the fit on disk, say where and how to record it, and re-raise."""
    try:
        yield
    except Exception as exc:
        folder = recording.kept_in or keep(model, summary, recording)
        when = "once the tracking store answers" if refusal_status(exc) is not None or unreachable(exc) else "once the error below is fixed"
        click.echo(
            f"The fit finished but was not recorded. It is kept in {folder}: {when}, record it with `mmm record {folder}` "
            "(no need to fit again).",
            err=True,
        )
        raise


def keep(model: Fitted, summary: FitSummary, recording: Recording, parent: Path | None = None) -> Path:
    """Write the model, its summary and `recording` into a new folder under `parent` (default ./unrecorded-fits); its path."""
    from mmm.tracking.runs import file_sha256

    parent = parent if parent is not None else Path.cwd() / KEPT_IN
    parent.mkdir(parents=True, exist_ok=True)
    stem = "".join(c if c.isalnum() or c in "-_." else "-" for c in recording.run_name).strip("-") or "fit"
    staging = Path(tempfile.mkdtemp(prefix=".writing-", dir=parent))
    model.save(staging / MODEL_FILE)
    (staging / SUMMARY_FILE).write_text(json.dumps(summary.to_json(), indent=2))
    if recording.data_path and Path(recording.data_path).is_file():
        recording.data_sha256 = file_sha256(recording.data_path)
    (staging / RECORDING_FILE).write_text(json.dumps(asdict(recording), indent=2))
    folder = parent / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    staging.rename(folder)
    return folder


def read_kept(folder: str | Path) -> tuple[MarketingMixModel, FitSummary, Recording]:
    """The model, summary and recording kept in `folder`; MMMError names what is missing or unreadable."""
    from mmm.analysis.results import FitSummary
    from mmm.model.estimator import MarketingMixModel

    folder = Path(folder)
    missing = [name for name in (MODEL_FILE, SUMMARY_FILE, RECORDING_FILE) if not (folder / name).is_file()]
    if missing:
        raise MMMError(
            f"{folder}: not a kept fit (missing {', '.join(missing)}); pass a folder that `mmm fit` or `mmm refit` "
            f"wrote under {KEPT_IN}/ when it could not record the fit"
        )
    try:
        summary = FitSummary.model_validate(json.loads((folder / SUMMARY_FILE).read_text()))
        recording = Recording(**json.loads((folder / RECORDING_FILE).read_text()))
    except (ValueError, TypeError) as exc:  # pydantic's ValidationError and json's errors are ValueErrors
        raise MMMError(f"{folder}: its {SUMMARY_FILE} or {RECORDING_FILE} is unreadable ({exc}); fit the model again") from None
    return MarketingMixModel.load(folder / MODEL_FILE), summary, recording


def logged_data_path(recording: Recording) -> str | None:
    """The data file to name in the run: the one fitted, if it is still unchanged (else its hash would misstate the data)."""
    from mmm.tracking.runs import file_sha256

    path = recording.data_path
    if path and Path(path).is_file() and file_sha256(path) == recording.data_sha256:
        return path
    if path:
        click.echo(f"Warning: {path} changed (or went) since the fit, so the run does not name its hash.", err=True)
    return None


def run_tags(run: Any) -> dict[str, str]:
    """A started MLflow run's own tags (without MLflow's `mlflow.*` ones)."""
    return {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")}


@click.command()
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--output-json", type=OUTPUT_FILE, help="Also write the fit's results as JSON here.")
@with_tracking
def record(folder: str, output_json: str | None, tracking_uri: str | None, experiment: str | None) -> None:
    """Record a fit that finished but could not be logged (kept under unrecorded-fits/), as the run `mmm fit` would have made.

    The run gets the fit's name, tags, model, forecaster and report, in its experiment unless --experiment
    says otherwise; FOLDER is removed once the run is recorded, and the run the fit could not finish
    (left RUNNING when the store went away) is ended FAILED, tagged with the new run's id.
    """
    import shutil
    from dataclasses import replace

    from mmm.cli.publish import publish_fit
    from mmm.tracking.runs import fit_run, resolve_tracking_uri
    from mmm.tracking.store import end_abandoned, entered_and_left_locked

    model, summary, kept = read_kept(folder)
    uri = resolve_tracking_uri(tracking_uri)
    kept = replace(kept, experiment=experiment or kept.experiment, data_path=logged_data_path(kept), kept_in=folder)
    abandoned = summary.run_id
    with entered_and_left_locked(uri, fit_run(uri, kept.experiment, kept.run_name, kept.tags)) as run:
        summary = summary.model_copy(update={"run_id": run.info.run_id})
        publish_fit(run.info.run_id, model, summary, uri, kept)
    if abandoned:
        end_abandoned(abandoned, uri, f"the store went away while this fit was logged; it was recorded later as run {run.info.run_id}")
    shutil.rmtree(folder)
    click.echo(f"\nRun {run.info.run_id} logged to {where()}; {folder} removed")
    save_json(output_json, summary.to_json())
