"""`adstock: auto` and `saturation: auto`: fit every candidate form and keep the one that predicts best.

Each candidate is a full fit on the training periods. They are compared by PSIS-LOO (ArviZ): the
expected log density of each period's outcome when that period is left out, estimated from the
one posterior. The candidate with the highest elpd_loo is chosen. The holdout check: when the last
periods were held out, candidates whose LOO gap to the best is within two standard errors count as
tied, and among those the one with the smallest holdout error wins. Without a holdout the best
LOO estimate stands even when the gap is small (the output says so): it is still the better bet.
"""

from __future__ import annotations

import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Any

import arviz as az
import numpy as np
import xarray as xr

from mmm.config.loading import with_overrides
from mmm.config.spec import Config
from mmm.core.constants import ANALYSIS_DRAWS, DATE, GEO, SAMPLE
from mmm.core.processes import can_fork
from mmm.core.stats import accuracy, thin_draws
from mmm.model.choice import CandidateScore, ModelChoice
from mmm.model.likelihood import log_density

if TYPE_CHECKING:
    from mmm.data.dataset import ModelData
    from mmm.data.lifts import LiftTest
    from mmm.model.estimator import MarketingMixModel

TIE_SE = 2.0  # a LOO gap within this many standard errors is not decisive
BAD_K = 0.7  # Pareto k above this: that period's LOO estimate is unreliable


def analysis_posterior(model: MarketingMixModel) -> xr.Dataset:
    """The posterior draws the analysis reads (`MarketingMixModel.draws`), with their chains."""
    assert model.idata is not None
    return thin_draws(model.idata.posterior, ANALYSIS_DRAWS)


def pointwise_log_likelihood(model: MarketingMixModel, mean: xr.DataArray | None = None) -> np.ndarray:
    """Log density (chain, draw, date) of each fitted period's outcome under each posterior draw.

    On the model's scaled target, as in the likelihood it was fitted with (the scaling is the same
    for every candidate, so the comparison is unaffected by it).
    A geo model's is (chain, draw, date, geo): each geo's outcome in each period is one observation,
    on that geo's own scale. `mean`: the model's in-sample mean (sample, date, geo) when already computed.
    """
    assert model.idata is not None
    params = model.posterior_params()
    mean = model.in_sample_components(params)["mean"] if mean is None else mean
    sizes = analysis_posterior(model).sizes  # the draws `params` hold, chain by chain
    n = model.n_train
    if model.is_geo:
        geo_scale = np.asarray(model.scales.geo_target, dtype=float)
        per_geo = mean.isel({DATE: slice(0, n)}).transpose(SAMPLE, DATE, GEO).values / geo_scale
        y = model.train.target.transpose(DATE, GEO).values / geo_scale
        return log_density(params, y, per_geo, geo_scale).reshape(sizes["chain"], sizes["draw"], n, len(model.train.geos))
    scale = model.scales.target
    national = mean.sum(GEO).isel({DATE: slice(0, n)}).values / scale  # (sample, date)
    y = model.train.target_series() / scale
    ll = log_density(params, y, national, scale)
    return ll.reshape(sizes["chain"], sizes["draw"], n)


def _scores(model: MarketingMixModel) -> tuple[az.ELPDData, float | None]:
    """A candidate's PSIS-LOO (pointwise) and its holdout error, from one in-sample prediction."""
    assert model.idata is not None
    mean = model.in_sample_components()["mean"]
    dims = ("chain", "draw", DATE, GEO) if model.is_geo else ("chain", "draw", DATE)
    ll = xr.Dataset({"obs": (dims, pointwise_log_likelihood(model, mean))})
    loo = az.loo(az.InferenceData(posterior=analysis_posterior(model), log_likelihood=ll), pointwise=True)
    return loo, _holdout_mape(model, mean)


def _holdout_mape(model: MarketingMixModel, mean: xr.DataArray) -> float | None:
    """Error (fraction) of the posterior-mean forecast (`mean`: in-sample, sample x date x geo) on the
    held-out periods, or None without a holdout."""
    data, n = model.observed, model.n_train
    if n >= data.n_periods:
        return None
    predicted = mean.sum(GEO).mean("sample").values[n:]
    return accuracy(data.target.sum(GEO).values[n:], predicted)["mape"]


def choose_form(
    cfg: Config, data: ModelData, holdout: int = 0, lifts: list[LiftTest] | None = None, **fit_options: Any
) -> MarketingMixModel:
    """Fit every candidate form of `cfg` (see `ModelSpec.candidates`) and return the chosen model, its `choice` set."""
    from mmm.model.estimator import MarketingMixModel  # the candidates are models of the estimator's class

    start = time.perf_counter()
    configs = {
        f"{adstock} + {saturation}": with_overrides(cfg, {"model.adstock": adstock, "model.saturation": saturation})
        for adstock, saturation in cfg.model.candidates()
    }
    if len(configs) > 1 and (os.cpu_count() or 1) > 1:
        fitted = _fit_in_processes(configs, data, holdout, lifts, fit_options)
    else:
        fitted = {k: MarketingMixModel(c).fit(data, holdout=holdout, lifts=lifts, **fit_options) for k, c in configs.items()}
    order = list(fitted)
    scores = {k: _scores(m) for k, m in fitted.items()}
    loos = {k: loo for k, (loo, _) in scores.items()}
    holdout_errors = {k: error for k, (_, error) in scores.items()}
    table = az.compare(loos, ic="loo", method="stacking")
    best = _pick(table, holdout_errors, order)
    candidates = []
    for key in sorted(order, key=lambda k: float(table.loc[k, "rank"])):
        row, m = table.loc[key], fitted[key]
        candidates.append(
            CandidateScore(
                adstock=m.config.model.adstock,
                saturation=m.config.model.saturation,
                elpd_loo=float(row["elpd_loo"]),
                se=float(row["se"]),
                elpd_diff=float(row["elpd_diff"]),
                diff_se=float(row["dse"]),
                p_loo=float(row["p_loo"]),
                weight=float(row["weight"]),
                bad_pareto_k=int(np.sum(np.asarray(loos[key].pareto_k) > BAD_K)),
                holdout_mape=holdout_errors[key],
                fit_seconds=round(m.fit_seconds, 2),
                chosen=key == best,
            )
        )
    chosen = fitted[best]
    chosen.fit_seconds = time.perf_counter() - start  # fitting an 'auto' model includes fitting the candidates
    chosen.choice = ModelChoice(
        candidates=candidates,
        adstock=chosen.config.model.adstock,
        saturation=chosen.config.model.saturation,
        reason=_reason(candidates, holdout_errors[best] is not None),
        seconds=round(chosen.fit_seconds, 2),
    )
    return chosen


def _fit_to_file(cfg: Config, data: ModelData, holdout: int, lifts: list[LiftTest] | None, fit_options: dict[str, Any], path: str) -> None:
    """One candidate's fit in a worker process, written as the model's netCDF file (no pickled models)."""
    from mmm.model.estimator import MarketingMixModel

    MarketingMixModel(cfg).fit(data, holdout=holdout, lifts=lifts, **fit_options).save(path)


def _fit_in_processes(
    configs: dict[str, Config], data: ModelData, holdout: int, lifts: list[LiftTest] | None, fit_options: dict[str, Any]
) -> dict[str, MarketingMixModel]:
    """Fit the candidates at once, one process each: compiling a model uses one core, so the
    candidates compile side by side; their sampling then shares the cores. Same seeds, same draws
    as one after another."""
    from mmm.model.estimator import MarketingMixModel

    quiet = {k: with_overrides(c, {"sampler.progress": False}) for k, c in configs.items()}  # no interleaved progress bars
    with tempfile.TemporaryDirectory() as tmp, ProcessPoolExecutor(len(quiet), mp_context=get_context(_start_method())) as pool:
        paths = {k: str(Path(tmp) / f"candidate-{i}.nc") for i, k in enumerate(quiet)}
        jobs = [pool.submit(_fit_to_file, c, data, holdout, lifts, fit_options, paths[k]) for k, c in quiet.items()]
        for job in jobs:
            job.result()  # a worker's error (bad input, interrupted fit) is raised here
        return {k: _restore(MarketingMixModel.load(paths[k]), configs[k]) for k in configs}


def _start_method() -> str:
    """'fork' where forking is safe (the workers then start without importing PyMC again), else 'spawn'."""
    return "fork" if can_fork() else "spawn"


def _restore(model: MarketingMixModel, cfg: Config) -> MarketingMixModel:
    """A loaded candidate with the caller's config (progress bar setting and config file location included)."""
    assert model.idata is not None
    model.config = cfg
    model.idata.attrs["mmm_config_yaml"] = cfg.to_yaml()
    return model


def _pick(table: Any, holdout_errors: dict[str, float | None], order: list[str]) -> str:
    """The LOO winner, unless a holdout separates candidates LOO cannot tell apart."""
    top = str(table.index[0])
    tied = [k for k in order if k == top or float(table.loc[k, "elpd_diff"]) <= TIE_SE * float(table.loc[k, "dse"])]
    if len(tied) == 1:
        return top
    scored = [k for k in tied if holdout_errors[k] is not None]
    return min(scored, key=lambda k: holdout_errors[k] or 0.0) if scored else top


def _reason(candidates: list[CandidateScore], with_holdout: bool) -> str:
    """One sentence: which form won and by how much."""
    chosen = next(c for c in candidates if c.chosen)
    others = [c for c in candidates if not c.chosen]
    if not others:
        return f"{chosen.label} was the only candidate."
    runner = others[0]
    gap = chosen.elpd_loo - runner.elpd_loo
    if gap > TIE_SE * max(runner.diff_se, chosen.diff_se, 1e-9):
        return (
            f"{chosen.label} predicts left-out periods best: elpd_loo {chosen.elpd_loo:.1f} against {runner.elpd_loo:.1f} "
            f"for {runner.label} (gap {gap:.1f}, standard error {max(runner.diff_se, chosen.diff_se):.1f})."
        )
    tie_break = "the smaller holdout error" if with_holdout else "the higher elpd_loo, a slight edge"
    return (
        f"LOO barely separates {chosen.label} and {runner.label} (gap {gap:+.1f}, within {TIE_SE:g} standard errors); "
        f"{chosen.label} chosen for {tie_break}."
    )
