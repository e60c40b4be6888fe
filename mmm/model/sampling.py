"""Draw from the posterior and judge whether the draws can be trusted."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from importlib.util import find_spec
from typing import Any

import arviz as az
import numpy as np
import pymc as pm

from mmm.config.spec import SamplerSpec
from mmm.core.constants import ESS_MIN, RHAT_MAX
from mmm.core.errors import ConfigError
from mmm.model.compiled import compile_model
from mmm.model.convergence import Convergence, convergence
from mmm.model.diagnostics import Diagnostics, ParameterCheck
from mmm.model.trace import ArrowTrace, Trace

AUTO_FIRST_CHECK = 200  # draws per chain before draws: auto first judges convergence
AUTO_GROWTH = 1.25  # each later checkpoint has 1.25x the draws of the one before (rounded to 50): a check costs little
POLL_SECONDS = 0.2  # counting the running trace's draws costs milliseconds
PYMC_AUTO_DRAWS = 1000  # the pymc backend cannot stop early: draws: auto means this many


def sample_posterior(
    model: pm.Model, spec: SamplerSpec, timings: dict[str, float] | None = None, init: dict[str, np.ndarray] | None = None
) -> az.InferenceData:
    """Sample with the configured backend; same model, spec, seed and `init` give the same draws.

    With `draws: auto` (nutpie), sampling stops at the first checkpoint (200, 250, 300, 400, 500, 600, 750, ...
    draws per chain) where every parameter meets the R-hat and ESS targets, or at `max_draws`. Checkpoints
    are judged in order on each chain's first N draws, so the stopping point does not depend
    on timing: the same seed gives the same draws. `timings` receives the seconds spent compiling
    and sampling.

    `init` (parameter name -> value on its natural scale; names the model lacks are ignored)
    starts every chain at that point, without the random jitter of the default initialisation:
    a warm start from an earlier posterior. Parameters it does not name start as usual.
    """
    timings = {} if timings is None else timings
    names = [rv.name for rv in model.free_RVs]
    initial = {k: np.asarray(init[k]) for k in names if k in init} if init else None
    start = time.perf_counter()
    progress = spec.progress if spec.progress is not None else sys.stderr.isatty()
    if spec.backend != "pymc":
        import nutpie

        # only sampled values are kept, derived ones are computed afterwards
        jitter = None if initial is None else {name for name in names if name not in initial}
        compiled = compile_model(model, names, initial, jitter, compile_backend(spec))
        timings["compile_seconds"] = time.perf_counter() - start
        start = time.perf_counter()
        options = {
            "tune": spec.tune,
            "chains": spec.chains,
            "cores": spec.chains,  # every chain advances together, so early stopping is not held back by a queue
            "seed": spec.seed,
            "target_accept": spec.target_accept,
            "progress_bar": progress,
            "save_warmup": False,
            "blocking": False,
            "return_raw_trace": True,  # read by ArrowTrace: polling nutpie's converted trace costs more than sampling
        }

        def read(raw: Any) -> Trace:
            return ArrowTrace(raw, compiled.coords)

        if spec.draws == "auto":
            idata = _sample_until_converged(nutpie.sample(compiled, draws=spec.max_draws, **options), names, read)
        else:
            idata = _wait_for_all(nutpie.sample(compiled, draws=spec.draws, **options), read)
        timings["sample_seconds"] = time.perf_counter() - start
        return idata
    with model:
        idata = pm.sample(
            draws=PYMC_AUTO_DRAWS if spec.draws == "auto" else spec.draws,
            tune=spec.tune,
            chains=spec.chains,
            random_seed=spec.seed,
            target_accept=spec.target_accept,
            progressbar=progress,
            cores=min(spec.chains, os.cpu_count() or 1),
            compute_convergence_checks=False,
            initvals=initial,
            init="auto" if initial is None else "adapt_diag",  # adapt_diag: the given start, not jittered
        )
    timings["sample_seconds"] = time.perf_counter() - start  # compiling included
    return idata


def compile_backend(spec: SamplerSpec) -> dict[str, str]:
    """nutpie's compiler options for `sampler.backend`: numba (nutpie, numba; cached across runs) or JAX for the model and its gradients."""
    if spec.backend != "jax":
        return {"backend": "numba"}
    if find_spec("jax") is None:
        raise ConfigError(
            "sampler.backend: jax needs the JAX package, which is not installed. Install the optional extra "
            "(pip install 'mmm[jax]'; for an NVIDIA GPU also 'jax[cuda12]'), or set sampler.backend: nutpie."
        )
    return {"backend": "jax", "gradient_backend": "jax"}


def _sample_until_converged(sampler: Any, names: list[str], read: Callable[[Any], Trace]) -> az.InferenceData:
    """Poll a background nutpie sampler; stop at the first checkpoint where the draws meet the targets.

    `read` turns what the sampler returns into a Trace.
    """
    next_check = AUTO_FIRST_CHECK
    try:
        while True:
            finished = _is_finished(sampler)
            trace = read(sampler.inspect())
            while next_check <= trace.complete_draws():
                if _meets_targets(trace.posterior(names, next_check)):
                    sampler.cancel()
                    return trace.to_idata(next_check)
                next_check = next_checkpoint(next_check)
            if finished:
                return read(sampler.wait()).to_idata()
            time.sleep(POLL_SECONDS)
    except BaseException:
        sampler.cancel()
        raise


def _wait_for_all(sampler: Any, read: Callable[[Any], Trace]) -> az.InferenceData:
    """Every draw of a background nutpie sampler. An interrupt (Ctrl-C, `kill`) stops the fit with an
    error: nutpie's blocking call would instead return the draws so far as if the fit had finished."""
    try:
        return read(sampler.wait()).to_idata()
    except BaseException:
        sampler.cancel()
        raise


def next_checkpoint(draws: int) -> int:
    """The checkpoint after `draws` draws per chain: AUTO_GROWTH times as many, rounded to 50."""
    return int(round(draws * AUTO_GROWTH / 50) * 50)


def _is_finished(sampler: Any) -> bool:
    """Whether the background sampler is done; nutpie raises TimeoutError while the chains hold its lock."""
    try:
        return bool(sampler.is_finished)
    except TimeoutError:
        return False


def _meets_targets(draws: dict[str, np.ndarray]) -> bool:
    """R-hat and bulk and tail ESS of every parameter, (chain, draw, *shape) arrays, at their targets."""
    checks = convergence(draws)
    if _extreme(checks.rhat, np.nanmax) > RHAT_MAX:
        return False
    return all(_extreme(ess, np.nanmin) >= ESS_MIN for ess in (checks.ess_bulk, checks.ess_tail))


def _extreme(per_parameter: dict[str, np.ndarray], pick: Callable[[Any], Any]) -> float:
    """`np.nanmax` or `np.nanmin` (`pick`) over every element of every parameter's diagnostic."""
    return float(pick([pick(v) for v in per_parameter.values()]))


def diagnose(idata: az.InferenceData, sampled_vars: list[str], labels: dict[str, str] | None = None) -> Diagnostics:
    """R-hat, effective sample size and divergences, with advice when they fail.

    `labels` names each sampled variable in plain words for the per-quantity table.
    """
    post = idata.posterior[sampled_vars]
    checks = convergence({v: post[v].values for v in sampled_vars})
    max_rhat = _extreme(checks.rhat, np.nanmax)
    min_bulk, min_tail = _extreme(checks.ess_bulk, np.nanmin), _extreme(checks.ess_tail, np.nanmin)
    div = int(idata.sample_stats["diverging"].sum()) if "diverging" in idata.sample_stats else 0
    problems = []
    if post.sizes["chain"] < 2:
        problems.append("one chain cannot show whether chains agree (R-hat needs two or more): set sampler.chains to 4")
    elif not max_rhat <= RHAT_MAX:
        problems.append(
            f"chains disagree (max R-hat {max_rhat:.3f} > {RHAT_MAX}): raise sampler.tune and sampler.draws (sampler.max_draws under draws: auto), "
            "or give channels informative roas_prior values"
        )
    if not min_bulk >= ESS_MIN or not min_tail >= ESS_MIN:
        problems.append(
            f"too few effective draws (min ESS bulk {min_bulk:.0f}, tail {min_tail:.0f} < {ESS_MIN}): raise sampler.draws (sampler.max_draws under draws: auto) or sampler.chains"
        )
    if div:
        problems.append(
            f"{div} divergent transitions: raise sampler.target_accept (e.g. 0.95), or simplify the model "
            "(model.hill_slope: fixed, fewer controls)"
        )
    return Diagnostics(
        max_rhat=max_rhat,
        min_ess_bulk=min_bulk,
        min_ess_tail=min_tail,
        divergences=div,
        converged=not problems,
        problems=problems,
        parameters=_per_parameter(post, checks, labels or {}),
    )


def _per_parameter(post: Any, checks: Convergence, labels: dict[str, str]) -> list[ParameterCheck]:
    """One row per scalar quantity of the posterior `post`: 'ROAS: search', 'seasonality term 2', ..."""
    rows = []
    for v, r in checks.rhat.items():
        e, dims = checks.ess_bulk[v], post[v].dims[2:]
        label = labels.get(v, v)
        for index in np.ndindex(r.shape):
            coords = [post[v][d].values[i] for d, i in zip(dims, index, strict=True)]
            if not coords:
                name = label
            elif len(coords) > 1:  # a geo model's (geo, channel) quantities: 'geo ROAS deviation: north / search'
                name = f"{label}: {' / '.join(map(str, coords))}"
            else:
                name = f"{label} term {index[0] + 1}" if dims[0] == "fourier" else f"{label}: {coords[0]}"
            rows.append(ParameterCheck(label=name, rhat=float(r[index]), ess=float(e[index])))
    return rows
