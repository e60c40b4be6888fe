"""The whole of `mmm fit` as one call, shared by `mmm fit` and each fit of `mmm batch`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mmm.cli.common import draws_text, sampler_overrides, stage, where
from mmm.cli.publish import publish_fit
from mmm.cli.unrecorded import Recording, run_tags

if TYPE_CHECKING:
    from mmm.analysis.results import FitSummary
    from mmm.config import Config
    from mmm.data.dataset import ModelData
    from mmm.data.lifts import LiftTest


@dataclass(frozen=True)
class FitRequest:
    """One fit: a config file with the command's overrides (sampler, holdout periods, lift tests) and where to record it."""

    config: str
    holdout: int = 0
    draws: int | None = None
    tune: int | None = None
    chains: int | None = None
    seed: int | None = None
    lifts_file: str | None = None
    register: str | None = None
    tracking_uri: str | None = None
    experiment: str | None = None


def prepare_fit(request: FitRequest) -> tuple[Config, ModelData, list[LiftTest]]:
    """Read and check the config (with the overrides), its data and lift tests: all that can be wrong before fitting.

    Raises an MMMError naming the file, key or rows to fix.
    """
    from mmm.data.lifts import read_lifts
    from mmm.data.loading import load_data
    from mmm.model.estimator import check_fit_inputs

    r = request
    cfg = sampler_overrides(r.config, draws=r.draws, tune=r.tune, chains=r.chains, seed=r.seed)
    data = load_data(cfg)
    lifts_path = r.lifts_file or (str(cfg.relative_path(cfg.calibration)) if cfg.calibration else None)
    tests = read_lifts(lifts_path, data) if lifts_path else []
    check_fit_inputs(data, r.holdout, tests)
    return cfg, data, tests


def fit_config(request: FitRequest, on_run: Callable[[str], None] | None = None) -> FitSummary:
    """Validate the config and data, fit, summarise, print the tables and log it all to a new MLflow run.

    Bad input stops before any run is recorded; a failure after that ends the run FAILED.
    `on_run` is told the run id as soon as the run exists. On an embedded SQLite store the
    writes (starting, logging, ending the run) wait for other processes' (`store_lock`); the fit itself does not.
    """
    from mmm.analysis.calibration import fit_calibrated
    from mmm.analysis.summary import fit_summary
    from mmm.model.estimator import MarketingMixModel
    from mmm.tracking.runs import fit_run, resolve_tracking_uri
    from mmm.tracking.store import entered_and_left_locked

    r = request
    cfg, data, tests = prepare_fit(r)  # bad input stops here, before any run is recorded
    for w in data.warnings:
        click.echo(f"Warning: {w}", err=True)
    uri = resolve_tracking_uri(r.tracking_uri)
    with entered_and_left_locked(uri, fit_run(uri, r.experiment, run_name=f"fit {Path(r.config).stem}")) as run:
        if on_run is not None:
            on_run(run.info.run_id)
        what = (
            f"{len(cfg.channels)} channels on {data.n_periods} {data.frequency} periods ({cfg.sampler.chains} chains x {draws_text(cfg)})"
        )
        if cfg.model.is_auto:
            forms = ", ".join(f"{a} + {s}" for a, s in cfg.model.candidates())
            what += f"; comparing {len(cfg.model.candidates())} forms by PSIS-LOO ({forms})"
        if tests:
            with stage(f"Calibrating with {len(tests)} lift test(s): a fit on the data alone, then one with the tests; {what}"):
                result = fit_calibrated(cfg, data, tests, r.holdout)
            model, calibration = result.model, result.report
        else:
            with stage(f"Fitting {what}"):
                model, calibration = MarketingMixModel(cfg).fit(data, holdout=r.holdout), None
        with stage("Summarising"):
            summary = fit_summary(model, run_id=run.info.run_id)
            if calibration is not None:
                summary = summary.model_copy(update={"calibration": calibration})
        recording = Recording(run.info.run_name, r.experiment, run_tags(run), r.register, str(cfg.data_path()))
        publish_fit(run.info.run_id, model, summary, uri, recording)
    click.echo(f"\nRun {run.info.run_id} logged to {where()}")
    return summary
