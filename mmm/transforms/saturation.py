"""Saturation: diminishing returns, from 0 at no spend towards 1, in units of a channel's typical spend.

A curve's slope (for the optimiser) is never written by hand: `slope` differentiates the
curve's own formula by the complex step, exact to machine precision.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from mmm.transforms.base import Component, Param, Prior, Registry, is_positive

SATURATIONS = Registry("saturation")
COMPLEX_STEP = 1e-30


class Saturation(Component):
    """A diminishing-returns curve: `saturate(x, params, xp)` of carried-over spend x (..., period, channel)."""

    def saturate(self, x: Any, params: dict[str, Any], xp: Any) -> Any:
        raise NotImplementedError

    def slope(self, x: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        """d saturate / d x elementwise, by the complex step on the formula itself."""
        return np.imag(self.saturate(np.asarray(x, dtype=float) + 1j * COMPLEX_STEP, params, np)) / COMPLEX_STEP


@SATURATIONS.register
class HillSaturation(Saturation):
    """Hill curve x**s / (x**s + K**s); s = 1 (a concave curve) unless `model.hill_slope: free`."""

    name = "hill"
    description = "Hill curve"

    def __init__(self, free_slope: bool = False):
        self.free_slope = free_slope

    @classmethod
    def configure(cls, options: Mapping[str, Any]) -> HillSaturation:
        return cls(free_slope=options.get("hill_slope") == "free")

    @property
    def params(self) -> tuple[Param, ...]:
        # half-saturation in units of the channel's typical spend: 1 = half the effect at usual spend
        half = Param("half_saturation", "saturation point", Prior("LogNormal", {"mu": 0.0, "sigma": 0.7}))
        if not self.free_slope:
            return (half,)
        return (half, Param("hill_slope", "curve steepness", Prior("LogNormal", {"mu": 0.0, "sigma": 0.3})))

    def saturate(self, x: Any, params: dict[str, Any], xp: Any) -> Any:
        k = params["half_saturation"][..., None, :]
        if not self.free_slope:
            return x / (x + k)
        s = params["hill_slope"][..., None, :]
        positive = is_positive(x)
        safe = xp.where(positive, x, 1.0)  # keeps the gradient of 0**s finite
        return xp.where(positive, 1.0 / (1.0 + (k / safe) ** s), 0.0)


@SATURATIONS.register
class LogisticSaturation(Saturation):
    """Logistic curve (1 - exp(-lam x)) / (1 + exp(-lam x)): S-shaped in log spend, steep at first."""

    name = "logistic"
    description = "logistic curve"
    params = (Param("logistic_lam", "saturation speed", Prior("Gamma", {"alpha": 3.0, "beta": 1.5})),)

    def saturate(self, x: Any, params: dict[str, Any], xp: Any) -> Any:
        e = xp.exp(-params["logistic_lam"][..., None, :] * x)
        return (1.0 - e) / (1.0 + e)
