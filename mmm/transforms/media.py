"""A channel's media response: spend carried over by an adstock, then saturated."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from mmm.transforms.adstock import ADSTOCKS, Adstock, carry
from mmm.transforms.base import Param
from mmm.transforms.saturation import SATURATIONS, Saturation
from mmm.transforms.seasonal import MediaSeasonality


@dataclass(frozen=True)
class MediaTransform:
    """Adstock over `l_max` periods followed by saturation, for every channel at once.

    season: the yearly multiplier on every channel's effect, when the model estimates one
    (applied to the effect in the period it lands in, after saturation; see `mmm.transforms.seasonal`).
    """

    adstock: Adstock
    saturation: Saturation
    l_max: int
    season: MediaSeasonality | None = None

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> MediaTransform:
        """From the model options: `adstock`, `saturation` (registered names), `l_max` and each component's own."""
        adstock = ADSTOCKS.build(options["adstock"], options)
        saturation = SATURATIONS.build(options["saturation"], options)
        assert isinstance(adstock, Adstock) and isinstance(saturation, Saturation)
        return cls(adstock, saturation, int(options["l_max"]), MediaSeasonality.from_options(options))

    @property
    def params(self) -> tuple[Param, ...]:
        """Per-channel parameters of both components."""
        return self.adstock.params + self.saturation.params

    def weights(self, params: dict[str, Any], xp: Any = np) -> Any:
        """Carry-over weights (..., lag, channel)."""
        return self.adstock.weights(params, self.l_max, xp)

    def carried(self, lagged_spend: Any, params: dict[str, Any], xp: Any = np) -> Any:
        """Carried-over spend (..., period, channel) from lagged spend (period, lag, channel)."""
        return carry(lagged_spend, self.weights(params, xp))

    def response(self, lagged_spend: Any, params: dict[str, Any], xp: Any = np) -> Any:
        """Saturated carried-over spend (..., period, channel), in [0, 1)."""
        return self.saturation.saturate(self.carried(lagged_spend, params, xp), params, xp)
