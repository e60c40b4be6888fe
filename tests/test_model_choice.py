"""`saturation: auto`: the model choice picks the true curve on data simulated with each form.

The data are made here with the very transform components the model fits (geometric carry-over and
either saturation), with spend pushed well past saturation and little noise, so the two curves'
shapes can be told apart. One `auto` fit per form (two candidates each): four sampling fits.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from mmm.config import load_config
from mmm.model.estimator import MarketingMixModel
from mmm.transforms import MediaTransform, lagged

WEEKS = 104
TRUE_PARAMS = {"hill": {"half_saturation": np.array([0.7, 1.0])}, "logistic": {"logistic_lam": np.array([2.5, 1.8])}}


def simulate_form(saturation: str, folder, seed: int = 3):
    """A 2-channel weekly dataset whose media response is `saturation` (true ROAS 2.0 and 1.2); returns the config path."""
    rng = np.random.default_rng(seed)
    media = MediaTransform.from_options({"adstock": "geometric", "saturation": saturation, "l_max": 6})
    level = np.array([10_000.0, 7_000.0])
    spend = level * rng.lognormal(0.0, 0.9, size=(WEEKS, 2)) * (rng.random((WEEKS, 2)) > 0.25)
    params = {"adstock_alpha": np.array([0.3, 0.4]), **TRUE_PARAMS[saturation]}
    response = media.response(lagged(spend / level, 6), params, np)  # (week, channel), in [0, 1)
    roas = np.array([2.0, 1.2])
    contribution = response * roas * spend.sum(axis=0) / response.sum(axis=0)
    baseline = 60_000.0 * (1 + 0.05 * np.sin(2 * np.pi * np.arange(WEEKS) / 52.18))
    revenue = baseline + contribution.sum(axis=1) + rng.normal(0, 600.0, WEEKS)
    dates = pd.date_range("2023-01-02", periods=WEEKS, freq="W-MON")
    pd.DataFrame({"date": dates, "revenue": revenue, "search": spend[:, 0], "social": spend[:, 1]}).to_csv(folder / "data.csv", index=False)
    config = {
        "data": {"path": "data.csv"},
        "channels": [{"name": "search", "spend_column": "search"}, {"name": "social", "spend_column": "social", "tier": "test"}],
        "model": {"saturation": "auto", "l_max": 6},
        "sampler": {"draws": 200, "tune": 200, "chains": 2, "seed": 5},
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    return folder / "config.yaml"


@pytest.mark.parametrize("truth", ["hill", "logistic"])
def test_auto_picks_the_true_saturation(truth, tmp_path):
    model = MarketingMixModel(load_config(simulate_form(truth, tmp_path))).fit()
    choice = model.choice
    assert choice is not None
    assert model.config.model.saturation == truth == choice.saturation, choice.reason
    assert {c.saturation for c in choice.candidates} == {"hill", "logistic"}
    assert [c.chosen for c in choice.candidates].count(True) == 1
    assert choice.candidates[0].elpd_loo >= choice.candidates[1].elpd_loo  # best first
    # the chosen model is a whole fitted model that remembers how it was chosen
    model.save(tmp_path / "model.nc")
    loaded = MarketingMixModel.load(tmp_path / "model.nc")
    assert loaded.choice == choice and loaded.config.model.saturation == truth
