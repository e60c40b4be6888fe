"""Refit a model on refreshed data: same config and scaling, chains started at the previous posterior.

Keeping the previous fit's scaling keeps every parameter's meaning (spend per typical week,
trend time, standardised controls), so the new posterior can be read against the old one;
starting the chains at the previous posterior mean (unjittered; nutpie's `initial_points`)
spares them the walk from the prior. The seed makes a refit reproducible like any fit.
"""

from __future__ import annotations

import numpy as np

from mmm.config import Config
from mmm.core.constants import SAMPLE
from mmm.data.dataset import ModelData
from mmm.model.estimator import MarketingMixModel


def warm_start(model: MarketingMixModel) -> dict[str, np.ndarray]:
    """Posterior mean of every quantity of a fitted model, on its natural scale (the sampler uses those it samples)."""
    draws = model.draws()
    return {str(name): np.asarray(values.mean(SAMPLE).values) for name, values in draws.data_vars.items()}


def refit(previous: MarketingMixModel, data: ModelData, config: Config | None = None) -> MarketingMixModel:
    """A new fit of `previous`'s model on `data` (its periods and the new ones), warm-started, with its scaling and lift tests.

    config: the previous config with only its data file or sampler settings changed (default: the previous config).
    """
    model = MarketingMixModel(config if config is not None else previous.config)
    return model.fit(data, lifts=previous.lifts, scaling=previous.scales, init=warm_start(previous))
