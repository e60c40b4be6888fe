"""sampler.backend: nutpie (numba, the default), numba (the same), jax (nutpie on JAX, an optional extra) or pymc.

No MCMC here: the backend choice is checked where it is made, and a missing JAX fails before sampling.
"""

from __future__ import annotations

import pytest
import yaml
from helpers import all_runs, assert_clean_exit_2, invoke, store_uri

import mmm.model.sampling as sampling
from mmm.config import parse_config
from mmm.core.errors import ConfigError
from mmm.simulation.scenarios import write_scenario

MINIMAL = "data: {path: d.csv}\nchannels: [{name: tv, spend_column: tv_spend}]\n"


@pytest.mark.parametrize(("backend", "compiler"), [("nutpie", "numba"), ("numba", "numba")])
def test_numba_backends_compile_with_numba(backend, compiler):
    cfg = parse_config(MINIMAL + f"sampler: {{backend: {backend}}}\n")
    assert cfg.sampler.backend == backend
    assert sampling.compile_backend(cfg.sampler) == {"backend": compiler}


def test_default_backend_is_still_nutpie_on_numba():
    spec = parse_config(MINIMAL).sampler
    assert spec.backend == "nutpie"
    assert sampling.compile_backend(spec) == {"backend": "numba"}


def test_jax_backend_compiles_model_and_gradients_with_jax(monkeypatch):
    monkeypatch.setattr(sampling, "find_spec", lambda name: object())  # as if JAX were installed
    spec = parse_config(MINIMAL + "sampler: {backend: jax}\n").sampler
    assert sampling.compile_backend(spec) == {"backend": "jax", "gradient_backend": "jax"}


def test_jax_backend_without_jax_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(sampling, "find_spec", lambda name: None)
    spec = parse_config(MINIMAL + "sampler: {backend: jax}\n").sampler
    with pytest.raises(ConfigError, match=r"pip install 'mmm\[jax\]'"):
        sampling.compile_backend(spec)


def test_unknown_backend_is_a_config_error_naming_the_choices():
    with pytest.raises(ConfigError) as err:
        parse_config(MINIMAL + "sampler: {backend: stan}\n")
    text = str(err.value)
    assert "sampler.backend" in text and "jax" in text and "numba" in text


def test_fit_with_jax_missing_exits_2_and_records_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(sampling, "find_spec", lambda name: None)
    paths = write_scenario("clean", tmp_path / "sim")
    config = paths["config"]
    raw = yaml.safe_load(config.read_text())
    raw.setdefault("sampler", {})["backend"] = "jax"
    config.write_text(yaml.safe_dump(raw))
    uri = store_uri(tmp_path / "store")
    out = tmp_path / "fit.json"
    text = assert_clean_exit_2(invoke("fit", config, "--tracking-uri", uri, "--output-json", out))
    assert "sampler.backend: jax" in text
    assert not out.exists()
    assert all(r.info.status != "FINISHED" for r in all_runs(uri))
