"""The code's shape: stages import one way, modules stay small, and a transform is one class."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mmm.config import parse_config
from mmm.core.errors import ConfigError
from mmm.data.loading import count_parameters
from mmm.transforms import SATURATIONS, MediaTransform, Param, Prior, Saturation

ROOT = Path(__file__).resolve().parents[1]
MAX_MODULE_LINES = 400


def test_stages_import_one_way():
    """import-linter's contracts (pyproject.toml): layers, and MLflow/click only at the top."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_no_module_is_long():
    long = {str(p.relative_to(ROOT)): n for p in (ROOT / "mmm").rglob("*.py") if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


class _Tanh(Saturation):
    """A toy curve registered the way a new one would be: tanh(x / scale)."""

    name = "tanh_test"
    description = "hyperbolic tangent"
    params = (Param("tanh_scale", "saturation scale", Prior("LogNormal", {"mu": 0.0, "sigma": 0.5})),)

    def saturate(self, x, params, xp):
        return xp.tanh(x / params["tanh_scale"][..., None, :])


@pytest.fixture
def tanh_registered():
    SATURATIONS.register(_Tanh)
    yield _Tanh
    del SATURATIONS[_Tanh.name]


CONFIG = """
data: {path: data.csv}
channels:
  - {name: search, spend_column: search_spend}
  - {name: social, spend_column: social_spend}
model: {saturation: %s}
"""


def test_a_new_saturation_is_one_registered_class(tanh_registered):
    """Registering a class is all it takes: the config accepts its name, validation counts its
    parameter, and the optimiser's slope is the derivative of its own formula."""
    cfg = parse_config(CONFIG % "tanh_test")
    media = MediaTransform.from_options(cfg.model.model_dump())
    assert [p.name for p in media.params] == ["adstock_alpha", "tanh_scale"]
    base = count_parameters(parse_config(CONFIG % "logistic"), 0)
    assert count_parameters(cfg, 0) == base  # one parameter each, like the logistic curve
    x = np.linspace(0.0, 3.0, 7)[:, None] * np.ones((1, 2))
    params = {"tanh_scale": np.array([0.5, 2.0])}
    expected = (1 - np.tanh(x / params["tanh_scale"]) ** 2) / params["tanh_scale"]
    np.testing.assert_allclose(media.saturation.slope(x, params), expected, rtol=1e-9)


def test_an_unregistered_curve_is_refused_with_its_line():
    with pytest.raises(ConfigError, match=r"model.saturation \(line 6\): unknown saturation 'tanh_test'"):
        parse_config(CONFIG % "tanh_test")
