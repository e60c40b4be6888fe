"""sampler.draws: auto stops at the first checkpoint where the draws meet the R-hat and ESS targets,
at the same place whatever the timing, and never beyond max_draws."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import arviz as az
import numpy as np
import pytest

from mmm.core.constants import ESS_MIN
from mmm.model.sampling import AUTO_FIRST_CHECK, _sample_until_converged, next_checkpoint
from mmm.simulation.scenarios import write_scenario

CHAINS, CEILING = 4, 4000


def _trace(rho: float, seed: int = 0) -> np.ndarray:
    """(chain, draw) AR(1) chains: rho near 1 mixes slowly, so more draws are needed for the ESS target."""
    rng = np.random.default_rng(seed)
    x = np.zeros((CHAINS, CEILING))
    for t in range(1, CEILING):
        x[:, t] = rho * x[:, t - 1] + np.sqrt(1 - rho**2) * rng.standard_normal(CHAINS)
    return x


class ArrayTrace:
    """The draws of `x` finished so far, as the sampler's Trace."""

    def __init__(self, x: np.ndarray):
        self.x = x

    def complete_draws(self) -> int:
        return self.x.shape[1]

    def posterior(self, names: list[str], draws: int) -> dict[str, np.ndarray]:
        return {name: self.x[:, :draws] for name in names}

    def to_idata(self, draws: int | None = None) -> az.InferenceData:
        return az.from_dict(posterior={"x": self.x[:, :draws]})


class FakeSampler:
    """A background sampler whose chains advance `step` draws between polls."""

    def __init__(self, draws: np.ndarray, step: int):
        self.draws, self.step, self.done, self.cancelled = draws, step, 0, False

    @property
    def is_finished(self) -> bool:
        return self.done >= self.draws.shape[1]

    def inspect(self) -> np.ndarray:
        self.done = min(self.done + self.step, self.draws.shape[1])
        return self.draws[:, : self.done]

    def wait(self) -> np.ndarray:
        return self.draws

    def cancel(self) -> None:
        self.cancelled = True


def until_converged(sampler: FakeSampler) -> az.InferenceData:
    return _sample_until_converged(sampler, ["x"], ArrayTrace)


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    monkeypatch.setattr("mmm.model.sampling.time.sleep", lambda _: None)


def checkpoints() -> list[int]:
    out, n = [], AUTO_FIRST_CHECK
    while n <= CEILING:
        out.append(n)
        n = next_checkpoint(n)
    return out


def test_well_mixing_chains_stop_at_the_first_checkpoint():
    sampler = FakeSampler(_trace(0.0), step=150)
    trace = until_converged(sampler)
    assert trace.posterior.sizes["draw"] == AUTO_FIRST_CHECK
    assert sampler.cancelled


def test_slow_chains_stop_where_the_targets_are_first_met_whatever_the_polling():
    draws = _trace(0.9)
    fast = until_converged(FakeSampler(draws, step=37))
    slow = until_converged(FakeSampler(draws, step=1500))
    n = fast.posterior.sizes["draw"]
    assert n == slow.posterior.sizes["draw"] and n in checkpoints() and n > AUTO_FIRST_CHECK
    np.testing.assert_array_equal(fast.posterior["x"].values, slow.posterior["x"].values)
    ess = float(az.ess(fast.posterior)["x"])
    assert ess >= ESS_MIN  # met at the stop ...
    earlier = [c for c in checkpoints() if c < n][-1]
    head = fast.posterior.isel(draw=slice(0, earlier))
    assert float(az.ess(head)["x"]) < ESS_MIN or float(az.ess(head, method="tail")["x"]) < ESS_MIN  # ... and not before


def test_chains_that_never_converge_run_to_the_ceiling():
    stuck = _trace(0.999)
    trace = until_converged(FakeSampler(stuck, step=500))
    assert trace.posterior.sizes["draw"] == CEILING


FIT_SCRIPT = """
import json, sys, warnings
warnings.filterwarnings("ignore")
from mmm.config import load_config, with_overrides
from mmm.model.estimator import MarketingMixModel
cfg = with_overrides(
    load_config(sys.argv[1]), {"sampler.draws": "auto", "sampler.tune": 300, "sampler.chains": 2, "sampler.max_draws": 700}
)
model = MarketingMixModel(cfg).fit()
print(json.dumps({
    "roas": model.idata.posterior["roas"].values.tolist(),
    "converged": model.diagnostics.converged,
    "timings": model.timings,
}))
"""


def test_auto_draws_fit_is_reproducible_from_a_cold_and_a_warm_compile_cache(tmp_path):
    """The first fit on a machine compiles and caches the model; the second loads it: both give the same draws."""
    paths = write_scenario("clean", tmp_path / "sim")
    env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={tmp_path / 'compiled'}", "PYTHONWARNINGS": "ignore"}

    def fit() -> dict:
        done = subprocess.run([sys.executable, "-c", FIT_SCRIPT, str(paths["config"])], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    cold = fit()
    cached = [p.name for p in (tmp_path / "compiled").rglob("*.nbi")]
    assert any("mmm_logp" in n for n in cached) and any("mmm_expand" in n for n in cached)
    assert len(list((tmp_path / "compiled").rglob("mmm-models/*.json"))) == 1  # the model's layout, under its fingerprint
    warm = fit()
    roas = np.asarray(cold["roas"])
    n = roas.shape[1]
    assert n in [*checkpoints(), 700] and n <= 700
    np.testing.assert_array_equal(roas, np.asarray(warm["roas"]))
    # the layout outlives the callbacks it points to (a cache pruned by hand): the model is compiled again, same draws
    callbacks = sorted((tmp_path / "compiled").rglob("*.mmm_*"))
    assert callbacks
    for stale in callbacks:
        stale.unlink()
    np.testing.assert_array_equal(roas, np.asarray(fit()["roas"]))
    recompiled = [p.name for p in (tmp_path / "compiled").rglob("*.mmm_*")]
    assert any("mmm_logp" in n for n in recompiled) and any("mmm_expand" in n for n in recompiled)
    assert cold["converged"] or n == 700  # it stops early only when the targets are met
    assert cold["timings"]["sample_seconds"] > 0 and cold["timings"]["compile_seconds"] > 0


def test_a_model_of_the_same_structure_on_new_data_reuses_the_compiled_code(tmp_path):
    """The compile cache is keyed on the model's structure, not its data: another dataset of the same shape of
    model (a refresh, another client) loads the compiled callbacks, and its draws equal those of a fresh compile."""
    first, second = (write_scenario("clean", tmp_path / name, seed=seed) for name, seed in (("a", 1), ("b", 2)))

    def fit(paths: dict, cache: str) -> dict:
        env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={tmp_path / cache}", "PYTHONWARNINGS": "ignore"}
        done = subprocess.run([sys.executable, "-c", FIT_SCRIPT, str(paths["config"])], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    def compiled(cache: str) -> list[str]:
        return sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / cache).rglob("*") if p.is_file())

    fit(first, "shared")
    before = compiled("shared")
    reused = fit(second, "shared")
    assert compiled("shared") == before  # nothing compiled, nothing remembered anew
    fresh = fit(second, "own")
    np.testing.assert_array_equal(np.asarray(reused["roas"]), np.asarray(fresh["roas"]))
