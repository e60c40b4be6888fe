"""Building blocks shared by the typed results of every stage."""

from __future__ import annotations

import math
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict

from mmm.core.stats import Interval, RatioInterval

__all__ = ["Histogram", "Interval", "MaybeNumber", "RatioInterval", "Result", "SeriesBand", "json_safe"]


def _nan_if_null(value: Any) -> Any:
    return math.nan if value is None else value


MaybeNumber = Annotated[float, BeforeValidator(_nan_if_null)]
"""A number that may be undefined (NaN: R-hat of a single chain); JSON writes it as null, which reads back as NaN."""


class Result(BaseModel):
    """Base of typed results: immutable, extra keys allowed (JSON contracts grow, never shrink)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    def to_dict(self) -> dict[str, Any]:
        """The result as plain data (NaN kept); optional parts that are absent are left out, not null."""
        return self.model_dump(mode="json", exclude=self._absent())

    def to_json(self) -> dict[str, Any]:
        """`to_dict()` made valid JSON: NaN and infinities become null."""
        return json_safe(self.to_dict())

    def _absent(self) -> set[str]:
        return {name for name in self.optional_keys() if getattr(self, name, None) is None}

    @classmethod
    def optional_keys(cls) -> tuple[str, ...]:
        """Top-level keys that are written only when present."""
        return ()


class Histogram(BaseModel):
    """A distribution over posterior draws: bin edges and density per bin (integrates to one)."""

    model_config = ConfigDict(frozen=True)

    edges: list[float]
    density: list[float]

    @classmethod
    def of(cls, draws: np.ndarray, edges: np.ndarray) -> Histogram:
        edges = np.asarray(edges, dtype=float)
        if len(edges) > 1 and not edges[-1] > edges[0]:
            # every draw the same value: zero-width bins have no density; spread the edges a hair
            # around the value so one bin holds all the mass and the density stays finite
            half = max(abs(float(edges[0])) * 1e-9, 1e-12)
            edges = np.linspace(edges[0] - half, edges[0] + half, len(edges))
        density, _ = np.histogram(np.asarray(draws, dtype=float), bins=edges, density=True)
        return cls(edges=[float(e) for e in edges], density=[float(d) for d in np.nan_to_num(density)])


class SeriesBand(BaseModel):
    """A quantity per period: mean and 90% interval, one value per date."""

    model_config = ConfigDict(frozen=True)

    mean: list[float]
    low: list[float]
    high: list[float]


def json_safe(obj: Any) -> Any:
    """Replace NaN and infinities (not valid JSON) with None, recursively."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj
