"""The whole of `mmm fit` as one call, shared by `mmm fit` and each fit of `mmm batch`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mmm.cli.common import draws_text, sampler_overrides, stage, where
from mmm.cli.publish import publish_fit
from mmm.cli.unrecorded import Fitted, Recording, run_tags

if TYPE_CHECKING:
    from mmm.analysis.results import FitSummary
    from mmm.config import Config
    from mmm.data.dataset import ModelData
    from mmm.data.lifts import LiftTest
    from mmm.model.estimator import MarketingMixModel
    from mmm.report.side_by_side import Charts

    Prepared = tuple[Config, ModelData, list[LiftTest]]
    """What a fit needs, read and checked: the config (with the command's overrides), the data and the lift tests."""


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


def prepare_fit(request: FitRequest) -> Prepared:
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


def prepare_and_warn(request: FitRequest) -> Prepared:
    """prepare_fit, then the data's warnings said before the fit starts."""
    prepared = prepare_fit(request)
    for w in prepared[1].warnings:
        click.echo(f"Warning: {w}", err=True)
    return prepared


def fit_config(request: FitRequest, on_run: Callable[[str], None] | None = None, apart: bool = False) -> FitSummary:
    """Validate the config and data, fit, summarise, print the tables and log it all to a new MLflow run.

    Bad input stops before any run is recorded; a failure after that ends the run FAILED.
    `on_run` is told the run id as soon as the run exists. On an embedded SQLite store the
    writes (starting, logging, ending the run) wait for other processes' (`store_lock`); the fit itself does not.
    `apart`: fit in a forked process while this one imports MLflow and opens the store (`mmm fit`), where that saves time.
    """
    from mmm.cli.fit_apart import EngineProcess, ready_store, worth_fitting_apart
    from mmm.config import load_config

    r = request
    if apart and worth_fitting_apart():
        engine = EngineProcess(lambda: prepare_and_warn(r), lambda prepared, run_id: fit_and_summarise(prepared, r, run_id))
        try:
            ready_store(r.tracking_uri)
            engine.prepared()  # bad input stops here, said by the engine, before any run is recorded
            return _recorded(r, on_run, engine.fit, load_config(r.config).data_path())
        finally:
            engine.close()
    prepared = prepare_and_warn(r)  # bad input stops here, before any run is recorded
    return _recorded(r, on_run, lambda run_id: (*fit_and_summarise(prepared, r, run_id), None), prepared[0].data_path())


def _recorded(
    request: FitRequest,
    on_run: Callable[[str], None] | None,
    fitted: Callable[[str], tuple[Fitted, FitSummary, Charts | None]],
    data_path: Path,
) -> FitSummary:
    """Start the fit's run, fit with `fitted(run_id)`, print the results and log them to the run with the report.

    `fitted` gives the model, its summary and the report's charts if it has started drawing them (else None).
    """
    from mmm.tracking.runs import fit_run, resolve_tracking_uri
    from mmm.tracking.store import entered_and_left_locked

    r = request
    uri = resolve_tracking_uri(r.tracking_uri)
    with entered_and_left_locked(uri, fit_run(uri, r.experiment, run_name=f"fit {Path(r.config).stem}")) as run:
        if on_run is not None:
            on_run(run.info.run_id)
        model, summary, charts = fitted(run.info.run_id)
        recording = Recording(run.info.run_name, r.experiment, run_tags(run), r.register, str(data_path))
        publish_fit(run.info.run_id, model, summary, uri, recording, charts)
    click.echo(f"\nRun {run.info.run_id} logged to {where()}")
    return summary


def fit_and_summarise(prepared: Prepared, request: FitRequest, run_id: str) -> tuple[MarketingMixModel, FitSummary]:
    """Fit the prepared model (calibrated when there are lift tests) and summarise it for run `run_id`, saying each stage."""
    from mmm.analysis.calibration import fit_calibrated
    from mmm.analysis.summary import fit_summary
    from mmm.model.estimator import MarketingMixModel

    cfg, data, tests = prepared
    what = f"{len(cfg.channels)} channels on {data.n_periods} {data.frequency} periods ({cfg.sampler.chains} chains x {draws_text(cfg)})"
    if cfg.model.is_auto:
        forms = ", ".join(f"{a} + {s}" for a, s in cfg.model.candidates())
        what += f"; comparing {len(cfg.model.candidates())} forms by PSIS-LOO ({forms})"
    if tests:
        with stage(f"Calibrating with {len(tests)} lift test(s): a fit on the data alone, then one with the tests; {what}"):
            result = fit_calibrated(cfg, data, tests, request.holdout)
        model, calibration = result.model, result.report
    else:
        with stage(f"Fitting {what}"):
            model, calibration = MarketingMixModel(cfg).fit(data, holdout=request.holdout), None
    with stage("Summarising"):
        summary = fit_summary(model, run_id=run_id)
        if calibration is not None:
            summary = summary.model_copy(update={"calibration": calibration})
    return model, summary
