"""Draw from the posterior and judge whether the draws can be trusted."""

from __future__ import annotations

import os
import sys
from typing import Any

import arviz as az
import numpy as np
import pymc as pm

from mmm.config.spec import SamplerSpec
from mmm.core.constants import ESS_MIN, RHAT_MAX
from mmm.model.diagnostics import Diagnostics, ParameterCheck


def sample_posterior(model: pm.Model, spec: SamplerSpec) -> az.InferenceData:
    """Sample with the configured backend; same model, spec and seed give the same draws."""
    progress = spec.progress if spec.progress is not None else sys.stderr.isatty()
    if spec.backend == "nutpie":
        import nutpie

        # frozen data lets numba cache the whole compiled density; derived values are computed later
        compiled = nutpie.compile_pymc_model(model, freeze_model=True, var_names=[rv.name for rv in model.free_RVs] + ["intercept"])
        idata = nutpie.sample(
            compiled,
            draws=spec.draws,
            tune=spec.tune,
            chains=spec.chains,
            seed=spec.seed,
            target_accept=spec.target_accept,
            progress_bar=progress,
            save_warmup=False,
        )
    else:
        with model:
            idata = pm.sample(
                draws=spec.draws,
                tune=spec.tune,
                chains=spec.chains,
                random_seed=spec.seed,
                target_accept=spec.target_accept,
                progressbar=progress,
                cores=min(spec.chains, os.cpu_count() or 1),
                compute_convergence_checks=False,
            )
    return idata


def diagnose(idata: az.InferenceData, sampled_vars: list[str], labels: dict[str, str] | None = None) -> Diagnostics:
    """R-hat, effective sample size and divergences, with advice when they fail.

    `labels` names each sampled variable in plain words for the per-quantity table.
    """
    post = idata.posterior[sampled_vars]
    rhat = az.rhat(post)
    ess_bulk = az.ess(post, method="bulk")
    ess_tail = az.ess(post, method="tail")
    max_rhat = float(max(np.nanmax(rhat[v].values) for v in sampled_vars))
    min_bulk = float(min(np.nanmin(ess_bulk[v].values) for v in sampled_vars))
    min_tail = float(min(np.nanmin(ess_tail[v].values) for v in sampled_vars))
    div = int(idata.sample_stats["diverging"].sum()) if "diverging" in idata.sample_stats else 0
    problems = []
    if not max_rhat <= RHAT_MAX:
        problems.append(
            f"chains disagree (max R-hat {max_rhat:.3f} > {RHAT_MAX}): raise sampler.tune and sampler.draws, "
            "or give channels informative roas_prior values"
        )
    if not min_bulk >= ESS_MIN or not min_tail >= ESS_MIN:
        problems.append(
            f"too few effective draws (min ESS bulk {min_bulk:.0f}, tail {min_tail:.0f} < {ESS_MIN}): raise sampler.draws or sampler.chains"
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
        parameters=_per_parameter(rhat, ess_bulk, labels or {}),
    )


def _per_parameter(rhat: Any, ess: Any, labels: dict[str, str]) -> list[ParameterCheck]:
    """One row per scalar quantity: 'ROAS: search', 'seasonality term 2', ..."""
    rows = []
    for v in rhat.data_vars:
        r, e = rhat[v], ess[v]
        label = labels.get(str(v), str(v))
        if r.ndim == 0:
            rows.append(ParameterCheck(label=label, rhat=float(r), ess=float(e)))
            continue
        dim = r.dims[0]
        for j, coord in enumerate(r[dim].values):
            name = f"{label} term {j + 1}" if dim == "fourier" else f"{label}: {coord}"
            rows.append(ParameterCheck(label=name, rhat=float(r.values[j]), ess=float(e.values[j])))
    return rows
