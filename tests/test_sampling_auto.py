"""sampler.draws: auto stops at the first checkpoint where the draws meet the R-hat and ESS targets,
at the same place whatever the timing, and never beyond max_draws."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import pytest

from mmm.core.constants import ESS_MIN, RHAT_MAX
from mmm.model import native
from mmm.model.compiled import COMPILING
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
    missed = float(az.rhat(head)["x"]) > RHAT_MAX or min(float(az.ess(head, method=m)["x"]) for m in ("bulk", "tail")) < ESS_MIN
    assert missed  # ... and not before


def test_chains_that_never_converge_run_to_the_ceiling():
    stuck = _trace(0.999)
    trace = until_converged(FakeSampler(stuck, step=500))
    assert trace.posterior.sizes["draw"] == CEILING


FIT_SCRIPT = """
import json, logging, sys, warnings
warnings.filterwarnings("ignore")
said = []  # what the engine tells the user while it works (the CLI prints it under the stage)
class Keep(logging.Handler):
    def emit(self, record):
        said.append(record.getMessage())
logging.getLogger("mmm").addHandler(Keep())
logging.getLogger("mmm").setLevel(logging.INFO)
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
    "said": said,
}))
"""


# where each compiler keeps a model's callbacks in the cache: C (the default, mmm.model.native) and numba (without a C compiler)
CALLBACKS = {"c": ("mmm-native/*.so",), "numba": ("*mmm_logp*.nbi", "*mmm_expand*.nbi")}


@pytest.mark.parametrize(
    "compiler", [pytest.param("c", marks=pytest.mark.skipif(native.compiler() is None, reason="no C compiler")), "numba"]
)
def test_the_compile_cache_is_keyed_on_structure_and_gives_the_same_draws_cold_warm_and_recompiled(tmp_path, compiler):
    """The first fit on a machine compiles and caches the model; the second loads it: both give the same draws.
    The cache is keyed on the model's structure, not its data: another dataset of the same shape of model (a
    refresh, another client) loads the compiled callbacks, and its draws equal those of a fresh compile. The
    numbers of channels and controls stay open in the compiled code: a model with a control added and a channel
    dropped (an analyst's next fit) loads it too, compiling nothing (its draws: the slow test below). It holds
    for the callbacks compiled from C and, on a machine without a C compiler, for numba's."""
    first, second = (write_scenario("clean", tmp_path / name, seed=seed) for name, seed in (("a", 1), ("b", 2)))
    cache = tmp_path / "compiled"
    env = {"CC": str(tmp_path / "no-compiler")} if compiler == "numba" else {}

    def fit(paths: dict) -> dict:
        return fit_compiled_in(paths["config"], cache, env)

    def compiled() -> list[str]:
        return sorted(str(p.relative_to(cache)) for p in cache.rglob("*") if p.is_file())

    def callbacks() -> list[Path]:
        found = [sorted(cache.rglob(pattern)) for pattern in CALLBACKS[compiler]]
        assert all(found), compiled()
        return [path for paths in found for path in paths]

    cold = fit(first)
    callbacks()
    assert not any(cache.rglob(CALLBACKS["c" if compiler == "numba" else "numba"][0]))  # one compiler, not both
    assert len(list(cache.rglob("mmm-models/*.json"))) == 1  # the model's layout, under its fingerprint
    roas = np.asarray(cold["roas"])
    n = roas.shape[1]
    assert n in [*checkpoints(), 700] and n <= 700
    assert cold["converged"] or n == 700  # it stops early only when the targets are met
    assert cold["timings"]["sample_seconds"] > 0 and cold["timings"]["compile_seconds"] > 0
    assert cold["said"] == [COMPILING]  # the first compile is announced while it runs
    warm = fit(first)
    np.testing.assert_array_equal(roas, np.asarray(warm["roas"]))
    assert warm["said"] == []

    before = compiled()
    reused = fit(second)
    assert compiled() == before  # new data, same structure: nothing compiled, nothing remembered anew
    assert reused["said"] == []
    # the layout outlives the callbacks it points to (a cache pruned by hand): the model is compiled afresh,
    # and the draws equal those of the reused code
    for stale in callbacks():
        stale.unlink()
    again = fit(second)
    np.testing.assert_array_equal(np.asarray(reused["roas"]), np.asarray(again["roas"]))
    assert again["said"] == [COMPILING]
    callbacks()

    before = compiled()
    grown = fit(grown_model(first))
    assert grown["said"] == []  # other sizes, the same compiled code: nothing compiled, nothing remembered anew
    assert compiled() == before
    assert np.asarray(grown["roas"]).shape[-1] == 2


def grown_model(paths: dict) -> dict:
    """`paths`' scenario with a control added (promo) and a channel dropped (display): an analyst's next model, its config."""
    data = pd.read_csv(paths["data"])
    data["promo"] = np.random.default_rng(0).integers(0, 2, len(data))
    data.to_csv(paths["data"], index=False)
    config = paths["config"].read_text()
    dropped = "- name: display\n  spend_column: display_spend\n  tier: experimental\n"
    assert dropped in config
    grown = paths["config"].with_name("grown.yaml")
    grown.write_text(config.replace(dropped, "").replace("- price_index\n", "- price_index\n- promo\n"))
    return {"config": grown}


def fit_compiled_in(config: Path, cache: Path, extra_env: dict[str, str] | None = None) -> dict:
    """FIT_SCRIPT's fit of `config` in a fresh process whose compiled code is cached in `cache`."""
    env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={cache}", "PYTHONWARNINGS": "ignore", **(extra_env or {})}
    done = subprocess.run([sys.executable, "-c", FIT_SCRIPT, str(config)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow  # two cold compiles (2-3 minutes)
def test_a_model_grown_from_a_cached_one_draws_as_if_compiled_afresh(tmp_path):
    """The numbers of channels and controls stay open in the compiled code: the draws of a model that loads another
    model's compiled code equal those of the same model compiled in an empty cache."""
    paths = write_scenario("clean", tmp_path / "data", seed=1)
    fit_compiled_in(paths["config"], tmp_path / "shared")
    grown = grown_model(paths)["config"]
    reused, afresh = fit_compiled_in(grown, tmp_path / "shared"), fit_compiled_in(grown, tmp_path / "empty")
    np.testing.assert_array_equal(np.asarray(reused["roas"]), np.asarray(afresh["roas"]))


def test_one_chain_is_not_called_converged_and_its_summary_reads_back():
    """R-hat needs two chains: one chain's diagnostics say so (not 'chains disagree'), and JSON's null R-hat reads back as NaN."""
    from mmm.model.diagnostics import Diagnostics
    from mmm.model.sampling import diagnose

    draws = np.random.default_rng(0).normal(size=(1, 1000))
    idata = az.from_dict(posterior={"roas_log": draws}, sample_stats={"diverging": np.zeros((1, 1000), dtype=bool)})
    found = diagnose(idata, ["roas_log"])
    assert not found.converged
    assert found.problems[0].startswith("one chain cannot show whether chains agree")
    again = Diagnostics.from_dict(json.loads(json.dumps(found.model_dump(mode="json"))))
    assert np.isnan(again.max_rhat) and np.isnan(again.parameters[0].rhat)


def test_the_command_shows_what_the_engine_says_under_the_running_stage(capsys):
    """The engine speaks through logging (it knows no terminal); a command prints it indented under its stage."""
    import logging

    from mmm.cli.common import quiet_libraries

    quiet_libraries()
    logging.getLogger("mmm.model.compiled").info(COMPILING)
    assert f"  {COMPILING}\n" in capsys.readouterr().err


def test_each_command_keeps_mlflow_from_printing_run_addresses(monkeypatch):
    """Set per command, not once per process: a warm server's command starts from the caller's environment."""
    from mmm.cli.common import quiet_libraries

    monkeypatch.delenv("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", raising=False)
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", raising=False)
    quiet_libraries()
    assert os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] == "true"
    assert "MLFLOW_HTTP_REQUEST_MAX_RETRIES" in os.environ
