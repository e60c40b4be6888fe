"""Whether the posterior draws can be trusted: the typed convergence summary (no sampler needed to read it)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mmm.core.results import MaybeNumber


class ParameterCheck(BaseModel):
    """R-hat and bulk ESS of one sampled quantity, with a plain label ('ROAS: search')."""

    label: str
    rhat: MaybeNumber
    ess: float


class Diagnostics(BaseModel):
    """Convergence summary over the sampled (not derived) parameters, and per quantity."""

    model_config = ConfigDict(frozen=True)

    max_rhat: MaybeNumber
    min_ess_bulk: float
    min_ess_tail: float
    divergences: int
    converged: bool
    problems: list[str] = Field(default_factory=list)
    parameters: list[ParameterCheck] = Field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Diagnostics:
        return cls.model_validate(raw)
